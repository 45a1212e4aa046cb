"""Graph and movie -> layer data: µm coordinates, status colours, lineage tracks."""

from __future__ import annotations

import time

import dask.array as da
import numpy as np

from napari_elephant._napari.layers import (
    GRAPH_KEY,
    ROLE_KEY,
    SELECTED_COLOR,
    STATUS_COLORS,
    WORKSPACE_KEY,
    contrast_limits,
    graph_layer_data,
    image_layer_data,
    layer_scale,
    point_style,
    points_data,
)
from napari_elephant._napari.status_counts import count_statuses, status_counts
from napari_elephant._napari.tracks import track_window, tracks_data, window_covers
from napari_elephant.core.graph import Link, Nucleus, Status, TrackingGraph, sphere_cov
from tests._napari.helpers import VOXEL, division_graph


def test_points_are_centres_at_their_t_with_diameter_and_status_colour() -> None:
    g = division_graph()
    pts = points_data(g)
    assert pts.features["id"].tolist() == [1, 2, 3, 4, 5, 6, 7, 8]
    row = pts.features["id"].tolist().index(4)
    n = g.nucleus(4)
    np.testing.assert_allclose(pts.coords[row], (n.t, *n.center))
    np.testing.assert_allclose(pts.size[row], 2 * n.radius)
    for i, status in zip(pts.features["id"], pts.features["status"], strict=True):
        assert status == g.nucleus(int(i)).status.value
    colours = {s: tuple(c) for s, c in zip(pts.features["status"], pts.color, strict=True)}
    assert colours == {s.value: STATUS_COLORS[s] for s in Status}
    assert STATUS_COLORS[Status.PREDICTED][:3] == (0, 1, 0)  # green
    assert STATUS_COLORS[Status.ACCEPTED][:3] == (0, 1, 1)  # cyan
    assert STATUS_COLORS[Status.REJECTED][:3] == (1, 0, 1)  # magenta


def test_points_of_one_timepoint_only() -> None:
    pts = points_data(division_graph(), t=0)
    assert sorted(pts.features["id"].tolist()) == [1, 6, 7]
    assert np.all(pts.coords[:, 0] == 0)


def test_empty_graph_gives_empty_4d_points() -> None:
    pts = points_data(TrackingGraph())
    assert pts.coords.shape == (0, 4)
    assert pts.size.shape == (0,)


def test_tracks_split_at_divisions_and_graph_points_to_the_mother_track() -> None:
    g = division_graph()
    trk = tracks_data(g)
    track_of = dict(zip(trk.features["node_id"].tolist(), trk.data[:, 0].astype(int), strict=True))
    assert sorted(track_of) == [1, 2, 3, 4, 5]  # rejected link 7 → 8 and lone 6 left out
    assert track_of[1] == track_of[2]
    assert track_of[3] == track_of[5]
    assert len({track_of[1], track_of[3], track_of[4]}) == 3
    assert trk.graph == {track_of[3]: [track_of[1]], track_of[4]: [track_of[1]]}
    for row, nid in zip(trk.data, trk.features["node_id"], strict=True):
        n = g.nucleus(int(nid))
        np.testing.assert_allclose(row[1:], (n.t, *n.center))


def test_tracks_rows_are_sorted_by_track_then_time() -> None:
    trk = tracks_data(division_graph())
    order = np.lexsort((trk.data[:, 1], trk.data[:, 0]))
    np.testing.assert_array_equal(order, np.arange(len(trk)))


def test_graph_without_links_has_no_tracks_layer() -> None:
    g = TrackingGraph()
    g.add_nucleus(0, (1, 2, 3), radius=2)
    assert len(tracks_data(g)) == 0
    layers = graph_layer_data(g, "x")
    assert [kind for *_, kind in layers] == ["points"]
    assert layers[0][1]["metadata"][GRAPH_KEY] is g


def test_status_counts() -> None:
    counts = status_counts(division_graph())
    assert counts == {"predicted": 3, "accepted": 4, "rejected": 1, "links": 5}


def test_counts_at_a_timepoint_and_in_total() -> None:
    counts = count_statuses(division_graph(), 0)  # t=0: 1 accepted, 6 rejected, 7 predicted
    assert counts.nuclei_at_t == {"predicted": 1, "accepted": 1, "rejected": 1}
    assert counts.nuclei_total == {"predicted": 3, "accepted": 4, "rejected": 1}
    assert counts.links_at_t == {"predicted": 0, "accepted": 1, "rejected": 1}  # 1→2, 7→8
    assert counts.links_total == {"predicted": 1, "accepted": 3, "rejected": 1}
    assert count_statuses(division_graph(), 2).links_at_t["accepted"] == 1  # 3→5
    assert count_statuses(division_graph(), 9).nuclei_at_t == dict.fromkeys(
        ("predicted", "accepted", "rejected"), 0
    )


def test_points_in_voxels_with_the_image_scale() -> None:
    g = division_graph()
    pts = points_data(g, t=2, voxel=VOXEL)
    n = g.nucleus(int(pts.features["id"][0]))
    np.testing.assert_allclose(
        pts.coords[0], (2, n.center[0] / 2, n.center[1] / 0.5, n.center[2] / 0.5)
    )
    np.testing.assert_allclose(pts.size[0], 2 * n.radius / 0.5)  # napari scales by x
    assert layer_scale(VOXEL) == (1.0, 2.0, 0.5, 0.5)
    assert layer_scale(None) == (1.0, 1.0, 1.0, 1.0)


