"""The Tags tab: sets and values saved in the workspace, tagging the selection and its
sub-lineage (one undo step), colouring the nuclei by a set."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant._napari.session import session_for
from napari_elephant._napari.tag_colors import hex_rgba
from napari_elephant._qt import panel_tools
from napari_elephant._qt.tags_panel import TagsPanel
from napari_elephant.core.tagsets import value_of
from napari_elephant.core.workspace import Workspace
from tests._napari.helpers import write_workspace


@pytest.fixture
def panel(make_napari_viewer, qtbot, tmp_path, monkeypatch):
    told: list[str] = []
    monkeypatch.setattr(panel_tools, "show_error", told.append)
    viewer = make_napari_viewer()
    session = session_for(viewer)
    session.open_workspace(write_workspace(tmp_path))
    widget = TagsPanel(session)
    qtbot.addWidget(widget)
    return widget, session, told


def make_fate(widget: TagsPanel) -> None:
    widget.set_name.setText("fate")
    widget.add_set()
    for value in ("neuron", "epidermis"):
        widget.value_name.setText(value)
        widget.add_value()


def test_sets_and_values_are_saved_in_the_workspace(panel) -> None:
    widget, session, told = panel
    make_fate(widget)
    assert told == []
    again = Workspace.open(session.workspace.path)
    assert [s.name for s in again.tag_sets] == ["fate"]
    assert again.tag_sets[0].names == ["neuron", "epidermis"]
    assert widget.color_by.count() == 2  # status, fate
    widget.set_name.setText("fate")
    widget.add_set()
    assert told == ["there is a tag set 'fate' already"]


def test_tagging_the_selection_and_its_sub_lineage_is_one_undo_step(panel) -> None:
    widget, session, told = panel
    make_fate(widget)
    graph = session.graph
    root = next(n.id for n in graph.nuclei_at(0) if graph.children(n.id))
    assert widget.tag("neuron") is None and told == ["select nuclei to tag first"]
    session.selection.select_one(root)
    widget.whole_lineage.setChecked(True)
    widget.value_choice.setCurrentText("epidermis")
    steps = len(graph.history)
    assert widget.tag(widget.value_choice.currentText()) >= 4  # the root and its track
    assert len(graph.history) == steps + 1
    child = graph.children(root)[0]
    assert value_of(graph.nucleus(child).tags, "fate") == "epidermis"
    graph.undo()
    assert value_of(graph.nucleus(root).tags, "fate") is None


def test_the_nuclei_can_be_coloured_by_a_set(panel) -> None:
    widget, session, _ = panel
    make_fate(widget)
    nid = int(session.graph.ids_at(0)[0])
    session.selection.select_one(nid)
    widget.value_choice.setCurrentText("neuron")
    widget.tag("neuron")
    session.selection.clear()
    widget.color_by.setCurrentText("fate")
    assert session.color_by is not None and session.color_by.name == "fate"
    layer = session.layers["nuclei"]
    row = layer.features["id"].tolist().index(nid)
    red = hex_rgba(session.color_by.color_of("neuron"))
    np.testing.assert_allclose(layer.face_color[row][:3], red[:3], atol=0.01)
    grey = hex_rgba("#808080")
    other = 1 if row == 0 else 0
    np.testing.assert_allclose(layer.face_color[other][:3], grey[:3], atol=0.01)
    tracks = session.layers["tracks"]
    assert tracks.color_by == "tag"
    vertex = tracks.features["node_id"].tolist().index(nid)
    np.testing.assert_allclose(tracks.track_colors[vertex][:3], red[:3], atol=0.01)
    other = int(session.graph.ids_at(0)[2])  # tagged while coloured: recoloured
    session.selection.select_one(other)
    widget.value_choice.setCurrentText("epidermis")
    widget.tag("epidermis")
    green = hex_rgba(session.color_by.color_of("epidermis"))
    tracks = session.layers["tracks"]
    vertex = tracks.features["node_id"].tolist().index(other)
    np.testing.assert_allclose(tracks.track_colors[vertex][:3], green[:3], atol=0.01)
    widget.color_by.setCurrentText("status")
    assert session.color_by is None
    assert session.layers["tracks"].color_by == "track_id"


def test_the_y_keys_tag_with_the_tabs_choice(panel, tmp_path, monkeypatch) -> None:
    from tests._napari.proofreading_helpers import press

    widget, session, _ = panel
    monkeypatch.setenv("NAPARI_ELEPHANT_CONFIG_DIR", str(tmp_path / "config"))
    session.start_proofreading()
    session.viewer.layers.selection.active = session.layers["nuclei"]
    nid = int(session.graph.ids_at(0)[0])
    session.selection.select_one(nid)
    assert session.tag_choice is None
    press(session.viewer, "Y")  # nothing chosen yet: a one-line message, no change
    assert "fate=neuron" not in session.graph.nucleus(nid).tags
    make_fate(widget)
    widget.value_choice.setCurrentText("neuron")
    assert session.tag_choice.value == "neuron"
    press(session.viewer, "Y")
    assert value_of(session.graph.nucleus(nid).tags, "fate") == "neuron"
    press(session.viewer, "Shift+Y")
    assert value_of(session.graph.nucleus(nid).tags, "fate") is None
