"""The proofreading keys: each changes the graph as documented, through napari's own
key handling with the nuclei (Points) layer active; rebinding; docs/keymap.md."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from qtpy.QtCore import Qt

from napari_elephant._napari.editing import COARSE, FINE, ROTATE_DEG, STEP, rotated_cov
from napari_elephant._napari.keymap import (
    MENU_MNEMONICS,
    Keymap,
    KeymapError,
    keymap_markdown,
    load_overrides,
    normalize,
    reserved_keys,
)
from napari_elephant._napari.keymap_actions import ACTIONS, NO_RUNNER
from napari_elephant.core.ellipsoid import median_lateral_radius
from napari_elephant.core.graph import Status
from tests._napari.helpers import copy_graph, same_graph
from tests._napari.proofreading_helpers import (
    Z,
    key_down,
    key_up,
    open_tracks,
    point_at,
    press,
    radii,
)

ROOT = Path(__file__).resolve().parents[2]


def _r(g, nid):
    return float(radii(g, nid)[0])


# key, selected ids (current last) or None for "the nucleus under the mouse",
# mouse (t, y, x), check on the graph after the key
CASES = [
    ("4", None, (0, 18, 18), lambda g: g.nucleus(5).status == Status.ACCEPTED),
    ("5", [1], (0, 0, 0), lambda g: g.nucleus(1).status == Status.REJECTED),
    ("0", [1, 2], (0, 0, 0), lambda g: {g.nucleus(i).status for i in (1, 2)} == {"predicted"}),
    ("E", None, (0, 6, 6), lambda g: np.isclose(_r(g, 1), 2.0 * STEP)),
    ("Q", None, (0, 6, 6), lambda g: np.isclose(_r(g, 1), 2.0 / STEP)),
    ("Shift+E", [1], (0, 0, 0), lambda g: np.isclose(_r(g, 1), 2.0 * COARSE)),
    ("Shift+Q", [1], (0, 0, 0), lambda g: np.isclose(_r(g, 1), 2.0 / COARSE)),
    ("Ctrl+Shift+E", [1], (0, 0, 0), lambda g: np.isclose(_r(g, 1), 2.0 * FINE)),
    ("Ctrl+Shift+Q", [1], (0, 0, 0), lambda g: np.isclose(_r(g, 1), 2.0 / FINE)),
    ("D", [2], (1, 0, 0), lambda g: 2 not in g and not g.has_link(1, 2) and g.n_links == 1),
    ("G", [1], (0, 7, 8), lambda g: np.allclose(g.nucleus(1).center, (Z, 7, 8))),
    ("U", [2], (1, 0, 0), lambda g: not g.has_link(1, 2) and g.has_link(2, 3)),
    ("U", [2, 3, 4], (2, 0, 0), lambda g: g.children(2) == [] and g.has_link(1, 2)),
    ("K", [5, 8], (0, 0, 0), lambda g: g.has_link(5, 8) and g.link(5, 8).status == "accepted"),
    ("M", [8, 7], (1, 0, 0), lambda g: "division" in g.nucleus(7).tags and g.has_link(7, 8)),
    # 7's only parent link (from 6) is rejected: it takes no parent slot
    ("M", [7, 5], (0, 0, 0), lambda g: g.parent(7) == 5 and g.link(6, 7).status == "rejected"),
    ("K", [5, 7], (0, 0, 0), lambda g: g.parent(7) == 5 and g.link(6, 7).status == "rejected"),
    ("A", None, (0, 12, 12), lambda g: _added(g, 0, (Z, 12, 12), _typical(g))),
    ("Alt+4", [2], (1, 0, 0), lambda g: g.link(1, 2).status == "accepted"),
    ("Alt+5", [2], (1, 0, 0), lambda g: g.link(1, 2).status == "rejected"),
    ("Alt+0", [2], (1, 0, 0), lambda g: g.link(1, 2).status == "predicted"),
]


def _typical(g) -> float:
    """The accepted nuclei's median lateral radius (µm) before the newest one came."""
    newest = max(g.nx_graph)
    return median_lateral_radius(
        n for n in g.nuclei() if n.status == Status.ACCEPTED and n.id != newest
    )


def _added(g, t, center, radius) -> bool:
    new = g.nucleus(max(g.nx_graph))
    return new.t == t and np.allclose(new.center, center) and np.isclose(new.radius, radius)


