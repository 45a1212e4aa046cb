"""Merge detections into the tracking graph without losing a human decision.

DESIGN §3: accepted and rejected nuclei survive a new prediction; the stale
``predicted`` nuclei of a re-predicted timepoint are replaced (with their
links); a new prediction closer than ``d_sup`` to an accepted or rejected
nucleus is dropped (ELEPHANT: the human annotation has priority), and so is
one whose centre lies inside such a nucleus' ellipsoid or holds its centre
(a nucleus clicked a little off-centre got a predicted twin 2–3 µm away);
of two new predictions closer than ``d_sup`` the larger stays.  Everything lands as
one undoable action, so one undo brings back the previous graph exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from napari_elephant.core.detection.postprocess import Ellipsoid, suppress
from napari_elephant.core.graph import (
    AddNuclei,
    Nucleus,
    Origin,
    Status,
    TrackingGraph,
    make_nucleus,
)


@dataclass(frozen=True)
class MergeResult:
    """What a merge changed: counts for the status line, and the new ids."""

    removed_stale: int = 0
    added: int = 0
    suppressed: int = 0
    ids: tuple[int, ...] = ()

    def __add__(self, other: MergeResult) -> MergeResult:
        return MergeResult(
            self.removed_stale + other.removed_stale,
            self.added + other.added,
            self.suppressed + other.suppressed,
            self.ids + other.ids,
        )

    def __str__(self) -> str:
        return (
            f"{self.added} nuclei predicted, {self.removed_stale} old predictions replaced, "
            f"{self.suppressed} suppressed"
        )


def merge_predictions(
    graph: TrackingGraph, t: int, ellipsoids: Sequence[Ellipsoid], d_sup: float
) -> MergeResult:
    """Replace the predictions of timepoint ``t`` by ``ellipsoids`` (one undo step)."""
    return merge_many(graph, {t: ellipsoids}, d_sup, name=f"predict t={t}")


def merge_many(
    graph: TrackingGraph,
    per_timepoint: Mapping[int, Sequence[Ellipsoid]],
    d_sup: float,
    name: str | None = None,
) -> MergeResult:
    """Merge the detections of several timepoints as one undo step."""
    if name is None:
        ts = sorted(per_timepoint) or [0]  # nothing to merge records no step anyway
        name = f"predict t={ts[0]}" + (f"–{ts[-1]}" if len(ts) > 1 else "")
    result = MergeResult()
    with graph.batch(name):
        for t in sorted(per_timepoint):
            result = result + _merge_one(graph, int(t), per_timepoint[t], d_sup, name)
    return result


def _merge_one(
    graph: TrackingGraph, t: int, ellipsoids: Sequence[Ellipsoid], d_sup: float, name: str
) -> MergeResult:
    """Remove the stale predictions of t, then add the surviving new ones."""
    nuclei = graph.nuclei_at(t)
    stale = [n.id for n in nuclei if n.status == Status.PREDICTED]
    human = [n for n in nuclei if n.status != Status.PREDICTED]
    centers = np.array([n.center for n in human], float).reshape(-1, 3)
    kept = suppress(ellipsoids, d_sup, protected_centers=centers)
    kept = [e for e, twin in zip(kept, overlaps_human(kept, human), strict=True) if not twin]
    if stale:
        graph.apply(graph.removal(stale, name=name))
    new = tuple(_as_nucleus(graph.new_id(), t, e) for e in kept)
    if new:
        graph.apply(AddNuclei(new, name=name))
    return MergeResult(len(stale), len(new), len(ellipsoids) - len(kept), tuple(n.id for n in new))


def overlaps_human(candidates: Sequence[Ellipsoid], human: Sequence[Nucleus]) -> np.ndarray:
    """Per candidate: does its centre lie inside a human nucleus' ellipsoid, or hold
    a human nucleus' centre inside its own?  (The same nucleus, seen twice.)"""
    if not candidates or not human:
        return np.zeros(len(candidates), dtype=bool)
    c = np.array([e.center for e in candidates], float)
    h = np.array([n.center for n in human], float)
    d = c[None, :, :] - h[:, None, :]  # (human, candidate, 3)
    inside_h = _quadratic(d, np.linalg.inv(np.array([n.cov_matrix for n in human], float)))
    inside_c = _quadratic(
        d.transpose(1, 0, 2), np.linalg.inv(np.array([e.cov for e in candidates]))
    )
    return np.any(inside_h <= 1.0, axis=0) | np.any(inside_c <= 1.0, axis=1)


def _quadratic(d: np.ndarray, inv: np.ndarray) -> np.ndarray:
    """dᵀ A d for offsets d (a, b, 3) and one inverse shape matrix per row (a, 3, 3)."""
    return np.einsum("abi,aij,abj->ab", d, inv, d)


def _as_nucleus(nid: int, t: int, e: Ellipsoid) -> Nucleus:
    """A predicted nucleus that keeps what the network thought of it (confidence)."""
    return make_nucleus(
        nid,
        t,
        e.center,
        e.cov,
        status=Status.PREDICTED,
        origin=Origin.PREDICTED,
        confidence=e.confidence,
    )
