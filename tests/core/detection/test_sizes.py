"""The nucleus size and the settings that follow from it."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant.core.detection.sizes import (
    D_SUP_FRACTION,
    R_MAX_FRACTION,
    estimate_radius,
    nucleus_size,
    resolve_detection,
)
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import make_nucleus
from napari_elephant.core.io.image import normalize
from napari_elephant.core.params import DetectionParams
from napari_elephant.core.synthetic import generate
from napari_elephant.core.units import VoxelSize


def _discs(radius_px: float, shape=(1, 160, 160), spacing=40) -> np.ndarray:
    """Bright discs with textured interiors and a dark hole (a nucleolus) each."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0 : shape[1], 0 : shape[2]]
    image = 0.05 * rng.random(shape[1:])
    for cy in range(spacing // 2, shape[1], spacing):
        for cx in range(spacing // 2, shape[2], spacing):
            d = np.hypot(yy - cy, xx - cx)
            image[d <= radius_px] = 0.6 + 0.3 * rng.random((d <= radius_px).sum())
            image[d <= radius_px / 4] = 0.1
    return np.broadcast_to(image, shape).astype(np.float32)


@pytest.mark.parametrize("radius_px", [4.0, 9.0, 15.0])
def test_the_image_estimate_finds_the_radius_of_textured_discs(radius_px):
    vs = VoxelSize(1.0, 0.4, 0.4)
    spacing = int(4 * radius_px)
    image = _discs(radius_px, (1, 6 * spacing, 6 * spacing), spacing)
    assert estimate_radius(image, vs) == pytest.approx(radius_px * 0.4, rel=0.12)


def test_the_image_estimate_on_a_synthetic_movie_is_close_to_the_truth():
    movie = generate("default", seed=3)
    truth = np.median([n.radius for n in movie.graph.nuclei_at(0)])
    estimate = estimate_radius(normalize(movie.image[0]), movie.voxel_size)
    assert 0.8 * truth < estimate < 1.1 * truth


def test_a_blank_image_has_no_size():
    with pytest.raises(InvalidInputError, match="blank"):
        estimate_radius(np.zeros((2, 32, 32), np.float32), VoxelSize(1, 1, 1))


def test_the_setting_beats_the_annotations_which_beat_the_image():
    accepted = [
        make_nucleus(1, 0, (0, 0, 0), radius=5.0),
        make_nucleus(2, 0, (0, 9, 9), radius=7.0),
    ]
    vs = VoxelSize(1, 1, 1)
    assert nucleus_size(DetectionParams(nucleus_diameter=4.0), accepted, None, vs).radius_um == 2.0
    size = nucleus_size(DetectionParams(), accepted, None, vs)
    assert (size.radius_um, size.source) == (6.0, "annotations")
    image = _discs(6.0, (1, 120, 120), 30)
    size = nucleus_size(DetectionParams(), [], image, vs)
    assert size.source == "image" and size.radius_um == pytest.approx(6.0, rel=0.12)
    assert "diameter" in size.describe()


def test_every_auto_size_is_a_fraction_of_the_radius_and_numbers_stay():
    resolved = resolve_detection(DetectionParams(), 9.0)
    assert resolved.nucleus_diameter == 18.0
    assert resolved.d_sup == pytest.approx(D_SUP_FRACTION * 9.0)
    assert resolved.r_max == pytest.approx(R_MAX_FRACTION * 9.0)
    assert resolved.r_min == pytest.approx(0.5 * 9.0)
    fixed = resolve_detection(DetectionParams(d_sup=1.5, r_max=30.0, r_min=6.0), 9.0)
    assert (fixed.d_sup, fixed.r_max, fixed.r_min) == (1.5, 30.0, 6.0)
