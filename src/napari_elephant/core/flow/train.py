"""Training the flow network from validated links.

:func:`train_flow` is a generator: it yields a :class:`Progress` after every
optimiser step and returns a :class:`TrainOutcome`; a :class:`StopFlag` ends
it cleanly between steps.  It works on arrays and records only; the
workspace glue is in :mod:`napari_elephant.core.flow.engine`.

Material: one :class:`FlowSample` per timepoint t with accepted links from
t-1: the two normalised frames (shared with the neighbouring samples, not
copied) and the linked children.  Each crop is centred on a random child
(with a random offset), cut from both frames at the same place, and its
flow labels are rendered for that crop only (cheap, and no full-size label
volume per timepoint is ever held).

Epochs as in the paper ("a set of images and labels for each timepoint in
each epoch"): every epoch draws ``crops_per_timepoint`` crops from each
sample, shuffled and grouped into steps of ``batch_size`` crops.  Learning
rate: the paper's two phases, the given rate for the first half of the
steps and a tenth of it for the second.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from napari_elephant.core.detection.augment import Augmenter, AugmentTransform
from napari_elephant.core.detection.labels import as_ellipsoid
from napari_elephant.core.detection.train import TrainOutcome, crop_start, set_lr, take
from napari_elephant.core.flow.labels import (
    FlowLabels,
    Pair,
    normalised_displacement,
    render_flow_labels,
)
from napari_elephant.core.flow.losses import flow_loss
from napari_elephant.core.flow.model import FlowUNet
from napari_elephant.core.params import FlowParams
from napari_elephant.core.training.device import (
    autocast_context,
    flushes_denormals,
    make_grad_scaler,
)
from napari_elephant.core.training.progress import Progress, StopFlag
from napari_elephant.core.units import VoxelSize

__all__ = ["FlowSample", "TrainOutcome", "make_flow_sample", "sample_flow_crop", "train_flow"]

Crop = tuple[np.ndarray, np.ndarray, np.ndarray]  # frames (2, z, y, x), flow (3, ...), mask


@dataclass(frozen=True)
class FlowSample:
    """One timepoint's training material: frames t-1 and t and the linked children."""

    t: int
    prev: np.ndarray  # (Z, Y, X) float32 in [0, 1]
    curr: np.ndarray
    pairs: tuple[Pair, ...]  # (child at t, parent at t-1)
    anchors: np.ndarray  # (n, 3) voxel coordinates of the children's centres
    reach: np.ndarray  # (n, 3) voxel half extents of the children's bounding boxes
    n_clipped: int = 0  # links that move farther than the scale can express


def make_flow_sample(
    t: int,
    prev: np.ndarray,
    curr: np.ndarray,
    pairs: Sequence[Pair],
    voxel_size: VoxelSize,
    scale: Sequence[float],
) -> FlowSample:
    """Bundle a timepoint's frames and links (labels are rendered per crop)."""
    if np.shape(prev) != np.shape(curr):
        raise ValueError(f"frame shapes differ: {np.shape(prev)} and {np.shape(curr)}")
    centers = np.asarray([c.center for c, _ in pairs], dtype=np.float64).reshape(-1, 3)
    halves = np.asarray(
        [np.sqrt(np.diag(as_ellipsoid(c)[1])) for c, _ in pairs], dtype=np.float64
    ).reshape(-1, 3)
    clipped = sum(
        bool(np.any(np.abs(normalised_displacement(c, p, voxel_size, scale)) > 1))
        for c, p in pairs
    )
    return FlowSample(
        t,
        prev,
        curr,
        tuple(pairs),
        voxel_size.to_voxels(centers),
        voxel_size.to_voxels(halves) + 1.0,
        clipped,
    )


def _crop_labels(
    sample: FlowSample, start: np.ndarray, shape: Sequence[int], vs: VoxelSize, scale
) -> FlowLabels:
    """Flow labels of one crop, rendering only the children that reach into it."""
    lo, hi = start - sample.reach, start + np.asarray(shape) + sample.reach
    near = np.all((sample.anchors >= lo) & (sample.anchors <= hi), axis=1)
    pairs = [p for p, keep in zip(sample.pairs, near, strict=True) if keep]
    return render_flow_labels(shape, vs, pairs, scale, origin_um=vs.to_um(start))


def sample_flow_crop(
    rng: np.random.Generator,
    sample: FlowSample,
    out_shape: Sequence[int],
    voxel_size: VoxelSize,
    scale: Sequence[float],
    augmenter: Augmenter | None = None,
) -> Crop:
    """One (frames, normalised flow, mask) training crop around a random linked child."""
    size = sample.curr.shape
    out_shape = tuple(min(o, s) for o, s in zip(out_shape, size, strict=True))
    in_shape = augmenter.required_input_shape(out_shape) if augmenter else out_shape
    anchor = sample.anchors[rng.integers(len(sample.anchors))]
    jitter = rng.uniform(-0.25, 0.25, 3) * np.asarray(out_shape)
    start = crop_start(anchor + jitter, in_shape, size)
    frames = np.stack([take(v, start, in_shape, None) for v in (sample.prev, sample.curr)])
    labels = _crop_labels(sample, start, in_shape, voxel_size, scale)
    if augmenter is None:
        return frames.astype(np.float32), labels.flow, labels.mask
    return augment_flow_crop(augmenter, frames, labels, out_shape, scale)


