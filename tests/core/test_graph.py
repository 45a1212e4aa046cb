"""The tracking graph: invariants, queries, events, undo/redo."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant.core.errors import GraphError
from napari_elephant.core.graph import (
    Link,
    LinkColumns,
    Status,
    TrackingGraph,
    make_nucleus,
    six_to_cov,
)


@pytest.fixture
def division() -> tuple[TrackingGraph, int, int, int]:
    """A mother at t=0 with two daughters at t=1."""
    g = TrackingGraph()
    m = g.add_nucleus(0, (5, 10, 10), radius=3)
    a = g.add_nucleus(1, (5, 10, 4), radius=2)
    b = g.add_nucleus(1, (5, 10, 16), radius=2)
    g.add_link(m, a)
    g.add_link(m, b)
    g.history.clear()
    return g, m, a, b


def snapshot(g: TrackingGraph) -> tuple:
    return (sorted(g.nuclei(), key=lambda n: n.id), sorted(g.links(), key=lambda lk: lk.key))


def test_ids_are_unique_and_never_reused():
    g = TrackingGraph()
    a = g.add_nucleus(0, (0, 0, 0), radius=1)
    g.remove_nuclei([a])
    b = g.add_nucleus(0, (0, 0, 0), radius=1)
    assert b != a
    with pytest.raises(GraphError, match="already exists"):
        g.add_nucleus(0, (1, 1, 1), radius=1, id=b)


def test_one_parent_two_children_and_forward_time(division):
    g, m, a, _ = division
    extra = g.add_nucleus(1, (0, 0, 0), radius=1)
    with pytest.raises(GraphError, match="2 children"):
        g.add_link(m, extra)
    other = g.add_nucleus(0, (9, 9, 9), radius=1)
    with pytest.raises(GraphError, match="already has a parent"):
        g.add_link(other, a)
    same_t = g.add_nucleus(0, (1, 1, 1), radius=1)
    with pytest.raises(GraphError, match="later timepoint"):
        g.add_link(other, same_t)
    with pytest.raises(GraphError, match="later timepoint"):
        g.add_link(extra, other)


def test_two_links_to_one_child_in_one_action_are_refused():
    g = TrackingGraph()
    p1, p2 = g.add_nucleus(0, (0, 0, 0), radius=1), g.add_nucleus(0, (5, 0, 0), radius=1)
    c = g.add_nucleus(1, (0, 0, 0), radius=1)
    with pytest.raises(GraphError, match="already has a parent"):
        g.add_links([Link(p1, c), Link(p2, c)])
    assert g.n_links == 0


def test_covariance_must_be_positive_definite():
    with pytest.raises(GraphError, match="positive definite"):
        make_nucleus(1, 0, (0, 0, 0), cov=np.diag([1.0, -1.0, 1.0]))
    with pytest.raises(GraphError, match="radius"):
        make_nucleus(1, 0, (0, 0, 0))


def test_nucleus_geometry_in_micrometres():
    cov = np.diag([4.0, 9.0, 16.0])
    n = make_nucleus(1, 0, (1, 2, 3), cov=cov)
    np.testing.assert_allclose(n.radii, [2, 3, 4])
    assert n.radius == pytest.approx((2 * 3 * 4) ** (1 / 3))
    np.testing.assert_array_equal(six_to_cov(n.cov), cov)


def test_per_timepoint_queries(division):
    g, m, a, b = division
    assert g.timepoints() == [0, 1]
    assert g.ids_at(1).tolist() == sorted([a, b])
    assert g.nearest(1, (5, 10, 14)) == b
    assert g.nearest(1, (5, 10, 14), max_distance=1.0) is None
    assert g.nearest(7, (0, 0, 0)) is None
    assert g.within(1, (5, 10, 10), 6.5).tolist() == sorted([a, b])
    assert g.parent(a) == m and g.children(m) == sorted([a, b])
    g.update_nucleus(b, center=(5, 10, 30))
    assert g.nearest(1, (5, 10, 14)) == a  # the cache follows edits


def test_events_fire_for_each_kind_of_change(division):
    g, m, a, _ = division
    seen: list[tuple[str, tuple]] = []
    for name in ("nuclei_added", "nuclei_removed", "nuclei_updated", "links_removed"):
        getattr(g.events, name).connect(lambda x, name=name: seen.append((name, x)))
    g.set_status([a], "rejected")
    g.remove_links([(m, a)])
    g.remove_nuclei([a])
    new = g.add_nucleus(2, (0, 0, 0), radius=1)
    names = [s[0] for s in seen]
    assert names == ["nuclei_updated", "links_removed", "nuclei_removed", "nuclei_added"]
    assert seen[0][1] == (a,) and seen[1][1] == ((m, a),)
    assert seen[2][1][0].id == a and seen[3][1] == (new,)


def test_delete_takes_links_and_undo_restores_them(division):
    g, m, a, _ = division
    before = snapshot(g)
    g.remove_nuclei([m])
    assert len(g) == 2 and g.n_links == 0
    g.undo()
    assert snapshot(g) == before
    g.redo()
    assert m not in g and g.parent(a) is None


@pytest.mark.parametrize(
    "edit",
    [
        lambda g, m, a, b: g.update_nucleus(a, center=(1, 2, 3), cov=np.eye(3) * 2),
        lambda g, m, a, b: g.set_status([a, b], Status.REJECTED),
        lambda g, m, a, b: g.set_link_status([(m, a)], "predicted"),
        lambda g, m, a, b: g.remove_links([(m, b)]),
        lambda g, m, a, b: g.add_nucleus(3, (1, 1, 1), radius=2),
    ],
    ids=["move-resize", "status", "link-status", "unlink", "add"],
)
def test_every_edit_round_trips_through_undo_redo(division, edit):
    g, m, a, b = division
    before = snapshot(g)
    edit(g, m, a, b)
    after = snapshot(g)
    assert after != before
    g.undo()
    assert snapshot(g) == before
    g.redo()
    assert snapshot(g) == after


def test_batch_is_one_undo_step_and_rolls_back_on_error(division):
    g, m, a, _ = division
    before = snapshot(g)
    with g.batch("merge"):
        g.add_nucleus(2, (0, 0, 0), radius=1)
        g.set_status([a], "rejected")
    assert len(g.history) == 1
    g.undo()
    assert snapshot(g) == before
    with pytest.raises(GraphError), g.batch("bad"):
        g.add_nucleus(2, (0, 0, 0), radius=1)
        g.add_link(m, a)  # m already has a → refused
    assert snapshot(g) == before


def test_new_edit_clears_redo(division):
    g, _, a, _ = division
    g.set_status([a], "rejected")
    g.undo()
    assert g.history.can_redo
    g.set_status([a], "predicted")
    assert not g.history.can_redo
    assert g.redo() is None


def test_update_refuses_unknown_fields(division):
    g, _, a, _ = division
    with pytest.raises(GraphError, match="cannot change"):
        g.update_nucleus(a, t=5)


def test_records_built_directly_store_enums():
    from napari_elephant.core.graph import Nucleus, Origin

    g = TrackingGraph.from_records(
        [
            Nucleus(1, 0, (0, 0, 0), (1, 0, 0, 1, 0, 1), "predicted", "predicted"),
            Nucleus(2, 1, (0, 0, 0), (1, 0, 0, 1, 0, 1)),
        ],
        [Link(1, 2, "rejected")],
        next_id=10,
    )
    assert g.nucleus(1).status is Status.PREDICTED and g.nucleus(1).origin is Origin.PREDICTED
    assert g.link(1, 2).status is Status.REJECTED
    assert g.new_id() == 10
    with pytest.raises(GraphError, match="unknown status"):
        Link(1, 2, "maybe")


_LOADED_LINKS_REFUSED = [
    ([Link(3, 1)], "later timepoint"),
    ([Link(1, 3), Link(1, 3, "rejected")], "already exists"),
    ([Link(1, 3), Link(2, 3)], "already has a parent"),
    ([Link(1, 3), Link(1, 4), Link(1, 5)], "already has 2 children"),
    ([Link(1, 99)], "no nucleus with id 99"),
    ([Link(1, 10**23)], f"no nucleus with id {10**23}"),  # beyond int64: a damaged file
]


@pytest.mark.parametrize(("links", "message"), _LOADED_LINKS_REFUSED)
def test_a_loaded_graph_keeps_the_limits_of_an_edited_one(links, message):
    nuclei = [make_nucleus(i, 0 if i < 3 else 1, (0, 0, i), radius=1) for i in range(1, 6)]
    with pytest.raises(GraphError, match=message):
        TrackingGraph.from_records(nuclei, links)
    edited = TrackingGraph.from_records(nuclei)
    with pytest.raises(GraphError, match=message):  # the same refusal, link by link
        edited.add_links(links)


@pytest.mark.parametrize(("links", "message"), _LOADED_LINKS_REFUSED)
def test_links_loaded_as_columns_keep_the_same_limits(links, message):
    nuclei = [make_nucleus(i, 0 if i < 3 else 1, (0, 0, i), radius=1) for i in range(1, 6)]
    with pytest.raises(GraphError, match=message):
        TrackingGraph.from_columns(nuclei, LinkColumns.of(links))


def test_columns_give_the_graph_records_give_and_use_the_readers_timepoints():
    nuclei = [make_nucleus(i, 0 if i < 3 else 1, (0, 0, i), radius=1) for i in range(1, 6)]
    links = [Link(1, 3, confidence=0.5), Link(1, 4), Link(2, 5, "rejected", 0.25)]
    columns = LinkColumns.of(links)
    by_columns = TrackingGraph.from_columns(nuclei, columns, next_id=9)
    by_records = TrackingGraph.from_records(nuclei, links, next_id=9)
    assert snapshot(by_columns) == snapshot(by_records)
    assert by_columns.new_id() == by_records.new_id() == 9
    wrong_t = LinkColumns(
        columns.parents, columns.children, columns.statuses, columns.confidences,
        np.array([1, 1, 1]), np.array([1, 1, 1]),
    )  # fmt: skip
    with pytest.raises(GraphError, match="later timepoint"):  # the given timepoints are read
        TrackingGraph.from_columns(nuclei, wrong_t)
    with pytest.raises(GraphError, match="same length"):
        LinkColumns(columns.parents, columns.children[:2], columns.statuses, [None] * 3)


def test_a_loaded_graph_allows_rejected_links_beyond_the_limits():
    nuclei = [make_nucleus(i, 0 if i == 1 else 1, (0, 0, i), radius=1) for i in range(1, 6)]
    links = [Link(1, 2), Link(1, 3), Link(1, 4, "rejected"), Link(1, 5, "rejected")]
    g = TrackingGraph.from_records(nuclei, links)
    assert g.n_links == 4 and sorted(g.children(1)) == [2, 3]


def test_confidence_is_optional_and_checked():
    assert make_nucleus(1, 0, (0, 0, 0), radius=1).confidence is None
    assert make_nucleus(1, 0, (0, 0, 0), radius=1, confidence=0.25).confidence == 0.25
    for bad in (float("nan"), 1.5, -0.1):
        with pytest.raises(GraphError, match="confidence"):
            make_nucleus(1, 0, (0, 0, 0), radius=1, confidence=bad)


def test_confidence_survives_accepting_moving_undo_and_copies():
    from napari_elephant.core.graph.merge import merge_into

    g = TrackingGraph()
    nid = g.add_nucleus(0, (1, 2, 3), radius=2, status="predicted", confidence=0.4)
    g.set_status([nid], Status.ACCEPTED)  # what the network thought stays
    g.update_nucleus(nid, center=(2, 2, 3), radius=3)
    assert g.nucleus(nid).confidence == 0.4 and g.nucleus(nid).status is Status.ACCEPTED
    g.undo()
    g.undo()
    assert g.nucleus(nid).confidence == 0.4 and g.nucleus(nid).status is Status.PREDICTED
    copy = TrackingGraph.from_records(g.nuclei(), g.links(), g.next_id)
    assert copy.nucleus(nid) == g.nucleus(nid)
    report = merge_into(copy, [g.nucleus(nid).with_(confidence=0.9)], [])
    assert report.updated == 1 and copy.nucleus(nid).confidence == 0.9


# ------------------------------------------- rejected links and the limits
@pytest.fixture
def rejected_parent() -> tuple[TrackingGraph, int, int, int]:
    """Two candidate parents p, q at t=0 and a child c at t=1 whose link from p is rejected."""
    g = TrackingGraph()
    p, q = g.add_nucleus(0, (0, 0, 0), radius=1), g.add_nucleus(0, (5, 0, 0), radius=1)
    c = g.add_nucleus(1, (5, 0, 0), radius=1)
    g.add_link(p, c, "rejected")
    g.history.clear()
    return g, p, q, c


@pytest.mark.parametrize("status", ["accepted", "predicted"])
def test_a_rejected_parent_link_leaves_room_for_the_right_parent(rejected_parent, status):
    g, p, q, c = rejected_parent
    assert g.parent(c) is None and g.children(p) == []  # a rejected link is no lineage
    g.add_link(q, c, status)
    assert g.parent(c) == q and g.children(q) == [c]
    assert {lk.key for lk in g.parent_links(c)} == {(p, c), (q, c)}
    assert {lk.key for lk in g.links_of(c)} == {(p, c), (q, c)}


def test_a_second_lineage_parent_is_refused_but_rejected_links_are_not_limited(rejected_parent):
    g, p, q, c = rejected_parent
    g.add_link(q, c)
    r = g.add_nucleus(0, (9, 0, 0), radius=1)
    with pytest.raises(GraphError, match="already has a parent"):
        g.add_link(r, c, "predicted")
    g.add_link(r, c, "rejected")  # any number of negative examples
    with pytest.raises(GraphError, match="already exists"):
        g.add_link(p, c, "accepted")  # never two links with the same key
    assert g.parent(c) == q and len(g.parent_links(c)) == 3


def test_one_batch_may_hold_one_lineage_parent_beside_rejected_links():
    g = TrackingGraph()
    p, q, r = (g.add_nucleus(0, (x, 0, 0), radius=1) for x in (0, 5, 9))
    c = g.add_nucleus(1, (5, 0, 0), radius=1)
    with pytest.raises(GraphError, match="already has a parent"):
        g.add_links([Link(p, c, "rejected"), Link(q, c), Link(r, c, "predicted")])
    with pytest.raises(GraphError, match="already exists"):
        g.add_links([Link(p, c, "rejected"), Link(p, c, "rejected")])
    assert g.n_links == 0
    g.add_links([Link(p, c, "rejected"), Link(q, c), Link(r, c, "rejected")])
    assert g.parent(c) == q


def test_rejected_child_links_take_no_slot_of_a_mother(division):
    g, m, a, b = division
    extra = g.add_nucleus(1, (0, 0, 0), radius=1)
    g.add_link(m, extra, "rejected")
    assert g.children(m) == sorted([a, b])
    assert [lk.child for lk in g.child_links(m)] == sorted([a, b, extra])


def test_unrejecting_a_link_over_a_limit_is_refused_and_changes_nothing(rejected_parent):
    g, p, q, c = rejected_parent
    g.add_link(q, c)
    before, steps = snapshot(g), len(g.history)
    with pytest.raises(GraphError, match=f"nucleus {c} already has a parent"):
        g.set_link_status([(p, c)], "accepted")
    assert snapshot(g) == before and len(g.history) == steps
    g.set_link_status([(p, c), (q, c)], "rejected")  # several rejected: fine
    with pytest.raises(GraphError, match="already has a parent"):
        g.set_link_status([(p, c), (q, c)], "predicted")
    g.set_link_status([(q, c)], "accepted")
    assert g.parent(c) == q


def test_unrejecting_a_third_child_is_refused(division):
    g, m, *_ = division
    extra = g.add_nucleus(1, (0, 0, 0), radius=1)
    g.add_link(m, extra, "rejected")
    with pytest.raises(GraphError, match=f"nucleus {m} already has 2 children"):
        g.set_link_status([(m, extra)], "predicted")
    assert g.link(m, extra).status is Status.REJECTED


def test_swapping_the_rejected_parent_link_in_one_step_is_allowed(rejected_parent):
    from napari_elephant.core.graph import UpdateLinks

    g, p, q, c = rejected_parent
    g.add_link(q, c)
    before = (g.link(p, c), g.link(q, c))
    after = (Link(p, c, "accepted"), Link(q, c, "rejected"))
    g.apply(UpdateLinks(before, after))
    assert g.parent(c) == p
    g.undo()
    assert g.parent(c) == q


def test_relinking_a_rejected_child_round_trips_through_undo_redo():
    g = TrackingGraph()
    p, q = g.add_nucleus(0, (0, 0, 0), radius=1), g.add_nucleus(0, (5, 0, 0), radius=1)
    c = g.add_nucleus(1, (5, 0, 0), radius=1)
    g.add_link(p, c, "predicted")
    states = [snapshot(g)]
    g.set_link_status([(p, c)], "rejected")
    states.append(snapshot(g))
    g.add_link(q, c)
    states.append(snapshot(g))
    g.remove_nuclei([c])  # takes both links; undo restores both
    states.append(snapshot(g))
    for state in reversed(states[:-1]):
        g.undo()
        assert snapshot(g) == state
    for state in states[1:]:
        g.redo()
        assert snapshot(g) == state


def test_an_import_may_reject_a_parent_link_and_add_the_right_one(rejected_parent):
    from napari_elephant.core.graph.merge import merge_into

    g, p, q, c = rejected_parent
    g.set_link_status([(p, c)], "accepted")
    report = merge_into(g, [], [Link(p, c, "rejected"), Link(q, c, "accepted")])
    assert report.links_added == 1 and report.links_updated == 1
    assert g.parent(c) == q and g.link(p, c).status is Status.REJECTED
