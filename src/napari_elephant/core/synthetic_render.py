"""Rendering of synthetic nucleus movies: ellipsoids -> optics -> camera.

Each nucleus is stamped into its own bounding box only (never a quadratic
form over the whole volume), with a linear soft edge centred on the exact
ellipsoid surface, so the half-maximum iso-surface of an unblurred nucleus is
the ground-truth ellipsoid.  Then the frame goes through the optics (depth
attenuation, anisotropic Gaussian blur), gets a background, and the camera
(shot noise with a photon scale, Gaussian read noise, uint16 clipping).

Voxel index ``i`` sits at ``i * voxel_size`` µm (voxel centres), as
everywhere in the package; every conversion goes through :class:`VoxelSize`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from napari_elephant.core.ellipsoid import quadratic_form
from napari_elephant.core.units import VoxelSize

UINT16_MAX = 65535


@dataclass(frozen=True)
class Optics:
    """How a frame is imaged (see :class:`~.synthetic_presets.SyntheticPreset` for meanings)."""

    voxel_size: VoxelSize
    edge_width: float
    blur_sigma: tuple[float, float, float]
    depth_attenuation: float
    background: float
    photon_gain: float | None
    read_noise: float


@dataclass(frozen=True)
class FrameTruth:
    """What one timepoint holds: ellipsoids (µm, µm²) and their brightness."""

    centers: np.ndarray  # (n, 3) µm, (z, y, x)
    covs: np.ndarray  # (n, 3, 3) µm²
    intensities: np.ndarray  # (n,) grey levels above background


def ellipsoid_support(edge_width: float, r_eq: float) -> float:
    """Scale of the ellipsoid where the soft edge reaches zero (1 = the surface)."""
    return 1.0 + max(edge_width, 0.0) / (2.0 * r_eq)


def stamp_ellipsoid(
    canvas: np.ndarray,
    center_vox: np.ndarray,
    cov_vox: np.ndarray,
    value: float,
    edge_width: float,
    r_eq: float,
) -> None:
    """Add one ellipsoid to ``canvas`` (z, y, x), touching only its bounding box.

    ``edge_width`` (µm) is the width of the linear ramp across the surface;
    ``r_eq`` (µm) converts the normalised radius into a distance for that ramp.
    """
    support = ellipsoid_support(edge_width, r_eq)
    half = support * np.sqrt(np.diag(cov_vox))
    lo = np.maximum(np.ceil(center_vox - half), 0).astype(int)
    hi = np.minimum(np.floor(center_vox + half), np.array(canvas.shape) - 1).astype(int) + 1
    if np.any(hi <= lo):
        return
    dz, dy, dx = (
        (np.arange(lo[k], hi[k]) - center_vox[k]).reshape([-1 if j == k else 1 for j in range(3)])
        for k in range(3)
    )
    q = quadratic_form(cov_vox, dz, dy, dx)
    if edge_width > 0:
        profile = np.clip(0.5 + (1.0 - np.sqrt(q)) * (r_eq / edge_width), 0.0, 1.0)
    else:
        profile = (q <= 1.0).astype(np.float64)
    canvas[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] += (value * profile).astype(canvas.dtype)


def render_signal(
    shape_zyx: tuple[int, int, int], truth: FrameTruth, voxel_size: VoxelSize, edge_width: float
) -> np.ndarray:
    """Noise-free, unblurred fluorescence of one timepoint (float32, grey levels)."""
    canvas = np.zeros(shape_zyx, dtype=np.float32)
    if len(truth.centers) == 0:
        return canvas
    centers_vox = voxel_size.to_voxels(truth.centers)
    covs_vox = voxel_size.cov_to_voxels(truth.covs)
    r_eq = np.linalg.det(truth.covs) ** (1.0 / 6.0)
    for c, cv, value, r in zip(centers_vox, covs_vox, truth.intensities, r_eq, strict=True):
        stamp_ellipsoid(canvas, c, cv, float(value), edge_width, float(r))
    return canvas


def apply_optics(signal: np.ndarray, optics: Optics) -> np.ndarray:
    """Depth attenuation (deeper z is dimmer) then the anisotropic blur (in place)."""
    n_z = signal.shape[0]
    if optics.depth_attenuation > 0 and n_z > 1:
        depth = np.linspace(0.0, 1.0, n_z, dtype=np.float32)
        signal *= (1.0 - optics.depth_attenuation * depth)[:, None, None]
    sigma_vox = np.asarray(optics.blur_sigma, dtype=np.float64) / optics.voxel_size.array
    if np.any(sigma_vox > 0):
        gaussian_filter(signal, sigma=sigma_vox, output=signal, mode="constant")
    return signal


def apply_camera(expected: np.ndarray, optics: Optics, rng: np.random.Generator) -> np.ndarray:
    """Background, shot noise (``photon_gain`` grey levels per photon), read noise -> uint16."""
    expected = expected + np.float32(optics.background)
    if optics.photon_gain is not None:
        photons = rng.poisson(np.maximum(expected, 0.0) / optics.photon_gain)
        expected = photons.astype(np.float32) * np.float32(optics.photon_gain)
    if optics.read_noise > 0:
        noise = rng.standard_normal(size=expected.shape, dtype=np.float32)
        expected += np.float32(optics.read_noise) * noise
    return np.clip(np.rint(expected), 0, UINT16_MAX).astype(np.uint16)


def render_movie(
    shape: tuple[int, int, int, int],
    frames: list[FrameTruth],
    optics: Optics,
    rng: np.random.Generator,
) -> np.ndarray:
    """The whole (T, Z, Y, X) uint16 movie, one timepoint at a time (bounded memory)."""
    image = np.empty(shape, dtype=np.uint16)
    for t, truth in enumerate(frames):
        signal = render_signal(shape[1:], truth, optics.voxel_size, optics.edge_width)
        image[t] = apply_camera(apply_optics(signal, optics), optics, rng)
    return image
