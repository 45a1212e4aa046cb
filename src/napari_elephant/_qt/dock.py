"""The "ELEPHANT" dock: one tab per stage of the user's loop (DESIGN §6).

Workspace and Keys are built here; Detection, Linking, Models and Log are
placeholders that later issues fill (each a widget taking the viewer's
session).  Above the tabs, the status counter.  Opening the dock sets up the
viewer's proofreading (keys, layer edits, autosave) and gives the autosave
its Qt timer; closing the window or quitting writes a pending save.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from psygnal.qt import start_emitting_from_queue
from qtpy.QtCore import QEvent, QObject, QSize, Qt, QTimer
from qtpy.QtWidgets import QApplication, QLabel, QTabWidget, QVBoxLayout, QWidget

from napari_elephant._napari.autosave import AUTOSAVE_DELAY_S, Autosaver
from napari_elephant._napari.proofreading import proofreading_for
from napari_elephant._napari.session import session_for
from napari_elephant._qt.help_panel import CounterWidget, KeysPanel
from napari_elephant._qt.workspace_panel import WorkspacePanel

if TYPE_CHECKING:
    import napari

DOCK_NAME = "ELEPHANT"
PREFERRED_WIDTH = 400  # px; leaves the canvas most of the window
PLACEHOLDER_TABS = ("Detection", "Linking", "Models", "Log")
QUEUE_MS = 20  # how often graph events queued by worker threads reach the layers
_TIMERS: weakref.WeakKeyDictionary[Autosaver, QTimer] = weakref.WeakKeyDictionary()


def _placeholder(name: str) -> QWidget:
    label = QLabel(f"{name}: not available yet.")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setObjectName(f"placeholder_{name.lower()}")
    return label


class ElephantDock(QWidget):
    """Tabs over the viewer's session; opened from Plugins ▸ ELEPHANT."""

    def __init__(self, napari_viewer: napari.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.proofreading = proofreading_for(napari_viewer)
        _give_autosave_a_timer(self.proofreading.autosaver)
        start_emitting_from_queue(msec=QUEUE_MS)  # graph events from workers -> GUI thread
        self.counter = CounterWidget(self.session)
        self.tabs = QTabWidget()
        self.workspace_panel = WorkspacePanel(self.session)
        self.tabs.addTab(self.workspace_panel, "Workspace")
        for name in PLACEHOLDER_TABS:
            self.tabs.addTab(_placeholder(name), name)
        self.keys_panel = KeysPanel(self.proofreading.keymap)
        self.tabs.addTab(self.keys_panel, "Keys")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.counter)
        layout.addWidget(self.tabs)

    def showEvent(self, event: QEvent) -> None:  # Qt naming
        """Once docked, a pending autosave is written when the main window closes."""
        super().showEvent(event)
        window = self.window()
        if window is not self and window.findChild(_SaveOnClose) is None:
            window.installEventFilter(_SaveOnClose(self.proofreading.autosaver, window))

    def sizeHint(self) -> QSize:  # Qt naming
        return QSize(PREFERRED_WIDTH, super().sizeHint().height())

    def tab(self, name: str) -> QWidget:
        """The page of a tab by its title (for later issues and tests)."""
        for i in range(self.tabs.count()):
            if self.tabs.tabText(i) == name:
                return self.tabs.widget(i)
        raise KeyError(name)


class _SaveOnClose(QObject):
    """Writes the pending autosave when the napari window closes."""

    def __init__(self, saver: Autosaver, parent: QObject) -> None:
        super().__init__(parent)
        self.saver = saver

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # Qt naming
        if event.type() == QEvent.Type.Close:
            self.saver.flush()
        return False


def _give_autosave_a_timer(saver: Autosaver) -> None:
    """A single-shot timer restarted by each edit, owned by the application so that it
    lives as long as the viewer (whatever happens to the dock), and a save on quitting."""
    app = QApplication.instance()
    if app is None or saver in _TIMERS:
        return
    timer = QTimer(app)
    timer.setSingleShot(True)
    timer.setInterval(int(AUTOSAVE_DELAY_S * 1000))
    timer.timeout.connect(saver.flush)
    saver.use_timer(timer.start)
    _TIMERS[saver] = timer
    app.aboutToQuit.connect(saver.flush)
