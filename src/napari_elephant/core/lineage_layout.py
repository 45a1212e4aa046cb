"""Layout of the lineage trees: time down one axis, one column per leaf.

A pure function of the graph's arrays (no napari, no Qt) so the lineage view
stays a thin renderer and the layout is tested on hand-built trees.

What is lineage: rejected links are negative annotations ("these two are not
the same cell"), so they never join nuclei in the tree.  Rejected nuclei are
"not a nucleus" and are left out by default (with their links); with
``include_rejected`` they are drawn, joined only by links that are not
rejected.  Links may skip timepoints (gaps) and trees may start at any t: a
node's row is its timepoint, whatever its parent's is.

Columns: every tree gets as many columns as it has leaves, trees side by
side ordered by (first timepoint, root id), daughters ordered by (t, id).
A leaf sits in its column; a parent sits midway between its first and last
child, so a division draws as a fork.  Everything is vectorised per
timepoint (three passes over the distinct timepoints), so 300k nuclei take
tens of milliseconds once the arrays are read from the graph.
"""

from __future__ import annotations

import weakref
from collections.abc import Collection, Iterator
from dataclasses import dataclass

import numpy as np

from napari_elephant.core.graph.graph import TrackingGraph
from napari_elephant.core.graph.model import STATUS_CODE, Status
from napari_elephant.core.graph.store import gc_paused

_REJECTED = STATUS_CODE[Status.REJECTED]
NONE = -1


@dataclass(frozen=True)
class GraphArrays:
    """The columns of a graph the layout needs: nuclei sorted by id, links as ids."""

    ids: np.ndarray  # (n,) int64, sorted
    t: np.ndarray  # (n,) int64
    status: np.ndarray  # (n,) int8 code (STATUS_ORDER)
    link_parent: np.ndarray  # (m,) int64 nucleus id
    link_child: np.ndarray  # (m,) int64 nucleus id
    link_status: np.ndarray  # (m,) int8 code


@dataclass(frozen=True)
class LineageLayout:
    """Node positions (x = column, y = t) and the tree structure as index arrays."""

    ids: np.ndarray  # (n,) int64 nucleus ids, sorted
    t: np.ndarray  # (n,) int64 timepoint = row
    x: np.ndarray  # (n,) float64 column position
    status: np.ndarray  # (n,) int8 code
    parent: np.ndarray  # (n,) index of the parent or NONE
    children: np.ndarray  # (n, 2) indices of the children, left to right, NONE-padded
    root: np.ndarray  # (n,) index of the tree's root
    link_parent: np.ndarray  # (m,) index
    link_child: np.ndarray  # (m,) index
    link_status: np.ndarray  # (m,) int8 code
    by_row: np.ndarray  # (n,) indices sorted by (t, x): the rows for picking
    n_columns: int
    folded: np.ndarray | None = None  # (n,) bool: the node's descendants are folded away

    def __len__(self) -> int:
        return len(self.ids)

    def index_of(self, nucleus_id: int | None) -> int | None:
        """Row index of a nucleus id, or None when it is not in the lineage."""
        if nucleus_id is None or len(self.ids) == 0:
            return None
        i = int(np.searchsorted(self.ids, nucleus_id))
        return i if i < len(self.ids) and self.ids[i] == nucleus_id else None

    def indices(self, nucleus_ids: np.ndarray) -> np.ndarray:
        """Row index of each nucleus id, NONE where it is not in the lineage."""
        return _find(self.ids, np.asarray(nucleus_ids, dtype=np.int64))

    def tree(self, index: int) -> np.ndarray:
        """Indices of the nodes of the tree that holds ``index``."""
        return np.flatnonzero(self.root == self.root[index])


# ------------------------------------------------------------- extraction
def graph_arrays(graph: TrackingGraph) -> GraphArrays:
    """The graph's columns, read once per revision of the graph.

    Opening a workspace asks for them twice (the lineage view and the status
    counters), each read 0.4-0.6 s at 300k nuclei; the last read is kept while
    the graph's revision stands.  The arrays are read-only: every user builds
    new ones (LiveArrays replaces, never writes in place).
    """
    last = _LAST_READ.get("entry")
    if last is not None and last[0]() is graph and last[1] == graph.revision:
        return last[2]
    revision = graph.revision
    arrays = _read_arrays(graph)
    if graph.revision == revision:  # not torn by an edit on another thread
        _LAST_READ["entry"] = (weakref.ref(graph), revision, arrays)
    return arrays


_LAST_READ: dict[str, tuple] = {}  # "entry": (weakref to the graph, revision, arrays)


