"""Detection rounds on a workspace: the functions the CLI and the docks call.

This is the glue between a :class:`Workspace` (graph, image, parameters,
``models/detection/``) and the array-level engine: it gathers the
annotations, builds or restores the network, runs the training generator
and saves the checkpoint; it predicts timepoints and hands back ellipsoids
for the caller to merge into the graph on its own thread.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from napari_elephant.core.detection.labels import annotations_from_nuclei
from napari_elephant.core.detection.model import DetectionUNet, default_config, pooling_schedule
from napari_elephant.core.detection.peaks import detect_nuclei
from napari_elephant.core.detection.postprocess import Ellipsoid, flatten_ellipsoids
from napari_elephant.core.detection.pretrained import require_pretrained
from napari_elephant.core.detection.scale import NetworkGrid, grid_for
from napari_elephant.core.detection.sizes import NucleusSize, nucleus_size, resolve_detection
from napari_elephant.core.detection.tiling import predict_tiled
from napari_elephant.core.detection.train import Annotation, TrainOutcome, make_annotation
from napari_elephant.core.detection.train import train_detection as _train
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Status
from napari_elephant.core.intensity import normalize_as
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
from napari_elephant.core.workspace import Workspace

KIND = "detection"
Start = Literal["current", "scratch", "pretrained"]
STARTS: tuple[Start, ...] = ("current", "scratch", "pretrained")


def detection_dir(ws: Workspace) -> Path:
    return ws.models_dir / KIND


@dataclass(frozen=True)
class DetectionSetup:
    """How a workspace's movie meets the network now: the nucleus size, the settings
    with every ``auto`` size resolved from it, and the network's grid."""

    size: NucleusSize
    params: DetectionParams
    grid: NetworkGrid

    def describe(self) -> str:
        return f"{self.size.describe()}; {self.grid.describe()}"


def needs_image(ws: Workspace) -> bool:
    """Whether the nucleus size must be measured on the image (no size set, nothing
    accepted yet)."""
    if ws.params.detection.nucleus_diameter != "auto":
        return False
    return not any(n.status == Status.ACCEPTED for n in ws.graph.nuclei())


def workspace_nucleus_size(ws: Workspace, source: ImageSource | None = None) -> NucleusSize:
    """The typical nucleus size of the workspace now; the image is opened and read
    only when neither the diameter setting nor an accepted nucleus gives it."""
    det = ws.params.detection
    accepted = [n for n in ws.graph.nuclei() if n.status == Status.ACCEPTED]
    volume = None
    if det.nucleus_diameter == "auto" and not accepted:
        source = source if source is not None else ws.open_image()
        volume = source.timepoint(0, normalized=True)
    return nucleus_size(det, accepted, volume, ws.voxel_size)


def detection_setup(ws: Workspace, source: ImageSource | None = None) -> DetectionSetup:
    """The setup for the workspace's current annotations."""
    source = source if source is not None else ws.open_image()
    size = workspace_nucleus_size(ws, source)
    grid = grid_for(ws.voxel_size, source.shape_zyx, size.radius_um)
    return DetectionSetup(size, resolve_detection(ws.params.detection, size.radius_um), grid)


def load_model(
    ws: Workspace, device: torch.device, start: Start = "current", grid: NetworkGrid | None = None
) -> tuple[DetectionUNet, dict | None, bool]:
    """The network a round starts from: (model, optimizer state, fresh?).

    ``current``: the workspace's model (while it has none, what
    ``training.initial_model`` names); ``scratch``: a fresh default network;
    ``pretrained``: the model shipped with the package (without optimizer
    state: a new Adam adapts it).  Its z pooling follows ``grid`` (default:
    the workspace's current one).
    """
    grid = grid if grid is not None else detection_setup(ws).grid
    model, state, fresh = _load_model(ws, device, start, grid)
    schedule = pooling_schedule(grid.voxel_size, model.config.depth, grid.shape[0])
    return model.with_pooling(schedule), state, fresh


def _load_model(
    ws: Workspace, device: torch.device, start: Start, grid: NetworkGrid
) -> tuple[DetectionUNet, dict | None, bool]:
    if start not in STARTS:
        raise InvalidInputError(f"unknown start {start!r} (one of {', '.join(STARTS)})")
    folder = detection_dir(ws)
    if start == "current" and not has_checkpoint(folder):
        start = ws.params.training.initial_model
    if start == "pretrained":
        folder = require_pretrained()
    elif start == "scratch" or not has_checkpoint(folder):
        model = DetectionUNet(default_config(grid.voxel_size)).to(device)
        return model, None, True
    loaded = load_checkpoint(folder, device, expected_kind=KIND, with_optimizer=start == "current")
    return detection_model(loaded, folder).to(device), loaded.optimizer_state, False


