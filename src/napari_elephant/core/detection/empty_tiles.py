"""Tiles with nothing in them: predicted as background without the network.

Light-sheet and confocal movies of embryos and sparse cultures are mostly
empty: dark margins, medium between cells.  Running the network there costs
as much as anywhere and finds nothing, so :func:`empty_tiles` marks the
tiles where nothing stands out of the noise — the means of their small
blocks span less than :data:`EMPTY_NOISE` times the voxel noise, and none
is brighter than the volume's median block by more than that (a uniformly
bright tile is not empty).  Block means average the noise away, so a dim nucleus whose
contrast is a few times the voxel noise still makes its tile busy.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from napari_elephant.core.intensity import voxel_noise

EMPTY_BLOCK = (2, 4, 4)  # voxels averaged per block (z, y, x)
EMPTY_NOISE = 3.0  # a tile is empty when its blocks span less than this × the noise


def empty_tiles(
    vol: np.ndarray, starts: Sequence[Sequence[int]], shape: Sequence[int]
) -> set[int]:
    """Indices of the tiles in which nothing stands out of the noise: their block
    means span < EMPTY_NOISE × the voxel noise and none exceeds the volume's median
    block by more (a uniformly bright tile is not empty).  Background there is certain."""
    noise = voxel_noise(vol)
    if noise <= 0:
        return set()
    block = tuple(min(k, n) for k, n in zip(EMPTY_BLOCK, vol.shape, strict=True))
    blocks = _block_means(vol, block)
    median = float(np.median(blocks))
    out = set()
    for i, start in enumerate(starts):
        part = blocks[_block_slices(start, shape, block)]
        flat = part.max() - part.min() < EMPTY_NOISE * noise
        if part.size and flat and part.max() <= median + EMPTY_NOISE * noise:
            out.add(i)
    return out


def _block_means(vol: np.ndarray, b: Sequence[int]) -> np.ndarray:
    """Means over blocks of shape ``b`` (partial blocks at the ends dropped)."""
    n = [s // k for s, k in zip(vol.shape, b, strict=True)]
    cut = vol[: n[0] * b[0], : n[1] * b[1], : n[2] * b[2]]
    return cut.reshape(n[0], b[0], n[1], b[1], n[2], b[2]).mean(axis=(1, 3, 5))


def _block_slices(
    start: Sequence[int], shape: Sequence[int], b: Sequence[int]
) -> tuple[slice, ...]:
    """The blocks (of shape ``b``) that lie in the tile at ``start`` of ``shape``."""
    return tuple(
        slice(s // k, max(s // k + 1, (s + n) // k))
        for s, n, k in zip(start, shape, b, strict=True)
    )