def _read_arrays(graph: TrackingGraph) -> GraphArrays:
    """Read the graph into arrays (the only per-record Python loop).

    The collector is paused: a full pass over 300k records each time the
    loop allocates a few thousand tuples would make this several times slower.
    """
    nodes, pred = graph.nx_graph._node, graph.nx_graph._pred
    with gc_paused():
        ids = np.fromiter(nodes, np.int64, count=len(nodes))
        records = [d["nucleus"] for d in nodes.values()]
        t = np.fromiter((r.t for r in records), np.int64, count=len(records))
        status = np.fromiter((STATUS_CODE[r.status] for r in records), np.int8, count=len(records))
        parents, children, link_status = [], [], []
        for c, ps in pred.items():
            for p, d in ps.items():
                parents.append(p)
                children.append(c)
                link_status.append(STATUS_CODE[d["status"]])
    order = np.argsort(ids, kind="stable")
    columns = (
        ids[order],
        t[order],
        status[order],
        np.array(parents, dtype=np.int64),
        np.array(children, dtype=np.int64),
        np.array(link_status, dtype=np.int8),
    )
    for column in columns:
        column.flags.writeable = False
    return GraphArrays(*columns)


def layout_lineage(
    graph: TrackingGraph, include_rejected: bool = False, folded: Collection[int] = ()
) -> LineageLayout:
    """The lineage layout of a tracking graph (see the module docstring)."""
    return layout_arrays(graph_arrays(graph), include_rejected, folded)


def layout_arrays(
    arrays: GraphArrays, include_rejected: bool = False, folded: Collection[int] = ()
) -> LineageLayout:
    """The lineage layout of graph columns: filter, index the links, place the nodes.

    ``folded``: nucleus ids whose descendants are left out (Mastodon's folded
    branches); the trees close up around them and ``layout.folded`` marks them.
    """
    keep = np.ones(len(arrays.ids), bool) if include_rejected else arrays.status != _REJECTED
    marked = np.zeros(len(arrays.ids), bool)
    if len(folded):
        hidden, marked = _folded_away(arrays, keep, np.fromiter(folded, np.int64))
        keep &= ~hidden
    ids, t, status = arrays.ids[keep], arrays.t[keep], arrays.status[keep]
    lp, lc, ls = _lineage_links(ids, arrays)
    parent, children = _tree_tables(len(ids), t, ids, lp, lc)
    levels = list(_levels(t))
    leaves = _leaf_counts(children, parent, levels)
    offset, root, n_columns = _offsets(t, ids, parent, children, leaves, levels)
    x = _positions(offset, children, levels)
    by_row = np.lexsort((x, t))
    return LineageLayout(
        ids, t, x, status, parent, children, root, lp, lc, ls, by_row, n_columns, marked[keep]
    )


