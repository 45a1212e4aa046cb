"""The tracking graph: invariants, queries, events, undo/redo."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant.core.errors import GraphError
from napari_elephant.core.graph import (
    Link,
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