def test_rejected_nuclei_hidden_unless_asked() -> None:
    g = division_graph()
    assert 6 in points_data(g, t=0).features["id"]
    assert 6 not in points_data(g, t=0, show_rejected=False).features["id"]


def test_confidence_is_a_feature_that_napari_shows_in_the_status_bar() -> None:
    from napari.layers import Points

    g = division_graph()
    g.update_nucleus(7, confidence=0.25)
    pts = points_data(g, t=0, show_rejected=False)  # the column stays row-aligned
    by_id = dict(zip(pts.features["id"].tolist(), pts.features["confidence"], strict=True))
    assert by_id[7] == 0.25 and np.isnan(by_id[1])  # NaN: no confidence (manual)
    yx = pts.coords[:, 2:]  # one plane, so that no slicing hides a point
    layer = Points(yx, features=pts.features, size=pts.size)
    row = pts.features["id"].tolist().index(7)
    assert "confidence: 0.25" in layer.get_status(yx[row], world=True)["coordinates"]


def test_selected_points_get_a_white_thick_border() -> None:
    colors = np.array([STATUS_COLORS[Status.PREDICTED], STATUS_COLORS[Status.ACCEPTED]])
    style = point_style(colors, np.array([False, True]))
    np.testing.assert_allclose(style["border_color"], [colors[0], SELECTED_COLOR])
    assert style["border_width"][1] > style["border_width"][0]
    np.testing.assert_allclose(style["face_color"][:, :3], colors[:, :3])


def test_tracks_of_a_window_keep_only_its_links_in_voxels() -> None:
    g = division_graph()
    trk = tracks_data(g, VOXEL, window=(2, 3))
    assert sorted(trk.features["node_id"].tolist()) == [3, 5]  # 2 → 3 starts before
    assert trk.graph == {}
    row = trk.features["node_id"].tolist().index(5)
    np.testing.assert_allclose(trk.data[row, 2:], np.array(g.nucleus(5).center) / VOXEL.array)
    assert track_window(10, 5, 0, 3) == (2, 13)
    assert window_covers((2, 13), 7, 5, 0) and not window_covers((2, 13), 6, 5, 0)


def test_workspace_layers_are_live_per_timepoint_in_voxels() -> None:
    class FakeWorkspace:
        voxel_size = VOXEL

    g = division_graph()
    layers = graph_layer_data(g, "w", {WORKSPACE_KEY: FakeWorkspace()})
    assert [kind for *_, kind in layers] == ["points", "vectors", "tracks"]
    assert [kw["metadata"][ROLE_KEY] for _, kw, _ in layers] == ["nuclei", "outlines", "tracks"]
    _, kw, _ = layers[0]
    assert sorted(kw["features"]["id"].tolist()) == [1, 7]  # first timepoint, 6 rejected
    assert all(kwargs["scale"] == (1.0, 2.0, 0.5, 0.5) for _, kwargs, _ in layers)


def test_image_layer_is_in_um_with_cheap_contrast() -> None:
    data = da.from_array(np.arange(2 * 4 * 6 * 6, dtype=np.uint16).reshape(2, 4, 6, 6))
    _, kwargs, kind = image_layer_data(data, VOXEL, "movie")
    assert kind == "image"
    assert kwargs["scale"] == (1.0, 2.0, 0.5, 0.5)
    assert kwargs["metadata"]["voxel_size"] == (2.0, 0.5, 0.5)
    assert kwargs["metadata"]["voxel_size_missing"] is False
    lo, hi = kwargs["contrast_limits"]
    assert 0 <= lo < hi <= data[0].max().compute()  # from the first timepoint only


def test_image_without_voxel_size_opens_at_scale_one_and_says_so() -> None:
    _, kwargs, _ = image_layer_data(np.zeros((1, 2, 3, 3)), None, "movie")
    assert kwargs["scale"] == (1.0, 1.0, 1.0, 1.0)
    assert kwargs["metadata"]["voxel_size_missing"] is True
    assert contrast_limits(np.zeros((1, 2, 3, 3))) == (0.0, 1.0)  # flat: still a range


def test_contrast_reads_a_bounded_sample() -> None:
    class Probe:
        shape = (3, 40, 1000, 1000)

        def __getitem__(self, key):
            self.key = key
            return np.zeros((3, 1000, 1000))[:, key[2], key[3]]

    probe = Probe()
    contrast_limits(probe, max_voxels=100_000)
    t, zs, ys, _ = probe.key
    assert t == 0 and len(zs) == 3
    assert 3 * len(range(1000)[ys]) ** 2 <= 2 * 100_000


SPHERE = sphere_cov(3.0)


def test_layer_functions_are_fast_on_100k_nuclei() -> None:
    n_t, n = 50, 2000
    rng = np.random.default_rng(0)
    nuclei, links = [], []
    for t in range(n_t):
        base = t * n + 1
        centres = rng.random((n, 3)) * 100
        nuclei += [Nucleus(base + i, t, tuple(c), SPHERE) for i, c in enumerate(centres.tolist())]
        if t:
            links += [Link(base - n + i, base + i) for i in range(n)]
    g = TrackingGraph.from_records(nuclei, links)
    start = time.perf_counter()
    assert len(points_data(g).coords) == 100_000
    assert len(tracks_data(g)) == 100_000
    assert time.perf_counter() - start < 2.0  # ~0.25 s measured; generous for CI
