"""The arrows a user sees before linking: the links' motion and a thinned flow field."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Link, Status, TrackingGraph, make_nucleus
from napari_elephant.core.linking.motion_view import (
    FLOW,
    LINKS,
    MotionView,
    linked_motion,
    nucleus_scale,
    thinned_field,
)
from napari_elephant.core.units import VoxelSize

SHIFT = np.array([0.0, 4.0, -3.0])  # µm per timepoint


def drifting(n: int = 12) -> TrackingGraph:
    """n nuclei on a grid at t=0 that all move by SHIFT to t=1, linked one to one."""
    rng = np.random.default_rng(0)
    where = np.array([[5.0, 10.0 * (i // 4), 10.0 * (i % 4)] for i in range(n)])
    where += rng.normal(0, 0.3, where.shape)
    graph = TrackingGraph()
    graph.add_nuclei([make_nucleus(i, 0, c, radius=2.0) for i, c in enumerate(where)])
    moved = [make_nucleus(100 + i, 1, c + SHIFT, radius=2.0) for i, c in enumerate(where)]
    graph.add_nuclei(moved)
    graph.add_links([Link(i, 100 + i) for i in range(n)])
    return graph


def test_every_nucleus_points_back_along_the_tissue_motion() -> None:
    view = linked_motion(drifting(), 1)
    assert view.source == LINKS and view.t == 1 and len(view.ids) == 12
    np.testing.assert_allclose(view.motion, np.tile(-SHIFT, (12, 1)), atol=1e-9)
    assert len(view.grid) == 0 and "12 nuclei, median 5.00 µm" in view.summary()


def test_a_daughter_and_an_unlinked_nucleus_take_their_neighbours_motion() -> None:
    graph = drifting()
    graph.add_nuclei([make_nucleus(200, 1, (5.0, 14.0, 10.0), radius=2.0)])  # no parent
    graph.add_links([Link(0, 200)])  # a far daughter of nucleus 0: an outlier residual
    view = linked_motion(graph, 1)
    row = {int(i): k for k, i in enumerate(view.ids.tolist())}
    np.testing.assert_allclose(view.motion[row[200]], -SHIFT, atol=1e-9)
    np.testing.assert_allclose(view.motion[row[105]], -SHIFT, atol=1e-9)


def test_rejected_nuclei_and_links_are_not_motion() -> None:
    graph = drifting(4)
    graph.set_status([103], Status.REJECTED)
    graph.set_link_status([(0, 100), (1, 101), (2, 102)], Status.REJECTED)
    with pytest.raises(InvalidInputError, match="no links into t=1") as error:
        linked_motion(graph, 1)
    assert "\n" not in str(error.value)
    graph.set_link_status([(0, 100)], Status.ACCEPTED)
    view = linked_motion(graph, 1)
    assert sorted(view.ids.tolist()) == [100, 101, 102]


def test_the_field_is_thinned_to_one_arrow_per_step_in_micrometres() -> None:
    voxel = VoxelSize(2.0, 0.5, 0.5)
    field = np.zeros((3, 4, 20, 30), np.float32)
    field[1] = np.arange(30, dtype=np.float32)  # y motion = the x voxel index
    where, motion = thinned_field(field, voxel, step_um=2.0)
    assert len(where) == 4 * 5 * 7  # every z voxel, every 4th y and x voxel
    np.testing.assert_allclose(motion[:, 1], where[:, 2] / 0.5)  # read at its own voxel
    assert set(np.round(where[:, 1], 6)) == {1.0 + 2.0 * k for k in range(5)}
    assert np.all(motion[:, [0, 2]] == 0)


def test_the_arrows_spacing_is_the_nuclei_size() -> None:
    graph = drifting()
    assert nucleus_scale(graph, 1) == pytest.approx(2.0)
    assert nucleus_scale(graph, 7) == 1.0


def test_an_empty_view_says_so() -> None:
    empty = np.empty((0, 3))
    view = MotionView(3, FLOW, np.empty(0, np.int64), empty, empty)
    assert view.summary() == "motion at t=3 (flow): no nuclei"
