"""Detection, link and division scores on hand-built graphs."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import TrackingGraph
from napari_elephant.core.metrics import (
    Scores,
    detection_scores,
    division_scores,
    evaluate,
    interior_detection_scores,
    link_scores,
    match_points,
)


def graph_of(points: list[tuple[int, tuple[float, float, float]]], status="accepted"):
    g = TrackingGraph()
    for t, c in points:
        g.add_nucleus(t, c, radius=2, status=status)
    return g


def test_matching_is_one_to_one_and_optimal():
    truth = np.array([[0, 0, 0], [0, 0, 4.0]])
    result = np.array([[0, 0, 2.1], [0, 0, 5.0]])
    # greedy would pair result 0 with truth 1 (1.9 µm) and leave truth 0 alone
    assert sorted(match_points(result, truth, 3.0)) == [(0, 0), (1, 1)]


def test_pairs_beyond_dmax_never_match():
    assert match_points(np.array([[0, 0, 0.0]]), np.array([[0, 0, 3.5]]), 3.0) == []
    assert match_points(np.zeros((0, 3)), np.array([[0, 0, 0.0]]), 3.0) == []


def test_detection_scores_count_per_timepoint_and_ignore_rejected():
    truth = graph_of([(0, (0, 0, 0)), (0, (0, 0, 10)), (1, (0, 0, 0))])
    result = graph_of([(0, (0, 0, 1)), (0, (0, 20, 0)), (1, (0, 0, 0.5))])
    result.add_nucleus(0, (0, 0, 10), radius=2, status="rejected")
    s = detection_scores(result, truth, dmax=3.0)
    assert (s.tp, s.fp, s.fn) == (2, 1, 1)
    assert s.precision == pytest.approx(2 / 3) and s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(2 / 3)


def test_interior_scores_leave_out_what_lies_near_a_side():
    # a 2D movie 100 x 50 µm: z is 0 and ignored
    truth = graph_of([(0, (0, 20, 20)), (0, (0, 50, 25)), (0, (0, 99, 25))])
    result = graph_of([(0, (0, 20, 21)), (0, (0, 2, 25)), (0, (0, 60, 48)), (0, (0, 70, 25))])
    # everywhere: one match, three false, two missed
    assert detection_scores(result, truth, 3.0) == Scores(1, 3, 2)
    inner = interior_detection_scores(result, truth, (0, 100, 50), margin=5.0, dmax=3.0)
    # the false nuclei at y=2 and x=48 and the missed one at y=99 are near a side
    assert inner == Scores(1, 1, 1)
    # a matched pair counts by its truth nucleus, whichever side the result lies
    edge = graph_of([(0, (0, 6, 25))])
    assert interior_detection_scores(
        graph_of([(0, (0, 4, 25))]), edge, (0, 100, 50), 5.0, 3.0
    ) == Scores(1, 0, 0)


def test_empty_cases_are_perfect_not_nan():
    assert Scores(0, 0, 0).f1 == 1.0
    assert Scores(0, 3, 0).precision == 0.0


# ------------------------------------------------------ links and divisions
def lineage(spec: dict[str, tuple[int, float]], links: list[tuple[str, str]], **status):
    """A graph from named nuclei {name: (t, x)} and links; status={name: 'rejected'}."""
    g, ids = TrackingGraph(), {}
    for name, (t, x) in spec.items():
        ids[name] = g.add_nucleus(t, (0, 0, x), radius=2, status=status.get(name, "accepted"))
    for p, c in links:
        g.add_link(ids[p], ids[c], status.get(p + c, "accepted"))
    return g


DIVIDING = {"a": (0, 0.0), "b": (1, 0.0), "c": (1, 20.0)}


def test_a_link_counts_when_both_ends_match_linked_truth_nuclei():
    truth = lineage({"a": (0, 0.0), "b": (1, 0.0), "c": (2, 0.0)}, [("a", "b"), ("b", "c")])
    result = lineage({"a": (0, 1.0), "b": (1, 0.5), "c": (2, 9.0)}, [("a", "b"), ("b", "c")])
    s = link_scores(result, truth, dmax=3.0)
    assert (s.tp, s.fp, s.fn) == (1, 1, 1)  # b → c ends on a nucleus that matches nothing


def test_gap_links_match_only_the_same_gap():
    spec = {"a": (0, 0.0), "b": (1, 0.0), "c": (2, 0.0)}
    truth = lineage(spec, [("a", "c")])  # the truth skips t = 1 (b is not linked)
    assert link_scores(lineage(spec, [("a", "c")]), truth).tp == 1
    bridged = link_scores(lineage(spec, [("a", "b"), ("b", "c")]), truth)
    assert (bridged.tp, bridged.fp, bridged.fn) == (0, 2, 1)


def test_rejected_links_and_nuclei_are_not_part_of_either_graph():
    spec = {"a": (0, 0.0), "b": (1, 0.0), "c": (2, 0.0)}
    truth = lineage(spec, [("a", "b"), ("b", "c")], bc="rejected")
    result = lineage(spec, [("a", "b"), ("b", "c")], ab="rejected", c="rejected")
    ev = evaluate(result, truth)
    assert (ev.links.tp, ev.links.fp, ev.links.fn) == (0, 0, 1)  # only truth a → b counts
    assert (ev.detection.tp, ev.detection.fp, ev.detection.fn) == (2, 0, 1)


def test_rejected_links_beside_lineage_links_change_no_score():
    spec = {**DIVIDING, "x": (0, 20.0), "d": (1, 40.0)}
    truth = lineage(spec, [("a", "b"), ("a", "c")])
    links = [("x", "b"), ("a", "b"), ("a", "c"), ("a", "d")]  # x → b and a → d rejected
    ev = evaluate(lineage(spec, links, xb="rejected", ad="rejected"), truth)
    assert (ev.links.tp, ev.links.fp, ev.links.fn) == (2, 0, 0)
    assert (ev.divisions.tp, ev.divisions.fp, ev.divisions.fn) == (1, 0, 0)


def test_a_division_needs_the_parent_and_both_children():
    truth = lineage(DIVIDING, [("a", "b"), ("a", "c")])
    assert division_scores(lineage(DIVIDING, [("a", "b"), ("a", "c")]), truth).f1 == 1.0
    moved = lineage({**DIVIDING, "c": (1, 10.0)}, [("a", "b"), ("a", "c")])
    s = division_scores(moved, truth)
    assert (s.tp, s.fp, s.fn) == (0, 1, 1)
    single = division_scores(lineage(DIVIDING, [("a", "b")]), truth)
    assert (single.tp, single.fp, single.fn) == (0, 0, 1)


def test_a_division_one_frame_late_is_not_correct():
    truth = lineage({**DIVIDING, "b2": (2, 0.0)}, [("a", "b"), ("a", "c"), ("b", "b2")])
    late = lineage(
        {"a": (0, 0.0), "b": (1, 0.0), "b2": (2, 0.0), "c": (2, 20.0)},
        [("a", "b"), ("b", "b2"), ("b", "c")],
    )
    s = division_scores(late, truth)
    assert (s.tp, s.fp, s.fn) == (0, 1, 1)


def test_evaluation_counts_every_timepoint_of_either_graph_unless_told():
    truth = lineage({"a": (0, 0.0)}, [])
    result = lineage({"a": (0, 0.0), "x": (5, 0.0)}, [])
    assert evaluate(result, truth).detection.fp == 1
    assert evaluate(result, truth, timepoints=[0]).detection.fp == 0
    d = evaluate(result, truth).as_dict()
    assert d["detection"]["tp"] == 1 and d["DET"] == pytest.approx(1 - 1 / 10)
    assert d["dmax_um"] == 3.0 and d["aogm"]["FP"] == 1


def test_dmax_must_be_positive():
    g = lineage({"a": (0, 0.0)}, [])
    with pytest.raises(InvalidInputError, match="dmax"):
        evaluate(g, g, dmax=0)


def test_rejected_truth_nuclei_are_not_expected_to_be_found():
    truth = graph_of([(0, (0, 0, 0))])
    truth.add_nucleus(0, (0, 0, 10), radius=2, status="rejected")
    s = detection_scores(graph_of([(0, (0, 0, 0))]), truth)
    assert (s.tp, s.fp, s.fn) == (1, 0, 0)
