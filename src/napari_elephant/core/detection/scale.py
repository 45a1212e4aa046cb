"""The network's grid: every movie is resampled so nuclei reach the network at one size.

A detection network learns what a nucleus looks like at the scale it was
trained on.  Real movies come with nuclei of 2–15 µm imaged at 0.1–2 µm per
voxel, so one nucleus may span 3 voxels in one movie and 50 in another.  As
Cellpose does with its diameter, we resample each timepoint before the
network sees it, so that the typical nucleus (its *lateral* radius: the
size in y and x, which a thin stack or coarse z cannot clip) spans
:data:`REFERENCE_RADIUS_VOXELS` voxels laterally — the size the pretrained
model was trained at.  z is resampled only as much as needed to keep the
grid's voxel between isotropic and :data:`MAX_ANISOTROPY` times taller than
wide, the range the network's z pooling is built for.  A movie already
within :data:`SNAP` of its grid is not resampled at all (no blur, no cost).

Everything outside the network stays in micrometres: ellipsoids are drawn
into labels and read back from probabilities with the grid's voxel size and
origin, so the graph never sees grid voxels.  Resampling uses area averaging
to shrink (no aliasing of textured chromatin) and trilinear interpolation to
grow, with the half-voxel alignment of ``align_corners=False``: voxel ``i``
of the grid sits at ``origin + i × grid spacing`` µm.

A 2D+t movie (one z slice) keeps its single slice: the network runs it as
a 2D image (see :mod:`~napari_elephant.core.detection.model`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.units import VoxelSize

REFERENCE_RADIUS_VOXELS = 6.0  # lateral nucleus radius (grid voxels) the network knows
MAX_ANISOTROPY = 4.0  # the grid's z spacing is at most this × its lateral spacing
SNAP = 0.25  # a spacing within 25 % of the grid's is kept as it is (training scales ×0.5–2)
MAX_UPSAMPLE = 3.0  # tiny nuclei in coarse voxels are magnified at most this much

Shape3 = tuple[int, int, int]


@dataclass(frozen=True)
class NetworkGrid:
    """Where the network works: a movie's voxels resampled to ``shape``.

    ``source`` and ``source_shape`` describe the movie's own voxels; ``shape``
    is the resampled (Z, Y, X).  The grid spans the same µm as the movie.
    """

    source: VoxelSize
    source_shape: Shape3
    shape: Shape3

    @property
    def voxel_size(self) -> VoxelSize:
        """The grid's spacing (µm): the movie's extent over the grid's voxel count."""
        ratio = np.asarray(self.source_shape, float) / np.asarray(self.shape, float)
        return VoxelSize(*(self.source.array * ratio))

    @property
    def origin_um(self) -> np.ndarray:
        """Position (µm) of grid voxel 0 in the movie's frame (half-voxel alignment)."""
        return 0.5 * (self.voxel_size.array - self.source.array)

    @property
    def flat(self) -> bool:
        """A 2D movie: one z slice."""
        return self.source_shape[0] == 1

    @property
    def identity(self) -> bool:
        """The movie is used as it is."""
        return self.shape == self.source_shape

    @property
    def zoom(self) -> np.ndarray:
        """Grid voxels per movie voxel along (z, y, x)."""
        return np.asarray(self.shape, float) / np.asarray(self.source_shape, float)

    def to_grid(self, volume: np.ndarray) -> np.ndarray:
        """A (Z, Y, X) timepoint of the movie resampled onto the grid (float32)."""
        if tuple(volume.shape) != self.source_shape:
            raise InvalidInputError(
                f"volume of shape {tuple(volume.shape)} does not match the movie "
                f"{self.source_shape}"
            )
        return resample(volume, self.shape)

    def to_grid_voxels(self, um: np.ndarray) -> np.ndarray:
        """µm coordinates (..., 3) -> fractional grid voxel coordinates."""
        return (np.asarray(um, float) - self.origin_um) / self.voxel_size.array

    def shift_in(self, nuclei: Iterable[Any]) -> list[Any]:
        """Records (with ``center``) moved into the grid's frame (its voxel 0 at 0 µm)."""
        origin = self.origin_um
        if not np.any(origin):
            return list(nuclei)
        return [replace(n, center=tuple(np.asarray(n.center, float) - origin)) for n in nuclei]

    def describe(self) -> str:
        """One line for logs: how the movie reaches the network."""
        if self.identity:
            return f"network sees the movie's own voxels {fmt_voxel(self.source)} µm"
        return (
            f"network grid {fmt_voxel(self.voxel_size)} µm, "
            f"{'x'.join(map(str, self.shape))} voxels "
            f"(movie {fmt_voxel(self.source)} µm, {'x'.join(map(str, self.source_shape))})"
        )


def fmt_voxel(v: VoxelSize) -> str:
    return "×".join(f"{a:.3g}" for a in v.as_tuple())


def grid_spacing(voxel_size: VoxelSize, radius_um: float, flat: bool = False) -> np.ndarray:
    """The (z, y, x) spacing (µm) that puts a nucleus of lateral ``radius_um`` at the
    reference size; each axis snaps back to the movie's own spacing when close."""
    if not np.isfinite(radius_um) or radius_um <= 0:
        raise InvalidInputError(f"nucleus radius must be a positive number of µm, got {radius_um}")
    source = voxel_size.array
    lateral = max(radius_um / REFERENCE_RADIUS_VOXELS, float(source[1:].min()) / MAX_UPSAMPLE)
    out = np.array([source[0], lateral, lateral])
    if not flat:
        out[0] = np.clip(source[0], lateral, MAX_ANISOTROPY * lateral)
    close = np.abs(out / source - 1.0) <= SNAP
    return np.where(close, source, out)


def grid_for(voxel_size: VoxelSize, shape_zyx: Sequence[int], radius_um: float) -> NetworkGrid:
    """The grid a movie of ``shape_zyx`` voxels is resampled to for nuclei of
    lateral radius ``radius_um``."""
    shape = tuple(int(s) for s in shape_zyx)
    if len(shape) != 3 or min(shape) < 1:
        raise InvalidInputError(f"a movie needs a (z, y, x) shape, got {shape_zyx}")
    spacing = grid_spacing(voxel_size, radius_um, flat=shape[0] == 1)
    extent = np.asarray(shape, float) * voxel_size.array
    grid_shape = np.maximum(np.round(extent / spacing), 1).astype(int)
    grid_shape = np.where(spacing == voxel_size.array, shape, grid_shape)
    return NetworkGrid(voxel_size, shape, tuple(int(s) for s in grid_shape))  # type: ignore[arg-type]


def resample(volume: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """``volume`` (Z, Y, X) resampled to ``shape``: area means to shrink an axis,
    trilinear interpolation to grow one (half-voxel aligned)."""
    vol = np.ascontiguousarray(volume, dtype=np.float32)
    target = tuple(int(s) for s in shape)
    if vol.shape == target:
        return vol
    x = torch.from_numpy(vol)[None, None]
    shrunk = tuple(min(a, b) for a, b in zip(vol.shape, target, strict=True))
    with torch.no_grad():
        if shrunk != vol.shape:
            x = F.interpolate(x, size=shrunk, mode="area")
        if shrunk != target:
            x = F.interpolate(x, size=target, mode="trilinear", align_corners=False)
    return np.ascontiguousarray(x[0, 0].numpy())
