"""Lineage layout on hand-built trees: forks, gaps, several roots, rejected left out."""

from __future__ import annotations

import time

import numpy as np
import pytest

from napari_elephant.core.graph import Link, Status, TrackingGraph, make_nucleus
from napari_elephant.core.graph.model import STATUS_ORDER
from napari_elephant.core.lineage_layout import (
    NONE,
    GraphArrays,
    graph_arrays,
    layout_arrays,
    layout_lineage,
    link_segments,
    nearest_node,
    step,
)

A, P, R = Status.ACCEPTED, Status.PREDICTED, Status.REJECTED


def build(spec: list[tuple[int, int, Status]], links: list[tuple[int, int, Status]]):
    """Graph from (id, t, status) nuclei and (parent, child, status) links."""
    nuclei = [make_nucleus(i, t, (0.0, float(i), 0.0), radius=1.0, status=s) for i, t, s in spec]
    return TrackingGraph.from_records(nuclei, [Link(p, c, s) for p, c, s in links])


def pos(layout, nid: int) -> tuple[float, int]:
    i = layout.index_of(nid)
    return float(layout.x[i]), int(layout.t[i])


def division() -> TrackingGraph:
    """1 → 2 → {3, 4}; 3 → 5 → {6, 7}."""
    spec = [(1, 0, A), (2, 1, A), (3, 2, A), (4, 2, P), (5, 3, A), (6, 4, A), (7, 4, A)]
    links = [(1, 2, A), (2, 3, A), (2, 4, P), (3, 5, A), (5, 6, A), (5, 7, A)]
    return build(spec, links)


def test_the_columns_are_read_once_per_revision_and_are_read_only() -> None:
    g = division()
    first = graph_arrays(g)
    assert graph_arrays(g) is first  # nothing changed: the same read
    with pytest.raises(ValueError, match="read-only"):
        first.status[0] = 0
    g.update_nucleus(4, status=A)
    again = graph_arrays(g)
    assert again is not first and again.status[list(again.ids).index(4)] == first.status[0]
    other = division()  # equal, but another graph
    assert graph_arrays(other) is not again


def test_division_forks_with_one_column_per_leaf() -> None:
    lay = layout_lineage(division())
    assert lay.n_columns == 3  # leaves 6, 7, 4
    assert pos(lay, 6) == (0.0, 4) and pos(lay, 7) == (1.0, 4)
    assert pos(lay, 5) == (0.5, 3) and pos(lay, 3) == (0.5, 2)
    assert pos(lay, 4) == (2.0, 2)
    assert pos(lay, 2) == (1.25, 1) and pos(lay, 1) == (1.25, 0)  # midway 3 and 4
    i2 = lay.index_of(2)
    assert [int(lay.ids[c]) for c in lay.children[i2]] == [3, 4]
    assert lay.parent[lay.index_of(1)] == NONE
    assert STATUS_ORDER[lay.status[lay.index_of(4)]] is P


def test_gap_keeps_each_node_on_its_own_timepoint() -> None:
    g = build([(1, 0, A), (2, 3, A), (3, 7, A)], [(1, 2, A), (2, 3, A)])
    lay = layout_lineage(g)
    assert [pos(lay, i) for i in (1, 2, 3)] == [(0.0, 0), (0.0, 3), (0.0, 7)]
    segs, which = link_segments(lay)
    assert segs.tolist() == [[0, 0], [0, 3], [0, 3], [0, 7]]
    assert which.tolist() == [0, 1]


def test_roots_at_any_time_sit_side_by_side_in_order_of_first_timepoint() -> None:
    spec = [(10, 5, A), (11, 6, A), (20, 0, A), (21, 1, A), (22, 1, A), (30, 0, P)]
    g = build(spec, [(10, 11, A), (20, 21, A), (20, 22, A)])
    lay = layout_lineage(g)
    assert lay.n_columns == 4
    # t=0 roots first (ids 20, 30), then the one that starts at t=5
    assert [pos(lay, i) for i in (21, 22, 20, 30, 10, 11)] == [
        (0.0, 1), (1.0, 1), (0.5, 0), (2.0, 0), (3.0, 5), (3.0, 6),
    ]  # fmt: skip
    assert set(lay.ids[lay.tree(lay.index_of(22))].tolist()) == {20, 21, 22}


def test_rejected_nuclei_and_links_are_not_lineage() -> None:
    spec = [(1, 0, A), (2, 1, R), (3, 2, A), (4, 1, A), (5, 2, A)]
    g = build(spec, [(1, 2, A), (2, 3, A), (1, 4, R), (4, 5, A)])
    lay = layout_lineage(g)
    assert 2 not in lay.ids.tolist()
    assert lay.parent[lay.index_of(3)] == NONE  # its parent was rejected
    assert lay.parent[lay.index_of(4)] == NONE  # the link was rejected
    assert len(lay.link_parent) == 1 and lay.n_columns == 3
    shown = layout_lineage(g, include_rejected=True)
    assert shown.index_of(2) is not None and len(shown.link_parent) == 3
    assert shown.ids[shown.parent[shown.index_of(3)]] == 2
    assert shown.parent[shown.index_of(4)] == NONE  # a rejected link never joins


