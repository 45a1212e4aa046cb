"""``launch_viewer``: the demo's viewer with our layers and the ELEPHANT dock."""

from __future__ import annotations

from napari.layers import Image, Points

from napari_elephant._napari.session import session_for
from napari_elephant._qt.dock import ElephantDock
from napari_elephant._qt.launch import dock_for, launch_viewer
from napari_elephant.core.demo import demo_workspace


def test_launch_viewer_without_event_loop(tmp_path, monkeypatch) -> None:
    ws = demo_workspace(tmp_path / "demo.elephant", preset="tiny")
    viewer = launch_viewer(ws.path, run=False, show=False)
    try:
        assert [type(layer) for layer in viewer.layers] == [Image, Points]  # no links yet
        assert session_for(viewer).workspace.path == ws.path
        dock = dock_for(viewer)  # the one already docked, not a second
        assert isinstance(dock, ElephantDock)
        assert dock.session is session_for(viewer)
        assert len(viewer.window.dock_widgets) >= 1
        assert dock.workspace_panel.counter_labels["accepted"].text() == str(len(ws.graph))
    finally:
        viewer.close()