def normalized_timepoint(source: ImageSource, t: int, normalization: str) -> np.ndarray:
    """Timepoint t normalised the way a network was trained
    (:mod:`~napari_elephant.core.intensity`), on the movie's own voxels."""
    return normalize_as(source.timepoint(t, normalized=False), normalization)


def network_input(
    source: ImageSource, t: int, normalization: str, grid: NetworkGrid
) -> np.ndarray:
    """Timepoint t as a network sees it: normalised, resampled onto its grid."""
    return grid.to_grid(normalized_timepoint(source, t, normalization))


def collect_annotations(
    ws: Workspace,
    source: ImageSource,
    timepoints: Sequence[int],
    setup: DetectionSetup,
    normalization: str = "asinh",
) -> list[Annotation]:
    """Accepted (true) and rejected (false) nuclei of the timepoints, with their volumes
    normalised as the network's and resampled onto its grid (labels drawn there, in µm)."""
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
        volume = network_input(source, t, normalization, setup.grid)
        true, false = setup.grid.shift_in(true), setup.grid.shift_in(false)
        items.append(make_annotation(t, volume, true, false, setup.grid.voxel_size, setup.params))
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
    setup = detection_setup(ws, source)
    if params.seed is not None:  # a seeded round is repeatable: weights and crops
        torch.manual_seed(params.seed)
    model, optimizer_state, fresh = load_model(ws, device, start, setup.grid)
    items = collect_annotations(ws, source, timepoints, setup, model.config.normalization)
    optimizer = torch.optim.Adam(model.parameters(), lr=params.learning_rate)
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)
    if not fresh and optimizer_state is None and not params.fine_tune_first_level:
        model.encoders[0].requires_grad_(False)  # no gradient: Adam leaves it as it is
    outcome = yield from _train(
        model,
        optimizer,
        items,
        setup.grid.voxel_size,
        params.model_copy(update={"crop_size": crop_shape(params, setup.grid)}),
        device,
        prior=fresh and params.prior,
        stop=stop,
        held=_held_copy(model, params, trained_here=optimizer_state is not None),
    )
    model.requires_grad_(True)
    if outcome.steps > 0:
        save_checkpoint(
            detection_dir(ws),
            model,
            model.config,
            optimizer,
            extra={"steps": outcome.steps, "last_loss": outcome.last_loss},
        )
    return outcome


def _held_copy(
    model: DetectionUNet, params: TrainingParams, trained_here: bool
) -> DetectionUNet | None:
    """A frozen copy of a network this workspace has trained, for the hold term; None
    for a first round (from the pretrained model or a new network, which has to adapt
    everywhere) or when the term is off."""
    if not trained_here or params.hold_unlabelled <= 0:
        return None
    held = copy.deepcopy(model)
    held.requires_grad_(False)
    return held


def prediction_params(ws: Workspace) -> DetectionParams:
    """The workspace's detection settings with every ``auto`` size resolved (see
    :mod:`~napari_elephant.core.detection.sizes`)."""
    return resolve_detection(ws.params.detection, workspace_nucleus_size(ws).radius_um)


def crop_shape(params: TrainingParams, grid: NetworkGrid) -> tuple[int, int, int]:
    """Training crop (grid voxels): the setting, or for ``auto`` about ten nucleus radii
    wide and up to five tall (a 2D movie: one slice, twenty radii wide)."""
    if params.crop_size != "auto":
        return params.crop_size
    if grid.flat:
        return (1, 128, 128)
    anisotropy = grid.voxel_size.anisotropy
    return (int(np.clip(round(64 / anisotropy), 1, 32)), 64, 64)


def predict_volume(
    model: torch.nn.Module,
    volume: np.ndarray,
    grid: NetworkGrid,
    params: DetectionParams,
    device: torch.device,
    stop: StopFlag | None = None,
) -> list[Ellipsoid]:
    """Ellipsoids (µm) of one normalised timepoint of the movie (in-process and on
    workers): resampled onto ``grid``, predicted, read back in µm."""
    probs = predict_tiled(model, grid.to_grid(volume), device=device, amp=True, stop=stop)
    found = detect_nuclei(probs, grid.voxel_size, params, origin_um=grid.origin_um)
    return flatten_ellipsoids(found) if grid.flat else found


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
    setup = detection_setup(ws, source)
    model, _, _ = load_model(ws, device, grid=setup.grid)
    model.eval()
    start = time.perf_counter()
    for i, t in enumerate(tps, start=1):
        if stop is not None and stop.is_set():
            return i - 1
        volume = normalized_timepoint(source, t, model.config.normalization)
        found = predict_volume(model, volume, setup.grid, setup.params, device)
        yield Progress(
            "prediction",
            i,
            len(tps),
            elapsed=time.perf_counter() - start,
            message=f"t={t}: {len(found)} nuclei",
            extra={"t": t, "ellipsoids": tuple(found)},
        )
    return len(tps)
