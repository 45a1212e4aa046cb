"""The ELEPHANT dock: opens and creates workspaces, shows live counters, undoes."""

from __future__ import annotations

import pytest
from qtpy.QtWidgets import QTabWidget

from napari_elephant._qt import panel_tools
from napari_elephant._qt.dock import ElephantDock
from tests._napari.helpers import tiny_movie, write_tiff, write_workspace


@pytest.fixture
def dock(make_napari_viewer, qtbot) -> ElephantDock:
    widget = ElephantDock(make_napari_viewer())
    qtbot.addWidget(widget)
    return widget


def _counts(dock: ElephantDock) -> dict[str, str]:
    return {k: v.text() for k, v in dock.workspace_panel.counter_labels.items()}


def test_dock_has_room_for_the_later_stages(dock) -> None:
    tabs: QTabWidget = dock.tabs
    names = [tabs.tabText(i) for i in range(tabs.count())]
    assert names == ["Workspace", "Detection", "Linking", "Tags", "Models", "Log", "Keys"]
    assert dock.tab("Workspace") is dock.workspace_panel


def test_open_through_the_path_field_shows_workspace_and_counts(dock, tmp_path) -> None:
    path = write_workspace(tmp_path)
    panel = dock.workspace_panel
    assert panel.workspace_label.text() == "none open"
    assert not panel.save_button.isEnabled()
    panel.open_path.setText(str(path))
    panel.open_button.click()
    assert panel.workspace_label.text() == str(path)
    assert panel.voxel_label.text() == "2 × 0.5 × 0.5 µm"
    assert panel.image_label.text().endswith("movie.ome.zarr")
    truth = tiny_movie().graph
    assert _counts(dock) == {
        "predicted": "0",
        "accepted": str(len(truth)),
        "rejected": "0",
        "links": str(truth.n_links),
    }
    names = [layer.name for layer in dock.viewer.layers]
    assert names == ["movie", "tiny nuclei", "tiny outlines", "tiny tracks"]


def test_counters_follow_edits_and_the_undo_button(dock, tmp_path) -> None:
    panel = dock.workspace_panel
    graph = dock.session.open_workspace(write_workspace(tmp_path)).graph
    assert not panel.undo_button.isEnabled()
    graph.set_status(graph.ids_at(0)[:2], "rejected")
    assert _counts(dock)["rejected"] == "2"
    assert panel.undo_button.isEnabled()
    panel.undo_button.click()
    assert _counts(dock)["rejected"] == "0"
    assert panel.redo_button.isEnabled()
    panel.redo_button.click()
    assert _counts(dock)["rejected"] == "2"


def test_save_button_saves(dock, tmp_path) -> None:
    from napari_elephant.core.workspace import Workspace

    graph = dock.session.open_workspace(write_workspace(tmp_path)).graph
    graph.remove_nuclei(graph.ids_at(3).tolist())
    dock.workspace_panel.save_button.click()
    assert len(Workspace.open(tmp_path / "tiny.elephant").graph) == len(graph)


def test_create_asks_the_voxel_size_when_the_file_has_none(dock, tmp_path) -> None:
    panel = dock.workspace_panel
    dock.viewer.open(str(write_tiff(tmp_path / "movie.tif")), plugin="napari-elephant")
    assert panel.layer_combo.currentText() == "movie"
    assert all(spin.isEnabled() for spin in panel.voxel_spins)
    for spin, value in zip(panel.voxel_spins, (2.0, 0.5, 0.5), strict=True):
        spin.setValue(value)
    panel.create_path.setText(str(tmp_path / "new.elephant"))
    panel.create_button.click()
    ws = dock.session.workspace
    assert ws is not None and ws.voxel_size.as_tuple() == (2.0, 0.5, 0.5)
    assert tuple(dock.viewer.layers["movie"].scale) == (1.0, 2.0, 0.5, 0.5)
    assert panel.workspace_label.text() == str(tmp_path / "new.elephant")


def test_core_errors_become_notifications(dock, tmp_path, monkeypatch) -> None:
    shown: list[str] = []
    monkeypatch.setattr(panel_tools, "show_error", shown.append)
    dock.workspace_panel.open_path.setText(str(tmp_path / "nowhere.elephant"))
    dock.workspace_panel.open_button.click()
    assert len(shown) == 1 and "nowhere.elephant" in shown[0]
    assert dock.session.workspace is None


def test_deleting_the_dock_disconnects_it(make_napari_viewer, qtbot, tmp_path) -> None:
    viewer = make_napari_viewer()
    widget = ElephantDock(viewer)
    session = widget.session
    n_before = len(session.events.graph_changed)
    with qtbot.waitSignal(widget.destroyed):
        widget.deleteLater()
    # the workspace panel, the counter and the detection tab's size line
    assert len(session.events.graph_changed) == n_before - 3
    graph = session.open_workspace(write_workspace(tmp_path)).graph
    graph.set_status([1], "rejected")  # no callback into the deleted widget
