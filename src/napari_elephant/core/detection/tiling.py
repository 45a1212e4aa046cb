"""Tiled prediction: run a network on overlapping blocks and blend them.

A whole timepoint rarely fits a network at once (GPU memory, or RAM on a
CPU), so ELEPHANT crops it into blocks and stitches the outputs "by weighted
linear blending" (paper, "Algorithm for detection").  Here:

- tiles are equal-sized blocks (so they batch), spread evenly over each axis
  so that neighbours overlap by at least the requested overlap and the last
  tile is flush with the end (:func:`tile_starts`);
- each tile's softmax probabilities are weighted by a separable profile
  (:func:`blend_weights`) that is 1 inside the tile, ramps linearly across
  each overlap with a neighbour and is 0 on the outer quarter of that
  overlap, where the tile's own output is spoilt by the missing context
  (zero padding at a cut).  Sides at the volume border are never ramped, so
  the weights sum to > 0 everywhere; the sum is divided out at the end;
- only two float32 accumulators of the volume's size are held (probability ×
  weight, C×Z×Y×X, and weight, Z×Y×X) plus one batch of tiles: ~205 MB for a
  35×512×708 volume, whatever the number of tiles.

Defaults: tiles of at most 32×256×256 voxels and an overlap of 4×32×32
voxels.  The U-Net's receptive field is wider than any affordable overlap and
GroupNorm normalises each tile on its own, so tiles cannot reproduce the
untiled output exactly (a network that only looks ±k voxels away is
reproduced exactly once overlap/4 ≥ k, see the tests); the overlap hides the
seams, and the 1×8×8 voxels dropped at each cut are where zero padding
spoils a tile most.
:func:`default_tile_shape` shrinks the tile to the smallest equal size that
covers the volume with as many tiles as the maximum size needs, so little
work is repeated: 35×512×708 → 24 tiles of 20×192×208 (default network
padding multiple 2×16×16).  Measured on a 2-core CPU (float32, batch 1) for
that volume: peak RSS 0.99 GB with the default network (85 s) and 1.18 GB
with the paper's (111 s), including ~0.25 GB for Python and torch.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from napari_elephant.core.detection.empty_tiles import empty_tiles
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.training.device import (
    autocast_context,
    denormals_flushed,
    fast_layout,
)

MAX_TILE = (32, 256, 256)
DEFAULT_OVERLAP = (4, 32, 32)
# Voxels of mirrored context added around the volume before tiling: a U-Net
# zero-pads its convolutions, so its outermost output voxels are unreliable
# (measured: a first-round network put ~95 % of its false nuclei on the
# outermost voxel columns of the crowded preset).  Mirroring gives the border
# the kind of context the network saw in training.
BORDER = (2, 8, 8)
# Bytes of activations per tile voxel at inference in float32, measured on a
# CPU (peak RSS): ~500 for the default network (base 8, depth 4), ~800 for the
# paper's (base 16).  The larger one sizes GPU batches from the free memory.
ACTIVATION_BYTES_PER_VOXEL = 800
GPU_MEMORY_SAFETY = 0.5
MAX_BATCH = 16

Shape3 = tuple[int, int, int]


class _HasIsSet(Protocol):
    """threading.Event, core.training.progress.StopFlag, ..."""

    def is_set(self) -> bool: ...


StopLike = _HasIsSet | Callable[[], bool] | None


class PredictionStopped(Exception):
    """Raised by :func:`predict_tiled` when its stop flag is set between batches."""


@dataclass(frozen=True)
class Tile:
    """One block: its start, and its overlap with the previous/next tile per axis."""

    start: Shape3
    before: Shape3
    after: Shape3

    def slices(self, shape: Shape3) -> tuple[slice, slice, slice]:
        return tuple(slice(s, s + n) for s, n in zip(self.start, shape, strict=True))  # type: ignore[return-value]


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Starts of tiles of length ``tile`` covering ``[0, size)`` along one axis.

    Neighbours overlap by at least ``overlap``; the starts are spread evenly
    (integer arithmetic) so the last tile ends exactly at ``size``.  A volume
    no larger than the tile gets one tile at 0 (the tile is clipped to it).
    """
    if size <= 0 or tile <= 0:
        raise InvalidInputError(f"tile and volume sizes must be positive, got {tile} and {size}")
    if tile >= size:
        return [0]
    step = tile - max(0, overlap)
    if step <= 0:
        raise InvalidInputError(f"overlap {overlap} must be smaller than the tile size {tile}")
    span = size - tile
    gaps = math.ceil(span / step)
    return [(i * span) // gaps for i in range(gaps + 1)]


def ramp(length: int, before: int = 0, after: int = 0) -> np.ndarray:
    """1-D blending profile: 1 in the middle, linear ramps over the overlaps.

    Over an overlap of width w the profile is 0 on the quarter nearest the
    cut, rises linearly over the middle half and is 1 on the far quarter, so
    two neighbours' profiles sum to exactly 1 across their shared overlap.
    """
    pos = np.arange(length, dtype=np.float64) + 0.5
    prof = np.ones(length, dtype=np.float64)
    if before > 0:
        prof = np.minimum(prof, _rise(pos, before))
    if after > 0:
        prof = np.minimum(prof, _rise(length - pos, after))
    return prof.astype(np.float32)


def _rise(dist: np.ndarray, width: int) -> np.ndarray:
    """0 → 1 with the distance from a cut, over an overlap of ``width``."""
    margin = width // 4
    return np.clip((dist - margin) / (width - 2 * margin), 0.0, 1.0)


def blend_weights(
    tile_shape: Sequence[int],
    overlap_before: Sequence[int],
    overlap_after: Sequence[int] | None = None,
) -> np.ndarray:
    """Weights (Z, Y, X) of one tile: the product of one :func:`ramp` per axis.

    Pass 0 for a side with no neighbour (the volume border) so it is not
    ramped; ``overlap_after`` defaults to ``overlap_before`` (an inner tile).
    """
    after = overlap_before if overlap_after is None else overlap_after
    wz, wy, wx = (
        ramp(int(n), int(b), int(a))
        for n, b, a in zip(tile_shape, overlap_before, after, strict=True)
    )
    return wz[:, None, None] * wy[None, :, None] * wx[None, None, :]


def make_tiles(
    shape: Sequence[int], tile_shape: Sequence[int], overlap: Sequence[int]
) -> list[Tile]:
    """Every tile of a (Z, Y, X) volume, with its actual overlaps with neighbours."""
    per_axis = []
    for size, tile, ov in zip(shape, tile_shape, overlap, strict=True):
        starts = tile_starts(int(size), int(tile), int(ov))
        n = min(int(tile), int(size))
        before = [0] + [a + n - b for a, b in itertools.pairwise(starts)]
        after = [*before[1:], 0]
        per_axis.append(list(zip(starts, before, after, strict=True)))
    tiles = []
    for z, y, x in ((z, y, x) for z in per_axis[0] for y in per_axis[1] for x in per_axis[2]):
        tiles.append(Tile((z[0], y[0], x[0]), (z[1], y[1], x[1]), (z[2], y[2], x[2])))
    return tiles


def default_tile_shape(
    shape: Sequence[int],
    max_tile: Sequence[int] = MAX_TILE,
    overlap: Sequence[int] = DEFAULT_OVERLAP,
    multiple: Sequence[int] = (1, 1, 1),
) -> Shape3:
    """The smallest equal tile (≤ ``max_tile``) that covers the volume in as few tiles.

    Per axis: n = the number of ``max_tile`` tiles needed, then the tile size
    that covers ``shape`` with n tiles overlapping by ``overlap``, rounded up
    to ``multiple`` (the network's padding multiple) and clipped to the volume.
    """
    out = []
    for size, mx, ov, m in zip(shape, max_tile, overlap, multiple, strict=True):
        size, mx, ov, m = int(size), int(mx), int(ov), max(1, int(m))
        if size <= mx:
            out.append(size)
            continue
        n = math.ceil((size - ov) / (mx - ov))
        tile = math.ceil((size + (n - 1) * ov) / n)
        tile = min(-(-tile // m) * m, mx, size)
        out.append(tile)
    return tuple(out)  # type: ignore[return-value]


def auto_batch_size(
    device: torch.device | str,
    tile_shape: Sequence[int],
    channels: int = 3,
    bytes_per_voxel: float = ACTIVATION_BYTES_PER_VOXEL,
    amp: bool = False,
) -> int:
    """Tiles per forward pass that fit the device.

    CUDA: the free memory (``torch.cuda.mem_get_info``) times a safety factor
    over the activation cost of one tile (halved under AMP).  CPU and MPS: 1,
    since batching buys little there and each tile costs ~1 GB of RAM.
    """
    dev = torch.device(device)
    if dev.type != "cuda":
        return 1
    voxels = math.prod(int(s) for s in tile_shape)
    per_tile = voxels * (bytes_per_voxel * (0.5 if amp else 1.0) + 4 * (1 + 2 * channels))
    free, _total = torch.cuda.mem_get_info(dev)
    return int(max(1, min(MAX_BATCH, (free * GPU_MEMORY_SAFETY) // per_tile)))


def _model_device(model: torch.nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _model_multiple(model: torch.nn.Module) -> Sequence[int]:
    """The network's padding multiple when it says so (``config.size_multiple``)."""
    multiple = getattr(getattr(model, "config", None), "size_multiple", None)
    return tuple(multiple) if multiple is not None else (1, 1, 1)


def _stopped(stop: StopLike) -> bool:
    """An Event-like flag (``is_set()``, e.g. training's StopFlag) or a callable."""
    if stop is None:
        return False
    is_set = getattr(stop, "is_set", None)
    return bool(is_set() if is_set is not None else stop())  # type: ignore[operator]


def _batches(tiles: list[Tile], size: int) -> Iterator[list[Tile]]:
    for i in range(0, len(tiles), size):
        yield tiles[i : i + size]


def predict_tiled(
    model: torch.nn.Module,
    volume: np.ndarray,
    tile_shape: Sequence[int] | None = None,
    overlap: Sequence[int] = DEFAULT_OVERLAP,
    device: torch.device | str | None = None,
    batch_size: int | None = None,
    amp: bool = False,
    stop: StopLike = None,
    progress: Callable[[int, int], None] | None = None,
    border: Sequence[int] = BORDER,
    skip_empty: bool = True,
) -> np.ndarray:
    """Softmax probabilities (C, Z, Y, X) float32 of a normalised (Z, Y, X) volume.

    ``model`` maps (N, 1, z, y, x) to logits (N, C, z, y, x) for any size and
    must already live on ``device`` (default: where its parameters are).
    ``tile_shape`` defaults to :func:`default_tile_shape` (aligned to the
    model's ``config.size_multiple`` when it has one).  ``stop`` (anything
    with ``is_set()``, or a callable) is checked between batches and raises
    :class:`PredictionStopped`; ``progress(done, total)`` counts tiles.
    ``amp``: mixed precision where the device computes it natively
    (:func:`amp_dtype`: CUDA, CPUs with bf16); probabilities are float32.
    ``border`` voxels per side of mirrored context are predicted and dropped.
    ``skip_empty``: tiles where nothing stands out of the noise
    (:func:`empty_tiles`) are background without running the network.
    """
    vol, inner = mirror_border(_check_volume(volume), border)
    dev = torch.device(device) if device is not None else _model_device(model)
    if tile_shape is None:
        tile_shape = default_tile_shape(
            vol.shape, overlap=overlap, multiple=_model_multiple(model)
        )
    tshape = tuple(min(int(t), int(s)) for t, s in zip(tile_shape, vol.shape, strict=True))
    tiles = make_tiles(vol.shape, tshape, overlap)
    starts = [t.start for t in tiles]
    empty = empty_tiles(vol, starts, tshape) if skip_empty and len(tiles) > 1 else set()
    size = batch_size or auto_batch_size(dev, tshape, amp=amp)
    was_training = model.training
    model.eval()
    fast_layout(model, dev)
    try:
        with torch.inference_mode(), denormals_flushed():
            probs = _run_tiles(model, vol, tiles, tshape, dev, size, amp, stop, progress, empty)
        return probs if inner is None else np.ascontiguousarray(probs[(slice(None), *inner)])
    finally:
        model.train(was_training)


def _check_volume(volume: np.ndarray) -> np.ndarray:
    vol = np.asarray(volume)
    if vol.ndim != 3 or min(vol.shape) < 1:
        raise InvalidInputError(f"prediction needs a (z, y, x) volume, got shape {vol.shape}")
    return np.ascontiguousarray(vol, dtype=np.float32)


def mirror_border(
    vol: np.ndarray, border: Sequence[int]
) -> tuple[np.ndarray, tuple[slice, ...] | None]:
    """The volume with ``border`` mirrored voxels per side (fewer on a thin axis),
    and the slices that cut the original back out (None when nothing was added)."""
    pads = [min(max(int(b), 0), n - 1) for b, n in zip(border, vol.shape, strict=True)]
    if not any(pads):
        return vol, None
    padded = np.pad(vol, [(p, p) for p in pads], mode="reflect")
    return padded, tuple(slice(p, p + n) for p, n in zip(pads, vol.shape, strict=True))


def _run_tiles(
    model: torch.nn.Module,
    vol: np.ndarray,
    tiles: list[Tile],
    tshape: Shape3,
    dev: torch.device,
    batch_size: int,
    amp: bool,
    stop: StopLike,
    progress: Callable[[int, int], None] | None,
    empty: set[int] = frozenset(),  # type: ignore[assignment]
) -> np.ndarray:
    """Accumulate weighted probabilities of every batch, then normalise in place;
    ``empty`` tiles (indices) add pure background without the network."""
    if _stopped(stop):  # a stop set before the start stops even an all-empty volume
        raise PredictionStopped("prediction stopped")
    channels = int(getattr(getattr(model, "config", None), "out_channels", 3))
    acc = np.zeros((channels, *vol.shape), dtype=np.float32)
    wsum = np.zeros(vol.shape, dtype=np.float32)
    busy = [t for i, t in enumerate(tiles) if i not in empty]
    for tile in (t for i, t in enumerate(tiles) if i in empty):
        sl = tile.slices(tshape)
        w = blend_weights(tshape, tile.before, tile.after)
        acc[(0, *sl)] += w  # background is class 0
        wsum[sl] += w
    done = len(tiles) - len(busy)
    for batch in _batches(busy, batch_size):
        if _stopped(stop):
            raise PredictionStopped("prediction stopped")
        probs = _forward(model, vol, batch, tshape, dev, amp)
        for tile, p in zip(batch, probs, strict=True):
            sl = tile.slices(tshape)
            w = blend_weights(tshape, tile.before, tile.after)
            acc[(slice(None), *sl)] += p * w
            wsum[sl] += w
        done += len(batch)
        if progress is not None:
            progress(done, len(tiles))
    acc /= wsum
    return acc


def _forward(
    model: torch.nn.Module,
    vol: np.ndarray,
    batch: list[Tile],
    tshape: Shape3,
    dev: torch.device,
    amp: bool,
) -> np.ndarray:
    """Softmax (N, C, z, y, x) of one batch of tiles, as float32 numpy on the CPU."""
    x = np.stack([vol[t.slices(tshape)] for t in batch])[:, None]
    xt = torch.from_numpy(x).to(dev)
    with autocast_context(dev, inference=True) if amp else contextlib.nullcontext():
        logits = model(xt)
    if tuple(logits.shape[2:]) != tshape or logits.shape[0] != len(batch):
        raise InvalidInputError(
            f"the network returned shape {tuple(logits.shape)} "
            f"for tiles of shape {(len(batch), 1, *tshape)}"
        )
    return torch.softmax(logits.float(), dim=1).cpu().numpy()
