"""The lineage dock: a click selects and moves the viewer, the viewer's selection
scrolls the tree, keys navigate and validate, graph edits re-lay the trees."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import QPoint, Qt

from napari_elephant._napari.session import session_for
from napari_elephant._napari.viewer_dims import camera
from napari_elephant._qt.lineage_view import RELAYOUT_DELAY_MS, LineageView
from napari_elephant.core.graph import Status
from napari_elephant.core.graph.model import STATUS_ORDER
from napari_elephant.core.lineage_layout import NONE
from tests._napari.helpers import division_graph, write_workspace


@pytest.fixture
def view(make_napari_viewer, qtbot, tmp_path) -> LineageView:
    """A shown lineage view over a workspace holding ``division_graph``."""
    viewer = make_napari_viewer()
    session_for(viewer).open_workspace(write_workspace(tmp_path, division_graph()))
    widget = LineageView(viewer)
    qtbot.addWidget(widget)
    widget.resize(300, 400)
    widget.show()
    qtbot.waitExposed(widget)
    widget.fit()
    return widget


def click(qtbot, view: LineageView, nucleus_id: int, modifier=Qt.KeyboardModifier.NoModifier):
    px = view.node_pixel(nucleus_id)
    assert px is not None
    qtbot.mouseClick(view.renderer.native, Qt.MouseButton.LeftButton, modifier, QPoint(*px))


def key(qtbot, view: LineageView, k, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    qtbot.keyClick(view.renderer.native, k, modifier)


def test_click_on_a_node_selects_it_and_moves_the_viewer(view, qtbot) -> None:
    viewer = view.viewer
    assert viewer.dims.point[0] == 0
    assert view.node_pixel(1)[1] < view.node_pixel(5)[1]  # time runs down
    click(qtbot, view, 5)  # nucleus 5: t 3, centre (10, 6, 8) µm
    assert view.selection.current == 5 and view.selection.ids == {5}
    assert viewer.dims.point[0] == 3
    assert abs(viewer.dims.point[1] - 10.0) <= 1.0  # z snaps to the 2 µm plane
    assert np.allclose(camera(viewer).center[-2:], (6.0, 8.0))
    assert "nucleus 5" in view.info.text()


def test_click_beside_the_nodes_selects_nothing_and_shift_click_adds(view, qtbot) -> None:
    x, y = view.node_pixel(1)
    qtbot.mouseClick(view.renderer.native, Qt.MouseButton.LeftButton, pos=QPoint(x + 40, y))
    assert view.selection.current is None
    click(qtbot, view, 1)
    click(qtbot, view, 4, Qt.KeyboardModifier.ShiftModifier)
    assert view.selection.ids == {1, 4} and view.selection.current == 4


def test_selection_made_elsewhere_is_highlighted_and_scrolled_into_view(view) -> None:
    camera = view.renderer.view.camera
    camera.rect = (100.0, 100.0, 10.0, 10.0)  # far from the trees
    view.selection.select_one(4)
    lay = view.layout_
    i = lay.index_of(4)
    rect = camera.rect
    assert min(rect.left, rect.right) <= lay.x[i] <= max(rect.left, rect.right)
    assert min(rect.bottom, rect.top) <= lay.t[i] <= max(rect.bottom, rect.top)
    assert view.renderer.marks.visible
    assert "nucleus 4" in view.info.text()
    view.selection.clear()
    assert not view.renderer.marks.visible


def test_arrow_keys_walk_the_tree_and_4_5_validate(view, qtbot) -> None:
    view.selection.select_one(3)
    key(qtbot, view, Qt.Key.Key_Up)
    assert view.selection.current == 2
    key(qtbot, view, Qt.Key.Key_Down)
    assert view.selection.current == 3
    key(qtbot, view, Qt.Key.Key_Right)
    assert view.selection.current == 4  # the sister
    assert view.viewer.dims.point[0] == 2
    graph = view.session.graph
    view.selection.select_one(3)
    key(qtbot, view, Qt.Key.Key_4)
    assert graph.nucleus(3).status is Status.ACCEPTED
    i = view.layout_.index_of(3)
    assert STATUS_ORDER[view.layout_.status[i]] is Status.ACCEPTED  # recoloured at once
    key(qtbot, view, Qt.Key.Key_5)
    assert graph.nucleus(3).status is Status.REJECTED
    qtbot.waitUntil(lambda: view.layout_.index_of(3) is None, timeout=5 * RELAYOUT_DELAY_MS)
    graph.undo()
    qtbot.waitUntil(lambda: view.layout_.index_of(3) is not None, timeout=5 * RELAYOUT_DELAY_MS)


def test_graph_edits_relayout_after_a_quiet_period(view, qtbot) -> None:
    graph = view.session.graph
    assert view.layout_.n_columns == 4  # leaves 5, 4 (tree of 1), 7, 8; 6 is rejected

    def parent_of_4():
        lay = view.layout_
        p = lay.parent[lay.index_of(4)]
        return None if p == NONE else int(lay.ids[p])

    graph.remove_links([(2, 4)])
    assert parent_of_4() == 2  # not yet: debounced
    qtbot.waitUntil(lambda: parent_of_4() is None, timeout=5 * RELAYOUT_DELAY_MS)
    assert view.layout_.n_columns == 4  # 4 is now a tree of its own
    view.show_rejected.setChecked(True)
    assert view.layout_.index_of(6) is not None and view.layout_.n_columns == 5


def test_selected_lineage_only_shows_the_tree_of_the_current_nucleus(view) -> None:
    view.selection.select_one(5)
    view.lineage_only.setChecked(True)
    assert set(view.layout_.ids[view._shown()].tolist()) == {1, 2, 3, 4, 5}
    view.selection.select_one(8)
    assert set(view.layout_.ids[view._shown()].tolist()) == {8}
    assert view.node_pixel(8) is not None


def test_colour_by_a_tag_set_recolours_the_nodes_and_follows_tagging(view) -> None:
    from napari_elephant._napari.tag_colors import hex_rgba
    from napari_elephant.core.tagsets import TagSet, tag_nuclei

    fate = TagSet(name="fate").with_value("neuron", "#ff0000")
    session = view.session
    session.color_by = fate
    faces = view.renderer.nodes._data["a_bg_color"]
    np.testing.assert_allclose(faces[:, :3], np.tile(hex_rgba("#808080")[:3], (len(faces), 1)))
    nid = int(view.layout_.ids[0])
    tag_nuclei(session.graph, [nid], fate, "neuron")
    faces = view.renderer.nodes._data["a_bg_color"]
    np.testing.assert_allclose(faces[0, :3], (1.0, 0.0, 0.0))
    session.color_by = None  # back to the status colours
    from napari_elephant._qt.lineage_canvas import COLORS as _COLORS

    faces = view.renderer.nodes._data["a_bg_color"]
    np.testing.assert_allclose(faces[0], _COLORS[view.layout_.status[0]])


def test_the_viewers_edit_keys_work_in_the_tree(view, qtbot, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NAPARI_ELEPHANT_CONFIG_DIR", str(tmp_path / "config"))
    graph = view.session.graph
    view.selection.select_one(5)
    key(qtbot, view, Qt.Key.Key_U)  # unlink from the parent
    assert not graph.has_link(3, 5)
    view.selection.select([3, 5])
    key(qtbot, view, Qt.Key.Key_K)  # link the two selected
    assert graph.has_link(3, 5)
    key(qtbot, view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one undo step
    assert not graph.has_link(3, 5)
    view.selection.select_one(5)
    key(qtbot, view, Qt.Key.Key_D)  # delete
    assert 5 not in graph
    qtbot.waitUntil(lambda: view.layout_.index_of(5) is None, timeout=5 * RELAYOUT_DELAY_MS)


def test_the_time_axis_and_ids_appear_when_zoomed_in(view) -> None:
    renderer = view.renderer
    _, _, t0, t1 = renderer.visible_rect()
    assert t0 <= 0 and t1 >= 3  # fitted: every timepoint of the tree in view
    assert renderer.time_axis.axis.domain is not None
    assert renderer.labels.visible  # a handful of nodes: every id written
    assert sorted(renderer.labels.text) == sorted(str(i) for i in view.layout_.ids.tolist())
    i = view.layout_.index_of(5)
    renderer.view.camera.rect = (view.layout_.x[i] - 0.5, view.layout_.t[i] - 0.5, 1.0, 1.0)
    assert list(renderer.labels.text) == ["5"]


def test_fold_hides_the_current_nucleus_descendants_and_unfold_shows_them(view, qtbot):
    click(qtbot, view, 2)  # 2 → {3, 4}, 3 → 5
    view.fold_button.click()
    assert view.folded == {2} and view.layout_.index_of(5) is None
    assert view.layout_.ids[view.layout_.folded].tolist() == [2]
    assert view.renderer.folds.visible
    click(qtbot, view, 2)
    view.fold_button.click()
    assert view.folded == set() and view.layout_.index_of(5) is not None
    assert not view.renderer.folds.visible


def test_the_feature_axis_puts_each_node_at_its_value(view, qtbot) -> None:
    """division_graph's radii are 1 + i/2 µm: nucleus 8 (5 µm) is the largest."""
    view.axis.setCurrentText("volume")
    lay = view.layout_
    volumes = {int(i): float(x) for i, x in zip(lay.ids, lay.x, strict=True)}
    assert sorted(volumes, key=volumes.get) == sorted(volumes)  # grows with the id
    assert abs(volumes[1] - 4 / 3 * np.pi * 1.5**3) < 1e-6
    click(qtbot, view, 4)  # picking follows the new positions
    assert view.selection.current == 4
    view.axis.setCurrentText("tree")
    assert view.layout_.x.max() <= view.layout_.n_columns


