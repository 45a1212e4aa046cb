"""The pure helpers of benchmarks/real_movies.py: clicks, scoring, the 2D LoG path."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from napari_elephant.core.graph import Status, TrackingGraph
from napari_elephant.core.units import VoxelSize

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from log_detector import log_candidates
from real_movies import choose_clicks
from real_movies_peers import laptrack_links, median_radius, scored, tuned_log

PIXEL = VoxelSize(1.0, 0.5, 0.5)  # a 2D movie: one z slice
SHAPE = (1, 64, 64)
RADIUS = 3.0  # µm


def tracks(n_t: int, starts: list[tuple[float, float]], two_d: bool = True) -> TrackingGraph:
    """Still nuclei (z = 0 in 2D), one linked track per start."""
    g = TrackingGraph()
    cov = (0.25, 0, 0, RADIUS**2, 0, RADIUS**2) if two_d else None
    for y, x in starts:
        prev = None
        for t in range(n_t):
            nid = g.add_nucleus(t, (0.0, y, x), cov=cov, radius=None if two_d else RADIUS)
            if prev is not None:
                g.add_link(prev, nid)
            prev = nid
    return g


def render_2d(centers_um: list[tuple[float, float]], seed: int = 0) -> np.ndarray:
    """Gaussian discs of the LoG's 2D scale (sigma = radius/√2) on a flat background."""
    yy, xx = np.indices(SHAPE[1:]) * PIXEL.y
    image = np.full(SHAPE[1:], 100.0)
    s2 = RADIUS**2 / 2
    for y, x in centers_um:
        image += 400.0 * np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * s2))
    noisy = image + np.random.default_rng(seed).normal(0.0, 1.0, image.shape)
    return noisy[None]


# ------------------------------------------------------------------ clicks
def test_clicks_are_seeded_distinct_accepted_nuclei_of_t0():
    truth = tracks(3, [(5.0 * i, 5.0 * i) for i in range(8)])
    a = choose_clicks(truth, 3, seed=4)
    assert [n.id for n in a] == [n.id for n in choose_clicks(truth, 3, seed=4)]
    assert len({n.id for n in a}) == 3
    assert all(n.t == 0 and n.status == Status.ACCEPTED for n in a)
    seeds = {tuple(n.id for n in choose_clicks(truth, 3, seed=s)) for s in range(6)}
    assert len(seeds) > 1  # the seed matters


def test_more_clicks_than_nuclei_takes_them_all():
    truth = tracks(2, [(0.0, 0.0), (10.0, 10.0)])
    assert sorted(n.id for n in choose_clicks(truth, 5, seed=0)) == sorted(truth.ids_at(0))


# ----------------------------------------------------------------- scoring
def test_scores_on_every_timepoint_and_after_the_clicked_one():
    truth = tracks(3, [(0.0, 0.0), (0.0, 20.0)])
    missing = int(truth.ids_at(0)[0])  # the result misses one nucleus of t = 0
    keep = [n for n in truth.nuclei() if n.id != missing]
    links = [lk for lk in truth.links() if missing not in lk.key]
    result = TrackingGraph.from_records(keep, links)
    s = scored(result, truth, [0, 1, 2], dmax=4.0)
    assert (s["all"].detection.tp, s["all"].detection.fn) == (5, 1)
    assert s["all"].links.fn == 1
    assert s["t>=1"].detection.f1 == 1.0 and s["t>=1"].links.f1 == 1.0
    assert s["t>=1"].tra == 1.0 > s["all"].tra


def test_matching_distance_is_the_given_one():
    truth = tracks(1, [(0.0, 0.0)])
    n = next(truth.nuclei())
    result = TrackingGraph.from_records([n.with_(center=(0.0, 3.5, 0.0))], [])
    assert scored(result, truth, [0], dmax=4.0)["all"].detection.tp == 1
    assert scored(result, truth, [0], dmax=3.0)["all"].detection.tp == 0


# --------------------------------------------------------------- 2D LoG path
def test_radius_is_the_in_plane_one_not_the_ball_of_equal_volume():
    truth = tracks(1, [(0.0, 0.0)])  # z radius 0.5 µm, as in a 2D movie's truth
    assert median_radius(truth) == pytest.approx(RADIUS)
    assert next(truth.nuclei()).radius < 0.6 * RADIUS


def test_log_on_one_z_slice_finds_the_discs_in_plane():
    centers = [(8.2, 9.7), (20.4, 21.1), (9.9, 24.3)]
    found, _ = log_candidates(render_2d(centers), PIXEL, RADIUS)
    assert np.all(found[:, 0] == 0.0)  # z stays on the slice
    for y, x in centers:
        d = np.linalg.norm(found[:3, 1:] - (y, x), axis=1)
        assert d.min() < PIXEL.y, (y, x, found[:3])


def test_tuned_log_on_a_2d_movie_scores_the_truth():
    centers = [(8.2, 9.7), (20.4, 21.1), (9.9, 24.3)]
    truth = tracks(2, centers)
    movie = {t: render_2d(centers, seed=t) for t in (0, 1)}
    result = tuned_log(movie.__getitem__, [0, 1], PIXEL, truth, dmax=2.0)
    assert (result.scores.tp, result.scores.fp, result.scores.fn) == (6, 0, 0)
    assert len(result.graph) == 6 and result.graph.n_links == 0


def test_laptrack_links_still_nuclei_into_tracks():
    pytest.importorskip("laptrack")
    truth = tracks(3, [(0.0, 0.0), (0.0, 20.0)])
    unlinked = TrackingGraph.from_records(list(truth.nuclei()), [])
    linked = laptrack_links(unlinked, cutoff=5.0, split=None, gap=None)
    assert {lk.key for lk in linked.links()} == {lk.key for lk in truth.links()}
