"""One session per viewer: opens workspaces, keeps its layers in step with dims,
graph and selection."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import psygnal
import pytest

from napari_elephant._napari.layers import GRAPH_KEY, SELECTED_COLOR, STATUS_COLORS
from napari_elephant._napari.outlines import cross_sections, outline_vectors
from napari_elephant._napari.session import session_for
from napari_elephant._napari.status_counts import count_statuses
from napari_elephant.core.errors import InvalidInputError, WorkspaceError
from napari_elephant.core.graph import Status
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import Workspace
from tests._napari.helpers import VOXEL, tiny_movie, write_workspace


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


def shown_ids(session) -> list[int]:
    return sorted(session.layers["nuclei"].features["id"].tolist())


def test_the_nuclei_layer_holds_the_current_timepoint(make_napari_viewer, workspace) -> None:
    viewer = make_napari_viewer()
    session = session_for(viewer)
    graph = session.open_workspace(workspace).graph
    assert shown_ids(session) == graph.ids_at(0).tolist()
    viewer.dims.set_point(0, 2)
    assert shown_ids(session) == graph.ids_at(2).tolist()
    points = session.layers["nuclei"]
    nid = int(points.features["id"][0])
    centre = np.array(graph.nucleus(nid).center)
    np.testing.assert_allclose(points.data[0], (2, *(centre / [2.0, 0.5, 0.5])))
    np.testing.assert_allclose(points.size[0], 2 * graph.nucleus(nid).radius / 0.5)


def test_layers_follow_graph_edits_undo_and_redo(make_napari_viewer, workspace) -> None:
    viewer = make_napari_viewer()
    session = session_for(viewer)
    graph = session.open_workspace(workspace).graph
    session.show_rejected = True
    points = session.layers["nuclei"]
    nid = int(graph.ids_at(0)[0])
    graph.set_status([nid], "rejected")
    row = points.features["id"].tolist().index(nid)
    assert points.features["status"][row] == "rejected"
    np.testing.assert_allclose(points.border_color[row], STATUS_COLORS[Status.REJECTED])
    np.testing.assert_allclose(points.face_color[row][:3], STATUS_COLORS[Status.REJECTED][:3])
    new = graph.add_nucleus(0, (5.0, 10.0, 10.0), radius=2.0, status="predicted")
    assert new in shown_ids(session)
    session.undo()
    session.undo()
    assert shown_ids(session) == graph.ids_at(0).tolist()
    assert points.features["status"][row] == "accepted"
    session.redo()
    assert points.features["status"][row] == "rejected"
    session.show_rejected = False
    assert nid not in shown_ids(session)


def test_edits_at_other_timepoints_leave_the_nuclei_layer_alone(
    make_napari_viewer, workspace
) -> None:
    viewer = make_napari_viewer()
    session = session_for(viewer)
    graph = session.open_workspace(workspace).graph
    redraws = []
    session.layers["nuclei"].events.set_data.connect(redraws.append)
    graph.set_status(graph.ids_at(3), "rejected")
    assert redraws == []
    graph.set_status(graph.ids_at(0)[:1], "predicted")
    assert len(redraws) > 0


def test_outlines_are_the_cross_sections_of_the_current_plane(
    make_napari_viewer, workspace
) -> None:
    viewer = make_napari_viewer()
    session = session_for(viewer)
    graph = session.open_workspace(workspace).graph
    layer = session.layers["outlines"]

    def expected(axis: int, position: float) -> np.ndarray:
        nuclei = graph.nuclei_at(0)
        cuts = cross_sections(
            np.array([n.center for n in nuclei]),
            np.array([n.cov_matrix for n in nuclei]),
            axis,
            position,
        )
        return outline_vectors(cuts, 0, VOXEL)

    z = viewer.dims.point[1]
    assert len(layer.data) > 0
    np.testing.assert_allclose(layer.data, expected(0, z))
    viewer.dims.set_point(1, z + 2.0)
    np.testing.assert_allclose(layer.data, expected(0, z + 2.0))
    viewer.dims.order = (0, 2, 1, 3)  # look at z-x planes: y is sliced
    y = viewer.dims.point[2]
    np.testing.assert_allclose(layer.data, expected(1, y))
    assert np.all(layer.data[:, 0, 2] == y / 0.5)  # drawn in the y plane (voxels)
    viewer.dims.ndisplay = 3
    assert len(layer.data) == 0


def test_selection_is_shared_both_ways(make_napari_viewer, workspace) -> None:
    viewer = make_napari_viewer()
    session = session_for(viewer)
    graph = session.open_workspace(workspace).graph
    points = session.layers["nuclei"]
    a, b = graph.ids_at(0)[:2].tolist()
    session.selection.select_one(b)
    row = points.features["id"].tolist().index(b)
    assert set(points.selected_data) == {row}
    np.testing.assert_allclose(points.border_color[row], SELECTED_COLOR)
    other = points.features["id"].tolist().index(a)
    points.selected_data = {other}  # a click in the layer
    assert session.selection.ids == {a} and session.selection.current == a
    assert set(points.selected_data) == {other}
    assert not np.allclose(points.border_color[row], SELECTED_COLOR)
    viewer.dims.set_point(0, 1)  # a new timepoint keeps the selection
    assert session.selection.ids == {a}
    graph.remove_nuclei([a])  # the selection forgets deleted nuclei
    assert session.selection.ids == frozenset()


def test_click_inside_an_outline_finds_the_nucleus(make_napari_viewer, workspace) -> None:
    viewer = make_napari_viewer()
    session = session_for(viewer)
    graph = session.open_workspace(workspace).graph
    cut = session.sync.cuts
    nid = int(session.sync.frame.ids[cut.index[0]])
    assert session.nucleus_at((0, *cut.center[0])) == nid
    assert session.nucleus_at((0, viewer.dims.point[1], -50.0, -50.0)) is None
    assert nid in graph


def test_edits_from_a_worker_thread_wait_for_the_gui_thread(make_napari_viewer, workspace) -> None:
    viewer = make_napari_viewer()
    session = session_for(viewer)
    graph = session.open_workspace(workspace).graph
    nid = int(graph.ids_at(0)[0])
    seen = []
    session.events.graph_changed.connect(lambda action: seen.append(threading.current_thread()))
    worker = threading.Thread(target=graph.set_status, args=([nid], "predicted"))
    worker.start()
    worker.join()
    points = session.layers["nuclei"]
    row = points.features["id"].tolist().index(nid)
    assert points.features["status"][row] == "accepted"  # not touched off the GUI thread
    psygnal.emit_queued()
    assert points.features["status"][row] == "predicted"
    assert seen == [threading.main_thread()]


def test_counts_now_and_in_total(make_napari_viewer, workspace) -> None:
    viewer = make_napari_viewer()
    session = session_for(viewer)
    graph = session.open_workspace(workspace).graph
    graph.set_status(graph.ids_at(1)[:2], "rejected")
    viewer.dims.set_point(0, 1)
    counts = session.status_counts()
    assert counts.t == 1
    assert counts.nuclei_at_t["rejected"] == 2
    assert counts == count_statuses(graph, 1)
    assert session.counts()["rejected"] == 2


def test_tracks_layer_goes_and_comes_back_with_links(make_napari_viewer, workspace) -> None:
    viewer = make_napari_viewer()
    session = session_for(viewer)
    graph = session.open_workspace(workspace).graph
    with graph.batch("unlink all"):
        graph.remove_links([lk.key for lk in graph.links()])
    assert "tracks" not in session.layers
    assert [layer.name for layer in viewer.layers] == ["movie", "tiny nuclei", "tiny outlines"]
    session.undo()
    tracks = session.layers["tracks"]
    assert len(tracks.data) == len(graph)  # every tiny nucleus is linked, all in the window
    assert tuple(tracks.scale) == (1.0, 2.0, 0.5, 0.5)


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


def test_a_dropped_workspace_has_keys_and_autosave_before_any_dock(
    make_napari_viewer, workspace, tmp_path, monkeypatch
) -> None:
    from napari_elephant._napari import proofreading
    from tests._napari.proofreading_helpers import press

    monkeypatch.setenv("NAPARI_ELEPHANT_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setattr(proofreading, "AUTOSAVE_DELAY_S", 0.2)
    import napari

    viewer = make_napari_viewer()
    monkeypatch.setattr(napari, "current_viewer", lambda: viewer)  # not an older test's
    viewer.open(str(workspace), plugin="napari-elephant")
    session = session_for(viewer)
    saver = proofreading.proofreading_for(viewer).autosaver  # the reader's
    assert saver.has_timer
    nid = int(session.graph.ids_at(round(viewer.dims.point[0]))[0])
    session.selection.select_one(nid)
    viewer.layers.selection.active = session.layers["nuclei"]
    assert press(viewer, "5")  # reject, with no dock open
    assert session.graph.nucleus(nid).status == Status.REJECTED
    deadline = time.monotonic() + 30  # a loaded CI machine
    while Workspace.open(workspace).graph.nucleus(nid).status != Status.REJECTED:
        assert time.monotonic() < deadline, "not saved by the thread timer"
        time.sleep(0.05)
    assert saver.pending is None
