"""Editing: ellipsoid geometry, the editor's commands, edits made with napari's own
Points tools becoming graph actions, and autosave surviving a reopen."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from napari_elephant._napari.autosave import Autosaver
from napari_elephant._napari.editing import (
    axis_scaled_cov,
    inside,
    parent_keys,
    rotated_cov,
    scaled_cov,
)
from napari_elephant.core.errors import ElephantError
from napari_elephant.core.workspace import Workspace
from tests._napari.helpers import copy_graph, same_graph
from tests._napari.proofreading_helpers import Z, drag, open_tracks, point_at, track_graph


@pytest.fixture
def tracks(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    session, p = open_tracks(viewer, tmp_path)
    return viewer, session, p


# ------------------------------------------------------------- geometry
def test_resizing_scales_the_semi_axes() -> None:
    sphere = np.eye(3) * 4.0  # radius 2 µm
    np.testing.assert_allclose(np.sqrt(np.linalg.eigvalsh(scaled_cov(sphere, 1.5))), [3, 3, 3])
    along_y = axis_scaled_cov(sphere, 1, 2.0)
    np.testing.assert_allclose(np.sqrt(np.diag(along_y)), [2, 4, 2])


def test_rotating_about_z_swaps_y_and_x_at_a_right_angle() -> None:
    cov = np.diag([1.0, 4.0, 9.0])
    np.testing.assert_allclose(rotated_cov(cov, 0, 90.0), np.diag([1.0, 9.0, 4.0]), atol=1e-12)
    turned = rotated_cov(cov, 0, 30.0)
    np.testing.assert_allclose(np.linalg.eigvalsh(turned), [1, 4, 9])  # same shape
    assert abs(turned[1, 2]) > 0.1  # now tilted in the y-x plane


def test_inside_is_the_ellipsoid_quadratic_form() -> None:
    cov = np.diag([1.0, 4.0, 9.0])
    assert inside((0, 0, 0), cov, (0, 0, 0)) == 0.0
    assert np.isclose(inside((0, 0, 0), cov, (0, 0, 3)), 1.0)
    assert inside((0, 0, 0), cov, (0, 2.1, 0)) > 1.0


# --------------------------------------------------------------- editor
def test_link_keys_act_on_the_lineage_parent_else_on_the_rejected_links() -> None:
    g = track_graph()  # 6 → 7 rejected
    assert parent_keys(g, 7) == [(6, 7)]  # so it can be accepted again or removed
    g.add_link(5, 7)
    assert parent_keys(g, 7) == [(5, 7)] and parent_keys(g, 5) == []


def test_add_at_cursor_uses_the_nucleus_diameter_in_um_and_selects(tracks) -> None:
    viewer, session, p = tracks
    session.workspace.params.detection.nucleus_diameter = 8.0
    point_at(viewer, 1, 12.5, 20.0)
    nid = p.editor.add_at_cursor()
    n = session.graph.nucleus(nid)
    assert n.t == 1 and n.status == "accepted" and n.origin == "manual"
    np.testing.assert_allclose(n.center, (Z, 12.5, 20.0))
    assert np.isclose(n.radius, 4.0)
    assert session.selection.current == nid
    assert nid in session.layers["nuclei"].features["id"].tolist()


def test_the_nucleus_under_the_cursor_is_found_in_3d_too(tracks) -> None:
    viewer, _, p = tracks
    point_at(viewer, 0, 6.5, 6.0)
    assert p.editor.hovered() == 1
    viewer.dims.ndisplay = 3  # no outlines in 3D: the ellipsoids decide
    viewer.cursor.position = (0.0, Z + 1.0, 6.5, 6.0)
    assert p.editor.hovered() == 1
    viewer.cursor.position = (0.0, Z, 11.0, 11.0)
    assert p.editor.hovered() is None


def test_commands_without_a_target_or_beyond_limits_are_refused(tracks) -> None:
    viewer, session, p = tracks
    before = copy_graph(session.graph)
    point_at(viewer, 0, 12, 12)
    with pytest.raises(ElephantError, match="select a nucleus"):
        p.editor.set_status("accepted")
    session.selection.select_one(1)
    with pytest.raises(ElephantError, match="thinner"):
        p.editor.scale(0.01)
    point_at(viewer, 1, 12, 12)
    with pytest.raises(ElephantError, match="another timepoint"):
        p.editor.move_to_cursor()
    assert same_graph(session.graph, before)


# ---------------------------------------------------------- layer edits
def test_dragging_a_point_moves_its_nucleus_in_one_step(tracks) -> None:
    _, session, _ = tracks
    layer = session.layers["nuclei"]
    layer.mode = "select"
    drag(layer, (0.0, Z, 6.0, 6.0), (0.0, Z, 9.0, 7.5))
    np.testing.assert_allclose(session.graph.nucleus(1).center, (Z, 9.0, 7.5))
    row = layer.features["id"].tolist().index(1)
    np.testing.assert_allclose(layer.data_to_world(layer.data[row]), (0, Z, 9.0, 7.5))
    session.graph.undo()
    np.testing.assert_allclose(session.graph.nucleus(1).center, (Z, 6.0, 6.0))


def test_deleting_points_deletes_their_nuclei_and_links(tracks) -> None:
    _, session, _ = tracks
    graph = session.graph
    layer = session.layers["nuclei"]
    layer.selected_data = {layer.features["id"].tolist().index(1)}
    layer.remove_selected()
    assert 1 not in graph and not graph.has_link(1, 2)
    graph.undo()
    assert graph.has_link(1, 2)


def test_the_add_tool_adds_a_nucleus_at_the_clicked_place(tracks) -> None:
    viewer, session, _ = tracks
    graph = session.graph
    typical = np.median([n.radius for n in graph.nuclei() if n.status == "accepted"])
    point_at(viewer, 2, 0, 0)
    layer = session.layers["nuclei"]
    layer.mode = "add"
    drag(layer, (2.0, Z, 14.0, 3.0), (2.0, Z, 14.0, 3.0))  # a click
    new = graph.nucleus(max(graph.nx_graph))
    assert new.t == 2 and np.isclose(new.radius, typical)  # the accepted nuclei's size
    np.testing.assert_allclose(new.center, (Z, 14.0, 3.0))
    assert session.selection.current == new.id
    assert len(layer.data) == len(graph.ids_at(2))


def test_the_sessions_own_redraws_are_not_edits(tracks) -> None:
    viewer, session, _ = tracks
    for t in (1, 3, 0):  # t = 3 has no nuclei: the layer empties
        viewer.dims.set_point(0, float(t))
    session.graph.set_status([1], "rejected")  # hidden: a row goes away
    session.graph.undo()
    assert same_graph(session.graph, track_graph())
    assert len(session.graph.history) == 0


# -------------------------------------------------------------- autosave
def test_autosave_then_reopen_restores_the_same_graph(tracks) -> None:
    viewer, session, p = tracks
    point_at(viewer, 0, 18, 18)
    p.editor.set_status("accepted")
    p.editor.add_at_cursor()
    session.selection.select([5, 8])
    p.editor.link_selected()
    reopened = Workspace.open(session.workspace.path).graph
    assert same_graph(reopened, session.graph)
    assert reopened.next_id == session.graph.next_id


def test_autosave_waits_for_the_timer_and_flushes_on_a_workspace_switch(tracks) -> None:
    _, session, p = tracks
    restarts = []
    saver: Autosaver = p.autosaver
    saver.use_timer(lambda: restarts.append(1))
    path = session.workspace.path
    session.graph.set_status([5], "rejected")
    session.graph.set_status([8], "rejected")
    assert len(restarts) == 2 and saver.pending is session.workspace
    assert Workspace.open(path).graph.nucleus(5).status == "predicted"  # not yet
    session.close()  # switching away writes what is pending
    assert Workspace.open(path).graph.nucleus(8).status == "rejected"
    assert not saver.flush()  # nothing left


def test_the_timer_save_runs_in_a_thread_and_drops_a_copy_torn_by_an_edit(tracks) -> None:
    _, session, p = tracks
    saver: Autosaver = p.autosaver
    restarts = []
    saver.use_timer(lambda: restarts.append(1))
    path = session.workspace.path
    session.graph.set_status([5], "rejected")
    saver.flush_in_background()
    assert saver.wait(timeout=30) and saver.pending is None
    assert Workspace.open(path).graph.nucleus(5).status == "rejected"
    # A graph that changes while the thread writes it is not swapped in ...
    session.graph.set_status([8], "rejected")
    real_save = Workspace.save_graph
    started, go = threading.Event(), threading.Event()

    def slow_save(ws, still_valid=None):
        started.set()
        go.wait(10)
        return real_save(ws, still_valid)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Workspace, "save_graph", slow_save)
        saver.flush_in_background()
        assert started.wait(10)
        session.graph.set_status([2], "rejected")  # the user edits meanwhile
        go.set()
        assert saver.wait(timeout=30)
    assert Workspace.open(path).graph.nucleus(8).status == "predicted"
    assert saver.pending is session.workspace  # ... and the edit queued the next save
    assert saver.flush()
    reopened = Workspace.open(path).graph
    assert reopened.nucleus(8).status == "rejected" and reopened.nucleus(2).status == "rejected"
