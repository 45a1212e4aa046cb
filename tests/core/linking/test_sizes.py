"""Linking distances that follow the nuclei's size."""

from __future__ import annotations

import pytest

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import TrackingGraph
from napari_elephant.core.linking.apply import link_round
from napari_elephant.core.linking.sizes import median_spacing, resolve_linking
from napari_elephant.core.params import LinkingParams
from napari_elephant.core.training.progress import drain


def _pair(radius: float, step: float) -> TrackingGraph:
    g = TrackingGraph()
    g.add_nucleus(0, (0.0, 50.0, 50.0), radius=radius, status="predicted")
    g.add_nucleus(1, (0.0, 50.0, 50.0 + step), radius=radius, status="predicted")
    return g


def test_auto_distances_are_fractions_of_the_median_lateral_radius():
    g = _pair(9.0, 1.0)
    resolved = resolve_linking(LinkingParams(), g.nuclei())
    assert resolved.d_search == pytest.approx(18.0)
    assert resolved.d_disp == pytest.approx(3.0) and resolved.d_dist == pytest.approx(3.0)
    typed = resolve_linking(LinkingParams(d_search=4.0, d_disp=0.5), g.nuclei())
    assert (typed.d_search, typed.d_disp, typed.d_dist) == (4.0, 0.5, pytest.approx(3.0))


def test_large_nuclei_moving_far_are_linked_small_ones_are_not():
    big = _pair(9.0, 15.0)  # 15 µm is under two radii of a 9 µm nucleus
    drain(link_round(big, LinkingParams()))
    assert big.n_links == 1
    small = _pair(3.0, 15.0)  # five radii away: another cell
    drain(link_round(small, LinkingParams()))
    assert small.n_links == 0


def test_nothing_to_measure_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="no nuclei"):
        resolve_linking(LinkingParams(), [])


def _row(radius: float, spacing: float, step: float) -> TrackingGraph:
    """Four nuclei along x, ``spacing`` apart, all moving ``step`` along y."""
    g = TrackingGraph()
    for t in (0, 1):
        for i in range(4):
            center = (0.0, 50.0 + t * step, 50.0 + i * spacing)
            g.add_nucleus(t, center, radius=radius, status="predicted")
    return g


def test_the_search_distance_reaches_one_and_a_half_spacings_up_to_three_radii():
    g = _row(4.0, 10.0, 9.0)  # 2 R = 8 µm would miss every 9 µm step
    assert median_spacing(g.nuclei()) == pytest.approx(10.0)
    assert resolve_linking(LinkingParams(), g.nuclei()).d_search == pytest.approx(12.0)
    drain(link_round(g, LinkingParams()))
    moved = {(a.center[2], b.center[2]) for a, b in ((g.nucleus(p), g.nucleus(c)) for p, c in
             (lk.key for lk in g.links()))}  # fmt: skip
    assert g.n_links == 4 and all(x0 == x1 for x0, x1 in moved)  # each to its own parent
    sparse = _row(4.0, 40.0, 9.0)  # far apart: the spacing says nothing of the motion
    assert resolve_linking(LinkingParams(), sparse.nuclei()).d_search == pytest.approx(12.0)
    assert median_spacing(_pair(3.0, 1.0).nuclei()) is None  # one nucleus per timepoint
