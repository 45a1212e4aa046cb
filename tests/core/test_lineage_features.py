"""The lineage's feature mode: a node's x is its volume, speed or confidence."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant.core.graph import Link, TrackingGraph, make_nucleus
from napari_elephant.core.lineage_features import FEATURES, feature_layout, feature_values
from napari_elephant.core.lineage_layout import layout_lineage


def small_track() -> TrackingGraph:
    """1 (r 1 µm, t 0) → 2 (r 2, t 1, moved 3 µm) → 3 (r 2, t 3, moved 4 µm over a gap)."""
    g = TrackingGraph()
    g.add_nuclei([
        make_nucleus(1, 0, (0.0, 0.0, 0.0), radius=1.0),
        make_nucleus(2, 1, (0.0, 3.0, 0.0), radius=2.0, confidence=0.8),
        make_nucleus(3, 3, (0.0, 3.0, 4.0), radius=2.0, confidence=0.2),
    ])  # fmt: skip
    g.add_links([Link(1, 2), Link(2, 3)])
    return g


def test_volume_speed_and_confidence_of_each_nucleus() -> None:
    g = small_track()
    ids = np.array([1, 2, 3])
    np.testing.assert_allclose(
        feature_values(g, ids, "volume"), 4 / 3 * np.pi * np.array([1, 8, 8])
    )
    np.testing.assert_allclose(feature_values(g, ids, "speed"), [np.nan, 3.0, 2.0])  # 4 µm / 2
    np.testing.assert_allclose(feature_values(g, ids, "confidence"), [np.nan, 0.8, 0.2])
    with pytest.raises(ValueError, match="no lineage feature"):
        feature_values(g, ids, "colour")
    assert set(FEATURES) == {"volume", "speed", "confidence"}


def test_the_size_of_a_2d_movies_nucleus_is_its_ellipse_area() -> None:
    from napari_elephant.core.ellipsoid import flat_cov
    from napari_elephant.core.graph import cov_to_six

    ellipse = np.diag([4.0, 9.0])  # semi-axes 2 and 3 µm: area 6π µm²
    g = TrackingGraph()
    g.add_nuclei([make_nucleus(1, 0, (0.0, 5.0, 5.0), cov=cov_to_six(flat_cov(ellipse)))])
    ids = np.array([1])
    np.testing.assert_allclose(feature_values(g, ids, "volume", two_d=True), [6 * np.pi])
    assert feature_values(g, ids, "volume")[0] != pytest.approx(6 * np.pi)  # a 3D volume


def test_nodes_move_to_their_value_and_those_without_one_to_a_column_left() -> None:
    g = small_track()
    lay = layout_lineage(g)
    moved = feature_layout(lay, feature_values(g, lay.ids, "speed"))
    assert moved.x[1:].tolist() == [3.0, 2.0] and moved.x[0] < 2.0  # no speed: left of all
    assert moved.t.tolist() == lay.t.tolist() and moved.parent.tolist() == lay.parent.tolist()
    assert moved.by_row.tolist() == [0, 1, 2]  # one node a row here


def test_feature_colours_span_the_map_and_grey_marks_no_value() -> None:
    from napari_elephant.core.lineage_features import feature_colors

    colors = feature_colors(np.array([0.0, np.nan, 10.0]))
    assert colors.shape == (3, 4) and colors.dtype == np.float32
    np.testing.assert_allclose(colors[1], [0.5, 0.5, 0.5, 1.0])
    assert not np.allclose(colors[0], colors[2])
    assert np.allclose(feature_colors(np.array([np.nan]))[0, :3], 0.5)
