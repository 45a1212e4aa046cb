"""The dock's Keys tab and status counter; autosave on closing the window."""

from __future__ import annotations

from qtpy.QtGui import QKeySequence

from napari_elephant._napari.keymap_actions import ACTIONS
from napari_elephant._qt.dock import ElephantDock
from napari_elephant.core.workspace import Workspace
from tests._napari.helpers import same_graph
from tests._napari.proofreading_helpers import open_tracks, point_at, press


def _dock(make_napari_viewer, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_ELEPHANT_CONFIG_DIR", str(tmp_path / "config"))
    viewer = make_napari_viewer()
    session, _ = open_tracks(viewer, tmp_path)
    dock = ElephantDock(viewer)
    qtbot.addWidget(dock)
    return viewer, session, dock


def test_keys_tab_lists_every_action_and_rebinds(make_napari_viewer, qtbot, tmp_path, monkeypatch):
    viewer, session, dock = _dock(make_napari_viewer, qtbot, tmp_path, monkeypatch)
    panel = dock.keys_panel
    assert dock.tab("Keys") is panel
    shown = [
        (panel.table.item(i, 0).text(), panel.table.item(i, 1).text()) for i in range(len(ACTIONS))
    ]
    assert shown == [(a.key, a.title) for a in ACTIONS]
    panel.select_action("elephant:accept")
    panel.key_edit.setKeySequence(QKeySequence("J"))
    panel.set_button.click()
    row = [a.id for a in ACTIONS].index("elephant:accept")
    assert panel.table.item(row, 0).text() == "J"
    point_at(viewer, 0, 18, 18)
    press(viewer, "J")
    assert session.graph.nucleus(5).status == "accepted"
    panel.key_edit.setKeySequence(QKeySequence("5"))  # the reject key: refused
    panel.set_button.click()
    assert panel.table.item(row, 0).text() == "J"
    panel.reset_button.click()
    assert panel.table.item(row, 0).text() == "4"


def test_counter_follows_edits_and_time(make_napari_viewer, qtbot, tmp_path, monkeypatch):
    viewer, session, dock = _dock(make_napari_viewer, qtbot, tmp_path, monkeypatch)
    counter = dock.counter
    # t=0: 1 and 6 accepted, 5 predicted; all: 4 accepted, 4 predicted; links at t=0: 1→2
    # accepted, 6→7 rejected
    assert counter.text("nuclei", "accepted") == "2 / 4"
    assert counter.text("nuclei", "predicted") == "1 / 4"
    assert counter.text("links", "rejected") == "1 / 1"
    session.graph.set_status([5], "rejected")
    qtbot.waitUntil(lambda: counter.text("nuclei", "rejected") == "1 / 1", timeout=2000)
    viewer.dims.set_point(0, 2.0)
    qtbot.waitUntil(lambda: counter.text("nuclei", "predicted") == "3 / 3", timeout=2000)
    assert counter.title.text() == "t = 2 / all"


def test_closing_the_window_saves_the_last_edits(make_napari_viewer, qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("NAPARI_ELEPHANT_CONFIG_DIR", str(tmp_path / "config"))
    viewer = make_napari_viewer(show=True)  # docked and shown, as from the Plugins menu
    session, _ = open_tracks(viewer, tmp_path)
    dock = ElephantDock(viewer)
    viewer.window.add_dock_widget(dock, name="ELEPHANT")
    qtbot.waitUntil(dock.isVisible, timeout=2000)
    path = session.workspace.path
    session.selection.select([5, 8])
    press(viewer, "K")
    saver = dock.proofreading.autosaver
    assert saver.pending is session.workspace  # waiting for a quiet moment
    graph = session.graph
    viewer.close()
    assert same_graph(Workspace.open(path).graph, graph)
