"""The jobs of the learning loop, built for one session, and the object the keys call.

Each builder runs on the GUI thread: it snapshots what the engine will read
(:mod:`.edit_watch`), and returns a :class:`Job` whose worker part calls the
core generator on the snapshot and whose GUI part writes into the live graph:

- train detection / train flow: nothing to write; the engines save the
  checkpoint at the end (also when stopped), which the next prediction loads.
- predict: each timepoint is merged as it arrives, one undo step each,
  unless a user edit made during the job forbids it (see :mod:`.edit_watch`).
- link: the plan is made on a copy, then filtered and applied as one undo step.

:class:`SessionJobs` is ``session.jobs``: ``predict()`` (the current
timepoint, Alt+N), ``link()`` (everything, Alt+K), ``abort()`` (Ctrl+C), and
the richer calls the docks make.  A job started for one workspace writes
nothing into another: switching workspaces cancels it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Sequence
from typing import Any

import torch

from napari_elephant._napari.edit_watch import (
    EditWatch,
    accepted_links_graph,
    annotated_graph,
    filter_plan,
    full_copy,
    snapshot,
)
from napari_elephant._napari.jobs import Job, JobRunner
from napari_elephant._napari.live import LIVE_KEY, LiveTraining
from napari_elephant._napari.viewer_dims import current_t
from napari_elephant.core.detection.engine import (
    Start,
    parse_timepoints,
    predict_round,
    prediction_params,
    train_round,
)
from napari_elephant.core.detection.merge import MergeResult, merge_predictions
from napari_elephant.core.detection.train import TrainOutcome
from napari_elephant.core.errors import ElephantError
from napari_elephant.core.flow.engine import flow_estimator, train_flow_round
from napari_elephant.core.linking.apply import LinkPlan, apply_plan, plan_links, wants_flow
from napari_elephant.core.params import TrainingParams
from napari_elephant.core.training.device import (
    configure_cpu_threads,
    configure_precision,
    select_device,
)
from napari_elephant.core.training.progress import Progress, StopFlag
from napari_elephant.core.workspace import Workspace

Engine = Callable[[torch.device, StopFlag], Generator[Progress, None, Any]]
# A live round continues from the current model after each annotation, so half
# an interactive round's steps keep it short: 50 steps on one thread (the other
# core is the viewer's) train in ~18 s of the 30 s a live round may take (measured).
LIVE_MIN_STEPS = 10


def on_device(ws: Workspace, engine: Engine) -> Callable[[StopFlag], Generator]:
    """The worker part: pick the device and CPU threads in the worker thread, then run."""

    def work(stop: StopFlag) -> Generator[Progress, None, Any]:
        prefs = ws.params.device
        device = select_device(prefs.device)
        configure_precision(prefs.precision)
        if device.type == "cpu":
            configure_cpu_threads(prefs.cpu_threads)
        return (yield from engine(device, stop))

    return work


def training_summary(outcome: TrainOutcome) -> str:
    loss = "–" if outcome.last_loss is None else f"{outcome.last_loss:.4g}"
    text = f"{outcome.steps} steps in {outcome.elapsed:.1f} s, last loss {loss}"
    return text + (" (stopped; model saved)" if outcome.stopped and outcome.steps else "")


def spec_text(timepoints: Sequence[int] | None) -> str:
    if timepoints is None:
        return "all"
    ts = list(timepoints)
    return f"{ts[0]}:{ts[-1] + 1}" if ts else "none"


def warm_up() -> None:
    """Import ahead what a first training round, or a first look at a movie, would
    import lazily.

    The first ``torch.optim.Adam`` imports ``torch._dynamo``: ~1 s of module
    code that holds the GIL in chunks of up to ~250 ms, which inside a round
    stalls the viewer.  The first read of a dask array looks for a
    ``distributed`` client, importing that package: 1.2 s of opening a
    workspace (benchmarks/viewer_speed.py).  The Qt side runs this in a
    background thread when the dock opens (benchmarks/responsiveness.py
    measures both phases).
    """
    import torch._dynamo  # noqa: F401

    with contextlib.suppress(ImportError):
        import distributed  # noqa: F401
    with contextlib.suppress(ImportError):  # napari's first layer with features: 0.2 s
        import pandas  # noqa: F401


def warm_up_units() -> None:
    """Build pint's unit registry, which napari's first layer otherwise builds
    (0.37 s of opening a workspace into an empty viewer).  On the GUI thread, when
    it is idle: the registry's lazy build is not safe against a second thread."""
    import pint

    _ = pint.get_application_registry().pixel


