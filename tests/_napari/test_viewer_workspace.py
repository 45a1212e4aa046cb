"""The workspace open in a viewer: opening, creating, adopting dropped layers, saving."""

from __future__ import annotations

import pytest

from napari_elephant._napari.layers import GRAPH_KEY
from napari_elephant._napari.session import session_for
from napari_elephant.core.errors import InvalidInputError, WorkspaceError
from napari_elephant.core.graph import Status
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import Workspace
from tests._napari.helpers import shown_ids, tiny_movie, write_workspace


def test_open_workspace_adds_layers_and_a_sensible_view(make_napari_viewer, workspace) -> None:
    viewer = make_napari_viewer()
    session = session_for(viewer)
    ws = session.open_workspace(workspace)
    names = [layer.name for layer in viewer.layers]
    assert names == ["movie", "tiny nuclei", "tiny outlines", "tiny tracks"]
    assert set(session.layers) == {"image", "nuclei", "outlines", "tracks"}
    assert session.layers["nuclei"].metadata[GRAPH_KEY] is ws.graph
    for layer in viewer.layers:  # one world: the image's voxel size everywhere
        assert tuple(layer.scale) == (1.0, 2.0, 0.5, 0.5)
    assert viewer.dims.range[1].step == 2.0  # z steps by one image plane
    assert viewer.dims.ndisplay == 2
    assert viewer.dims.current_step[0] == 0
    assert viewer.dims.point[1] == 8.0  # middle plane of 8 (z voxel 2 µm)
    assert viewer.dims.axis_labels == ("t", "z", "y", "x")


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
    assert set(session.layers) == {"image", "nuclei", "outlines", "tracks"}
    graph = session.workspace.graph
    t = round(viewer.dims.point[0])
    graph.remove_nuclei([int(graph.ids_at(t)[0])])
    assert shown_ids(session) == graph.ids_at(t).tolist()


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
    assert viewer.layers.selection.active is session.layers["nuclei"]  # a click picks nuclei
    assert Workspace.open(ws.path).open_image().data.shape == (2, 8, 48, 48)


def test_create_from_a_3d_layer_shows_the_workspace_movie(make_napari_viewer, tmp_path) -> None:
    viewer = make_napari_viewer()
    layer = viewer.add_image(tiny_movie().image[0], name="stack")  # (Z, Y, X)
    session = session_for(viewer)
    with pytest.raises(InvalidInputError, match=r"2D movie \(TYX\) or one 3D stack \(ZYX\)"):
        session.create_workspace(tmp_path / "s.elephant", layer, VoxelSize(2, 0.5, 0.5))
    session.create_workspace(tmp_path / "s.elephant", layer, VoxelSize(2, 0.5, 0.5), axes="zyx")
    image = session.layers["image"]
    assert image is not layer and image.data.shape == (1, 8, 48, 48)
    assert tuple(image.scale) == (1.0, 2.0, 0.5, 0.5)
    assert layer not in viewer.layers  # replaced by the workspace's movie


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
    assert session.nucleus_at((0, 0, 0, 0)) is None
    with pytest.raises(InvalidInputError, match="no workspace"):
        session.save()
