"""One session per viewer: opens workspaces, keeps its layers in step with the graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_elephant._napari.layers import GRAPH_KEY, STATUS_COLORS
from napari_elephant._napari.session import session_for
from napari_elephant.core.errors import InvalidInputError, WorkspaceError
from napari_elephant.core.graph import Status
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import Workspace
from tests._napari.helpers import tiny_movie, write_workspace


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return write_workspace(tmp_path)


def test_one_session_per_viewer(make_napari_viewer) -> None:
    a, b = make_napari_viewer(), make_napari_viewer()
    assert session_for(a) is session_for(a)
    assert session_for(a) is not session_for(b)


def test_open_workspace_adds_layers_and_a_sensible_view(make_napari_viewer, workspace) -> None:
    viewer = make_napari_viewer()
    session = session_for(viewer)
    ws = session.open_workspace(workspace)
    assert [layer.name for layer in viewer.layers] == ["movie", "tiny nuclei", "tiny tracks"]
    assert set(session.layers) == {"image", "nuclei", "tracks"}
    assert session.layers["nuclei"].metadata[GRAPH_KEY] is ws.graph
    assert tuple(session.layers["image"].scale) == (1.0, 2.0, 0.5, 0.5)
    assert viewer.dims.ndisplay == 2
    assert viewer.dims.current_step[0] == 0
    assert viewer.dims.point[1] == 8.0  # middle plane of 8 (z voxel 2 µm)
    assert viewer.dims.axis_labels == ("t", "z", "y", "x")
    assert viewer.dims.margin_left[1] > 0  # nuclei near the slice drawn as discs


def test_layers_follow_graph_edits_undo_and_redo(make_napari_viewer, workspace) -> None:
    viewer = make_napari_viewer()
    session = session_for(viewer)
    graph = session.open_workspace(workspace).graph
    points = session.layers["nuclei"]
    nid = int(graph.ids_at(0)[0])
    graph.set_status([nid], "rejected")
    row = points.features["id"].tolist().index(nid)
    assert points.features["status"][row] == "rejected"
    np.testing.assert_allclose(points.border_color[row], STATUS_COLORS[Status.REJECTED])
    np.testing.assert_allclose(points.face_color[row][:3], STATUS_COLORS[Status.REJECTED][:3])
    new = graph.add_nucleus(1, (5.0, 10.0, 10.0), radius=2.0, status="predicted")
    assert len(points.data) == len(graph)
    assert new in points.features["id"].tolist()
    session.undo()
    session.undo()
    assert len(points.data) == len(graph) == len(tiny_movie().graph)
    assert points.features["status"][row] == "accepted"
    session.redo()
    assert points.features["status"][row] == "rejected"


def test_tracks_layer_goes_and_comes_back_with_links(make_napari_viewer, workspace) -> None:
    viewer = make_napari_viewer()
    session = session_for(viewer)
    graph = session.open_workspace(workspace).graph
    with graph.batch("unlink all"):
        graph.remove_links([lk.key for lk in graph.links()])
    assert "tracks" not in session.layers
    assert [layer.name for layer in viewer.layers] == ["movie", "tiny nuclei"]
    session.undo()
    assert len(session.layers["tracks"].data) == len(graph)  # every tiny nucleus is linked


@pytest.mark.parametrize("session_first", [True, False])
def test_dropped_workspace_layers_are_adopted(
    make_napari_viewer, workspace, session_first
) -> None:
    viewer = make_napari_viewer()
    if session_first:  # the dock is open, then a workspace is dropped
        session_for(viewer)
    viewer.open(str(workspace), plugin="napari-elephant")
    session = session_for(viewer)  # else the dock opens after the drop
    assert isinstance(session.workspace, Workspace)
    assert set(session.layers) == {"image", "nuclei", "tracks"}
    assert viewer.dims.margin_left[1] > 0
    session.workspace.graph.remove_nuclei([int(session.workspace.graph.ids_at(3)[0])])
    assert len(session.layers["nuclei"].data) == len(session.workspace.graph)


def test_save_writes_the_graph(make_napari_viewer, workspace) -> None:
    viewer = make_napari_viewer()
    session = session_for(viewer)
    graph = session.open_workspace(workspace).graph
    graph.set_status(graph.ids_at(0), "rejected")
    session.save()
    again = Workspace.open(workspace).graph
    assert {n.status for n in again.nuclei_at(0)} == {Status.REJECTED}


def test_create_workspace_from_an_in_memory_layer(make_napari_viewer, tmp_path) -> None:
    viewer = make_napari_viewer()
    session = session_for(viewer)
    layer = viewer.add_image(tiny_movie().image[:2], name="raw")
    with pytest.raises(InvalidInputError, match="voxel size"):
        session.create_workspace(tmp_path / "a.elephant", layer)
    ws = session.create_workspace(tmp_path / "a.elephant", layer, VoxelSize(2, 0.5, 0.5))
    assert ws.image_path().is_dir()  # the data was written into the workspace
    assert tuple(layer.scale) == (1.0, 2.0, 0.5, 0.5)
    assert session.layers["image"] is layer
    assert "nuclei" in session.layers
    assert Workspace.open(ws.path).open_image().data.shape == (2, 8, 48, 48)


def test_create_from_a_3d_layer_shows_the_workspace_movie(make_napari_viewer, tmp_path) -> None:
    viewer = make_napari_viewer()
    layer = viewer.add_image(tiny_movie().image[0], name="stack")  # (Z, Y, X)
    session = session_for(viewer)
    session.create_workspace(tmp_path / "s.elephant", layer, VoxelSize(2, 0.5, 0.5))
    image = session.layers["image"]
    assert image is not layer and image.data.shape == (1, 8, 48, 48)
    assert tuple(image.scale) == (1.0, 2.0, 0.5, 0.5)


def test_create_never_overwrites_a_workspace(make_napari_viewer, tmp_path) -> None:
    existing = write_workspace(tmp_path)
    before = sorted(p.name for p in existing.iterdir())
    viewer = make_napari_viewer()
    layer = viewer.add_image(tiny_movie().image[:1], name="raw")
    with pytest.raises(WorkspaceError, match="already holds a workspace"):
        session_for(viewer).create_workspace(existing, layer, VoxelSize(1, 1, 1))
    assert sorted(p.name for p in existing.iterdir()) == before


def test_session_without_workspace_says_so(make_napari_viewer) -> None:
    session = session_for(make_napari_viewer())
    assert session.counts() == {"predicted": 0, "accepted": 0, "rejected": 0, "links": 0}
    with pytest.raises(InvalidInputError, match="no workspace"):
        session.save()
