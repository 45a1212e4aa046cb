"""Live training (ELEPHANT's live mode): every annotation change retrains and re-predicts.

While on, a change to an accepted or rejected nucleus (added, edited,
status set, deleted) starts a restartable delay; when the user pauses, one
short interactive training round runs, then the current timepoint is
predicted again (the round its owner passes in, :meth:`SessionJobs.live_round`).
Changes made while a round runs queue one more round, never several.
Predictions themselves do not trigger rounds: a merge only adds and removes
*predicted* nuclei.

The delay is a single-shot timer the Qt side provides (``use_timer``), as
for the autosave; without one a change starts the round at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from napari_elephant._napari.jobs import JobRunner
from napari_elephant.core.graph import Nucleus, Status, TrackingGraph

LIVE_DELAY_S = 1.0
LIVE_KEY = "live"  # the runner's key of a live round: at most one waits


class LiveTraining:
    """Schedules live rounds for one session while ``enabled``.

    It needs the session (its workspace and their events), the runner (to drop a
    waiting round) and how to start a round; nothing else of the jobs.
    """

    def __init__(self, session: Any, runner: JobRunner, start_round: Callable[[], Any]) -> None:
        self.session = session
        self.runner = runner
        self.start_round = start_round
        self.enabled = False
        self.rounds_scheduled = 0
        self._graph: TrackingGraph | None = None
        self.timer: Any = None  # single-shot; its start() (re)starts it (kept alive here)
        session.events.workspace_changed.connect(self._follow)
        self._follow(session.workspace)

    def use_timer(self, timer: Any) -> None:
        """Wait on ``timer`` (``timer.start()`` restarts it; it calls :meth:`fire`)."""
        self.timer = timer

    def set_enabled(self, on: bool) -> None:
        """Switch live mode; switching it off also drops a round still waiting."""
        self.enabled = bool(on)
        if not self.enabled:
            queue = self.runner.queue
            for job in [j for j in queue if j.key == LIVE_KEY]:
                queue.remove(job)

    def _follow(self, ws: Any) -> None:
        """Listen to the open workspace's graph (and to that one only)."""
        if self._graph is not None:
            ev = self._graph.events
            ev.nuclei_added.disconnect(self._on_nuclei)
            ev.nuclei_updated.disconnect(self._on_nuclei)
            ev.nuclei_removed.disconnect(self._on_removed)
        self._graph = ws.graph if ws is not None else None
        if self._graph is not None:
            ev = self._graph.events
            ev.nuclei_added.connect(self._on_nuclei)
            ev.nuclei_updated.connect(self._on_nuclei)
            ev.nuclei_removed.connect(self._on_removed)

    def _on_nuclei(self, ids: tuple[int, ...]) -> None:
        graph = self._graph
        if self.enabled and graph is not None:
            present = (graph.nucleus(i) for i in ids if i in graph)
            if any(n.status != Status.PREDICTED for n in present):
                self._schedule()

    def _on_removed(self, records: tuple[Nucleus, ...]) -> None:
        if self.enabled and any(n.status != Status.PREDICTED for n in records):
            self._schedule()

    def _schedule(self) -> None:
        if self.timer is None:
            self.fire()
        else:
            self.timer.start()

    def fire(self) -> None:
        """Start (or queue) one live round, if still on."""
        if self.enabled and self.session.workspace is not None:
            self.rounds_scheduled += 1
            self.start_round()
