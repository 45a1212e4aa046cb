"""Stand-ins for the job tests: a launcher the test drives step by step, a bare session."""

from __future__ import annotations

from collections.abc import Callable, Generator
from types import SimpleNamespace
from typing import Any

import numpy as np

from napari_elephant._napari.jobs import Work, guarded
from napari_elephant._napari.viewer_workspace import SessionEvents
from napari_elephant.core.detection.postprocess import Ellipsoid
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import TrackingGraph
from napari_elephant.core.params import TrainingParams
from napari_elephant.core.training.progress import Progress
from napari_elephant.core.workspace import Workspace
from tests._napari.helpers import tiny_movie


class ManualLauncher:
    """Holds the job; the test runs the worker's steps (``step``/``finish``) or feeds
    records itself (``deliver``), as a worker thread would, between its own edits."""

    def __init__(self) -> None:
        self.generator: Generator[Progress, None, Any] | None = None
        self.on_yield: Callable[[Progress], None] | None = None
        self.on_return: Callable[[Any], None] | None = None
        self.on_finish: Callable[[], None] | None = None
        self.launched = 0

    def __call__(self, work: Work, on_yield, on_return, on_finish) -> str:
        self.generator = guarded(work)
        self.on_yield, self.on_return, self.on_finish = on_yield, on_return, on_finish
        self.launched += 1
        return "handle"

    def step(self) -> Progress | None:
        """One worker step; None once the generator has returned (and was reported)."""
        assert self.generator is not None
        try:
            record = next(self.generator)
        except StopIteration as done:
            self.generator = None
            self.on_return(done.value)
            self.on_finish()
            return None
        self.on_yield(record)
        return record

    def finish(self) -> None:
        """Run the current job to its end (a job it starts next is left waiting)."""
        current = self.generator
        while current is not None and self.generator is current:
            self.step()

    def deliver(self, records: list[Progress], value: Any) -> None:
        """Play the GUI side of a job without running its worker part."""
        self.generator = None
        for record in records:
            self.on_yield(record)
        self.on_return(value)
        self.on_finish()


class BareSession:
    """What the job specs use of a session: the workspace, its events, a viewer
    without a time axis (the current timepoint is 0)."""

    def __init__(self, ws: Workspace | None) -> None:
        self.workspace = ws
        self.events = SessionEvents()
        self.viewer = SimpleNamespace(dims=SimpleNamespace(ndim=3))
        self.sync = None
        self.jobs = None

    def require_workspace(self) -> Workspace:
        if self.workspace is None:
            raise InvalidInputError("no workspace is open; open or create one first")
        return self.workspace

    def switch(self, ws: Workspace | None) -> None:
        self.workspace = ws
        self.events.workspace_changed.emit(ws)


def ellipsoid(center: tuple[float, float, float], radius: float = 2.5) -> Ellipsoid:
    volume = 4 / 3 * np.pi * radius**3
    return Ellipsoid(np.asarray(center, float), np.eye(3) * radius**2, 1.0, volume)


def prediction(t: int, step: int, total: int, centers: list[tuple[float, float, float]]):
    return Progress(
        "prediction", step, total, extra={"t": t, "ellipsoids": tuple(map(ellipsoid, centers))}
    )


SMALL = TrainingParams(steps=3, crop_size=(8, 32, 32), seed=0)


def first_timepoint_graph() -> TrackingGraph:
    """The tiny movie's four nuclei of t=0, accepted; nothing else."""
    return TrackingGraph.from_records(tiny_movie().graph.nuclei_at(0))
