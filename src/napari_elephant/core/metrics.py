"""Accuracy against ground truth: detection, link and division scores, DET and TRA.

Everything rests on one matching (:mod:`.track_matching`): result and truth
nuclei of each timepoint paired one-to-one by centre distance within ``dmax``
µm, rejected nuclei and rejected links left out of both graphs.  On that:

- detection: a matched result nucleus is a TP, an unmatched one an FP, an
  unmatched truth nucleus an FN;
- links: a result link is correct when both of its ends match truth nuclei
  that the truth links.  Matched nuclei share their timepoint, so a link
  over a gap (t → t+k, k > 1) is correct only when the truth has the same
  gap link; a truth gap that the result bridges with intermediate nuclei
  counts as missed (no interpolation, no tolerance);
- divisions: a nucleus with two children.  A result division is correct when
  its parent matches a dividing truth nucleus and its two children match that
  nucleus' two children, at the same timepoints (strict: no ±1 frame slack);
- DET and TRA as the Cell Tracking Challenge defines them (:mod:`.ctc_metrics`).

``docs/metrics.md`` states the definitions in full.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from napari_elephant.core.ctc_metrics import Aogm, aogm
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import TrackingGraph
from napari_elephant.core.track_matching import (
    Lineage,
    detected,
    lineage_of,
    match_lineages,
    match_nuclei,
    match_points,
)

__all__ = [
    "Aogm",
    "Evaluation",
    "Lineage",
    "Scores",
    "detected",
    "detection_scores",
    "division_scores",
    "evaluate",
    "interior_detection_scores",
    "link_scores",
    "match_nuclei",
    "match_points",
]

DEFAULT_DMAX = 3.0  # µm: about a nucleus radius in the paper's embryos


@dataclass(frozen=True)
class Scores:
    """Counts and the precision / recall / F1 they give."""

    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        denom = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denom if denom else 1.0

    def __add__(self, other: Scores) -> Scores:
        return Scores(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @classmethod
    def of(cls, tp: int, n_result: int, n_truth: int) -> Scores:
        """Scores from the TP count and the sizes of both sides."""
        return cls(tp, n_result - tp, n_truth - tp)

    def as_dict(self) -> dict[str, float]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


def detection_scores(
    result: TrackingGraph,
    truth: TrackingGraph,
    dmax: float = DEFAULT_DMAX,
    timepoints: list[int] | None = None,
) -> Scores:
    """Detection TP / FP / FN summed over timepoints (default: all of the truth's)."""
    tps = truth.timepoints() if timepoints is None else timepoints
    total = Scores(0, 0, 0)
    for t in tps:
        n_result, n_truth = len(detected(result, t)[0]), len(detected(truth, t)[0])
        total = total + Scores.of(len(match_nuclei(result, truth, dmax, t)), n_result, n_truth)
    return total


def interior_detection_scores(
    result: TrackingGraph,
    truth: TrackingGraph,
    extent: Sequence[float],
    margin: float,
    dmax: float = DEFAULT_DMAX,
    timepoints: list[int] | None = None,
) -> Scores:
    """Detection scores away from the image's sides: after the usual matching,
    only truth nuclei (matched or not) and unmatched result nuclei whose centre
    lies at least ``margin`` µm inside every side of ``extent`` (µm per spatial
    axis, z y x) count.  Why: a truth made by segmenting (a silver truth) often
    drops the nuclei the border cuts, which a detector then "falsely" finds;
    this score shows how much of a gap that is.  Axes of extent 0 are ignored."""
    size = np.asarray(extent, dtype=float)
    total = Scores(0, 0, 0)
    for t in truth.timepoints() if timepoints is None else timepoints:
        pairs = match_nuclei(result, truth, dmax, t)
        rid, rc = detected(result, t)
        tid, tc = detected(truth, t)
        matched_r, matched_t = {a for a, _ in pairs}, {b for _, b in pairs}
        t_in = {int(i) for i, c in zip(tid, tc, strict=True) if _inside(c, size, margin)}
        r_in = {int(i) for i, c in zip(rid, rc, strict=True) if _inside(c, size, margin)}
        tp = sum(b in t_in for _, b in pairs)
        total = total + Scores(tp, len(r_in - matched_r), len(t_in - matched_t))
    return total


def _inside(center: np.ndarray, extent: np.ndarray, margin: float) -> bool:
    """Whether a centre is ``margin`` µm inside every side (axes of extent 0 skipped)."""
    spatial = np.asarray(center, dtype=float)[-len(extent) :]
    axes = extent > 0
    return bool(np.all(spatial[axes] >= margin) and np.all(spatial[axes] <= extent[axes] - margin))


# ---------------------------------------------------- counts on lineages
def detection_counts(result: Lineage, truth: Lineage, matching: dict[int, int]) -> Scores:
    return Scores.of(len(matching), result.n_nuclei, truth.n_nuclei)


def link_counts(result: Lineage, truth: Lineage, matching: dict[int, int]) -> Scores:
    """A result link is a TP when the truth links the two nuclei its ends match."""
    truth_links = set(truth.links())
    tp = sum((matching.get(p), matching.get(c)) in truth_links for p, c in result.links())
    return Scores.of(tp, result.n_links, truth.n_links)


def division_counts(result: Lineage, truth: Lineage, matching: dict[int, int]) -> Scores:
    """A result division is a TP when parent and both children match a truth division."""
    truth_divisions = {p: set(kids) for p, kids in truth.divisions().items()}
    result_divisions = result.divisions()
    tp = 0
    for parent, kids in result_divisions.items():
        expected = truth_divisions.get(matching.get(parent, -1))
        tp += expected is not None and {matching.get(k) for k in kids} == expected
    return Scores.of(tp, len(result_divisions), len(truth_divisions))


# ------------------------------------------------------------ evaluation
@dataclass(frozen=True)
class Evaluation:
    """Every score of one result against one truth."""

    detection: Scores
    links: Scores
    divisions: Scores
    ctc: Aogm
    dmax: float

    @property
    def det(self) -> float:
        return self.ctc.det

    @property
    def tra(self) -> float:
        return self.ctc.tra

    def as_dict(self) -> dict:
        return {
            "dmax_um": self.dmax,
            "detection": self.detection.as_dict(),
            "links": self.links.as_dict(),
            "divisions": self.divisions.as_dict(),
            "DET": self.det,
            "TRA": self.tra,
            "aogm": self.ctc.as_dict(),
        }


def prepare(
    result: TrackingGraph,
    truth: TrackingGraph,
    dmax: float = DEFAULT_DMAX,
    timepoints: Iterable[int] | None = None,
) -> tuple[Lineage, Lineage, dict[int, int]]:
    """Kept parts of both graphs and their matching (default: every timepoint of either)."""
    if not dmax > 0:
        raise InvalidInputError(f"dmax must be a positive distance in µm, not {dmax}")
    if timepoints is None:
        timepoints = set(result.timepoints()) | set(truth.timepoints())
    r, g = lineage_of(result, timepoints), lineage_of(truth, timepoints)
    return r, g, match_lineages(r, g, dmax)


def evaluate(
    result: TrackingGraph,
    truth: TrackingGraph,
    dmax: float = DEFAULT_DMAX,
    timepoints: Iterable[int] | None = None,
) -> Evaluation:
    """Detection, link and division scores and DET / TRA, over one matching.

    By default every timepoint that holds a nucleus in either graph counts,
    as in the CTC; pass ``timepoints`` to score a sparsely annotated range.
    """
    r, g, matching = prepare(result, truth, dmax, timepoints)
    return Evaluation(
        detection=detection_counts(r, g, matching),
        links=link_counts(r, g, matching),
        divisions=division_counts(r, g, matching),
        ctc=aogm(r, g, matching),
        dmax=float(dmax),
    )


def link_scores(result: TrackingGraph, truth: TrackingGraph, dmax: float = DEFAULT_DMAX) -> Scores:
    """Link TP / FP / FN over every timepoint of either graph."""
    return link_counts(*prepare(result, truth, dmax))


def division_scores(
    result: TrackingGraph, truth: TrackingGraph, dmax: float = DEFAULT_DMAX
) -> Scores:
    """Division TP / FP / FN over every timepoint of either graph."""
    return division_counts(*prepare(result, truth, dmax))