# -------------------------------------------------------------- builders
def train_detection_job(
    ws: Workspace,
    training: TrainingParams | None = None,
    timepoints: Sequence[int] | None = None,
    start: Start = "current",
) -> Job:
    """A detection training round on the accepted/rejected nuclei of now, starting from
    the current model, a new network or the pretrained one (``start``)."""
    snap = snapshot(ws, annotated_graph(ws.graph))
    params = training or snap.params.training
    length = {"steps": params.steps} if params.mode == "interactive" else {"epochs": params.epochs}
    return Job(
        "train detection",
        on_device(snap, lambda d, s: train_round(snap, d, params, timepoints, start, s)),
        params={"mode": params.mode, **length, "timepoints": spec_text(timepoints),
                "start": start, "device": snap.params.device.device},
        model="detection",
        on_result=training_summary,
    )  # fmt: skip


def train_flow_job(
    ws: Workspace, timepoints: Sequence[int] | None = None, from_scratch: bool = False
) -> Job:
    """A flow training round on the accepted links of now."""
    snap = snapshot(ws, accepted_links_graph(ws.graph))
    params = snap.params.flow

    def engine(device: torch.device, stop: StopFlag) -> Generator[Progress, None, TrainOutcome]:
        return (yield from train_flow_round(snap, device, params, timepoints, from_scratch, stop))

    return Job(
        "train flow",
        on_device(snap, engine),
        params={"epochs": params.epochs, "timepoints": spec_text(timepoints),
                "from_scratch": from_scratch, "device": snap.params.device.device},
        model="flow",
        on_result=training_summary,
    )  # fmt: skip


class _Merger:
    """GUI side of a prediction: merge each timepoint unless an edit forbids it."""

    def __init__(self, live: Callable[[], Workspace | None], ws: Workspace, d_sup: float) -> None:
        self.live, self.ws, self.d_sup = live, ws, d_sup
        self.watch = EditWatch(ws.graph)
        self.total = MergeResult()
        self.skipped: list[int] = []

    def record(self, record: Progress) -> str | None:
        t = int(record.extra["t"])
        if self.live() is not self.ws:
            return f"t={t} dropped: the workspace was closed"
        if t in self.watch.conflicts:
            self.skipped.append(t)
            return None
        with self.watch.ours():
            self.total = self.total + merge_predictions(
                self.ws.graph, t, record.extra["ellipsoids"], self.d_sup
            )
        return None

    def result(self, n_done: int) -> str:
        text = f"{n_done} timepoints: {self.total}"
        if self.skipped:
            ts = ", ".join(str(t) for t in self.skipped)
            text += f"; not merged (edited meanwhile, predict again): t = {ts}"
        return text


def predict_job(
    ws: Workspace, timepoints: Sequence[int] | None, live: Callable[[], Workspace | None]
) -> Job:
    """Predict timepoints (None: all), merging each into the graph as it arrives."""
    det = prediction_params(ws)  # an auto radius resolved from the live graph, here
    snap = snapshot(ws)
    snap.params.detection = det.model_copy()
    merger = _Merger(live, ws, det.d_sup)
    return Job(
        "predict",
        on_device(snap, lambda d, s: predict_round(snap, d, timepoints, s)),
        params={"timepoints": spec_text(timepoints), "device": snap.params.device.device},
        on_record=merger.record,
        on_result=merger.result,
        on_close=merger.watch.close,
    )


