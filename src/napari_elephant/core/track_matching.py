"""What an evaluation compares: the part of a graph that counts, and who matches whom.

Rejected nuclei and rejected links mean "not a nucleus" / "not a link" (a user
or the model said so), so they are left out of the result and of the truth
before anything is counted; a link that touches a rejected nucleus goes too.

Nuclei of the result and the truth are matched one-to-one per timepoint:
Hungarian assignment on the Euclidean distance between centres in µm, where
pairs farther apart than ``dmax`` never match.  The assignment minimises the
summed distance of the pairs it keeps, so a greedy nearest-first choice can
never cost a match.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from napari_elephant.core.graph import Status, TrackingGraph

_FAR = 1e9


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
    """Matched (result id, truth id) pairs of one timepoint (rejected nuclei left out)."""
    rid, rc = detected(result, t)
    tid, tc = detected(truth, t)
    return [(int(rid[i]), int(tid[j])) for i, j in match_points(rc, tc, dmax)]


@dataclass(frozen=True)
class Lineage:
    """The nuclei and links of a graph that count, as plain lookups.

    ``ids``/``centers`` hold each timepoint's kept nuclei (sorted ids, centres
    in µm); ``time`` maps a kept id to its timepoint; ``children`` maps a kept
    nucleus to its kept children (sorted), for the nuclei that have any.
    """

    ids: dict[int, np.ndarray]
    centers: dict[int, np.ndarray]
    time: dict[int, int]
    children: dict[int, tuple[int, ...]] = field(default_factory=dict)

    @property
    def n_nuclei(self) -> int:
        return len(self.time)

    @property
    def n_links(self) -> int:
        return sum(len(kids) for kids in self.children.values())

    def links(self) -> Iterator[tuple[int, int]]:
        """Every kept (parent, child) link."""
        return ((p, c) for p, kids in self.children.items() for c in kids)

    def divisions(self) -> dict[int, tuple[int, ...]]:
        """Dividing nuclei (two kept children) and their children."""
        return {p: kids for p, kids in self.children.items() if len(kids) == 2}

    def is_continuation(self, parent: int, child: int) -> bool:
        """True for a link within one CTC track: an only child at the next timepoint.

        The Cell Tracking Challenge format starts a new track (with a parent)
        at a division and after a gap, so every other link is a "parent link".
        """
        return len(self.children[parent]) == 1 and self.time[child] == self.time[parent] + 1


def lineage_of(graph: TrackingGraph, timepoints: Iterable[int] | None = None) -> Lineage:
    """The kept part of ``graph`` (optionally only the given timepoints)."""
    tps = graph.timepoints() if timepoints is None else sorted({int(t) for t in timepoints})
    ids: dict[int, np.ndarray] = {}
    centers: dict[int, np.ndarray] = {}
    time: dict[int, int] = {}
    for t in tps:
        i, c = detected(graph, t)
        if len(i):
            ids[t], centers[t] = i, c
            time.update(dict.fromkeys(i.tolist(), t))
    kids: dict[int, list[int]] = {}
    for p, c, status in graph.nx_graph.edges(data="status"):
        if status != Status.REJECTED and p in time and c in time:
            kids.setdefault(p, []).append(c)
    children = {p: tuple(sorted(k)) for p, k in kids.items()}
    return Lineage(ids, centers, time, children)


def match_lineages(result: Lineage, truth: Lineage, dmax: float) -> dict[int, int]:
    """Result id -> truth id of every matched pair, over all shared timepoints."""
    pairs: dict[int, int] = {}
    for t in sorted(result.ids.keys() & truth.ids.keys()):
        rid, tid = result.ids[t], truth.ids[t]
        for i, j in match_points(result.centers[t], truth.centers[t], dmax):
            pairs[int(rid[i])] = int(tid[j])
    return pairs
