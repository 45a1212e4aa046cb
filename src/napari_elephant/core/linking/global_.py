"""A global linker: one assignment problem per pair of timepoints.

Nearest neighbour decides child by child; here all the links of t−1 → t are
chosen together, minimising

    Σ links |estimate − parent|²  +  division · (second children)
      +  start · (children without a parent)  +  end · (parents without a child)

with ``scipy.optimize.linear_sum_assignment``.  Each parent offers two
columns: its first child, whose cost is lowered by the end cost it saves,
and a second child, which pays the division cost.  Each child also has its
own "start a track" column.  Candidates are the pairs closer than
``d_search`` (a KD-tree), and the problem is split into the connected
components of the candidate graph: many small dense problems instead of one
large one (a 600-nucleus timepoint pair takes about 20 ms).

Default costs (``LinkingParams``, in units of ``d_search²``): start = end =
1, so a link of any length within ``d_search`` beats ending one track and
starting another; division = 0.1, so a parent takes a second child when that
child is closer than about ``0.95 d_search`` and no cheaper parent wants it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from napari_elephant.core.linking.problem import FramePair
from napari_elephant.core.params import LinkingParams


@dataclass(frozen=True)
class Costs:
    """Costs in µm²: starting or ending a track, and a division's second child."""

    start: float
    end: float
    division: float

    @classmethod
    def from_params(cls, params: LinkingParams) -> Costs:
        scale = params.d_search**2
        return cls(
            params.start_cost * scale, params.end_cost * scale, params.division_cost * scale
        )


def candidate_pairs(pair: FramePair, d_search: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(child index, parent index, squared distance) of every pair within d_search."""
    if pair.n_children == 0 or pair.n_parents == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    near = cKDTree(pair.estimates).sparse_distance_matrix(
        cKDTree(pair.parent_centers), d_search, output_type="coo_matrix"
    )
    rows, cols = near.row.astype(np.int64), near.col.astype(np.int64)
    d2 = near.data**2
    ok = pair.allowed_pairs(rows, cols) & (pair.capacity[cols] > 0)
    return rows[ok], cols[ok], d2[ok]


def slot_costs(pair: FramePair, costs: Costs) -> tuple[np.ndarray, np.ndarray]:
    """Extra cost of each parent's first and second child column (inf: no column).

    A parent that already keeps a real child pays the division cost for any
    new one; one with a single free slot (the rest used by kept links) has
    only the first column.
    """
    n_kept = np.array([len(pair.kept.get(i, ())) for i in range(pair.n_parents)], dtype=int)
    cap = np.asarray(pair.capacity)
    first = np.where((n_kept == 0) & (cap >= 1), -costs.end, np.inf)
    second_ok = ((n_kept == 0) & (cap >= 2)) | ((n_kept == 1) & (cap >= 1))
    second = np.where(second_ok, costs.division, np.inf)
    return first, second


def _solve_component(
    children: np.ndarray,
    parents: np.ndarray,
    r: np.ndarray,
    c: np.ndarray,
    cost_first: np.ndarray,
    cost_second: np.ndarray,
    start: float,
) -> list[tuple[int, int]]:
    """Assignment of one connected component of ``children`` × ``parents`` (indices,
    ascending) over its candidate pairs (local rows ``r``, columns ``c``, with the
    cost of being a first or a second child); returns (child, parent) index pairs."""
    m, n = len(children), len(parents)
    if len(r) == 1:  # one child, one parent: the cheapest of three columns
        best = int(np.argmin([cost_first[0], cost_second[0], start]))
        return [(int(children[0]), int(parents[0]))] if best < 2 else []
    cost = np.full((m, 2 * n + m), np.inf)
    cost[r, c] = cost_first
    cost[r, n + c] = cost_second
    cost[np.arange(m), 2 * n + np.arange(m)] = start
    ri, ci = linear_sum_assignment(cost)
    hit = ci < 2 * n
    return list(zip(children[ri[hit]].tolist(), parents[ci[hit] % n].tolist(), strict=True))


def _local_index(label: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per node its rank among the nodes of its label (ascending index); the nodes
    sorted by (label, index); where each label starts in that order."""
    order = np.lexsort((np.arange(len(label)), label))
    starts = np.searchsorted(label[order], np.arange(label.max(initial=-1) + 2))
    local = np.empty(len(label), np.int64)
    local[order] = np.arange(len(label)) - starts[label[order]]
    return local, order, starts


def _components(
    pair: FramePair, rows: np.ndarray, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Component label of every child and parent node (children first)."""
    n = pair.n_children + pair.n_parents
    adj = coo_matrix((np.ones(len(rows)), (rows, pair.n_children + cols)), shape=(n, n))
    _, labels = connected_components(adj, directed=False)
    return labels[: pair.n_children], labels[pair.n_children :]


def global_link(pair: FramePair, params: LinkingParams) -> list[tuple[int, int]]:
    """Links (parent_id, child_id) of one pair of timepoints, chosen together."""
    costs = Costs.from_params(params)
    rows, cols, d2 = candidate_pairs(pair, params.d_search)
    first, second = slot_costs(pair, costs)
    usable = np.isfinite(first[cols]) | np.isfinite(second[cols])
    rows, cols, d2 = rows[usable], cols[usable], d2[usable]
    if len(rows) == 0:
        return []
    child_label, parent_label = _components(pair, rows, cols)
    child_local, child_order, child_starts = _local_index(child_label)
    parent_local, parent_order, parent_starts = _local_index(parent_label)
    label = child_label[rows]
    order = np.argsort(label, kind="stable")
    bounds = np.flatnonzero(np.diff(label[order])) + 1
    cost_first, cost_second = d2 + first[cols], d2 + second[cols]
    links: list[tuple[int, int]] = []
    for group in np.split(order, bounds):
        k = label[group[0]]
        links += _solve_component(
            child_order[child_starts[k] : child_starts[k + 1]],
            parent_order[parent_starts[k] : parent_starts[k + 1]],
            child_local[rows[group]],
            parent_local[cols[group]],
            cost_first[group],
            cost_second[group],
            costs.start,
        )
    return [(int(pair.parent_ids[p]), int(pair.child_ids[c])) for c, p in links]