def link_job(
    ws: Workspace,
    timepoints: Sequence[int] | None,
    method: str | None,
    live: Callable[[], Workspace | None],
) -> Job:
    """Plan the links on a copy of the graph, apply what the user's edits allow."""
    snap = snapshot(ws, full_copy(ws.graph))
    params = snap.params.linking
    method = method or params.method
    watch = EditWatch(ws.graph)

    def engine(device: torch.device, stop: StopFlag) -> Generator[Progress, None, LinkPlan]:
        estimator = flow_estimator(snap, device) if wants_flow(method, params) else None
        return (yield from plan_links(snap.graph, params, timepoints, estimator, method, stop))

    def work(stop: StopFlag) -> Generator[Progress, None, LinkPlan]:
        if wants_flow(method, params):
            return (yield from on_device(snap, engine)(stop))
        return (yield from engine(torch.device("cpu"), stop))

    def result(plan: LinkPlan) -> str:
        if live() is not ws:
            return "workspace closed: links dropped"
        kept, dropped = filter_plan(ws.graph, plan, watch.ids)
        with watch.ours():
            text = str(apply_plan(ws.graph, kept))
        return text + (f"; {dropped} left out (edited meanwhile)" if dropped else "")

    return Job(
        "link",
        work,
        params={"method": method, "timepoints": spec_text(timepoints)},
        on_result=result,
        on_close=watch.close,
    )


# ----------------------------------------------------------- the facade
class SessionJobs:
    """``session.jobs``: the runner plus the loop's jobs for the open workspace."""

    def __init__(self, session: Any, runner: JobRunner | None = None) -> None:
        self.session = session
        self.runner = runner or JobRunner()
        self._n_timepoints: tuple[Workspace, int] | None = None
        session.events.workspace_changed.connect(self._on_workspace)
        self.live = LiveTraining(session, self.runner, self.live_round)
        self.warm_thread: Any = None  # the Qt side's warm-up thread, if any

    def _on_workspace(self, _ws: Any = None) -> None:
        self.runner.cancel()
        self._n_timepoints = None

    def _live_ws(self) -> Workspace | None:
        return self.session.workspace

    def timepoints(self, spec: str | None) -> list[int] | None:
        """``"A:B"`` / ``"A"`` → timepoints; empty or None → None (all)."""
        if spec is None or not spec.strip():
            return None
        ws = self.session.require_workspace()
        if self._n_timepoints is None or self._n_timepoints[0] is not ws:
            self._n_timepoints = (ws, ws.open_image().n_timepoints)
        return parse_timepoints(spec, self._n_timepoints[1])

    def _submit(self, build: Callable[[], Job], queue: bool = False) -> bool:
        try:
            job = build()
        except ElephantError as error:
            self.runner.notify(str(error))
            return False
        return self.runner.submit(job, queue=queue)

    # ------------------------------------------------------------- jobs
    def train(
        self,
        timepoints: Sequence[int] | None = None,
        start: Start = "current",
        training: TrainingParams | None = None,
    ) -> bool:
        return self._submit(
            lambda: train_detection_job(
                self.session.require_workspace(), training, timepoints, start
            )
        )

    def predict(self, timepoints: Sequence[int] | str | None = "current") -> bool:
        """Predict the current timepoint (default), the given ones, or all (None)."""

        def build() -> Job:
            ts = [current_t(self.session.viewer)] if timepoints == "current" else timepoints
            return predict_job(self.session.require_workspace(), ts, self._live_ws)  # type: ignore[arg-type]

        return self._submit(build)

    def link(self, timepoints: Sequence[int] | None = None, method: str | None = None) -> bool:
        return self._submit(
            lambda: link_job(self.session.require_workspace(), timepoints, method, self._live_ws)
        )

    def train_flow(self, timepoints: Sequence[int] | None = None, from_scratch=False) -> bool:
        return self._submit(
            lambda: train_flow_job(self.session.require_workspace(), timepoints, from_scratch)
        )

    def live_round(self) -> bool:
        """A short interactive round, then a re-prediction of the then-current timepoint;
        queued behind a running job, at most one waiting."""

        def build() -> Job:
            ws = self.session.require_workspace()
            base = ws.params.training
            steps = max(LIVE_MIN_STEPS, base.steps // 2)  # it continues from the model
            training = base.model_copy(update={"mode": "interactive", "steps": steps})
            job = train_detection_job(ws, training)
            return Job(
                "live round", job.work, {**job.params}, job.model, LIVE_KEY,
                on_result=job.on_result, then=self._live_prediction(ws),
            )  # fmt: skip

        return self._submit(build, queue=True)

    def _live_prediction(self, ws: Workspace) -> Callable[[], Job | None]:
        def then() -> Job | None:
            if self.session.workspace is not ws:
                return None
            return predict_job(ws, [current_t(self.session.viewer)], self._live_ws)

        return then

    def abort(self) -> None:
        self.runner.cancel()