def _folded_away(
    arrays: GraphArrays, keep: np.ndarray, folded: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(descendants of the folded nuclei, folded nuclei that hide any), as masks over
    ``arrays``; time order carries the fold down each branch in one pass a timepoint."""
    ids, t = arrays.ids[keep], arrays.t[keep]
    lp, lc, _ = _lineage_links(ids, arrays)
    parent = np.full(len(ids), NONE, np.int64)
    parent[lc] = lp
    fold = np.isin(ids, folded)
    hidden = np.zeros(len(ids), bool)
    for level in _levels(t):
        has = level[parent[level] != NONE]
        hidden[has] = hidden[parent[has]] | fold[parent[has]]
    under_fold = (parent != NONE) & fold[np.maximum(parent, 0)]  # a folded nucleus' child
    hides = np.zeros(len(ids), bool)
    hides[parent[under_fold]] = True
    full_hidden, full_hides = np.zeros(len(arrays.ids), bool), np.zeros(len(arrays.ids), bool)
    full_hidden[np.flatnonzero(keep)] = hidden
    full_hides[np.flatnonzero(keep)] = hides & ~hidden
    return full_hidden, full_hides


def _lineage_links(
    ids: np.ndarray, arrays: GraphArrays
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Links that are lineage (not rejected, both ends kept) as node indices."""
    ok = arrays.link_status != _REJECTED
    p, c, s = arrays.link_parent[ok], arrays.link_child[ok], arrays.link_status[ok]
    pi, ci = _find(ids, p), _find(ids, c)
    both = (pi != NONE) & (ci != NONE)
    return pi[both], ci[both], s[both]


def _find(sorted_ids: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Index of each query id in sorted_ids, NONE where absent."""
    if len(sorted_ids) == 0:
        return np.full(len(query), NONE, np.int64)
    i = np.minimum(np.searchsorted(sorted_ids, query), len(sorted_ids) - 1)
    return np.where(sorted_ids[i] == query, i, NONE).astype(np.int64)


def _tree_tables(
    n: int, t: np.ndarray, ids: np.ndarray, lp: np.ndarray, lc: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Parent index per node and its (up to two) children ordered by (t, id)."""
    parent = np.full(n, NONE, np.int64)
    parent[lc] = lp
    order = np.lexsort((ids[lc], t[lc], lp))  # by parent, then child (t, id)
    lp, lc = lp[order], lc[order]
    first = np.ones(len(lp), bool)
    first[1:] = lp[1:] != lp[:-1]
    children = np.full((n, 2), NONE, np.int64)
    children[lp[first], 0] = lc[first]
    children[lp[~first], 1] = lc[~first]
    return parent, children


def _levels(t: np.ndarray) -> Iterator[np.ndarray]:
    """Node indices grouped by timepoint, earliest first."""
    order = np.argsort(t, kind="stable")
    bounds = np.flatnonzero(np.diff(t[order])) + 1
    yield from (chunk for chunk in np.split(order, bounds) if len(chunk))


def _leaf_counts(children: np.ndarray, parent: np.ndarray, levels: list) -> np.ndarray:
    """Leaves under each node, bottom-up (a child is always later than its parent)."""
    leaves = (children[:, 0] == NONE).astype(np.int64)
    for level in reversed(levels):
        has = level[parent[level] != NONE]
        np.add.at(leaves, parent[has], leaves[has])
    return leaves


def _offsets(
    t: np.ndarray,
    ids: np.ndarray,
    parent: np.ndarray,
    children: np.ndarray,
    leaves: np.ndarray,
    levels: list,
) -> tuple[np.ndarray, np.ndarray, int]:
    """First column of each node's leaf span, and its tree's root, top-down."""
    n = len(t)
    roots = np.flatnonzero(parent == NONE)
    roots = roots[np.lexsort((ids[roots], t[roots]))]
    offset = np.zeros(n, np.int64)
    offset[roots] = np.cumsum(leaves[roots]) - leaves[roots]
    root = np.arange(n, dtype=np.int64)
    second = children[:, 1]
    before = np.zeros(n, np.int64)  # leaves of the elder sibling, for a second child
    has2 = second != NONE
    before[second[has2]] = leaves[children[has2, 0]]
    for level in levels:
        has = level[parent[level] != NONE]
        offset[has] = offset[parent[has]] + before[has]
        root[has] = root[parent[has]]
    return offset, root, int(leaves[roots].sum())


def _positions(offset: np.ndarray, children: np.ndarray, levels: list) -> np.ndarray:
    """Leaves at their column, parents midway between first and last child."""
    x = offset.astype(np.float64)
    for level in reversed(levels):
        first = children[level, 0]
        inner = level[first != NONE]
        if len(inner):
            c0, c1 = children[inner, 0], children[inner, 1]
            last = np.where(c1 != NONE, c1, c0)
            x[inner] = 0.5 * (x[c0] + x[last])
    return x


# ------------------------------------------------------- drawing, picking
def link_segments(layout: LineageLayout) -> tuple[np.ndarray, np.ndarray]:
    """Line segments of the links as (2k, 2) vertices (x, t) in pairs, and the
    link index of each segment: straight down for a track, an elbow (across at
    the parent's row, then down) for each daughter of a division."""
    p, c = layout.link_parent, layout.link_child
    xp, tp, xc, tc = layout.x[p], layout.t[p], layout.x[c], layout.t[c]
    straight = xp == xc
    link = np.arange(len(p))
    a = np.column_stack([xp, tp, xc, tc])[straight]
    b = np.column_stack([xp, tp, xc, tp])[~straight]
    d = np.column_stack([xc, tp, xc, tc])[~straight]
    segs = np.concatenate([a, b, d]).astype(np.float64).reshape(-1, 2)
    which = np.concatenate([link[straight], link[~straight], link[~straight]])
    return segs, which


def nearest_node(
    layout: LineageLayout, x: float, y: float, max_dx: float, max_dy: float
) -> int | None:
    """The node nearest to scene point (x, y = t) within the given distances."""
    if len(layout) == 0:
        return None
    row = round(y)
    if abs(y - row) > max_dy:
        return None
    lo, hi = _row_bounds(layout, row)
    if lo == hi:
        return None
    xs = layout.x[layout.by_row[lo:hi]]
    j = int(np.argmin(np.abs(xs - x)))
    return int(layout.by_row[lo + j]) if abs(xs[j] - x) <= max_dx else None


def _row_bounds(layout: LineageLayout, row: int) -> tuple[int, int]:
    rows = layout.t[layout.by_row]
    return int(np.searchsorted(rows, row, "left")), int(np.searchsorted(rows, row, "right"))


def step(layout: LineageLayout, index: int, direction: str) -> int | None:
    """Keyboard navigation: "parent", "child" (the first one), "left"/"right"
    (the sibling on that side, else the next node of the same row)."""
    if direction == "parent":
        p = int(layout.parent[index])
        return None if p == NONE else p
    if direction == "child":
        c = int(layout.children[index, 0])
        return None if c == NONE else c
    if direction not in ("left", "right"):
        raise ValueError(f"unknown direction {direction!r}")
    sign = -1.0 if direction == "left" else 1.0
    sib = _sibling(layout, index)
    if sib is not None and sign * (layout.x[sib] - layout.x[index]) > 0:
        return sib
    return _row_neighbour(layout, index, -1 if direction == "left" else 1)


def _sibling(layout: LineageLayout, index: int) -> int | None:
    p = int(layout.parent[index])
    if p == NONE:
        return None
    other = [int(c) for c in layout.children[p] if c != NONE and c != index]
    return other[0] if other else None


def _row_neighbour(layout: LineageLayout, index: int, offset: int) -> int | None:
    lo, hi = _row_bounds(layout, int(layout.t[index]))
    row = layout.by_row[lo:hi]
    j = int(np.flatnonzero(row == index)[0]) + offset
    return int(row[j]) if 0 <= j < len(row) else None
