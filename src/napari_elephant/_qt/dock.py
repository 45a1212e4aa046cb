"""The "ELEPHANT" dock: one tab per stage of the user's loop (DESIGN §6).

Workspace, Detection, Linking, Tags, Models, Log and Keys, each its own module;
above the tabs, the status counter.  Opening the dock sets up the viewer's
proofreading (keys, layer edits, autosave) and gives the autosave its Qt
timer, and installs the session's job runner (``session.jobs``: background
training, prediction and linking, shared by every dock of the viewer);
closing the window or quitting writes a pending save.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from psygnal.qt import start_emitting_from_queue
from qtpy.QtCore import QEvent, QObject, QSize, Qt, QTimer
from qtpy.QtWidgets import QApplication, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from napari_elephant._napari.autosave import AUTOSAVE_DELAY_S, Autosaver
from napari_elephant._napari.session import session_for
from napari_elephant._qt.detection_panel import DetectionPanel
from napari_elephant._qt.help_panel import CounterWidget, KeysPanel
from napari_elephant._qt.jobs import install_jobs
from napari_elephant._qt.linking_panel import LinkingPanel
from napari_elephant._qt.log_panel import LogPanel
from napari_elephant._qt.models_panel import ModelsPanel
from napari_elephant._qt.panel_tools import app_timer
from napari_elephant._qt.tags_panel import TagsPanel
from napari_elephant._qt.workspace_panel import WorkspacePanel

if TYPE_CHECKING:
    import napari

DOCK_NAME = "ELEPHANT"
PREFERRED_WIDTH = 400  # px; leaves the canvas most of the window
QUEUE_MS = 20  # how often graph events queued by worker threads reach the layers


class ElephantDock(QWidget):
    """Tabs over the viewer's session; opened from Plugins ▸ ELEPHANT."""

    def __init__(self, napari_viewer: napari.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.proofreading = self.session.start_proofreading()
        _give_autosave_a_timer(self.proofreading.autosaver)
        start_emitting_from_queue(msec=QUEUE_MS)  # graph events from workers -> GUI thread
        self.jobs = install_jobs(self.session)
        self.counter = CounterWidget(self.session)
        self.tabs = QTabWidget()
        self.workspace_panel = WorkspacePanel(self.session)
        self.detection_panel = DetectionPanel(self.jobs)
        self.linking_panel = LinkingPanel(self.jobs)
        self.tags_panel = TagsPanel(self.session)
        self.models_panel = ModelsPanel(self.jobs)
        self.log_panel = LogPanel(self.jobs.runner)
        pages = (
            (self.workspace_panel, "Workspace"),
            (_scrolled(self.detection_panel), "Detection"),
            (_scrolled(self.linking_panel), "Linking"),
            (_scrolled(self.tags_panel), "Tags"),
            (self.models_panel, "Models"),
            (self.log_panel, "Log"),
        )
        for page, name in pages:
            self.tabs.addTab(page, name)
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


def _scrolled(page: QWidget) -> QScrollArea:
    """Long forms scroll instead of stretching the dock."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(page)
    return area


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
    if isinstance(saver.timer, QTimer):  # given already (a thread timer is replaced)
        return
    timer = app_timer(AUTOSAVE_DELAY_S, saver.flush_in_background)
    if timer is None:
        return
    saver.use_timer(timer)
    QApplication.instance().aboutToQuit.connect(saver.flush)
