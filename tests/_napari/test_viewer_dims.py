"""The viewer's timepoint, plane and camera in world coordinates."""

from __future__ import annotations

import numpy as np

from napari_elephant._napari.viewer_dims import camera, centre_on, current_t, set_t, t_axis


def test_a_viewer_below_4d_has_no_time_axis(make_napari_viewer) -> None:
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((4, 8, 8), np.uint8))
    assert t_axis(viewer) is None and current_t(viewer) == 0
    assert not set_t(viewer, 1)  # nothing changes


def test_time_is_the_fourth_axis_from_the_end_and_stays_in_the_movie(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((2, 3, 4, 8, 8), np.uint8))  # a leading channel-like axis
    assert t_axis(viewer) == 1
    assert set_t(viewer, 0) and current_t(viewer) == 0
    assert set_t(viewer, 2) and current_t(viewer) == 2
    assert not set_t(viewer, 3) and not set_t(viewer, -1) and current_t(viewer) == 2


def test_centre_on_slices_through_the_nucleus_and_centres_the_camera(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((3, 10, 20, 20), np.uint8), scale=(1, 2.0, 0.5, 0.5))
    centre_on(viewer, 2, (6.0, 4.0, 7.0))
    assert current_t(viewer) == 2
    assert viewer.dims.point[1] == 6.0  # the hidden z axis cuts through it
    np.testing.assert_allclose(list(camera(viewer).center)[-2:], (4.0, 7.0))
