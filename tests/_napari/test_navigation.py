"""Navigation: searches over the graph (no viewer), then the keys moving the viewer."""

from __future__ import annotations

import numpy as np

from napari_elephant._napari.navigation import (
    by_doubt,
    first,
    is_division,
    is_predicted,
    is_track_end,
    relative_at,
    scan,
    sibling,
)
from napari_elephant._napari.viewer_dims import camera, current_t
from tests._napari.proofreading_helpers import Z, press, track_graph

# track_graph: 1 (t0) → 2 (t1) → {3, 4} (t2); 5 (t0) and 8 (t2) predicted and alone;
# 6 (t0) → 7 (t1) by a rejected link.


def test_scan_visits_every_nucleus_once_from_the_current_one_on() -> None:
    g = track_graph()
    assert list(scan(g, 0)) == [1, 5, 6, 2, 7, 3, 4, 8]
    assert list(scan(g, 1, after=2)) == [7, 3, 4, 8, 1, 5, 6, 2]
    assert list(scan(g, 2, after=8)) == [1, 5, 6, 2, 7, 3, 4, 8]


def test_searches_find_predicted_track_ends_and_divisions() -> None:
    g = track_graph()
    assert first(g, 0, 1, lambda i: is_predicted(g, i)) == 5
    assert first(g, 1, None, lambda i: is_predicted(g, i)) == 3
    # ends before the last timepoint: 5 (alone), 6 (its only link is rejected), 7
    ends = [i for i in scan(g, 0) if is_track_end(g, i, last_t=2)]
    assert ends == [5, 6, 7]
    assert [i for i in scan(g, 0) if is_division(g, i)] == [2]
    g.update_nucleus(7, tags={"division"})
    assert is_division(g, 7)


def test_next_unvalidated_takes_the_doubtful_first_within_a_timepoint() -> None:
    g = track_graph()
    g.update_nucleus(3, confidence=0.8)
    g.update_nucleus(4, confidence=0.2)
    g.update_nucleus(5, confidence=0.6)
    assert by_doubt(g, 2) == [4, 3, 8]  # 8 has no confidence: last
    assert by_doubt(g, 0) == [5, 1, 6]
    predicted = lambda i: is_predicted(g, i)  # noqa: E731
    assert first(g, 1, None, predicted, by_doubt) == 4  # time order across timepoints
    g.set_status([4], "accepted")  # N, then 4: the accepted one keeps its place
    assert first(g, 2, 4, predicted, by_doubt) == 3
    assert first(g, 2, 3, predicted, by_doubt) == 8
    assert list(scan(g, 2, after=3, order=by_doubt)) == [8, 5, 1, 6, 2, 7, 4, 3]


def test_relatives_follow_the_track_through_time() -> None:
    g = track_graph()
    assert relative_at(g, 1, 2) == 3  # through the first daughter
    assert relative_at(g, 4, 0) == 1
    assert relative_at(g, 7, 0) is None  # a rejected link is no lineage
    assert relative_at(g, 5, 1) is None
    assert sibling(g, 3) == 4 and sibling(g, 2) is None


def test_relatives_divisions_and_ends_see_lineage_links_beside_rejected_ones() -> None:
    g = track_graph()
    g.add_link(5, 7)  # 7's link from 6 is rejected: 5 may be its parent
    g.add_link(2, 8, "rejected")  # a third, rejected, child of 2
    assert relative_at(g, 7, 0) == 5 and relative_at(g, 5, 1) == 7
    assert sibling(g, 3) == 4 and sibling(g, 7) is None
    assert is_division(g, 2) and not is_division(g, 5)
    assert [i for i in scan(g, 0) if is_track_end(g, i, last_t=2)] == [6, 7]


def _centred_on(viewer, center) -> bool:
    return np.allclose(camera(viewer).center[-2:], center[-2:]) and np.isclose(
        viewer.dims.point[1], center[0]
    )


def test_time_keys_follow_the_selected_track_and_keep_it_centred(tracks) -> None:
    viewer, session, _ = tracks
    session.selection.select_one(1)
    press(viewer, "3")
    assert current_t(viewer) == 1 and session.selection.current == 2
    assert _centred_on(viewer, session.graph.nucleus(2).center)
    press(viewer, "3")
    assert current_t(viewer) == 2 and session.selection.current == 3
    press(viewer, "2")
    press(viewer, "2")
    assert current_t(viewer) == 0 and session.selection.current == 1
    press(viewer, "2")  # no timepoint -1: nothing moves
    assert current_t(viewer) == 0
    session.selection.clear()
    press(viewer, "3")
    assert current_t(viewer) == 1 and session.selection.current is None


def test_family_keys_and_w_jump_to_the_relative(tracks) -> None:
    viewer, session, _ = tracks
    session.selection.select_one(3)
    press(viewer, "B")
    assert session.selection.current == 4
    press(viewer, "Up")
    assert session.selection.current == 2 and current_t(viewer) == 1
    press(viewer, "Down")
    assert session.selection.current == 3 and current_t(viewer) == 2
    camera(viewer).center = (0.0, 0.0)
    viewer.dims.set_point(1, 0.0)
    press(viewer, "W")
    assert _centred_on(viewer, (Z, 5.0, 5.0))


def test_next_keys_visit_predicted_nuclei_track_ends_and_divisions(tracks) -> None:
    viewer, session, _ = tracks
    seen = []
    for _ in range(4):
        press(viewer, "N")
        seen.append(session.selection.current)
    assert seen == [5, 3, 4, 8]
    assert current_t(viewer) == 2
    press(viewer, "T")  # from t=2 on, wrapping: 5 at t=0
    assert session.selection.current == 5 and current_t(viewer) == 0
    press(viewer, "F")
    assert session.selection.current == 2
    press(viewer, "F")  # the only division: stays, with a message
    assert session.selection.current == 2


def test_n_visits_the_doubtful_first_and_the_layer_shows_confidence(tracks) -> None:
    viewer, session, _ = tracks
    graph = session.require_graph()
    graph.update_nucleus(3, confidence=0.8)
    graph.update_nucleus(4, confidence=0.2)
    seen = []
    for _ in range(4):
        press(viewer, "N")
        seen.append(session.selection.current)
    assert seen == [5, 4, 3, 8]
    features = session.layers["nuclei"].features
    by_id = dict(zip(features["id"].tolist(), features["confidence"].tolist(), strict=True))
    assert by_id[4] == 0.2 and by_id[3] == 0.8 and np.isnan(by_id[8])


def test_n_from_a_nucleus_just_added_starts_at_the_timepoints_most_doubtful(tracks) -> None:
    viewer, session, _ = tracks
    graph = session.require_graph()
    graph.update_nucleus(3, confidence=0.8)
    graph.update_nucleus(4, confidence=0.2)
    added = graph.add_nucleus(2, (Z, 30.0, 30.0), radius=2.0)  # accepted, no confidence
    viewer.dims.set_point(0, 2)
    session.selection.select_one(added)
    press(viewer, "N")
    assert session.selection.current == 4  # not t=0's 5: the added one is not in the order
