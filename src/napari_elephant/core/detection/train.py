"""Training the detection network from sparse ellipsoid annotations.

:func:`train_detection` is a generator: it yields a :class:`Progress` after
every optimiser step and returns a :class:`TrainOutcome`; a :class:`StopFlag`
ends it cleanly between steps.  It works on arrays and records only — the
workspace glue (which model, where the checkpoint goes) is in
:mod:`napari_elephant.core.detection.engine`.

Each step trains on crops that always contain an annotated nucleus: a crop
is centred on a random accepted or rejected nucleus (with a random offset),
cut a little larger than the network input so that augmentation (scaling,
rotation) has context, then augmented and centre-cropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from napari_elephant.core.detection.augment import Augmenter
from napari_elephant.core.detection.background import resolve_threshold, smooth, smoothing_um
from napari_elephant.core.detection.labels import IGNORE, LabelVolume, render_labels
from napari_elephant.core.detection.losses import hold_loss, prior_loss, vclass_loss
from napari_elephant.core.params import DetectionParams, TrainingParams
from napari_elephant.core.training.averaging import WeightAverage
from napari_elephant.core.training.device import (
    autocast_context,
    fast_layout,
    flushes_denormals,
    make_grad_scaler,
)
from napari_elephant.core.training.progress import Progress, StopFlag
from napari_elephant.core.units import VoxelSize

PRIOR_LEARNING_RATES = (1e-2, 1e-3, 1e-4)  # the paper's three prior epochs
PRIOR_CROPS_PER_EPOCH = 3


@dataclass(frozen=True)
class Annotation:
    """One timepoint's training material: its normalised volume and labels."""

    t: int
    volume: np.ndarray  # (Z, Y, X) float32 in [0, 1]
    labels: LabelVolume
    anchors: np.ndarray  # (n, 3) voxel coordinates of the annotated nuclei


@dataclass(frozen=True)
class TrainOutcome:
    """How a training round ended."""

    steps: int
    last_loss: float | None
    stopped: bool
    elapsed: float


def make_annotation(
    t: int,
    volume: np.ndarray,
    true_nuclei: Sequence,
    false_nuclei: Sequence,
    voxel_size: VoxelSize,
    params: DetectionParams,
) -> Annotation:
    """Render the labels of one timepoint (once per round, then cropped at will)."""
    smoothed = smooth(volume, voxel_size, smoothing_um(params.nucleus_diameter))
    threshold = resolve_threshold(params.background_threshold, smoothed, true_nuclei, voxel_size)
    labels = render_labels(
        volume.shape,
        voxel_size,
        true_nuclei,
        false_nuclei,
        smoothed,
        params.center_ratio,
        threshold,
    )
    centers = [n.center for n in (*true_nuclei, *false_nuclei)]
    anchors = voxel_size.to_voxels(np.asarray(centers, dtype=np.float64).reshape(-1, 3))
    return Annotation(t, volume, labels, anchors)


