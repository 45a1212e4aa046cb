"""The layer sync: the nuclei, outlines and tracks layers follow the dims, the graph
(edits, undo, redo, edits from worker threads) and the selection."""

from __future__ import annotations

import threading

import numpy as np
import psygnal

from napari_elephant._napari.layers import SELECTED_COLOR, STATUS_COLORS
from napari_elephant._napari.outlines import cross_sections, outline_vectors
from napari_elephant._napari.session import session_for
from napari_elephant.core.graph import Status
from tests._napari.helpers import VOXEL, shown_ids


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
    graph.undo()
    graph.undo()
    assert shown_ids(session) == graph.ids_at(0).tolist()
    assert points.features["status"][row] == "accepted"
    graph.redo()
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


def test_tracks_layer_goes_and_comes_back_with_links(make_napari_viewer, workspace) -> None:
    viewer = make_napari_viewer()
    session = session_for(viewer)
    graph = session.open_workspace(workspace).graph
    with graph.batch("unlink all"):
        graph.remove_links([lk.key for lk in graph.links()])
    assert "tracks" not in session.layers
    assert [layer.name for layer in viewer.layers] == ["movie", "tiny nuclei", "tiny outlines"]
    graph.undo()
    tracks = session.layers["tracks"]
    assert len(tracks.data) == len(graph)  # every tiny nucleus is linked, all in the window
    assert tuple(tracks.scale) == (1.0, 2.0, 0.5, 0.5)
