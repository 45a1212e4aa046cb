"""Voxel <-> micrometre conversion, the one place it happens."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.units import VoxelSize


def test_points_round_trip_on_anisotropic_voxels():
    vs = VoxelSize(2.0, 0.5, 0.25)
    vox = np.array([[1, 2, 4], [0, 0, 0]])
    um = vs.to_um(vox)
    np.testing.assert_allclose(um, [[2, 1, 1], [0, 0, 0]])
    np.testing.assert_allclose(vs.to_voxels(um), vox)


def test_covariance_scales_by_voxel_size_on_both_sides():
    vs = VoxelSize(2.0, 0.5, 0.5)
    sphere_um = np.eye(3) * 4.0  # radius 2 µm
    vox = vs.cov_to_voxels(sphere_um)
    # radius 2 µm = 1 voxel in z, 4 voxels in y and x
    np.testing.assert_allclose(np.sqrt(np.diag(vox)), [1, 4, 4])
    np.testing.assert_allclose(vs.cov_to_um(vox), sphere_um)


@pytest.mark.parametrize("bad", [(0, 1, 1), (1, -1, 1), (1, 1, float("nan"))])
def test_non_positive_voxel_size_is_refused(bad):
    with pytest.raises(InvalidInputError, match="positive"):
        VoxelSize(*bad)


def test_from_sequence_accepts_2d_and_refuses_other_lengths():
    assert VoxelSize.from_sequence([0.5, 0.25]).as_tuple() == (1.0, 0.5, 0.25)
    with pytest.raises(InvalidInputError, match="3 values"):
        VoxelSize.from_sequence([1, 2, 3, 4])
    assert VoxelSize(3, 1, 1).anisotropy == 3
