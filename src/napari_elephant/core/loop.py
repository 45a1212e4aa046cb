"""One pass of the learning loop without a window: train, predict, (train flow,) link.

The docks run these steps one by one in a worker while the user edits; the
headless demo and the simulated-user benchmark chain them here, through the
same engine generators, so that "what the loop does" has one definition.
Each function is a generator of :class:`Progress` records (stoppable
between steps with a :class:`StopFlag`) that returns its outcome; graph
edits land as undoable actions (one per predicted timepoint, one per link
run), exactly as the CLI commands make them.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field

import torch

from napari_elephant.core.detection.engine import (
    Start,
    predict_round,
    prediction_params,
    train_round,
)
from napari_elephant.core.detection.merge import MergeResult, merge_predictions
from napari_elephant.core.flow.engine import flow_estimator, has_flow_model, train_flow_round
from napari_elephant.core.graph import Status, TrackingGraph
from napari_elephant.core.linking import LinkResult, link_round, wants_flow
from napari_elephant.core.params import FlowParams, TrainingParams
from napari_elephant.core.training.progress import Progress, StopFlag
from napari_elephant.core.workspace import Workspace


@dataclass(frozen=True)
class LoopSettings:
    """What one pass does beyond the workspace's parameters.

    ``steps``/``flow_epochs``: training length (None: the workspace's);
    ``flow``: train the flow model on the accepted links (once there are at
    least ``min_flow_links``) and link along it; ``link_method``: nn, flow or
    global (None: the workspace's); ``seed``: seeds both trainings;
    ``start``: what detection training starts from (current, scratch or
    pretrained; see ``detection.engine.load_model``).
    """

    steps: int | None = None
    start: Start = "current"
    seed: int | None = None
    link_method: str | None = None
    flow: bool = False
    flow_epochs: int | None = None
    min_flow_links: int = 10


@dataclass(frozen=True)
class PassOutcome:
    """What a pass did, and how long each stage took (seconds)."""

    trained_steps: int
    predicted: MergeResult
    flow_steps: int
    link: LinkResult | None
    seconds: dict[str, float] = field(default_factory=dict)
    stopped: bool = False


def training_params(ws: Workspace, settings: LoopSettings) -> TrainingParams:
    """The workspace's training parameters with the pass's steps and seed."""
    changes = {
        k: v for k, v in (("steps", settings.steps), ("seed", settings.seed)) if v is not None
    }
    return TrainingParams.model_validate({**ws.params.training.model_dump(), **changes})


def flow_params(ws: Workspace, settings: LoopSettings) -> FlowParams:
    """The workspace's flow parameters with the pass's epochs and seed."""
    changes = {
        k: v
        for k, v in (("epochs", settings.flow_epochs), ("seed", settings.seed))
        if v is not None
    }
    return FlowParams.model_validate({**ws.params.flow.model_dump(), **changes})


def predict_all(
    ws: Workspace,
    device: torch.device,
    timepoints: Sequence[int] | None = None,
    stop: StopFlag | None = None,
) -> Generator[Progress, None, MergeResult]:
    """Predict timepoints (default: all) and merge each into the graph as it arrives."""
    total, d_sup = MergeResult(), prediction_params(ws).d_sup
    for record in predict_round(ws, device, timepoints, stop):
        t, found = record.extra["t"], record.extra["ellipsoids"]
        total = total + merge_predictions(ws.graph, t, found, d_sup)
        yield record
    return total


def consecutive_accepted_links(graph: TrackingGraph) -> int:
    """Accepted links between consecutive timepoints: the flow model's material."""
    count = 0
    for lk in graph.links():
        if lk.status == Status.ACCEPTED:
            count += graph.nucleus(lk.child).t == graph.nucleus(lk.parent).t + 1
    return count


def train_flow_if_ready(
    ws: Workspace, device: torch.device, settings: LoopSettings, stop: StopFlag | None = None
) -> Generator[Progress, None, int]:
    """Train the flow model when asked and there is enough material; steps done."""
    if not settings.flow or consecutive_accepted_links(ws.graph) < settings.min_flow_links:
        return 0
    outcome = yield from train_flow_round(ws, device, flow_params(ws, settings), stop=stop)
    return outcome.steps


def link_method(ws: Workspace, settings: LoopSettings) -> tuple[str, bool]:
    """(method, along the flow model?): flow needs a trained model, else nearest neighbour."""
    method = settings.link_method or ws.params.linking.method
    along_flow = has_flow_model(ws) and (settings.flow or wants_flow(method, ws.params.linking))
    if method == "flow" and not along_flow:
        method = "nn"
    return method, along_flow


def link_all(
    ws: Workspace, device: torch.device, settings: LoopSettings, stop: StopFlag | None = None
) -> Generator[Progress, None, LinkResult]:
    """Link every timepoint (human links kept), along the flow model when there is one."""
    method, along_flow = link_method(ws, settings)
    estimator = flow_estimator(ws, device) if along_flow else None
    return (yield from link_round(ws.graph, ws.params.linking, None, estimator, method, stop))


def run_pass(
    ws: Workspace,
    device: torch.device,
    settings: LoopSettings | None = None,
    stop: StopFlag | None = None,
) -> Generator[Progress, None, PassOutcome]:
    """Train detection on the annotations, predict everything, train flow, link."""
    settings = settings or LoopSettings()
    seconds: dict[str, float] = {}
    training = training_params(ws, settings)
    detect = train_round(ws, device, training, start=settings.start, stop=stop)
    trained = yield from _timed(detect, seconds, "train")
    if _stopped(stop):
        return PassOutcome(trained.steps, MergeResult(), 0, None, seconds, stopped=True)
    predicted = yield from _timed(predict_all(ws, device, stop=stop), seconds, "predict")
    flow = train_flow_if_ready(ws, device, settings, stop)
    flow_steps = yield from _timed(flow, seconds, "flow")
    if _stopped(stop):
        return PassOutcome(trained.steps, predicted, flow_steps, None, seconds, stopped=True)
    linked = yield from _timed(link_all(ws, device, settings, stop), seconds, "link")
    return PassOutcome(trained.steps, predicted, flow_steps, linked, seconds, _stopped(stop))


def _timed(gen: Generator, seconds: dict[str, float], name: str) -> Generator:
    """Run a stage generator, noting its wall time under ``name``."""
    start = time.perf_counter()
    result = yield from gen
    seconds[name] = time.perf_counter() - start
    return result


def _stopped(stop: StopFlag | None) -> bool:
    return stop is not None and stop.is_set()