def augment_flow_crop(
    augmenter: Augmenter,
    frames: np.ndarray,
    labels: FlowLabels,
    out_shape: Sequence[int],
    scale: Sequence[float],
) -> Crop:
    """Resample frames and labels with one random transform, keeping the flow true.

    The flow is a vector field, so besides moving it with the voxels, each
    vector is mapped too: the transform sends an output offset o to the
    input offset M o, hence a displacement d (voxels) becomes M⁻¹ d, and a
    flipped axis negates its component.  Flow and mask are sampled nearest
    (labels stay exact); the frames linearly, both with the same transform.
    """
    tf = augmenter.draw(frames.shape[1:], out_shape)
    out_frames = np.stack([tf.apply_image(f) for f in frames])
    mask = tf.apply_mask(labels.mask)
    factors = np.asarray(scale, dtype=np.float64)[:, None, None, None]
    flow = transform_flow(tf, labels.flow / factors) * factors
    flow[:, ~mask] = 0.0
    return out_frames, np.clip(flow, -1.0, 1.0).astype(np.float32), mask


def transform_flow(tf: AugmentTransform, flow_vox: np.ndarray) -> np.ndarray:
    """Resample a (3, z, y, x) voxel displacement field and map its vectors (see above)."""
    moved = np.stack([tf.resample(c.astype(np.float64), 0, 0.0, "constant") for c in flow_vox])
    out = np.einsum("ij,j...->i...", np.linalg.inv(tf.matrix), moved)
    for axis, flipped in enumerate(tf.flips):
        if flipped:
            out[axis] *= -1.0
    return out


def flow_schedule(n_samples: int, params: FlowParams, rng: np.random.Generator) -> list[list[int]]:
    """Sample index of every crop, grouped into steps, epoch after epoch."""
    steps: list[list[int]] = []
    for _ in range(params.epochs):
        order = rng.permutation(np.repeat(np.arange(n_samples), params.crops_per_timepoint))
        steps += [
            order[i : i + params.batch_size].tolist()
            for i in range(0, len(order), params.batch_size)
        ]
    return steps


def phase_lr(lr: float, step: int, total: int) -> float:
    """The paper's schedule: ``lr`` for the first half of the steps, ``lr / 10`` after."""
    return float(lr if step < math.ceil(total / 2) else lr / 10.0)


def _batch(crops: list[Crop], device: torch.device) -> tuple[torch.Tensor, ...]:
    frames = torch.from_numpy(np.stack([c[0] for c in crops])).float().to(device)
    flow = torch.from_numpy(np.stack([c[1] for c in crops])).float().to(device)
    mask = torch.from_numpy(np.stack([c[2] for c in crops])).bool().to(device)
    return frames, flow, mask


def _step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    batch: tuple[torch.Tensor, ...],
    scale: Sequence[float],
    params: FlowParams,
) -> float:
    frames, flow, mask = batch
    optimizer.zero_grad(set_to_none=True)
    with autocast_context(frames.device):
        pred = model(frames)
    loss = flow_loss(
        pred.float(),
        flow,
        mask,
        frames[:, :1],
        frames[:, 1:],
        scale,
        dim_weights=params.dim_weights,
        alpha=params.alpha,
        beta=params.beta,
        gamma=params.gamma,
    )
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return float(loss.detach())


def _augmenter(rng: np.random.Generator, params: FlowParams, vs: VoxelSize) -> Augmenter | None:
    """Flips, lateral scaling 0.5–2 and rotation about z; no contrast change (the SSIM
    term compares the two frames, so both must keep their relation)."""
    if not params.augment:
        return None
    return Augmenter(rng, contrast_range=None, voxel_size=vs)


@flushes_denormals
def train_flow(
    model: FlowUNet,
    optimizer: torch.optim.Optimizer,
    samples: Sequence[FlowSample],
    voxel_size: VoxelSize,
    params: FlowParams,
    device: torch.device,
    stop: StopFlag | None = None,
) -> Generator[Progress, None, TrainOutcome]:
    """Train ``model`` in place; yields after each step, returns when done or stopped.

    The model's own ``config.scale`` defines the labels.
    """
    rng = np.random.default_rng(params.seed)
    augmenter = _augmenter(rng, params, voxel_size)
    scaler = make_grad_scaler(device)
    scale = model.config.scale
    schedule = flow_schedule(len(samples), params, rng)
    total, loss, start = len(schedule), None, time.perf_counter()
    model.train()
    for step, indices in enumerate(schedule, start=1):
        if stop is not None and stop.is_set():
            return TrainOutcome(step - 1, loss, True, time.perf_counter() - start)
        crops = [
            sample_flow_crop(rng, samples[i], params.crop_size, voxel_size, scale, augmenter)
            for i in indices
        ]
        lr = phase_lr(params.learning_rate, step - 1, total)
        set_lr(optimizer, lr)
        loss = _step(model, optimizer, scaler, _batch(crops, device), scale, params)
        yield Progress("flow training", step, total, loss, lr, time.perf_counter() - start)
    return TrainOutcome(total, loss, False, time.perf_counter() - start)
