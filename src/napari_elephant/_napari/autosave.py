"""Autosave: the graph is written to the workspace a moment after each edit batch.

Each applied, undone or redone action marks the workspace dirty; the save
waits for a quiet moment (the Qt side passes a restartable single-shot
timer) so a burst of keys costs one write.  Without a timer the save is
immediate.  ``Workspace.save_graph`` is atomic (write aside, then rename),
so a crash mid-save keeps the previous graph.  Switching workspaces, closing
the window and quitting flush a pending save.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from napari_elephant.core.errors import ElephantError

if TYPE_CHECKING:
    from napari_elephant._napari.session import ElephantSession
    from napari_elephant.core.workspace import Workspace

AUTOSAVE_DELAY_S = 2.0


class Autosaver:
    """Saves a session's graph after edits; ``flush()`` saves now if anything is pending."""

    def __init__(self, session: ElephantSession, tell: Callable[[str], Any] = print) -> None:
        self.session = session
        self.tell = tell
        self.pending: Workspace | None = None
        self.last_saved: float | None = None  # time.time() of the last save
        self._restart: Callable[[], Any] | None = None
        session.events.graph_changed.connect(self._on_changed)
        session.events.workspace_changed.connect(self._on_workspace)

    def use_timer(self, restart: Callable[[], Any] | None) -> None:
        """``restart()`` (re)starts a timer that calls :meth:`flush` when it runs out."""
        self._restart = restart

    def _on_changed(self, _action: Any = None) -> None:
        ws = self.session.workspace
        if ws is None:
            return
        if self.pending is not None and self.pending is not ws:
            self.flush()
        self.pending = ws
        if self._restart is None:
            self.flush()
        else:
            self._restart()

    def _on_workspace(self, ws: Workspace | None) -> None:
        if self.pending is not None and self.pending is not ws:
            self.flush()

    def flush(self) -> bool:
        """Write the pending graph now; True when something was written."""
        ws, self.pending = self.pending, None
        if ws is None:
            return False
        try:
            ws.save_graph()
        except (OSError, ElephantError) as exc:
            self.pending = ws  # try again after the next edit
            self.tell(f"autosave of {ws.path} failed: {exc}")
            return False
        self.last_saved = time.time()
        return True
