"""Flow rounds on a workspace: the functions the CLI, the docks and the linker call.

Glue between a :class:`Workspace` (graph, image, ``params.flow``,
``models/flow/``) and the array-level pieces: gather the accepted links,
build or restore the network, run the training generator, save the
checkpoint; predict a frame pair's flow; and hand the linker a position
estimator (the ``PositionEstimator`` protocol of ``core/linking``).

A model's output scale is part of its checkpoint: a resumed model keeps
the scale it was trained with, and ``params.flow.scale`` only applies when
a flow model is created (first round or ``from_scratch``).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.flow.labels import link_pairs
from napari_elephant.core.flow.model import KIND, FlowConfig, FlowUNet, preset_flow_config
from napari_elephant.core.flow.predict import flow_to_um, predict_normalised, previous_positions
from napari_elephant.core.flow.train import FlowSample, TrainOutcome, make_flow_sample, train_flow
from napari_elephant.core.io.image import ImageSource
from napari_elephant.core.params import FlowParams
from napari_elephant.core.training.checkpoint import (
    build_checked,
    has_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from napari_elephant.core.training.progress import Progress, StopFlag
from napari_elephant.core.workspace import Workspace

# flow fields an estimator keeps: linking walks t = 1, 2, ... and gap interpolation looks
# back up to T_max (≤ 5 in the paper) timepoints.  Kept as float16 µm (6 bytes a voxel;
# ~0.03 µm steps at 40 µm), ~460 MB for six 35×512×708 fields.
CACHED_FLOWS = 6


def flow_dir(ws: Workspace) -> Path:
    """Where the workspace keeps its flow model."""
    return ws.models_dir / KIND


def has_flow_model(ws: Workspace) -> bool:
    """True once a flow model has been trained and saved."""
    return has_checkpoint(flow_dir(ws))


def load_flow_model(
    ws: Workspace, device: torch.device, params: FlowParams | None = None, from_scratch=False
) -> tuple[FlowUNet, dict | None, bool]:
    """The workspace's flow network (or a fresh one): (model, optimizer state, fresh?)."""
    params = params or ws.params.flow
    folder = flow_dir(ws)
    if from_scratch or not has_checkpoint(folder):
        config = preset_flow_config(params.network, ws.voxel_size, params.scale)
        return FlowUNet(config).to(device), None, True
    loaded = load_checkpoint(folder, device, expected_kind=KIND)
    try:
        config = FlowConfig.from_dict(loaded.config)
    except InvalidInputError as error:
        raise InvalidInputError(f"flow checkpoint {folder}: {error}") from None
    model = build_checked(lambda: FlowUNet(config), loaded.model_state, folder)
    return model.to(device), loaded.optimizer_state, False


def _volumes(source: ImageSource) -> Callable[[int], np.ndarray]:
    """Normalised timepoints, each read once (frame t is t+1's previous frame)."""
    cache: dict[int, np.ndarray] = {}

    def get(t: int) -> np.ndarray:
        if t not in cache:
            cache[t] = source.timepoint(t, normalized=True).astype(np.float32, copy=False)
        return cache[t]

    return get


def collect_flow_samples(
    ws: Workspace, source: ImageSource, timepoints: Sequence[int], scale: Sequence[float]
) -> list[FlowSample]:
    """One sample per timepoint t (1 ≤ t < T) with accepted links from t-1."""
    volume = _volumes(source)
    samples = []
    for t in sorted(set(timepoints)):
        if not 1 <= t < source.n_timepoints:
            continue
        pairs = link_pairs(ws.graph, t)
        if pairs:
            samples.append(
                make_flow_sample(t, volume(t - 1), volume(t), pairs, ws.voxel_size, scale)
            )
    if not samples:
        raise InvalidInputError(
            "no accepted links to train the flow model on: accept some links between "
            "consecutive timepoints first"
        )
    return samples


