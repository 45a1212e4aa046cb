"""Tiles with nothing in them are background without the network."""

from __future__ import annotations

import numpy as np
import torch

from napari_elephant.core.detection.empty_tiles import empty_tiles, voxel_noise
from napari_elephant.core.detection.tiling import make_tiles, predict_tiled

SHAPE, TILE = (8, 96, 96), (8, 32, 32)


def noisy(level: float = 0.1, sigma: float = 0.01, seed: int = 0) -> np.ndarray:
    return (level + sigma * np.random.default_rng(seed).normal(size=SHAPE)).astype(np.float32)


def blob(vol: np.ndarray, center, radius: float, contrast: float) -> np.ndarray:
    _zz, yy, xx = np.indices(vol.shape)
    inside = (yy - center[0]) ** 2 + (xx - center[1]) ** 2 <= radius**2
    return vol + contrast * inside.astype(np.float32)


def test_the_voxel_noise_is_measured_despite_structures():
    vol = blob(noisy(sigma=0.02), (48, 48), 20, 0.5)
    assert abs(voxel_noise(vol) - 0.02) < 0.003


def test_only_tiles_where_nothing_stands_out_of_the_noise_are_empty():
    vol = blob(noisy(), (16, 16), 6, 0.04)  # a dim nucleus: 4x the voxel noise
    tiles = make_tiles(SHAPE, TILE, (0, 0, 0))
    empty = empty_tiles(vol, [t.start for t in tiles], TILE)
    busy = {i for i, t in enumerate(tiles) if t.start[1:] == (0, 0)}
    assert busy and not busy & empty
    assert len(empty) == len(tiles) - len(busy)


def test_a_uniformly_bright_tile_is_not_empty():
    vol = noisy()
    vol[:, :32, :32] += 0.5  # flat but bright: inside a huge object, not background
    tiles = make_tiles(SHAPE, TILE, (0, 0, 0))
    empty = empty_tiles(vol, [t.start for t in tiles], TILE)
    assert 0 not in empty and len(empty) == len(tiles) - 1


class _Marker(torch.nn.Module):
    """Logits that say 'centre' everywhere: any voxel the network saw is centre."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.zeros(x.shape[0], 3, *x.shape[2:])
        logits[:, 1] = 10.0
        return logits


def test_skipped_tiles_are_pure_background_and_the_rest_is_predicted():
    vol = blob(noisy(), (16, 16), 6, 0.2)
    probs = predict_tiled(_Marker(), vol, tile_shape=TILE, overlap=(0, 0, 0), border=(0, 0, 0))
    assert probs[1, :, :32, :32].min() > 0.99  # the busy tile went through the network
    assert probs[0, :, 40:, 40:].min() == 1.0  # empty tiles: background
    full = predict_tiled(
        _Marker(), vol, tile_shape=TILE, overlap=(0, 0, 0), border=(0, 0, 0), skip_empty=False
    )
    assert full[1].min() > 0.99
