"""One long job at a time: a core generator in a worker, its results on the GUI thread.

A :class:`Job` pairs a generator factory (``work(stop)``, run in the worker:
it may read only what was handed to it, never the live graph) with callbacks
that run on the GUI thread: ``on_record`` for each :class:`Progress` (e.g.
merge a predicted timepoint), ``on_result`` for the return value (e.g. apply
a link plan).  The :class:`JobRunner` runs one job, queues at most one of
each ``key`` behind it, stops the running one through its :class:`StopFlag`
(the engines check it between steps and save what they trained), and
turns every failure into a one-line notification plus a log entry.

How the generator reaches another thread is a *launcher*: the Qt side
passes one built on napari's ``thread_worker`` (``_qt/jobs.py``); without
it, :func:`run_inline` runs the job in the caller's thread (scripts, tests).
A launcher must deliver ``on_yield``/``on_return``/``on_finish`` on the GUI
thread; ``work`` never raises through it (failures come back as :class:`Failure`).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections import deque
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from psygnal import Signal

from napari_elephant.core.errors import ElephantError
from napari_elephant.core.training.progress import Progress, StopFlag

LOG = logging.getLogger("napari_elephant.jobs")
Work = Callable[[], Generator[Progress, None, Any]]


@dataclass(frozen=True)
class Job:
    """A generator for the worker and what to do with its output on the GUI thread.

    ``model`` names the network whose losses the job reports ("detection",
    "flow", or "" for none); ``key`` coalesces queued jobs (two queued live
    rounds are one); ``then`` builds the job to run next when this one ends
    normally (built then, so it sees the graph as it is by that time).
    """

    name: str
    work: Callable[[StopFlag], Generator[Progress, None, Any]]
    params: Mapping[str, Any] = field(default_factory=dict)
    model: str = ""
    key: str = ""
    on_record: Callable[[Progress], str | None] | None = None
    on_result: Callable[[Any], str] | None = None
    on_close: Callable[[], None] | None = None
    then: Callable[[], Job | None] | None = None


@dataclass(frozen=True)
class Failure:
    """What ``work`` raised, carried back to the GUI thread as a return value."""

    error: BaseException
    trace: str


@dataclass(frozen=True)
class JobRecord:
    """One finished run for the log: status is done, stopped or failed."""

    name: str
    params: Mapping[str, Any]
    started: float  # time.time()
    elapsed: float  # s, from start to the GUI thread's last callback
    status: str
    summary: str

    def line(self) -> str:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.started))
        return f"{stamp} {self.name}: {self.status} in {self.elapsed:.1f} s — {self.summary}"


class Launcher(Protocol):
    def __call__(
        self,
        work: Work,
        on_yield: Callable[[Progress], None],
        on_return: Callable[[Any], None],
        on_finish: Callable[[], None],
    ) -> Any: ...


def guarded(work: Work) -> Generator[Progress, None, Any]:
    """Run ``work()``; an exception becomes a :class:`Failure` return value, so a
    worker never raises into the event loop (the runner reports it once)."""
    try:
        return (yield from work())
    except Exception as error:  # reported on the GUI thread
        return Failure(error, traceback.format_exc())


def run_inline(
    work: Work,
    on_yield: Callable[[Progress], None],
    on_return: Callable[[Any], None],
    on_finish: Callable[[], None],
) -> None:
    """The launcher without threads: runs the job to its end before returning."""
    generator = guarded(work)
    while True:
        try:
            record = next(generator)
        except StopIteration as done:
            on_return(done.value)
            break
        on_yield(record)
    on_finish()


class JobEvents:
    """``started(job)``, ``progress(job, record)``, ``finished(record: JobRecord)``."""

    started = Signal(object)
    progress = Signal(object, object)
    finished = Signal(object)


def _notify_error(message: str) -> None:
    from napari.utils.notifications import show_error

    show_error(message)


@dataclass
class _Run:
    """The state of the running job."""

    job: Job
    started: float
    clock: float
    messages: list[str] = field(default_factory=list)
    result: Any = None
    failed: str = ""


class JobRunner:
    """Runs jobs one at a time through a launcher; see the module docstring."""

    def __init__(
        self, launcher: Launcher = run_inline, notify: Callable[[str], Any] = _notify_error
    ) -> None:
        self.launcher = launcher
        self.notify = notify
        self.events = JobEvents()
        self.records: list[JobRecord] = []
        self.queue: deque[Job] = deque()
        self.stop = StopFlag()
        self.handle: Any = None  # what the launcher returned (keeps a worker alive)
        self._run: _Run | None = None

    @property
    def busy(self) -> bool:
        return self._run is not None

    @property
    def current(self) -> Job | None:
        return self._run.job if self._run is not None else None

    def submit(self, job: Job, queue: bool = False) -> bool:
        """Start ``job``; when busy, queue it (if ``queue``; a job waiting with the same key
        is replaced) or refuse."""
        if self._run is None:
            self._start(job)
            return True
        if not queue:
            self.notify(f"{self._run.job.name} is running: wait for it or cancel it first")
            return False
        same = [i for i, q in enumerate(self.queue) if job.key and q.key == job.key]
        if same:  # the newer request replaces the waiting one (it saw a newer state)
            self.queue[same[0]] = job
        else:
            self.queue.append(job)
        return True

    def cancel(self) -> None:
        """Stop the running job at its next step and drop the queued ones."""
        self.queue.clear()
        if self._run is not None:
            self.stop.set()

    # ------------------------------------------------------------ driving
    def _start(self, job: Job) -> None:
        self.stop.clear()
        self._run = _Run(job, time.time(), time.perf_counter())
        LOG.info("%s started %s", job.name, dict(job.params))
        self.events.started.emit(job)
        stop = self.stop
        self.handle = self.launcher(
            lambda: job.work(stop), self._on_yield, self._on_return, self._on_finish
        )

    def _on_yield(self, record: Progress) -> None:
        run = self._run
        if run is None:
            return
        if run.job.on_record is not None and not run.failed:
            message = self._call(run, run.job.on_record, record)
            if message:
                run.messages.append(message)
        self.events.progress.emit(run.job, record)

    def _on_return(self, value: Any) -> None:
        run = self._run
        if run is None:
            return
        if isinstance(value, Failure):
            self._fail(run, value.error, value.trace)
            return
        run.result = value
        if run.job.on_result is not None and not run.failed:
            message = self._call(run, run.job.on_result, value)
            if message:
                run.messages.append(message)

    def _call(self, run: _Run, fn: Callable[[Any], str | None], arg: Any) -> str | None:
        try:
            return fn(arg)
        except Exception as error:
            self._fail(run, error, traceback.format_exc())
            return None

    def _fail(self, run: _Run, error: BaseException, trace: str) -> None:
        """A user error is one line; anything else is a bug: logged with its traceback."""
        user = isinstance(error, ElephantError)
        text = str(error) if user else f"{type(error).__name__}: {error}"
        run.failed = text
        self.stop.set()  # a result the GUI cannot take: no point in computing more
        if not user:
            LOG.error("%s failed:\n%s", run.job.name, trace)
        self.notify(f"{run.job.name} failed: {text}")

    def _on_finish(self) -> None:
        run, self._run, self.handle = self._run, None, None
        if run is None:
            return
        if run.job.on_close is not None:
            run.job.on_close()
        status = "failed" if run.failed else "stopped" if self.stop.is_set() else "done"
        summary = run.failed or "; ".join(m for m in run.messages if m) or "nothing to report"
        record = JobRecord(
            run.job.name, dict(run.job.params), run.started,
            time.perf_counter() - run.clock, status, summary,
        )  # fmt: skip
        self.records.append(record)
        LOG.info(record.line())
        self.events.finished.emit(record)
        follow = run.job.then if status == "done" and run.job.then is not None else None
        self._next(follow)

    def _next(self, follow: Callable[[], Job | None] | None) -> None:
        """The follow-up job first, then the queue."""
        job = None
        if follow is not None:
            try:
                job = follow()
            except ElephantError as error:
                self.notify(str(error))
        if job is None and self.queue:
            job = self.queue.popleft()
        if job is not None:
            self._start(job)