def test_each_key_edits_the_graph_as_documented_and_undoes(tracks) -> None:
    viewer, session, _ = tracks
    graph = session.graph
    for key, ids, (t, y, x), check in CASES:
        before = copy_graph(graph)
        point_at(viewer, t, y, x)
        session.selection.select(ids or [])
        assert press(viewer, key), key
        assert check(graph), key
        after = copy_graph(graph)
        assert press(viewer, "Ctrl+Z"), key  # one key, one undo step
        assert same_graph(graph, before), key
        assert press(viewer, "Ctrl+Shift+Z"), key
        assert same_graph(graph, after), key
        graph.undo()


def test_axis_keys_resize_along_and_rotate_about_the_picked_axis(tracks) -> None:
    viewer, session, _ = tracks
    graph = session.graph
    session.selection.select_one(1)
    for key in ("Alt+Y", "Alt+E", "Alt+Z", "Alt+Left"):
        press(viewer, key)
    stretched = np.diag([4.0, 4.0 * STEP**2, 4.0])
    np.testing.assert_allclose(graph.nucleus(1).cov_matrix, rotated_cov(stretched, 0, ROTATE_DEG))
    press(viewer, "Alt+Right")
    np.testing.assert_allclose(graph.nucleus(1).cov_matrix, stretched, atol=1e-12)
    press(viewer, "Alt+X")
    press(viewer, "Alt+Q")
    np.testing.assert_allclose(np.diag(graph.nucleus(1).cov_matrix), [4, 4 * STEP**2, 4 / STEP**2])


def test_unmark_division_untags_and_unlinks_the_selected_daughter(tracks) -> None:
    viewer, session, _ = tracks
    graph = session.graph
    session.selection.select([8, 7], current=7)
    press(viewer, "M")
    press(viewer, "Shift+M")
    assert "division" not in graph.nucleus(7).tags
    assert not graph.has_link(7, 8)


def test_held_l_links_across_the_timepoints_stepped_through(tracks) -> None:
    viewer, session, _ = tracks
    graph = session.graph
    point_at(viewer, 0, 18, 18)  # on nucleus 5
    key_down(viewer, "L")
    assert round(viewer.dims.point[0]) == 1  # the view went to the next timepoint
    press(viewer, "3")  # step once more while holding
    point_at(viewer, 2, 18.5, 18)  # on nucleus 8
    key_up(viewer, "L")
    assert graph.has_link(5, 8)
    assert session.selection.current == 8
    graph.undo()
    assert not graph.has_link(5, 8)


def test_held_shift_l_links_towards_the_previous_timepoint(tracks) -> None:
    viewer, session, _ = tracks
    point_at(viewer, 2, 18, 18)  # on nucleus 8
    key_down(viewer, "Shift+L")
    assert round(viewer.dims.point[0]) == 1
    point_at(viewer, 1, 18, 6)  # on nucleus 7
    key_up(viewer, "Shift+L")
    assert session.graph.has_link(7, 8)


def test_held_a_on_a_nucleus_adds_a_linked_copy_at_the_next_timepoint(tracks) -> None:
    viewer, session, _ = tracks
    graph = session.graph
    n = len(graph)
    point_at(viewer, 0, 18, 18)  # on nucleus 5
    key_down(viewer, "A")
    point_at(viewer, 1, 20, 19)
    key_up(viewer, "A")
    new = max(graph.nx_graph)
    assert len(graph) == n + 1 and graph.parent(new) == 5
    assert graph.nucleus(new).t == 1
    np.testing.assert_allclose(graph.nucleus(new).center, (Z, 20, 19))
    np.testing.assert_allclose(graph.nucleus(new).cov, graph.nucleus(5).cov)
    graph.undo()  # one step: the nucleus and its link
    assert len(graph) == n and graph.children(5) == []


def test_a_key_refusal_leaves_the_graph_alone(tracks) -> None:
    viewer, session, _ = tracks
    before = copy_graph(session.graph)
    point_at(viewer, 0, 0, 0)
    session.selection.select([1, 5])
    assert press(viewer, "K")  # same timepoint: refused with a message, no exception
    point_at(viewer, 0, 18, 18)  # from nucleus 5 ...
    key_down(viewer, "L")
    point_at(viewer, 1, 6, 7)  # ... to nucleus 2, which has a parent already
    key_up(viewer, "L")
    assert same_graph(session.graph, before)


