"""Open napari on a workspace with the ELEPHANT dock (``napari-elephant demo``)."""

from __future__ import annotations

import os

import napari
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QMainWindow

from napari_elephant._napari.session import session_for
from napari_elephant._qt.dock import DOCK_NAME, PREFERRED_WIDTH, ElephantDock
from napari_elephant._qt.lineage_view import LINEAGE_NAME, LineageView

PLUGIN = "napari-elephant"


def dock_for(viewer: napari.Viewer) -> ElephantDock:
    """The viewer's ELEPHANT dock, docked once (napari reuses an open one)."""
    dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, DOCK_NAME)
    window = dock.parentWidget()
    if isinstance(window, QMainWindow):  # leave the canvas most of the width
        window.resizeDocks([dock], [PREFERRED_WIDTH], Qt.Orientation.Horizontal)
    return widget


def lineage_dock_for(viewer: napari.Viewer) -> LineageView:
    """The viewer's Lineage dock, docked once under the ELEPHANT dock."""
    _dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, LINEAGE_NAME)
    return widget


def launch_viewer(
    workspace_path: str | os.PathLike, run: bool = True, show: bool = True
) -> napari.Viewer:
    """A viewer showing the workspace (movie, nuclei, tracks), the dock and the lineage.

    With ``run=False`` the viewer is returned without entering the Qt event
    loop (tests, scripts).
    """
    viewer = napari.Viewer(title="napari-elephant", show=show)
    session_for(viewer).open_workspace(workspace_path)
    dock_for(viewer)
    lineage_dock_for(viewer)
    viewer.reset_view()  # fit the movie to the canvas the dock left
    if run:
        napari.run()
    return viewer