def test_division_draws_elbows_and_tracks_draw_straight() -> None:
    lay = layout_lineage(build([(1, 0, A), (2, 1, A), (3, 1, A)], [(1, 2, A), (1, 3, A)]))
    segs, _ = link_segments(lay)
    pairs = {tuple(map(tuple, segs[k : k + 2].tolist())) for k in range(0, len(segs), 2)}
    assert pairs == {
        ((0.5, 0), (0.0, 0)), ((0.0, 0), (0.0, 1)),
        ((0.5, 0), (1.0, 0)), ((1.0, 0), (1.0, 1)),
    }  # fmt: skip


def test_picking_finds_the_node_under_a_point_and_nothing_far_away() -> None:
    lay = layout_lineage(division())
    assert lay.ids[nearest_node(lay, 1.9, 2.2, 0.3, 0.3)] == 4
    assert nearest_node(lay, 1.5, 2.0, 0.3, 0.3) is None  # between columns
    assert nearest_node(lay, 2.0, 2.5, 0.3, 0.3) is None  # between rows
    assert nearest_node(lay, 0.0, 40.0, 1.0, 1.0) is None  # no such row


def test_keyboard_steps_to_parent_child_and_sibling() -> None:
    lay = layout_lineage(division())

    def go(nid: int, direction: str) -> int | None:
        j = step(lay, lay.index_of(nid), direction)
        return None if j is None else int(lay.ids[j])

    assert go(5, "parent") == 3 and go(1, "parent") is None
    assert go(2, "child") == 3 and go(4, "child") is None
    assert go(3, "right") == 4 and go(4, "left") == 3
    assert go(3, "left") is None and go(6, "right") == 7
    with pytest.raises(ValueError):
        step(lay, 0, "up")


def test_empty_graph_and_unknown_ids() -> None:
    lay = layout_lineage(TrackingGraph())
    assert len(lay) == 0 and lay.n_columns == 0
    assert lay.index_of(3) is None and nearest_node(lay, 0, 0, 1, 1) is None
    assert link_segments(lay)[0].shape == (0, 2)


def random_forest(n_t: int, n_start: int, seed: int = 0) -> GraphArrays:
    """Dividing random lineages as arrays (the shape of a big workspace)."""
    rng = np.random.default_rng(seed)
    ids, ts, lps, lcs = [], [], [], []
    alive = np.arange(1, n_start + 1)
    nxt = n_start + 1
    for t in range(n_t):
        ids.append(alive)
        ts.append(np.full(len(alive), t))
        div = alive[rng.random(len(alive)) < 0.02]
        parents = np.concatenate([alive, div])
        kids = np.arange(nxt, nxt + len(parents))
        nxt += len(parents)
        lps.append(parents)
        lcs.append(kids)
        alive = kids
    ids_a, t_a = np.concatenate(ids), np.concatenate(ts)
    lp, lc = np.concatenate(lps[:-1]), np.concatenate(lcs[:-1])
    status = (ids_a % 3).astype(np.int8)
    return GraphArrays(ids_a, t_a, status, lp, lc, np.ones(len(lp), np.int8))


def test_layout_invariants_and_speed_on_a_large_forest() -> None:
    arrays = random_forest(100, 200)  # ~ 50k nuclei
    start = time.perf_counter()
    lay = layout_arrays(arrays, include_rejected=True)
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0  # ~0.03 s here; generous for a busy machine
    has_parent = lay.parent != NONE
    assert np.all(lay.t[has_parent] > lay.t[lay.parent[has_parent]])
    leaves = lay.children[:, 0] == NONE
    assert np.array_equal(np.sort(lay.x[leaves][lay.t[leaves] == 99]), np.arange(lay.n_columns))
    # a parent lies within its children's columns; a tree's columns are contiguous
    inner = ~leaves
    lo = lay.x[lay.children[inner, 0]]
    hi = lay.x[
        np.where(lay.children[inner, 1] != NONE, lay.children[inner, 1], lay.children[inner, 0])
    ]
    assert np.all((lo <= lay.x[inner]) & (lay.x[inner] <= hi))


def test_folding_hides_a_branch_and_closes_the_tree_around_it() -> None:
    """1 → 2 → {3, 4}; 3 → 5; 4 → 6 → {7, 8}; 9 alone."""
    from napari_elephant.core.graph import Link, TrackingGraph, make_nucleus

    g = TrackingGraph()
    times = {1: 0, 2: 1, 3: 2, 4: 2, 5: 3, 6: 3, 7: 4, 8: 4, 9: 0}
    g.add_nuclei([make_nucleus(i, t, (0, i, 0), radius=1.0) for i, t in times.items()])
    g.add_links([Link(1, 2), Link(2, 3), Link(2, 4), Link(3, 5), Link(4, 6), Link(6, 7),
                 Link(6, 8)])  # fmt: skip
    assert layout_lineage(g).n_columns == 4 and not layout_lineage(g).folded.any()
    one = layout_lineage(g, folded={4})
    assert one.ids.tolist() == [1, 2, 3, 4, 5, 9] and one.n_columns == 3
    assert one.ids[one.folded].tolist() == [4]
    nested = layout_lineage(g, folded={2, 6})  # 6 lies inside 2's fold: only 2 is marked
    assert nested.ids.tolist() == [1, 2, 9] and nested.ids[nested.folded].tolist() == [2]
    leaf = layout_lineage(g, folded={9})  # nothing below: nothing hidden, nothing marked
    assert len(leaf) == 9 and not leaf.folded.any()
