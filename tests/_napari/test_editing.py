"""Editing: ellipsoid geometry, the editor's commands, edits made with napari's own
Points tools becoming graph actions, and autosave surviving a reopen."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant._napari.editing import (
    axis_scaled_cov,
    inside,
    parent_keys,
    rotated_cov,
    scaled_cov,
)
from napari_elephant.core.errors import ElephantError
from tests._napari.helpers import copy_graph, same_graph
from tests._napari.proofreading_helpers import Z, point_at, track_graph


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


# -------------------------------------------------------------- autosave
