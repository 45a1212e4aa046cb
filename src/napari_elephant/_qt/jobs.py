"""The Qt half of the job runner: napari's ``thread_worker`` as launcher, and the job bar.

:func:`qt_launcher` runs a job's generator in a napari ``GeneratorWorker``;
its ``yielded``/``returned``/``finished`` signals reach the runner on the GUI
thread, so only immutable :class:`Progress` records and return values cross
threads.  Cancelling goes through the runner's :class:`StopFlag`, never
``worker.quit()``: ``quit`` would close the generator at its next yield and
skip the checkpoint save the engines do when stopped.

:func:`install_jobs` gives a session its :class:`SessionJobs` (once per
viewer, shared by every dock) with the live-training delay on a Qt timer,
and starts :func:`warm_up` in a background thread (the one-time imports of
a first round, which would otherwise stall the viewer during it), then
:func:`warm_up_units` once the GUI thread is idle (napari's unit registry,
which would otherwise be built inside the first workspace's open).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Generator
from typing import Any

from napari.qt.threading import create_worker
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from napari_elephant._napari.job_specs import SessionJobs, warm_up, warm_up_units
from napari_elephant._napari.jobs import Job, JobRecord, JobRunner, Work, guarded
from napari_elephant._napari.live import LIVE_DELAY_S, LiveTraining
from napari_elephant._napari.session import ElephantSession
from napari_elephant._qt.panel_tools import app_timer, connect_while_alive
from napari_elephant.core.training.progress import Progress


def _drive(work: Work) -> Generator[Progress, None, Any]:
    return (yield from guarded(work))


def qt_launcher(
    work: Work,
    on_yield: Callable[[Progress], None],
    on_return: Callable[[Any], None],
    on_finish: Callable[[], None],
) -> Any:
    """Start ``work`` in a napari thread worker; its signals arrive on the GUI thread."""
    worker = create_worker(_drive, work, _start_thread=False, _ignore_errors=True)
    worker.yielded.connect(on_yield)
    worker.returned.connect(on_return)
    worker.finished.connect(on_finish)
    worker.start()
    return worker


def install_jobs(session: ElephantSession) -> SessionJobs:
    """The session's job runner, created (with a Qt launcher and live timer) on first use."""
    if session.jobs is not None:
        return session.jobs
    jobs = SessionJobs(session, JobRunner(qt_launcher))
    _give_live_a_timer(jobs.live)
    ref = weakref.ref(session)

    def show_status(record: JobRecord) -> None:
        s = ref()
        try:
            if s is not None:
                s.viewer.status = record.line()
        except RuntimeError:  # the viewer was closed meanwhile
            pass

    jobs.runner.events.finished.connect(show_status)
    jobs.warm_thread = threading.Thread(target=warm_up, name="elephant-warm-up", daemon=True)
    jobs.warm_thread.start()
    QTimer.singleShot(0, warm_up_units)
    session.jobs = jobs
    return jobs


def _give_live_a_timer(live: LiveTraining) -> None:
    """A single-shot delay owned by the application (it outlives any dock)."""
    if live.timer is not None:
        return
    live.use_timer(app_timer(LIVE_DELAY_S, live.fire))


class JobBar(QWidget):
    """The running job: a progress bar, its latest figures, and Cancel."""

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.label = QLabel("idle")
        self.label.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running job after its current step (Ctrl+C)")
        self.cancel_button.clicked.connect(runner.cancel)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.label)
        ev = runner.events
        pairs = [(ev.started, self._started), (ev.progress, self._progress)]
        connect_while_alive(self, [*pairs, (ev.finished, self._done)])
        self._idle()
        if runner.current is not None:
            self._started(runner.current)

    def _idle(self) -> None:
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.cancel_button.setEnabled(False)

    def _started(self, job: Job) -> None:
        self.bar.setRange(0, 0)  # busy until the first record says how far
        self.cancel_button.setEnabled(True)
        self.label.setText(f"{job.name}: starting…")

    def _progress(self, job: Job, record: Progress) -> None:
        if record.total:
            self.bar.setRange(0, int(record.total))
            self.bar.setValue(int(record.step))
        self.label.setText(f"{job.name}: {record.summary()}")

    def _done(self, record: JobRecord) -> None:
        self._idle()
        self.label.setText(record.line())
