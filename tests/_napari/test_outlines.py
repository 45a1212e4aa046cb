"""Ellipsoid cross-sections against hand-computed ellipses."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant._napari.outlines import (
    SEGMENTS,
    cross_sections,
    outline_points,
    outline_vectors,
    pick,
)
from napari_elephant.core.units import VoxelSize


def one(cov, center=(0.0, 0.0, 0.0), axis=0, position=0.0):
    return cross_sections(np.array([center]), np.array([cov]), axis, position)


def test_sphere_cut_off_centre_is_the_3_4_5_circle() -> None:
    cuts = one(9.0 * np.eye(3), center=(10.0, 20.0, 30.0), axis=0, position=11.8)
    np.testing.assert_allclose(cuts.center, [[11.8, 20.0, 30.0]])
    np.testing.assert_allclose(cuts.matrix, [2.4**2 * np.eye(2)])  # 1.8² + 2.4² = 3²
    lengths = np.linalg.norm(cuts.axes[0], axis=1)
    np.testing.assert_allclose(lengths, [2.4, 2.4])
    assert np.all(cuts.axes[0][:, 0] == 0)  # in the plane


def test_anisotropic_cut_along_y_keeps_z_and_x_semi_axes_shrunk() -> None:
    cov = np.diag([16.0, 4.0, 1.0])  # semi-axes z 4, y 2, x 1
    cuts = one(cov, axis=1, position=1.0)  # shrink 1 - 1/4 = 3/4
    assert cuts.axes_2d == (0, 2)
    np.testing.assert_allclose(cuts.matrix, [np.diag([12.0, 0.75])])
    lengths = sorted(np.linalg.norm(cuts.axes[0], axis=1))
    np.testing.assert_allclose(lengths, [np.sqrt(3) / 2, 2 * np.sqrt(3)])


def test_rotated_ellipsoid_cut_moves_its_centre() -> None:
    # semi-axes 2 along (1, 1, 0)/√2 and 1 along (1, -1, 0)/√2 in (z, y), 1 along x
    cov = np.array([[2.5, 1.5, 0.0], [1.5, 2.5, 0.0], [0.0, 0.0, 1.0]])
    cuts = one(cov, axis=0, position=1.0)
    # centre y = 1 · 1.5 / 2.5; (y, x) matrix (1 - 1/2.5) · diag(2.5 - 1.5²/2.5, 1)
    np.testing.assert_allclose(cuts.center, [[1.0, 0.6, 0.0]])
    np.testing.assert_allclose(cuts.matrix, [np.diag([0.96, 0.6])])


def test_planes_beyond_the_ellipsoid_cut_nothing() -> None:
    covs = np.array([np.diag([4.0, 1.0, 1.0]), np.eye(3)])
    cuts = cross_sections(np.zeros((2, 3)), covs, 0, 1.5)
    assert cuts.index.tolist() == [0]  # |1.5| < 2 but not < 1
    assert len(cross_sections(np.zeros((2, 3)), covs, 0, 2.0)) == 0


def random_ellipsoids(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, 3, 3)))
    radii = rng.uniform(1.0, 5.0, size=(n, 3))
    covs = q @ (radii[:, :, None] ** 2 * np.swapaxes(q, 1, 2))
    return rng.uniform(-2, 2, size=(n, 3)), covs


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_outline_points_lie_on_the_ellipsoid_and_in_the_plane(axis: int) -> None:
    centers, covs = random_ellipsoids(50)
    cuts = cross_sections(centers, covs, axis, 0.7)
    assert len(cuts) > 10
    pts = outline_points(cuts)
    np.testing.assert_allclose(pts[..., axis], 0.7)
    rel = pts - centers[cuts.index][:, None, :]
    form = np.einsum("msa,mab,msb->ms", rel, np.linalg.inv(covs[cuts.index]), rel)
    np.testing.assert_allclose(form, 1.0, atol=1e-9)


def test_outline_vectors_are_closed_loops_in_voxels() -> None:
    cuts = one(np.diag([16.0, 4.0, 1.0]), center=(4.0, 2.0, 3.0), axis=0, position=4.0)
    voxel = VoxelSize(2.0, 0.5, 0.25)
    vec = outline_vectors(cuts, t=7, voxel=voxel)
    assert vec.shape == (SEGMENTS, 2, 4)
    assert np.all(vec[:, 0, 0] == 7) and np.all(vec[:, 1, :2] == 0)
    np.testing.assert_allclose(vec[:, 0, 1:], outline_points(cuts)[0] / [2.0, 0.5, 0.25])
    ends = vec[:, 0, 1:] + vec[:, 1, 1:]
    np.testing.assert_allclose(ends, np.roll(vec[:, 0, 1:], -1, axis=0))
    span = np.ptp(vec[:, 0, 2:], axis=0) * [0.5, 0.25]  # back in µm: 2 × semi-axes
    np.testing.assert_allclose(span, [4.0, 2.0], rtol=0.02)


def test_pick_finds_the_ellipse_under_a_point() -> None:
    centers = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 10.0]])
    covs = np.array([np.diag([1.0, 1.0, 9.0]), np.eye(3)])
    cuts = cross_sections(centers, covs, 0, 0.0)
    assert pick(cuts, np.array([0.0, 0.0, 2.5])) == 0  # inside the long one
    assert pick(cuts, np.array([0.0, 0.5, 10.2])) == 1
    assert pick(cuts, np.array([0.0, 1.5, 5.0])) is None
