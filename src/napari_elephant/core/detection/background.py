"""Which unannotated voxels are background: the intensity threshold.

ELEPHANT labels every unannotated voxel darker than a user threshold as
background.  Two things make that robust here: the comparison is made on a
lightly smoothed image (so shot noise does not scatter background labels
inside dim nuclei), and the default threshold is ``"auto"``: a fixed
fraction of the way from the background level (a low percentile of the
smoothed volume) to the brightness of the annotated nuclei, which adapts to
each movie's contrast without a knob.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter

from napari_elephant.core.detection.labels import as_ellipsoid, ellipsoid_mask
from napari_elephant.core.units import VoxelSize

SMOOTH_SIGMA_UM = 0.75  # without a known nucleus size: a quarter of a 3 µm radius
SMOOTH_FRACTION = 0.25  # of the nucleus radius
BACKGROUND_PERCENTILE = 20.0  # nuclei rarely fill more than 80 % of a volume
AUTO_FRACTION = 0.25  # low: a dim nucleus must not be taught as background


def smooth(volume: np.ndarray, voxel_size: VoxelSize, sigma_um: float = SMOOTH_SIGMA_UM):
    """Gaussian-smoothed volume (sigma in µm, per axis in voxels)."""
    sigma = np.maximum(sigma_um / voxel_size.array, 0.0)
    sigma[sigma < 0.3] = 0.0  # thicker than the blur: leave that axis alone
    return gaussian_filter(volume.astype(np.float32, copy=False), sigma)


def smoothing_um(nucleus_diameter: float | str) -> float:
    """σ of the smoothing before the threshold: a quarter of the nucleus radius (the
    fixed 0.75 µm when the size is not resolved)."""
    if nucleus_diameter == "auto":
        return SMOOTH_SIGMA_UM
    return SMOOTH_FRACTION * float(nucleus_diameter) / 2.0


def auto_threshold(
    smoothed: np.ndarray,
    true_nuclei: Sequence[Any],
    voxel_size: VoxelSize,
    fraction: float = AUTO_FRACTION,
) -> float:
    """Background level + ``fraction`` × (annotated nuclei level − background level)."""
    low = float(np.percentile(smoothed, BACKGROUND_PERCENTILE))
    inside = []
    for item in true_nuclei:
        center, cov = as_ellipsoid(item)
        slices, mask = ellipsoid_mask(smoothed.shape, voxel_size, center, cov * 0.25)
        inside.append(smoothed[slices][mask])
    values = np.concatenate(inside) if inside else np.empty(0)
    if values.size == 0:
        return low  # no nucleus to compare with: only the darkest voxels
    high = float(np.median(values))
    return low + fraction * max(high - low, 0.0)


def resolve_threshold(
    setting: float | str, smoothed: np.ndarray, true_nuclei: Sequence[Any], voxel_size: VoxelSize
) -> float:
    """The number to threshold at: the user's, or the automatic one."""
    if setting == "auto":
        return auto_threshold(smoothed, true_nuclei, voxel_size)
    return float(setting)