def test_colour_by_a_feature_paints_the_nodes_by_value(view) -> None:
    view.colour.setCurrentText("confidence")  # division_graph has none: grey
    colors = view._node_colors()
    assert colors.shape == (len(view.layout_), 4) and np.allclose(colors[:, :3], 0.5)
    view.colour.setCurrentText("volume")
    colors = view._node_colors()
    first, last = view.layout_.index_of(1), view.layout_.index_of(8)
    assert not np.allclose(colors[first], colors[last])  # smallest vs largest
    view.colour.setCurrentText("status")
    assert view._node_colors() is None


def test_zoomed_out_the_tracks_are_named_by_their_first_nucleus(view) -> None:
    """Over MAX_LABELS nodes in view: 'track ID' at each track's first node instead."""
    from napari_elephant._qt import lineage_view

    lineage_view.MAX_LABELS, saved = 5, lineage_view.MAX_LABELS  # 7 nodes, 5 tracks
    try:
        view.fit()
        view._update_labels()
        texts = sorted(view.renderer.labels.text)
    finally:
        lineage_view.MAX_LABELS = saved
    # 1 → 2 divides into 3 (→ 5) and 4; 7 and 8 are apart (their link is rejected)
    assert texts == ["track 1", "track 3", "track 4", "track 7", "track 8"]


def test_the_size_axis_of_a_2d_movie_is_the_ellipse_area(make_napari_viewer, qtbot, tmp_path):
    from tests._napari.test_2d import ELLIPSE, workspace_2d

    viewer = make_napari_viewer()
    session_for(viewer).open_workspace(workspace_2d(tmp_path))
    widget = LineageView(viewer)
    qtbot.addWidget(widget)
    widget.axis.setCurrentText("volume")
    area = np.pi * np.sqrt(np.linalg.det(ELLIPSE))  # π · semi-axis product
    np.testing.assert_allclose(widget.layout_.x, area)