def test_job_keys_call_the_session_runner_or_say_there_is_none(tracks) -> None:
    viewer, session, _ = tracks
    press(viewer, "Alt+N")
    assert viewer.status == NO_RUNNER
    calls = []

    class Runner:
        def predict(self) -> None:
            calls.append("predict")

        def link(self) -> None:
            calls.append("link")

        def abort(self) -> None:
            calls.append("abort")

    session.jobs = Runner()
    for key in ("Alt+N", "Alt+K", "Ctrl+C"):
        press(viewer, key)
    assert calls == ["predict", "link", "abort"]


def test_our_keys_beat_the_points_layer_on_real_key_presses(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer(show=True)
    session, _ = open_tracks(viewer, tmp_path)
    layer = session.layers["nuclei"]
    mode = layer.mode
    canvas = viewer.window._qt_viewer.canvas.native
    viewer.window._qt_window.activateWindow()
    canvas.setFocus()
    point_at(viewer, 0, 18, 18)  # on nucleus 5 (predicted)
    qtbot.keyClick(canvas, Qt.Key.Key_4)  # Points: pan/zoom mode
    assert session.graph.nucleus(5).status == Status.ACCEPTED
    point_at(viewer, 0, 12, 12)
    qtbot.keyClick(canvas, Qt.Key.Key_A)  # Points: select all in the slice
    assert len(session.graph) == 9
    assert layer.mode == mode


def test_rebinding_moves_the_action_and_is_remembered(tracks, tmp_path) -> None:
    viewer, session, p = tracks
    keymap = p.keymap
    keymap.rebind("elephant:accept", "J")
    point_at(viewer, 0, 18, 18)
    press(viewer, "4")  # the old key is napari's again (Points: pan/zoom mode)
    assert session.graph.nucleus(5).status == Status.PREDICTED
    press(viewer, "J")
    assert session.graph.nucleus(5).status == Status.ACCEPTED
    assert load_overrides(keymap.path) == {"elephant:accept": "J"}
    again = Keymap(p.tools, path=keymap.path)
    assert again.key("elephant:accept") == "J"
    keymap.reset()
    assert keymap.key("elephant:accept") == "4"
    assert load_overrides(keymap.path) == {}


def test_rebinding_refuses_napari_keys_and_clashes(tracks) -> None:
    keymap = tracks[2].keymap
    with pytest.raises(KeymapError, match="napari"):
        keymap.rebind("elephant:accept", "Alt+S")
    with pytest.raises(KeymapError, match="Reject"):
        keymap.rebind("elephant:accept", "5")
    with pytest.raises(KeymapError, match="understands"):
        keymap.rebind("elephant:accept", "Hyper+Banana")
    assert keymap.key("elephant:accept") == "4"


def test_defaults_avoid_what_napari_owns(make_napari_viewer) -> None:
    viewer = make_napari_viewer()  # builds napari's window shortcuts and menus
    menus = viewer.window._qt_window.menuBar().actions()
    mnemonics = {f"Alt+{a.text()[a.text().index('&') + 1]}" for a in menus if "&" in a.text()}
    assert mnemonics <= set(MENU_MNEMONICS)
    reserved = reserved_keys()
    assert {"Alt+S", "Alt+L", "Ctrl+E", "Ctrl+Q"} <= set(reserved)
    defaults = [normalize(a.key) for a in ACTIONS]
    assert not set(defaults) & set(reserved)
    assert len(set(defaults)) == len(defaults)


def test_docs_keymap_is_generated_from_the_registry() -> None:
    text = (ROOT / "docs" / "keymap.md").read_text(encoding="utf-8")
    assert text == keymap_markdown(), "regenerate: python -m napari_elephant._napari.keymap"
    for action in ACTIONS:
        assert f"| `{normalize(action.key)}` | {action.title} | `{action.id}` |" in text


def test_points_key_1_no_longer_deletes_nuclei_and_the_nuclei_layer_is_active(tracks) -> None:
    viewer, session, _ = tracks
    graph = session.graph
    nuclei = session.layers["nuclei"]
    assert viewer.layers.selection.active is nuclei and nuclei.mode == "select"
    n = len(graph)
    nuclei.selected_data = {0}
    press(viewer, "1")
    assert len(graph) == n  # napari's "delete selected points" is disarmed on our layer


def test_shift_r_shows_and_hides_the_rejected_nuclei(tracks) -> None:
    viewer, session, _ = tracks
    assert session.show_rejected is False
    press(viewer, "Shift+R")
    assert session.show_rejected is True
    press(viewer, "Shift+R")
    assert session.show_rejected is False
