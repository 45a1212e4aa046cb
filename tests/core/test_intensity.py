"""Intensity normalisations for the networks."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.intensity import asinh_normalize, minmax, normalize_as, voxel_noise


def _field(noise: float = 10.0, seed: int = 0) -> np.ndarray:
    """A camera frame: offset 1000, noise, a dim nucleus (+100) and a bright one (+2000)."""
    rng = np.random.default_rng(seed)
    image = 1000.0 + noise * rng.normal(size=(1, 64, 64))
    image[0, 10:20, 10:20] += 100.0
    image[0, 40:50, 40:50] += 2000.0
    return image.astype(np.float32)


def test_the_voxel_noise_is_the_cameras():
    assert voxel_noise(_field(noise=10.0)) == pytest.approx(10.0, rel=0.1)


def test_asinh_lifts_a_dim_nucleus_that_minmax_leaves_near_the_background():
    image = _field()
    dim = (slice(None), slice(12, 18), slice(12, 18))
    background = (slice(None), slice(25, 35), slice(0, 8))
    flat = minmax(image)[dim].mean() - minmax(image)[background].mean()
    lifted = asinh_normalize(image)
    assert flat < 0.06  # a twentieth of the range: the bright nucleus took it
    assert lifted[dim].mean() - lifted[background].mean() > 5 * flat
    assert lifted.min() >= 0.0 and lifted.max() == pytest.approx(1.0)


def test_constant_and_empty_volumes_are_zeros():
    for method in ("minmax", "asinh"):
        assert not normalize_as(np.full((2, 3, 3), 7.0), method).any()
        assert normalize_as(np.zeros((0, 3)), method).size == 0


def test_an_unknown_normalisation_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="asinh"):
        normalize_as(np.zeros((2, 2)), "log")
