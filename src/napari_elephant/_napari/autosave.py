"""Autosave: the graph is written to the workspace a moment after each edit batch.

Each applied, undone or redone action marks the workspace dirty; the save
waits for a quiet moment (the Qt side gives it a single-shot QTimer, whose
``start()`` restarts it) so a burst of keys costs one write.  Without a
timer the save is immediate.  ``Workspace.save_graph`` is atomic (write
aside, then rename), so a crash mid-save keeps the previous graph.  Switching workspaces, closing
the window and quitting flush a pending save.

Without the dock (a workspace dropped on napari) a :class:`ThreadTimer` waits
instead, and saves in its own thread (:meth:`Autosaver.flush_here`).

The timer's save runs in a thread (:meth:`Autosaver.flush_in_background`):
writing even a small graph took 60–385 ms of the GUI thread (measured while
training), and ~1.3 s at 300k nuclei.  The thread compares the graph's
``revision`` before and after: a copy read while the user kept editing is
dropped, and the edit that changed it has already scheduled the next save.
A lock keeps one writer at a time (a flush on closing waits for it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from napari_elephant.core.errors import ElephantError

if TYPE_CHECKING:
    from napari_elephant._napari.viewer_workspace import ViewerWorkspace
    from napari_elephant.core.workspace import Workspace

AUTOSAVE_DELAY_S = 2.0


class Autosaver:
    """Saves a session's graph after edits; ``flush()`` saves now if anything is pending."""

    def __init__(self, session: ViewerWorkspace, tell: Callable[[str], Any] = print) -> None:
        self.session = session
        self.tell = tell
        self.pending: Workspace | None = None
        self.last_saved: float | None = None  # time.time() of the last save
        self.timer: Any = None  # single-shot; its start() (re)starts it (kept alive here)
        self._lock = threading.Lock()
        self.last_error: str | None = None  # of a background save (reported by the next flush)
        session.events.graph_changed.connect(self._on_changed)
        session.events.workspace_changed.connect(self._on_workspace)

    def use_timer(self, timer: Any) -> None:
        """Wait on ``timer`` (a QTimer or a :class:`ThreadTimer`): ``timer.start()``
        (re)starts it, and it saves when it runs out; None saves at once."""
        self.timer = timer

    def _on_changed(self, _action: Any = None) -> None:
        ws = self.session.workspace
        if ws is None:
            return
        if self.pending is not None and self.pending is not ws:
            self.flush()
        self.pending = ws
        if self.timer is None:
            self.flush()
        else:
            self.timer.start()

    def _on_workspace(self, ws: Workspace | None) -> None:
        if self.pending is not None and self.pending is not ws:
            self.flush()

    def flush(self) -> bool:
        """Write the pending graph now (waiting for a background save to end); True when
        something was written."""
        ws, self.pending = self.pending, None
        if ws is None:
            return False
        with self._lock:
            return self._save(ws)

    def flush_in_background(self) -> None:
        """The Qt timer's save: the pending graph is written by a thread."""
        self._claim(
            lambda ws, revision: threading.Thread(
                target=self._save_and_release, args=(ws, revision), daemon=True
            ).start()
        )

    def flush_here(self) -> None:
        """The thread timer's save (:class:`ThreadTimer`), in the calling thread."""
        self._claim(self._save_and_release)

    def _claim(self, save: Callable[[Workspace, int], Any]) -> None:
        """Hand the pending workspace and its revision to ``save``, which must release
        the lock; a save still running puts this one off to the next timeout."""
        ws = self.pending
        if ws is None:
            return
        if not self._lock.acquire(blocking=False):  # a save is still running
            if self.timer is not None:
                self.timer.start()
            return
        self.pending = None
        save(ws, ws.graph.revision)

    def _save_and_release(self, ws: Workspace, revision: int) -> None:
        try:
            self._save(ws, lambda: ws.graph.revision == revision, report=False)
        except Exception as exc:  # a copy torn by a concurrent edit, or a real failure
            if ws.graph.revision == revision:
                self.pending = self.pending or ws
                self.last_error = f"autosave of {ws.path} failed: {exc}"
        finally:
            self._lock.release()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background save to end (tests, benchmarks); False on timeout."""
        if not self._lock.acquire(timeout=-1 if timeout is None else timeout):
            return False
        self._lock.release()
        return True

    def _save(
        self, ws: Workspace, still_valid: Callable[[], bool] | None = None, report: bool = True
    ) -> bool:
        """One save (the caller holds the lock); a failure keeps the workspace pending."""
        try:
            saved = ws.save_graph(still_valid)
        except RuntimeError:
            if still_valid is None:
                raise
            return False  # the graph changed while being read: that edit queued a save
        except (OSError, ElephantError) as exc:
            self.pending = self.pending or ws  # try again after the next edit
            self.last_error = f"autosave of {ws.path} failed: {exc}"
            if report:
                self.tell(self.last_error)
            return False
        if saved:
            self.last_saved = time.time()
            self.last_error = None
        return saved


class ThreadTimer:
    """A restartable single-shot timer on a thread, for a viewer without the dock's Qt
    timer (a workspace dropped on napari).  Its thread is not a daemon: a process that
    ends within the delay waits for the save instead of losing it."""

    def __init__(self, seconds: float, callback: Callable[[], Any]) -> None:
        self.seconds, self.callback = seconds, callback
        self._timer: threading.Timer | None = None
        self._guard = threading.Lock()

    def start(self) -> None:
        """(Re)start the wait, as ``QTimer.start`` does."""
        with self._guard:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.seconds, self.callback)
            self._timer.start()

    def cancel(self) -> None:
        with self._guard:
            if self._timer is not None:
                self._timer.cancel()
