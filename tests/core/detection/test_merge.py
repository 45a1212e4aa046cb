"""Merging predictions into the graph: human decisions survive, one undo step."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant.core.detection.merge import MergeResult, merge_many, merge_predictions
from napari_elephant.core.detection.postprocess import Ellipsoid
from napari_elephant.core.graph import Origin, Status, TrackingGraph


def ell(z: float, y: float, x: float, r: float = 2.0) -> Ellipsoid:
    return Ellipsoid(np.array([z, y, x]), np.eye(3) * r**2, 0.9, 4 / 3 * np.pi * r**3)


def snapshot(g: TrackingGraph) -> tuple[set, set]:
    return set(g.nuclei()), set(g.links())


@pytest.fixture
def graph() -> tuple[TrackingGraph, dict[str, int]]:
    """t=0: a0; t=1: accepted a1, rejected r1, predicted p1 and p2; t=2: c2.

    Links a0 → a1, a0 → p1 (stale prediction linked) and p1 → c2.
    """
    g = TrackingGraph()
    ids = {
        "a0": g.add_nucleus(0, (5, 5, 5), radius=2),
        "a1": g.add_nucleus(1, (5, 5, 5), radius=2),
        "r1": g.add_nucleus(1, (5, 5, 30), radius=2, status="rejected"),
        "p1": g.add_nucleus(1, (5, 30, 5), radius=2, status="predicted", origin="predicted"),
        "p2": g.add_nucleus(1, (5, 30, 30), radius=2, status="predicted", origin="predicted"),
        "c2": g.add_nucleus(2, (5, 30, 6), radius=2),
    }
    g.add_link(ids["a0"], ids["a1"])
    g.add_link(ids["a0"], ids["p1"], status="predicted")
    g.add_link(ids["p1"], ids["c2"], status="predicted")
    g.history.clear()
    return g, ids


NEW = [ell(5, 5, 6), ell(5, 6, 30), ell(5, 50, 50), ell(5, 30, 5)]  # near a1, near r1, 2 free


def test_human_nuclei_stay_and_stale_predictions_are_replaced(graph):
    g, ids = graph
    before = {k: g.nucleus(v) for k, v in ids.items() if k in ("a0", "a1", "r1", "c2")}
    result = merge_predictions(g, 1, NEW, d_sup=3.0)
    assert (result.removed_stale, result.added, result.suppressed) == (2, 2, 2)
    for k, n in before.items():
        assert g.nucleus(ids[k]) == n  # accepted / rejected untouched
    assert ids["p1"] not in g and ids["p2"] not in g
    new = [g.nucleus(i) for i in result.ids]
    assert {n.center for n in new} == {(5.0, 50.0, 50.0), (5.0, 30.0, 5.0)}
    assert all(n.status == Status.PREDICTED and n.origin == Origin.PREDICTED for n in new)
    assert all(n.t == 1 for n in new)
    assert {lk.key for lk in g.links()} == {(ids["a0"], ids["a1"])}  # stale links gone


def test_one_undo_restores_the_previous_graph_exactly(graph):
    g, _ = graph
    before = snapshot(g)
    merge_predictions(g, 1, NEW, d_sup=3.0)
    after = snapshot(g)
    assert len(g.history) == 1
    g.undo()
    assert snapshot(g) == before  # nuclei and the stale prediction's links are back
    g.redo()
    assert snapshot(g) == after


def test_a_nucleus_accepted_between_predictions_is_never_lost(graph):
    g, _ = graph
    first = merge_predictions(g, 1, [ell(5, 50, 50), ell(5, 70, 70)], d_sup=3.0)
    kept = first.ids[0]
    g.set_status([kept], "accepted")  # the user's edit
    accepted = g.nucleus(kept)
    second = merge_predictions(g, 1, [ell(5, 50, 51), ell(5, 90, 90)], d_sup=3.0)
    assert g.nucleus(kept) == accepted
    assert (second.removed_stale, second.added, second.suppressed) == (1, 1, 1)
    assert first.ids[1] not in g


def test_other_timepoints_are_untouched(graph):
    g, ids = graph
    merge_predictions(g, 2, [ell(5, 30, 30)], d_sup=3.0)
    assert ids["p1"] in g and ids["p2"] in g
    assert g.nucleus(ids["c2"]).status == Status.ACCEPTED


def test_merge_many_is_one_undo_step(graph):
    g, _ = graph
    before = snapshot(g)
    result = merge_many(g, {1: NEW, 3: [ell(1, 1, 1), ell(1, 1, 2)]}, d_sup=3.0)
    assert (result.removed_stale, result.added, result.suppressed) == (2, 3, 3)
    assert len(g.ids_at(3)) == 1 and len(g.history) == 1
    g.undo()
    assert snapshot(g) == before


def test_merge_result_adds_up_and_reads_well():
    total = MergeResult(1, 2, 3, (7,)) + MergeResult(1, 1, 0, (8,))
    assert total == MergeResult(2, 3, 3, (7, 8))
    assert str(total).startswith("3 nuclei predicted")


def test_a_prediction_overlapping_a_human_nucleus_is_its_twin():
    g = TrackingGraph()
    g.add_nucleus(0, (10, 10, 10), radius=3.5)  # clicked a little off the nucleus' centre
    g.add_nucleus(0, (10, 40, 10), radius=1.0, status="rejected")
    found = [
        ell(10, 10, 12.8, r=3.0),  # 2.8 µm off (> d_sup), inside the accepted ellipsoid
        ell(10, 40, 12.5, r=3.0),  # holds the small rejected nucleus' centre
        ell(10, 10, 17.0, r=3.0),  # a neighbour 7 µm away: a nucleus of its own
    ]
    result = merge_predictions(g, 0, found, d_sup=2.0)
    assert (result.added, result.suppressed) == (1, 2)
    (new,) = [n for n in g.nuclei_at(0) if n.status == Status.PREDICTED]
    assert new.center == (10.0, 10.0, 17.0)


def test_predicted_nuclei_carry_the_networks_confidence():
    g = TrackingGraph()
    unsure = Ellipsoid(np.array([5.0, 5.0, 5.0]), np.eye(3) * 4.0, 0.9, 33.5, confidence=0.35)
    result = merge_predictions(g, 3, [unsure, ell(5, 40, 40)], d_sup=2.0)
    by_x = {g.nucleus(i).center[2]: g.nucleus(i) for i in result.ids}
    assert by_x[5.0].confidence == 0.35 and by_x[5.0].origin is Origin.PREDICTED
    assert by_x[40.0].confidence is None  # an ellipsoid made without one
