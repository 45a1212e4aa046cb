"""Detection rounds on a workspace: the functions the CLI and the docks call.

This is the glue between a :class:`Workspace` (graph, image, parameters,
``models/detection/``) and the array-level engine: it gathers the
annotations, builds or restores the network, runs the training generator
and saves the checkpoint; it predicts timepoints and hands back ellipsoids
for the caller to merge into the graph on its own thread.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from napari_elephant.core.detection.labels import annotations_from_nuclei
from napari_elephant.core.detection.model import DetectionUNet, default_config
from napari_elephant.core.detection.peaks import detect_nuclei
from napari_elephant.core.detection.postprocess import Ellipsoid
from napari_elephant.core.detection.pretrained import require_pretrained
from napari_elephant.core.detection.tiling import predict_tiled
from napari_elephant.core.detection.train import Annotation, TrainOutcome, make_annotation
from napari_elephant.core.detection.train import train_detection as _train
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Status
from napari_elephant.core.io.image import ImageSource
from napari_elephant.core.params import DetectionParams, TrainingParams
from napari_elephant.core.timepoints import parse_timepoints as parse_timepoints  # re-export
from napari_elephant.core.training.checkpoint import (
    detection_model,
    has_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from napari_elephant.core.training.progress import Progress, StopFlag
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import Workspace

KIND = "detection"
Start = Literal["current", "scratch", "pretrained"]
STARTS: tuple[Start, ...] = ("current", "scratch", "pretrained")


def detection_dir(ws: Workspace) -> Path:
    return ws.models_dir / KIND


def load_model(
    ws: Workspace, device: torch.device, start: Start = "current"
) -> tuple[DetectionUNet, dict | None, bool]:
    """The network a round starts from: (model, optimizer state, fresh?).

    ``current``: the workspace's model (while it has none, what
    ``training.initial_model`` names); ``scratch``: a fresh default network;
    ``pretrained``: the model shipped with the package (without optimizer
    state: a new Adam adapts it).
    """
    if start not in STARTS:
        raise InvalidInputError(f"unknown start {start!r} (one of {', '.join(STARTS)})")
    folder = detection_dir(ws)
    if start == "current" and not has_checkpoint(folder):
        start = ws.params.training.initial_model
    if start == "pretrained":
        folder = require_pretrained()
    elif start == "scratch" or not has_checkpoint(folder):
        model = DetectionUNet(default_config(ws.voxel_size)).to(device)
        return model, None, True
    loaded = load_checkpoint(folder, device, expected_kind=KIND, with_optimizer=start == "current")
    return detection_model(loaded, folder).to(device), loaded.optimizer_state, False


def collect_annotations(
    ws: Workspace, source: ImageSource, timepoints: Sequence[int]
) -> list[Annotation]:
    """Accepted (true) and rejected (false) nuclei of the timepoints, with their volumes."""
    extent = ws.voxel_size.to_um(np.asarray(source.shape_zyx) - 1)
    margin = ws.voxel_size.array / 2
    items = []
    for t in timepoints:
        true, false = annotations_from_nuclei(ws.graph.nuclei_at(t))
        if not true and not false:
            continue
        for n in (*true, *false):
            c = np.asarray(n.center)
            if t >= source.n_timepoints or np.any(c < -margin) or np.any(c > extent + margin):
                raise InvalidInputError(
                    f"nucleus {n.id} (t={t}, centre {tuple(round(v, 2) for v in n.center)} µm) "
                    f"lies outside the image ({source.n_timepoints} timepoints, "
                    f"{tuple(round(v, 1) for v in extent)} µm)"
                )
        volume = source.timepoint(t, normalized=True)
        items.append(make_annotation(t, volume, true, false, ws.voxel_size, ws.params.detection))
    if not items:
        raise InvalidInputError(
            "no annotations to train on: accept or add some nuclei first "
            f"(timepoints {timepoints[0]}–{timepoints[-1]})"
            if timepoints
            else "no timepoints"
        )
    return items


def train_round(
    ws: Workspace,
    device: torch.device,
    training: TrainingParams | None = None,
    timepoints: Sequence[int] | None = None,
    start: Start = "current",
    stop: StopFlag | None = None,
) -> Generator[Progress, None, TrainOutcome]:
    """One training round from ``start`` (see :func:`load_model`); the checkpoint is
    saved in the workspace at the end, also when stopped."""
    params = training or ws.params.training
    source = ws.open_image()
    if timepoints is None:
        timepoints = ws.graph.timepoints()
    items = collect_annotations(ws, source, timepoints)
    if params.seed is not None:  # a seeded round is repeatable: weights and crops
        torch.manual_seed(params.seed)
    model, optimizer_state, fresh = load_model(ws, device, start)
    optimizer = torch.optim.Adam(model.parameters(), lr=params.learning_rate)
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)
    outcome = yield from _train(
        model,
        optimizer,
        items,
        ws.voxel_size,
        params,
        device,
        prior=fresh and params.prior,
        stop=stop,
    )
    if outcome.steps > 0:
        save_checkpoint(
            detection_dir(ws),
            model,
            model.config,
            optimizer,
            extra={"steps": outcome.steps, "last_loss": outcome.last_loss},
        )
    return outcome


def prediction_params(ws: Workspace) -> DetectionParams:
    """The workspace's detection settings as prediction applies them: an ``auto``
    nucleus radius resolved to the median radius of its accepted nuclei (the
    default radius while there are none), and ``r_min`` raised to
    ``min_radius_fraction`` of that radius."""
    det = ws.params.detection
    radius = det.nucleus_radius
    if radius == "auto":
        radii = [n.radius for n in ws.graph.nuclei() if n.status == Status.ACCEPTED]
        radius = float(np.median(radii)) if radii else det.default_radius
    r_min = max(det.r_min, det.min_radius_fraction * radius)
    return det.model_copy(update={"nucleus_radius": radius, "r_min": r_min})


def predict_volume(
    model: torch.nn.Module,
    volume: np.ndarray,
    voxel_size: VoxelSize,
    params: DetectionParams,
    device: torch.device,
    stop: StopFlag | None = None,
) -> list[Ellipsoid]:
    """Ellipsoids (µm) of one normalised timepoint volume (in-process and on workers)."""
    probs = predict_tiled(model, volume, device=device, amp=device.type == "cuda", stop=stop)
    return detect_nuclei(probs, voxel_size, params)


def predict_round(
    ws: Workspace,
    device: torch.device,
    timepoints: Sequence[int] | None = None,
    stop: StopFlag | None = None,
) -> Generator[Progress, None, int]:
    """Predict timepoints one by one; each record carries ``extra['t']`` and
    ``extra['ellipsoids']`` for the caller to merge (on its own thread)."""
    if not has_checkpoint(detection_dir(ws)):
        raise InvalidInputError("no trained detection model yet: train one first")
    source = ws.open_image()
    tps = list(range(source.n_timepoints)) if timepoints is None else list(timepoints)
    model, _, _ = load_model(ws, device)
    model.eval()
    params = prediction_params(ws)
    start = time.perf_counter()
    for i, t in enumerate(tps, start=1):
        if stop is not None and stop.is_set():
            return i - 1
        volume = source.timepoint(t, normalized=True)
        found = predict_volume(model, volume, ws.voxel_size, params, device)
        yield Progress(
            "prediction",
            i,
            len(tps),
            elapsed=time.perf_counter() - start,
            message=f"t={t}: {len(found)} nuclei",
            extra={"t": t, "ellipsoids": tuple(found)},
        )
    return len(tps)