def crop_start(center: np.ndarray, shape: Sequence[int], size: Sequence[int]) -> np.ndarray:
    """Start of a crop of ``shape`` around ``center``, kept inside the volume.

    A crop that hangs over the edge would teach the network about padding it
    never sees at prediction time, so crops slide back inside; only a volume
    smaller than the crop is padded (centred).
    """
    start = np.round(np.asarray(center) - np.asarray(shape) / 2).astype(int)
    room = np.asarray(size) - np.asarray(shape)
    return np.where(room >= 0, np.clip(start, 0, np.maximum(room, 0)), room // 2)


def take(
    array: np.ndarray, start: Sequence[int], shape: Sequence[int], fill: float | None
) -> np.ndarray:
    """``array[start : start + shape]``; outside the array: ``fill``, or the edge value
    when ``fill`` is None (images: no artificial black slabs)."""
    pads, src = [], []
    for s, n, size in zip(start, shape, array.shape, strict=True):
        lo, hi = max(s, 0), min(s + n, size)
        src.append(slice(lo, max(hi, lo)))
        pads.append((lo - s, s + n - max(hi, lo)))
    part = array[tuple(src)]
    if not any(a or b for a, b in pads):
        return part.copy()
    if fill is None:
        return np.pad(part, pads, mode="edge")
    return np.pad(part, pads, mode="constant", constant_values=fill)


def sample_crop(
    rng: np.random.Generator,
    item: Annotation,
    out_shape: Sequence[int],
    augmenter: Augmenter | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One (image, labels, is_false) training crop around a random annotated nucleus."""
    out_shape = tuple(min(o, s) for o, s in zip(out_shape, item.volume.shape, strict=True))
    in_shape = augmenter.required_input_shape(out_shape) if augmenter else out_shape
    anchor = item.anchors[rng.integers(len(item.anchors))]
    jitter = rng.uniform(-0.25, 0.25, 3) * np.asarray(out_shape)
    start = crop_start(anchor + jitter, in_shape, item.volume.shape)
    image = take(item.volume, start, in_shape, None)
    labels = take(item.labels.labels, start, in_shape, IGNORE)
    is_false = take(item.labels.is_false, start, in_shape, False)
    if augmenter is None:
        return image, labels, is_false
    return augmenter.augment(image, labels, is_false, out_shape)


def batch_tensors(
    crops: list[tuple[np.ndarray, ...]], device: torch.device
) -> tuple[torch.Tensor, ...]:
    """Stacked (image, labels, is_false) tensors of training crops on ``device``."""
    image = torch.from_numpy(np.stack([c[0] for c in crops])[:, None]).float().to(device)
    labels = torch.from_numpy(np.stack([c[1] for c in crops])).long().to(device)
    is_false = torch.from_numpy(np.stack([c[2] for c in crops])).bool().to(device)
    return image, labels, is_false


def _step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    device: torch.device,
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    image: torch.Tensor,
) -> float:
    optimizer.zero_grad(set_to_none=True)
    with autocast_context(device):
        logits = model(image)
    loss = loss_fn(logits.float())
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    return float(loss.detach())


def cosine_lr(lr: float, i: int, n: int, floor: float = 0.1) -> float:
    """Cosine decay from ``lr`` to ``floor × lr`` over a round: big steps first, then
    settle, so the round ends on a quiet model rather than on a noisy update."""
    if n <= 1:
        return lr
    return float(lr * (floor + (1 - floor) * 0.5 * (1 + np.cos(np.pi * i / (n - 1)))))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = float(lr)  # a numpy scalar would make optimizer.pt unsafe to load


def _schedule(items: list[Annotation], params: TrainingParams, rng: np.random.Generator):
    """Which timepoint each step trains on: random (interactive) or epochs (batch)."""
    if params.mode == "interactive":
        return [items[i] for i in rng.integers(len(items), size=params.steps)]
    order: list[Annotation] = []
    for _ in range(params.epochs):
        order += [items[i] for i in rng.permutation(len(items))]
    return order


@flushes_denormals
def train_detection(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    items: Sequence[Annotation],
    voxel_size: VoxelSize,
    params: TrainingParams,
    device: torch.device,
    prior: bool = False,
    stop: StopFlag | None = None,
    held: nn.Module | None = None,
) -> Generator[Progress, None, TrainOutcome]:
    """Train in place; yields after each step, returns when done or stopped.

    ``prior`` runs the paper's prior phase first (L_prior on random crops, three
    epochs at decreasing learning rates), which starts a fresh network off as a
    rough intensity detector so that a handful of annotations suffice.
    ``held``: a frozen copy of the network as the round starts; on the
    voxels no annotation labels, the round is pulled towards its answers
    (weight ``params.hold_unlabelled``, :func:`.losses.hold_loss`).
    """
    rng = np.random.default_rng(params.seed)
    augmenter = Augmenter(rng, voxel_size=voxel_size) if params.augment else None
    scaler = make_grad_scaler(device)
    schedule = _schedule(list(items), params, rng)
    n_prior = len(PRIOR_LEARNING_RATES) * PRIOR_CROPS_PER_EPOCH if prior else 0
    total = n_prior + len(schedule)
    start, loss, step = time.perf_counter(), None, 0
    average = WeightAverage() if params.average_weights else None
    averaged_from = n_prior + len(schedule) // 2 + 1
    fast_layout(model, device).train()
    if held is not None:
        fast_layout(held, device).eval()
    for step in range(1, total + 1):
        if stop is not None and stop.is_set():
            _finish(model, average)
            return TrainOutcome(step - 1, loss, True, time.perf_counter() - start)
        if step <= n_prior:
            lr = PRIOR_LEARNING_RATES[(step - 1) // PRIOR_CROPS_PER_EPOCH]
            item = items[rng.integers(len(items))]
            image, _, _ = batch_tensors([sample_crop(rng, item, params.crop_size, None)], device)
            loss_fn = lambda logits, image=image: prior_loss(logits, image)  # noqa: E731
            task = "prior training"
        else:
            lr = cosine_lr(params.learning_rate, step - n_prior - 1, len(schedule))
            item = schedule[step - n_prior - 1]
            crops = [
                sample_crop(rng, item, params.crop_size, augmenter)
                for _ in range(params.batch_size)
            ]
            image, labels, is_false = batch_tensors(crops, device)
            loss_fn = _labelled_loss(params, image, labels, is_false, held, device)
            task = "training"
        set_lr(optimizer, lr)
        loss = _step(model, optimizer, scaler, device, loss_fn, image)
        if average is not None and step >= averaged_from:
            average.add(model)
        yield Progress(task, step, total, loss, lr, time.perf_counter() - start)
    _finish(model, average)
    return TrainOutcome(total, loss, False, time.perf_counter() - start)


def _labelled_loss(
    params: TrainingParams,
    image: torch.Tensor,
    labels: torch.Tensor,
    is_false: torch.Tensor,
    held: nn.Module | None,
    device: torch.device,
) -> Callable[[torch.Tensor], torch.Tensor]:
    """L_vclass of the crops, plus the hold term when a start copy is given."""
    weight = params.hold_unlabelled if held is not None else 0.0
    target = None
    if weight > 0:
        with torch.no_grad(), autocast_context(device):
            target = torch.softmax(held(image).float(), dim=1)

    def loss(logits: torch.Tensor) -> torch.Tensor:
        value = vclass_loss(logits, labels, is_false, wt=params.wt, wf=params.wf)
        if target is None:
            return value
        return value + weight * hold_loss(logits, target, labels == IGNORE)

    return loss


def _finish(model: nn.Module, average: WeightAverage | None) -> None:
    """The round's model: the mean of its second half's weights when averaging."""
    if average is not None:
        average.apply(model)