def _check_weights(params: FlowParams) -> None:
    if sum(params.dim_weights) <= 0:
        raise InvalidInputError("flow axis weights (z, y, x) must not all be 0")
    if params.alpha + params.beta + params.gamma <= 0:
        raise InvalidInputError("flow loss weights α, β, γ must not all be 0")


def train_flow_round(
    ws: Workspace,
    device: torch.device,
    params: FlowParams | None = None,
    timepoints: Sequence[int] | None = None,
    from_scratch: bool = False,
    stop: StopFlag | None = None,
) -> Generator[Progress, None, TrainOutcome]:
    """Train the flow model on the accepted links; the checkpoint is saved at the
    end, also when stopped (after at least one step)."""
    params = params or ws.params.flow
    _check_weights(params)
    source = ws.open_image()
    if timepoints is None:
        timepoints = ws.graph.timepoints()
    if params.seed is not None:  # a seeded round is repeatable: weights and crops
        torch.manual_seed(params.seed)
    model, optimizer_state, _ = load_flow_model(ws, device, params, from_scratch)
    samples = collect_flow_samples(ws, source, timepoints, model.config.scale)
    optimizer = torch.optim.Adam(model.parameters(), lr=params.learning_rate)
    if optimizer_state is not None:
        optimizer.load_state_dict(optimizer_state)
    outcome = yield from train_flow(model, optimizer, samples, ws.voxel_size, params, device, stop)
    if outcome.steps > 0:
        extra = {
            "steps": outcome.steps,
            "last_loss": outcome.last_loss,
            "timepoints": [s.t for s in samples],
            "links": sum(len(s.pairs) for s in samples),
            "clipped_links": sum(s.n_clipped for s in samples),
        }
        save_checkpoint(flow_dir(ws), model, model.config, optimizer, extra=extra)
    return outcome


def _require_model(ws: Workspace) -> None:
    if not has_flow_model(ws):
        raise InvalidInputError("no trained flow model yet: run train-flow first")


def _check_t(t: int, n_timepoints: int) -> None:
    if not 1 <= t < n_timepoints:
        raise InvalidInputError(
            f"flow needs timepoints t-1 and t: t={t} is outside 1..{n_timepoints - 1}"
        )


def _predict_with(
    model: FlowUNet, ws: Workspace, source: ImageSource, t: int, device
) -> np.ndarray:
    _check_t(t, source.n_timepoints)
    prev = source.timepoint(t - 1, normalized=True)
    curr = source.timepoint(t, normalized=True)
    normalised = predict_normalised(model, prev, curr, device)
    return flow_to_um(normalised, model.config.scale, ws.voxel_size)


def predict_flow(ws: Workspace, device: torch.device, t: int) -> np.ndarray:
    """Backward flow (3, Z, Y, X) float32 in µm at timepoint t: at each voxel of t,
    the (z, y, x) offset to where its content was at t-1."""
    _require_model(ws)
    model, _, _ = load_flow_model(ws, device)
    return _predict_with(model, ws, ws.open_image(), t, device)


def flow_estimator(
    ws: Workspace, device: torch.device
) -> Callable[[int, Sequence[Any]], np.ndarray]:
    """Estimated centres (n, 3) µm at t-1 of nuclei of timepoint t: centre + mean flow
    inside each ellipsoid.  The model is loaded once; the last few flow fields are
    cached, so asking for t again (or for interpolated nuclei) costs no prediction."""
    _require_model(ws)
    model, _, _ = load_flow_model(ws, device)
    model.eval()
    source = ws.open_image()
    flows: OrderedDict[int, np.ndarray] = OrderedDict()

    def estimate(t: int, nuclei: Sequence[Any]) -> np.ndarray:
        if not len(nuclei):
            return np.empty((0, 3), dtype=np.float64)
        if t not in flows:
            flows[t] = _predict_with(model, ws, source, t, device).astype(np.float16)
            while len(flows) > CACHED_FLOWS:
                flows.popitem(last=False)
        flows.move_to_end(t)
        return previous_positions(flows[t], ws.voxel_size, nuclei)

    return estimate
