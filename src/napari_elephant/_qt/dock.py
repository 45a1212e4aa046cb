"""The "ELEPHANT" dock: one tab per stage of the user's loop (DESIGN §6).

Workspace is built here; Detection, Linking, Models and Log are placeholders
that later issues fill (each a widget taking the viewer's session).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qtpy.QtCore import QSize, Qt
from qtpy.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from napari_elephant._napari.session import session_for
from napari_elephant._qt.workspace_panel import WorkspacePanel

if TYPE_CHECKING:
    import napari

DOCK_NAME = "ELEPHANT"
PREFERRED_WIDTH = 400  # px; leaves the canvas most of the window
PLACEHOLDER_TABS = ("Detection", "Linking", "Models", "Log")


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
        self.tabs = QTabWidget()
        self.workspace_panel = WorkspacePanel(self.session)
        self.tabs.addTab(self.workspace_panel, "Workspace")
        for name in PLACEHOLDER_TABS:
            self.tabs.addTab(_placeholder(name), name)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)

    def sizeHint(self) -> QSize:  # Qt naming
        return QSize(PREFERRED_WIDTH, super().sizeHint().height())

    def tab(self, name: str) -> QWidget:
        """The page of a tab by its title (for later issues and tests)."""
        for i in range(self.tabs.count()):
            if self.tabs.tabText(i) == name:
                return self.tabs.widget(i)
        raise KeyError(name)
