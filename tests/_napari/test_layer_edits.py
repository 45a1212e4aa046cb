"""napari's own Points tools (drag, delete, add) become graph actions, one step each."""

from __future__ import annotations

import numpy as np

from tests._napari.helpers import same_graph
from tests._napari.proofreading_helpers import Z, drag, point_at, track_graph


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
