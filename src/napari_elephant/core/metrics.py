"""Accuracy against ground truth: one-to-one matching of nuclei per timepoint.

Detection scores match result and truth centres of each timepoint one-to-one
(Hungarian assignment on Euclidean distance in µm, pairs farther apart than
``dmax`` never match).  Rejected nuclei are not detections: a user or the
model said "not a nucleus", so they are left out of the result.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from napari_elephant.core.graph import Status, TrackingGraph

_FAR = 1e9


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

    def as_dict(self) -> dict[str, float]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
        }


def match_points(result: np.ndarray, truth: np.ndarray, dmax: float) -> list[tuple[int, int]]:
    """Optimal one-to-one pairs (i_result, j_truth) closer than ``dmax``."""
    if len(result) == 0 or len(truth) == 0:
        return []
    pairs = cKDTree(result).sparse_distance_matrix(cKDTree(truth), dmax, output_type="coo_matrix")
    if pairs.nnz == 0:
        return []
    rows, cols = np.unique(pairs.row), np.unique(pairs.col)
    cost = np.full((len(rows), len(cols)), _FAR)
    cost[np.searchsorted(rows, pairs.row), np.searchsorted(cols, pairs.col)] = pairs.data
    r, c = linear_sum_assignment(cost)
    keep = cost[r, c] <= dmax
    return list(zip(rows[r[keep]].tolist(), cols[c[keep]].tolist(), strict=True))


def detected(graph: TrackingGraph, t: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, centres) of the nuclei of t that count as detections (not rejected)."""
    ids, centers = graph.centers_at(t)
    keep = np.array([graph.nucleus(int(i)).status != Status.REJECTED for i in ids], dtype=bool)
    return ids[keep] if len(ids) else ids, centers[keep] if len(ids) else centers


def match_nuclei(
    result: TrackingGraph, truth: TrackingGraph, dmax: float, t: int
) -> list[tuple[int, int]]:
    """Matched (result id, truth id) pairs of one timepoint."""
    rid, rc = detected(result, t)
    tid, tc = truth.centers_at(t)
    return [(int(rid[i]), int(tid[j])) for i, j in match_points(rc, tc, dmax)]


def detection_scores(
    result: TrackingGraph,
    truth: TrackingGraph,
    dmax: float = 3.0,
    timepoints: list[int] | None = None,
) -> Scores:
    """Detection TP / FP / FN summed over timepoints (default: all of the truth's)."""
    tps = truth.timepoints() if timepoints is None else timepoints
    total = Scores(0, 0, 0)
    for t in tps:
        n_result, n_truth = len(detected(result, t)[0]), len(truth.ids_at(t))
        tp = len(match_nuclei(result, truth, dmax, t))
        total = total + Scores(tp, n_result - tp, n_truth - tp)
    return total
