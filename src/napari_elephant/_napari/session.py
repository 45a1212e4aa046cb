"""One session per viewer: the open workspace, the proofreading tools and the jobs.

The docks of a viewer share its session through :func:`session_for`; two
viewers never share one (the weak viewer → session map below is the only
per-viewer state of the package).  An :class:`ElephantSession` is a
:class:`~.viewer_workspace.ViewerWorkspace` (the workspace, its layers, the
selection) that also owns its proofreading machinery (editor, navigator,
keys, layer edits, autosave; started on demand) and its jobs (installed by
the dock, which brings the Qt thread launcher).

An edit reaches the autosave one way: graph action → the session's
``events.graph_changed`` → :class:`~.autosave.Autosaver`.
"""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from napari_elephant._napari.autosave import AUTOSAVE_DELAY_S, ThreadTimer
from napari_elephant._napari.proofreading import Proofreading, start_proofreading
from napari_elephant._napari.viewer_workspace import ViewerWorkspace

if TYPE_CHECKING:
    import napari

    from napari_elephant._napari.job_specs import SessionJobs

_SESSIONS: weakref.WeakKeyDictionary[Any, ElephantSession] = weakref.WeakKeyDictionary()


def session_for(viewer: napari.Viewer) -> ElephantSession:
    """The viewer's session, created on first use."""
    session = _SESSIONS.get(viewer)
    if session is None:
        session = _SESSIONS[viewer] = ElephantSession(viewer)
    return session


class ElephantSession(ViewerWorkspace):
    """The workspace open in one viewer, with its proofreading tools and jobs."""

    def __init__(self, viewer: napari.Viewer) -> None:
        super().__init__(viewer)
        self.proofreading: Proofreading | None = None
        # The loop's jobs (predict, link, train; what Alt+N, Alt+K and Ctrl+C call):
        # installed by the dock, which brings the Qt launcher; None until then.
        self.jobs: SessionJobs | None = None

    def start_proofreading(self, keymap_path: Path | None = None) -> Proofreading:
        """The editor, navigator, keys, layer edits and autosave, started on first use."""
        if self.proofreading is None:
            self.proofreading = start_proofreading(self, keymap_path)
        return self.proofreading

    def start_with_autosave(self) -> Proofreading:
        """:meth:`start_proofreading`, the autosave waiting on a thread timer until the
        dock gives it a Qt one (a workspace dropped on napari with no dock open)."""
        p = self.start_proofreading()
        saver = p.autosaver
        if saver.timer is None:
            saver.use_timer(ThreadTimer(AUTOSAVE_DELAY_S, saver.flush_here))
        return p
