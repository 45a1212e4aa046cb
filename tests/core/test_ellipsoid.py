"""The 2D nucleus convention: z = 0, zy = zx = 0, zz = sqrt(det of the (y, x) block)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant.core.ellipsoid import equal_volume_radius, flat_cov
from napari_elephant.core.graph import make_nucleus
from napari_elephant.core.graph.model import flatten_to_2d, six_to_cov


def ellipse_cov(a: float, b: float, theta: float) -> np.ndarray:
    """(y, x) covariance of an ellipse with semi-axes a, b turned by theta."""
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return rot @ np.diag([a * a, b * b]) @ rot.T


def test_flat_cov_keeps_the_ellipse_and_gives_zz_the_product_of_its_semi_axes() -> None:
    yx = ellipse_cov(3.0, 1.5, 0.4)
    cov = flat_cov(yx)
    np.testing.assert_allclose(cov[1:, 1:], yx)
    assert cov[0, 1] == cov[0, 2] == cov[1, 0] == cov[2, 0] == 0.0
    assert cov[0, 0] == pytest.approx(3.0 * 1.5)
    stacked = flat_cov(np.stack([yx, np.eye(2) * 4.0]))  # vectorised over nuclei
    np.testing.assert_allclose(stacked[1], np.eye(3) * 4.0)  # a disk is a sphere


def test_flatten_to_2d_puts_the_nucleus_in_the_z0_plane() -> None:
    cov3 = np.array([[9.0, 1.0, -0.5], [1.0, 4.0, 0.8], [-0.5, 0.8, 2.0]])
    n = make_nucleus(7, 2, (5.0, 1.5, 2.5), cov3, status="predicted", tags={"x"})
    flat = flatten_to_2d(n)
    assert flat.center == (0.0, 1.5, 2.5)
    assert (flat.id, flat.t, flat.status, flat.tags) == (n.id, n.t, n.status, n.tags)
    np.testing.assert_allclose(six_to_cov(flat.cov), flat_cov(cov3[1:, 1:]))
    a, b = np.sqrt(np.linalg.eigvalsh(cov3[1:, 1:]))
    assert flat.radius == pytest.approx(np.sqrt(a * b))  # geometric mean of the semi-axes
    assert flatten_to_2d(flat) is flat  # already 2D: unchanged


def test_radii_are_those_of_the_sphere_of_equal_volume():
    sphere = np.array([4.0, 0.0, 0.0, 4.0, 0.0, 4.0])  # radius 2
    ellipsoid = np.array([1.0, 0.0, 0.0, 4.0, 0.0, 16.0])  # semi-axes 1, 2, 4
    rotated = np.array([2.5, 1.5, 0.0, 2.5, 0.0, 1.0])  # eigenvalues 4, 1, 1
    assert np.allclose(
        equal_volume_radius(np.stack([sphere, ellipsoid, rotated])), [2.0, 2.0, 2 ** (1 / 3)]
    )
