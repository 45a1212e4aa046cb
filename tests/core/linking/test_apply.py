"""Linking runs on the graph: human decisions win, one undo step, stoppable, estimators."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Nucleus, Status, TrackingGraph
from napari_elephant.core.linking import identity_estimator, link_round, plan_links
from napari_elephant.core.linking.frames import frame_pair, make_scope
from napari_elephant.core.params import LinkingParams
from napari_elephant.core.training.progress import StopFlag, drain

PARAMS = LinkingParams(d_disp=100.0, d_dist=0.0)  # no divisions unless a test asks


def two_tracks(n_t: int = 3, status: str = "predicted") -> tuple[TrackingGraph, list[list[int]]]:
    """Two straight tracks at x = 0 and x = 20, one nucleus per timepoint, no links.

    Returns the graph and ids[track][t].
    """
    g = TrackingGraph()
    ids = [
        [g.add_nucleus(t, (5, 5, x + 0.5 * t), radius=2, status=status) for t in range(n_t)]
        for x in (0.0, 20.0)
    ]
    g.history.clear()
    return g, ids


def links_of(g: TrackingGraph) -> dict[tuple[int, int], Status]:
    return {lk.key: lk.status for lk in g.links()}


def test_a_run_links_everything_as_predicted_in_one_undo_step():
    g, (a, b) = two_tracks()
    result = drain(link_round(g, PARAMS))
    expected = {(a[0], a[1]), (a[1], a[2]), (b[0], b[1]), (b[1], b[2])}
    assert links_of(g) == dict.fromkeys(expected, Status.PREDICTED)
    assert result.links_added == 4 and result.steps == 2 and not result.stopped
    assert g.undo() is not None
    assert g.n_links == 0 and len(g) == 6
    assert g.undo() is None  # the whole run was one step


def test_accepted_links_are_kept_and_fix_the_childs_parent():
    g, (a, b) = two_tracks()
    g.add_link(b[0], a[1], status="accepted")  # a human says: this crosses over
    drain(link_round(g, PARAMS))
    links = links_of(g)
    assert links[(b[0], a[1])] == Status.ACCEPTED
    assert g.parent(a[1]) == b[0]  # not re-linked to its nearest, a[0]
    assert (a[0], a[1]) not in links
    assert links[(a[1], a[2])] == Status.PREDICTED  # accepted nuclei get proposals too


def test_rejected_links_stay_rejected_and_are_never_recreated():
    g, (a, _) = two_tracks()
    drain(link_round(g, PARAMS))
    g.set_link_status([(a[0], a[1])], "rejected")
    pair = frame_pair(g, make_scope(g, [0, 1, 2]), 1)
    assert (a[0], a[1]) in pair.forbidden
    drain(link_round(g, PARAMS))
    assert links_of(g)[(a[0], a[1])] == Status.REJECTED
    assert g.parent(a[1]) != a[0]  # the rejected link is no parent, and never re-proposed


def wrong_parent_rejected() -> tuple[TrackingGraph, list[int], list[int]]:
    """:func:`two_tracks` over t = 0, 1 where a human rejected the link b0 → a1."""
    g, (a, b) = two_tracks(n_t=2)
    g.add_link(b[0], a[1], status="rejected")
    g.history.clear()
    return g, a, b


def test_a_rejected_link_frees_its_child_and_takes_no_slot_of_its_parent():
    g, a, b = wrong_parent_rejected()
    pair = frame_pair(g, make_scope(g, [0, 1]), 1)
    assert sorted(pair.child_ids.tolist()) == sorted([a[1], b[1]])
    assert (b[0], a[1]) in pair.forbidden
    assert pair.capacity.tolist() == [2, 2]


@pytest.mark.parametrize("method", [None, "nn", "global"])
def test_a_child_whose_link_to_a_wrong_parent_was_rejected_gets_the_right_one(method):
    g, a, b = wrong_parent_rejected()
    expected = {
        (b[0], a[1]): Status.REJECTED,
        (a[0], a[1]): Status.PREDICTED,
        (b[0], b[1]): Status.PREDICTED,
    }
    for _ in range(2):  # a re-link keeps the rejected link: never deleted nor duplicated
        drain(link_round(g, LinkingParams(), method=method))
        assert links_of(g) == expected
    assert g.parent(a[1]) == a[0]


def test_rejected_nuclei_take_no_part():
    g, (a, _) = two_tracks()
    g.set_status([a[1]], "rejected")
    drain(link_round(g, PARAMS))
    assert not g.links_of(a[1])


def test_stale_predictions_of_the_range_are_replaced_and_others_kept():
    g, (a, b) = two_tracks()
    drain(link_round(g, PARAMS))
    # move a[2] next to b[1]: re-linking 1:3 must replace a[1] → a[2] by b[1] → a[2]
    g.update_nucleus(a[2], center=(5, 5, 20.5))
    g.update_nucleus(b[2], center=(5, 5, 40.0))
    result = drain(link_round(g, LinkingParams(d_search=5.0), timepoints=[1, 2]))
    links = links_of(g)
    assert (b[1], a[2]) in links and (a[1], a[2]) not in links and (b[1], b[2]) not in links
    assert (a[0], a[1]) in links and (b[0], b[1]) in links  # outside the re-linked steps
    assert result.links_removed == 2 and result.links_added == 1
    g.undo()
    assert (a[1], a[2]) in links_of(g) and (b[1], b[2]) in links_of(g)


def test_running_twice_changes_nothing():
    g, _ = two_tracks()
    drain(link_round(g, PARAMS))
    before = links_of(g)
    result = drain(link_round(g, PARAMS))
    assert links_of(g) == before
    assert result.links_added == 0 and result.links_removed == 0 and result.links_unchanged == 4


def test_stop_between_steps_applies_the_steps_done():
    g, (a, b) = two_tracks(n_t=4)
    stop = StopFlag()
    run = link_round(g, PARAMS, stop=stop)
    first = next(run)
    assert first.step == 1 and first.total == 3
    stop.set()
    result = drain(run)
    assert result.stopped and result.steps == 1
    assert set(links_of(g)) == {(a[0], a[1]), (b[0], b[1])}
    g.undo()
    assert g.n_links == 0


def test_plan_reads_the_graph_only():
    g, _ = two_tracks()
    plan = drain(plan_links(g, PARAMS))
    assert g.n_links == 0 and len(plan.proposed) == 4


def shifted(dx: float):
    """An estimator that knows every nucleus moved +dx along x since t−1."""

    def estimate(t: int, nuclei: Sequence[Nucleus]) -> np.ndarray:
        return np.array([n.center for n in nuclei]).reshape(-1, 3) - [0.0, 0.0, dx]

    return estimate


def test_flow_follows_the_estimator_beyond_d_search():
    g = TrackingGraph()
    # one nucleus racing 8 µm per timepoint past a still one: nearest neighbour mixes them up
    fast = [g.add_nucleus(t, (5, 5, 8.0 * t), radius=2) for t in range(3)]
    still = [g.add_nucleus(t, (5, 5, 9.0), radius=2) for t in range(3)]
    params = LinkingParams(d_search=5.0)
    drain(link_round(g, params, method="nn"))
    assert (fast[0], fast[1]) not in links_of(g)
    g.undo()
    drain(link_round(g, params, estimator=shifted(8.0), method="flow"))
    assert {(fast[0], fast[1]), (fast[1], fast[2])} <= set(links_of(g))
    assert (still[0], still[1]) not in links_of(g)  # its estimate is 8 µm off, too


def test_flow_without_estimator_and_bad_estimators_are_clear_errors():
    g, _ = two_tracks()
    with pytest.raises(InvalidInputError, match="estimator"):
        drain(link_round(g, PARAMS, method="flow"))
    with pytest.raises(InvalidInputError, match="unknown linking method"):
        drain(link_round(g, PARAMS, method="magic"))
    with pytest.raises(InvalidInputError, match="position estimator"):
        drain(link_round(g, PARAMS, estimator=lambda t, nuclei: np.zeros((1, 2))))
    assert g.n_links == 0


def test_identity_estimator_is_plain_nearest_neighbour():
    g, _ = two_tracks()
    drain(link_round(g, PARAMS, estimator=identity_estimator))
    with_identity = links_of(g)
    g.undo()
    drain(link_round(g, PARAMS))
    assert links_of(g) == with_identity


def test_global_method_links_the_graph_too():
    g, (a, b) = two_tracks()
    result = drain(link_round(g, LinkingParams(method="global")))
    assert set(links_of(g)) == {(a[0], a[1]), (a[1], a[2]), (b[0], b[1]), (b[1], b[2])}
    assert result.method == "global"
