"""Detection matching and scores on hand-built graphs."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant.core.graph import TrackingGraph
from napari_elephant.core.metrics import Scores, detection_scores, match_points


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


def test_empty_cases_are_perfect_not_nan():
    assert Scores(0, 0, 0).f1 == 1.0
    assert Scores(0, 3, 0).precision == 0.0
