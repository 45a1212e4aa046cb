"""``launch_viewer``: the demo's viewer with our layers, the ELEPHANT dock and the
lineage dock."""

from __future__ import annotations

from napari.layers import Image, Points, Vectors

from napari_elephant._napari.session import session_for
from napari_elephant._qt.dock import ElephantDock
from napari_elephant._qt.launch import dock_for, launch_viewer, lineage_dock_for
from napari_elephant._qt.lineage_view import LineageView
from napari_elephant.core.demo import demo_workspace


def test_launch_viewer_without_event_loop(tmp_path, monkeypatch) -> None:
    ws = demo_workspace(tmp_path / "demo.elephant", preset="tiny")
    viewer = launch_viewer(ws.path, run=False, show=False)
    try:
        # movie, nuclei, outlines; no Tracks layer while nothing is linked
        assert [type(layer) for layer in viewer.layers] == [Image, Points, Vectors]
        assert session_for(viewer).workspace.path == ws.path
        docked = set(viewer.window.dock_widgets)
        dock = dock_for(viewer)  # the one already docked, not a second
        assert isinstance(dock, ElephantDock)
        assert dock.session is session_for(viewer)
        assert dock.workspace_panel.counter_labels["accepted"].text() == str(len(ws.graph))
        lineage = lineage_dock_for(viewer)  # likewise docked once by launch_viewer
        assert isinstance(lineage, LineageView)
        assert lineage.selection is session_for(viewer).selection
        assert len(lineage.layout_) == len(ws.graph)  # every nucleus is a (one-node) tree
        assert set(viewer.window.dock_widgets) == docked
        assert len(docked) == 2
    finally:
        viewer.close()
