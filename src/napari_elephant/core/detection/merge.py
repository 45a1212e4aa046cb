"""Merge detections into the tracking graph without losing a human decision.

DESIGN §3: accepted and rejected nuclei survive a new prediction; the stale
``predicted`` nuclei of a re-predicted timepoint are replaced (with their
links); a new prediction closer than ``d_sup`` to an accepted or rejected
nucleus is dropped (ELEPHANT: the human annotation has priority), and of two
new predictions closer than ``d_sup`` the larger stays.  Everything lands as
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
    human = np.array([n.center for n in nuclei if n.status != Status.PREDICTED], float)
    kept = suppress(ellipsoids, d_sup, protected_centers=human.reshape(-1, 3))
    if stale:
        graph.apply(graph.removal(stale, name=name))
    new = tuple(_as_nucleus(graph.new_id(), t, e) for e in kept)
    if new:
        graph.apply(AddNuclei(new, name=name))
    return MergeResult(len(stale), len(new), len(ellipsoids) - len(kept), tuple(n.id for n in new))


def _as_nucleus(nid: int, t: int, e: Ellipsoid) -> Nucleus:
    return make_nucleus(nid, t, e.center, e.cov, status=Status.PREDICTED, origin=Origin.PREDICTED)
