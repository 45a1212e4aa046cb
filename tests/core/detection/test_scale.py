"""The network's grid: sizes that follow the nuclei, resampling, ellipsoids round trip."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant.core.detection.labels import CENTER, PERIPHERY, render_labels
from napari_elephant.core.detection.peaks import extract_peaks
from napari_elephant.core.detection.scale import (
    MAX_ANISOTROPY,
    REFERENCE_RADIUS_VOXELS,
    grid_for,
    resample,
)
from napari_elephant.core.ellipsoid import median_lateral_radius
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import make_nucleus
from napari_elephant.core.params import DetectionParams
from napari_elephant.core.units import VoxelSize


def test_nuclei_at_the_reference_size_keep_the_movies_own_voxels():
    grid = grid_for(VoxelSize(2.0, 0.5, 0.5), (16, 100, 120), 3.0)  # 6 voxels already
    assert grid.identity and grid.shape == (16, 100, 120)
    assert np.allclose(grid.origin_um, 0.0)


def test_large_nuclei_in_fine_pixels_are_shrunk_to_the_reference_size():
    vs = VoxelSize(1.0, 0.2, 0.2)  # thin CHO-like stack, nuclei of 9 µm radius
    grid = grid_for(vs, (5, 443, 512), 9.0)
    lateral = grid.voxel_size.y
    assert 9.0 / lateral == pytest.approx(REFERENCE_RADIUS_VOXELS, rel=0.02)
    assert grid.voxel_size.z >= lateral  # z finer than the grid's lateral spacing is pooled
    assert grid.shape[0] <= 5 and grid.shape[1] == round(443 * 0.2 / lateral)


def test_coarse_z_is_kept_up_to_the_largest_anisotropy_and_thinned_past_it():
    kept = grid_for(VoxelSize(2.0, 0.25, 0.25), (20, 64, 64), 3.0)  # lateral grid 0.5 µm
    assert kept.voxel_size.z == 2.0 and kept.shape[0] == 20
    fine = grid_for(VoxelSize(0.25, 0.25, 0.25), (40, 64, 64), 3.0)
    assert fine.voxel_size.z == pytest.approx(fine.voxel_size.y, rel=0.05)
    coarse = grid_for(VoxelSize(8.0, 0.25, 0.25), (10, 64, 64), 3.0)
    assert coarse.voxel_size.z / coarse.voxel_size.y == pytest.approx(MAX_ANISOTROPY, rel=0.05)


def test_a_2d_movie_keeps_its_single_slice():
    grid = grid_for(VoxelSize(1.0, 0.645, 0.645), (1, 700, 1100), 8.0)
    assert grid.flat and grid.shape[0] == 1 and grid.origin_um[0] == 0.0
    assert grid.to_grid(np.zeros((1, 700, 1100), np.float32)).shape == grid.shape


def test_bad_sizes_are_clear_errors():
    with pytest.raises(InvalidInputError, match="radius"):
        grid_for(VoxelSize(1, 1, 1), (4, 8, 8), 0.0)
    grid = grid_for(VoxelSize(1, 0.2, 0.2), (4, 80, 80), 5.0)
    with pytest.raises(InvalidInputError, match="does not match"):
        grid.to_grid(np.zeros((4, 8, 8), np.float32))


def test_resampling_keeps_the_mean_and_the_position_of_a_blob():
    _zz, yy, xx = np.mgrid[0:8, 0:120, 0:90]
    blob = np.exp(-((yy - 70.3) ** 2 + (xx - 40.6) ** 2) / (2 * 9.0**2)).astype(np.float32)
    vol = np.broadcast_to(blob[0], (8, 120, 90)).copy()
    small = resample(vol, (8, 30, 45))
    assert small.mean() == pytest.approx(vol.mean(), rel=0.02)  # area means lose nothing
    peak = np.unravel_index(np.argmax(small[0]), small.shape[1:])
    # half-voxel alignment: grid voxel i sits at (i + 0.5) * 4 - 0.5 source voxels
    assert (peak[0] + 0.5) * 4 - 0.5 == pytest.approx(70.3, abs=2.0)
    assert resample(small, (8, 120, 90)).shape == (8, 120, 90)


def _nucleus(i, center, radii):
    return make_nucleus(i, 0, center, cov=np.diag(np.square(radii)))


def test_ellipsoids_round_trip_through_the_grid_in_micrometres():
    """Labels drawn on the grid and read back by the peak detector land where the
    nuclei are, in the movie's µm, whatever the resampling."""
    vs = VoxelSize(1.0, 0.2, 0.2)
    nuclei = [
        _nucleus(1, (4.0, 20.3, 30.1), (6.0, 8.0, 9.0)),
        _nucleus(2, (4.5, 55.0, 60.7), (6, 9, 8)),
    ]
    grid = grid_for(vs, (10, 400, 450), median_lateral_radius(nuclei))
    assert not grid.identity
    shifted = grid.shift_in(nuclei)
    labels = render_labels(grid.shape, grid.voxel_size, shifted, [], None, 0.5, 0.0).labels
    probs = np.zeros((3, *grid.shape), np.float32)
    probs[CENTER][labels == CENTER] = 1.0
    probs[PERIPHERY][labels == PERIPHERY] = 1.0
    probs[0] = 1.0 - probs[1] - probs[2]
    params = DetectionParams(nucleus_diameter=17.0, d_sup=5.0, r_max=25.0)
    found = extract_peaks(probs, grid.voxel_size, params, origin_um=grid.origin_um)
    got = sorted(tuple(e.center[1:]) for e in found)
    want = sorted(tuple(n.center[1:]) for n in nuclei)
    np.testing.assert_allclose(got, want, atol=grid.voxel_size.y)
