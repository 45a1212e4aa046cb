"""Flow prediction: tiled inference on a frame pair, µm fields, positions at t-1.

Tiles, overlaps and linear blending are those of detection
(:mod:`napari_elephant.core.detection.tiling`); only the input (two frames)
and the output (a tanh-bounded vector field, averaged without softmax)
differ.  The field is turned into µm with the model's scale and the voxel
size, and each nucleus' estimated centre at t-1 is its centre plus the mean
flow over the voxels inside its ellipsoid (paper: p̂ = p + s/n(K) Σ_k y_k).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from napari_elephant.core.detection.labels import ellipsoid_mask
from napari_elephant.core.detection.tiling import (
    DEFAULT_OVERLAP,
    Tile,
    auto_batch_size,
    blend_weights,
    default_tile_shape,
    make_tiles,
)
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.flow.model import to_voxels
from napari_elephant.core.training.device import denormals_flushed
from napari_elephant.core.units import VoxelSize


def predict_normalised(
    model: torch.nn.Module,
    prev: np.ndarray,
    curr: np.ndarray,
    device: torch.device,
    tile_shape: Sequence[int] | None = None,
    overlap: Sequence[int] = DEFAULT_OVERLAP,
) -> np.ndarray:
    """The network's blended output (3, Z, Y, X) float32 for normalised frames t-1, t."""
    frames = _check_frames(prev, curr)
    shape = frames.shape[1:]
    if tile_shape is None:
        tile_shape = default_tile_shape(
            shape, overlap=overlap, multiple=model.config.size_multiple
        )
    tshape = tuple(min(int(t), int(s)) for t, s in zip(tile_shape, shape, strict=True))
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), denormals_flushed():
            return _blend(model, frames, make_tiles(shape, tshape, overlap), tshape, device)
    finally:
        model.train(was_training)


def _blend(
    model: torch.nn.Module,
    frames: np.ndarray,
    tiles: list[Tile],
    tshape: tuple[int, ...],
    device: torch.device,
) -> np.ndarray:
    """Weighted sum of every tile's output, divided by the summed weights."""
    size = auto_batch_size(device, tshape, channels=3, amp=device.type == "cuda")
    acc = np.zeros((3, *frames.shape[1:]), dtype=np.float32)
    wsum = np.zeros(frames.shape[1:], dtype=np.float32)
    for i in range(0, len(tiles), size):
        batch = tiles[i : i + size]
        for tile, out in zip(batch, _forward(model, frames, batch, tshape, device), strict=True):
            sl = tile.slices(tshape)
            w = blend_weights(tshape, tile.before, tile.after)
            acc[(slice(None), *sl)] += out * w
            wsum[sl] += w
    return acc / wsum


def _check_frames(prev: np.ndarray, curr: np.ndarray) -> np.ndarray:
    a, b = np.asarray(prev), np.asarray(curr)
    if a.ndim != 3 or a.shape != b.shape or min(a.shape) < 1:
        raise InvalidInputError(
            f"flow prediction needs two (z, y, x) frames of one shape, got {a.shape} and {b.shape}"
        )
    return np.ascontiguousarray(np.stack([a, b]), dtype=np.float32)


def _forward(
    model: torch.nn.Module,
    frames: np.ndarray,
    batch: list[Tile],
    tshape: tuple[int, ...],
    device: torch.device,
) -> np.ndarray:
    """Outputs (N, 3, z, y, x) of a batch of tiles, float32 numpy on the CPU."""
    x = np.stack([frames[(slice(None), *t.slices(tshape))] for t in batch])
    xt = torch.from_numpy(x).to(device)
    with torch.autocast(
        device_type=device.type, dtype=torch.float16, enabled=device.type == "cuda"
    ):
        out = model(xt)
    return out.float().cpu().numpy()


def flow_to_um(
    normalised: np.ndarray, scale: Sequence[float], voxel_size: VoxelSize
) -> np.ndarray:
    """Normalised output (3, Z, Y, X) -> backward displacement in µm, float32."""
    vox = to_voxels(np.asarray(normalised, dtype=np.float32), tuple(scale))
    return (vox * voxel_size.array.astype(np.float32)[:, None, None, None]).astype(np.float32)


def mean_flow_inside(flow_um: np.ndarray, voxel_size: VoxelSize, nucleus: Any) -> np.ndarray:
    """Mean of the field (3,) over the voxels inside a nucleus' ellipsoid.

    An ellipsoid that covers no voxel centre (tiny, or outside the image)
    takes the flow at the voxel nearest to its centre (clipped to the image).
    """
    shape = flow_um.shape[1:]
    slices, inside = ellipsoid_mask(shape, voxel_size, nucleus.center, nucleus.cov)
    if inside.any():
        return flow_um[(slice(None), *slices)][:, inside].mean(axis=1, dtype=np.float64)
    idx = np.rint(voxel_size.to_voxels(np.asarray(nucleus.center, dtype=np.float64)))
    z, y, x = np.clip(idx, 0, np.asarray(shape) - 1).astype(int)
    return flow_um[:, z, y, x].astype(np.float64)


def previous_positions(
    flow_um: np.ndarray, voxel_size: VoxelSize, nuclei: Sequence[Any]
) -> np.ndarray:
    """Estimated centres (n, 3) µm at t-1: each centre plus its mean flow."""
    out = np.empty((len(nuclei), 3), dtype=np.float64)
    for i, n in enumerate(nuclei):
        out[i] = np.asarray(n.center, dtype=np.float64) + mean_flow_inside(flow_um, voxel_size, n)
    return out
