"""A division needs two daughters that go on (core/linking/fleeting.py)."""

from __future__ import annotations

import pytest

from napari_elephant.core.graph import Link, Status, TrackingGraph, make_nucleus
from napari_elephant.core.linking import link_round
from napari_elephant.core.linking.fleeting import drop_fleeting_daughters
from napari_elephant.core.linking.frames import make_scope
from napari_elephant.core.params import LinkingParams
from napari_elephant.core.training.progress import drain

PARAMS = LinkingParams(d_search=6.0, d_disp=1.0, d_dist=1.0)


def movie(y: float = 50.0, goes_on: bool = False, last: int = 2) -> TrackingGraph:
    """A mother at t = 0 with a near child (y, 47.5) and a far one (y, 53.5) at t = 1;
    the near one goes on to t = 2, the far one only when ``goes_on``.  Still nuclei
    at two corners mark out a 100 × 100 µm field."""
    rows = [(0, (10.0, y, 50.0)), (1, (10.0, y, 47.5)), (1, (10.0, y, 53.5))]
    rows += [(2, (10.0, y, 47.5))] + ([(2, (10.0, y, 53.5))] if goes_on else [])
    rows += [(t, (10.0, c, c)) for t in range(last + 1) for c in (0.0, 100.0)]
    rows = [(t, c) for t, c in rows if t <= last]
    nuclei = [make_nucleus(i + 1, t, c, radius=3.0) for i, (t, c) in enumerate(rows)]
    return TrackingGraph.from_records(nuclei)


def test_a_daughter_that_vanishes_at_once_is_no_daughter():
    graph = movie()
    drain(link_round(graph, PARAMS))
    assert graph.children(1) == [2]  # the far one (3) starts a track of her own
    assert graph.parent(3) is None and 3 in graph


def test_the_daughter_left_alone_is_judged_as_an_only_child():
    # 2 sits 2.5 µm from her mother and the let-go 3 lies 3.5 µm away: as an only
    # child her link is as doubtful as 1 − (2.5 / 3.5)², not as sure as a division
    graph = movie()
    drain(link_round(graph, PARAMS))
    assert graph.link(1, 2).confidence == pytest.approx(1 - (2.5 / 3.5) ** 2, abs=1e-6)
    kept = movie(goes_on=True)
    drain(link_round(kept, PARAMS))
    assert kept.link(1, 2).confidence == kept.link(1, 3).confidence  # a division's


def test_a_daughter_that_goes_on_is_kept():
    graph = movie(goes_on=True)
    drain(link_round(graph, PARAMS))
    assert sorted(graph.children(1)) == [2, 3]


def test_nothing_is_dropped_at_the_last_timepoint_or_the_lateral_edge():
    for graph in (movie(last=1), movie(y=2.0)):  # the edge: within a radius of y = 0
        drain(link_round(graph, PARAMS))
        assert sorted(graph.children(1)) == [2, 3]


def test_a_human_link_is_never_dropped():
    graph = movie()
    graph.add_link(1, 3, Status.ACCEPTED)
    drain(link_round(graph, PARAMS))
    assert 3 in graph.children(1)
    assert graph.link(1, 3).status == Status.ACCEPTED


def test_of_two_daughters_without_a_future_only_the_farther_goes():
    graph = movie()
    graph.remove_nuclei([n.id for n in graph.nuclei_at(2) if n.center[2] == 47.5])
    scope = make_scope(graph, [0, 1, 2])
    assert drop_fleeting_daughters(graph, scope, [(1, 2), (1, 3)]) == [(1, 2)]
    assert drop_fleeting_daughters(graph, scope, [(1, 2), (1, 3)], sources=[3]) == [(1, 3)]
    kept = TrackingGraph.from_records(list(graph.nuclei()), [Link(1, 2, Status.ACCEPTED)])
    assert drop_fleeting_daughters(kept, make_scope(kept, [0, 1, 2]), [(1, 3)]) == []
