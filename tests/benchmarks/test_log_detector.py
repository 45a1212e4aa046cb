"""The LoG baseline of benchmarks/log_detector.py on tiny rendered blobs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from napari_elephant.core.graph import TrackingGraph
from napari_elephant.core.units import VoxelSize

# benchmarks/ holds scripts, not a package: import them the way they import each other
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from log_detector import best_threshold, log_candidates, prune

VS = VoxelSize(2.0, 0.5, 0.5)
SHAPE = (10, 48, 48)
RADIUS = 2.5  # µm
BRIGHT = [(6.3, 6.2, 7.9), (10.9, 17.1, 6.4), (13.7, 8.6, 17.3)]  # µm, off the voxel grid
FAINT = [(4.1, 19.0, 19.0), (15.0, 19.5, 3.0)]  # weak blobs: noise the threshold must reject


def render(centers, amplitudes, seed: int = 0) -> np.ndarray:
    """Gaussian blobs of the LoG's scale (sigma = radius/√3 µm) plus faint noise."""
    grid = VS.to_um(np.stack(np.indices(SHAPE), axis=-1))
    volume = np.full(SHAPE, 100.0)
    s2 = (RADIUS / np.sqrt(3)) ** 2
    for c, a in zip(centers, amplitudes, strict=True):
        volume += a * np.exp(-np.sum((grid - c) ** 2, axis=-1) / (2 * s2))
    return volume + np.random.default_rng(seed).normal(0.0, 1.0, SHAPE)


def truth_of(frames: dict[int, list]) -> TrackingGraph:
    g = TrackingGraph()
    for t, centers in frames.items():
        for c in centers:
            g.add_nucleus(t, c, radius=RADIUS)
    return g


def test_log_finds_the_blob_centres_within_a_voxel():
    centers, quality = log_candidates(render(BRIGHT, [500.0] * 3), VS, RADIUS)
    assert np.all(np.diff(quality) <= 0)  # strongest first
    found = centers[:3]
    for c in BRIGHT:
        nearest = found[np.argmin(np.linalg.norm(found - c, axis=1))]
        assert np.all(np.abs(nearest - c) <= VS.array), (nearest, c)


def test_best_threshold_rejects_weak_maxima():
    candidates, truth = {}, {}
    for t in (0, 1):
        volume = render(BRIGHT + FAINT, [500.0] * 3 + [60.0] * 2, seed=t)
        candidates[t] = log_candidates(volume, VS, RADIUS)
        truth[t] = BRIGHT
    faint_q = max(
        q[np.linalg.norm(c[:, None] - np.asarray(FAINT), axis=-1).min(axis=1) < 1.5].max()
        for c, q in candidates.values()
    )
    threshold, scores = best_threshold(candidates, truth_of(truth), dmax=3.0)
    assert (scores.tp, scores.fp, scores.fn) == (6, 0, 0)
    assert scores.f1 == 1.0
    assert threshold > faint_q  # the planted weak blobs do not pass


def test_best_threshold_counts_missed_truth():
    candidates = {0: (np.array([[0.0, 0.0, 0.0], [0.0, 20.0, 0.0]]), np.array([5.0, 1.0]))}
    truth = truth_of({0: [(0.0, 0.5, 0.0), (0.0, 40.0, 0.0)]})
    threshold, scores = best_threshold(candidates, truth, dmax=3.0)
    assert threshold == pytest.approx(5.0)  # the spot at y=20 is a false positive
    assert (scores.tp, scores.fp, scores.fn) == (1, 0, 1)


def test_prune_keeps_the_stronger_of_two_close_spots():
    centers = np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 9.0, 0.0]])
    kept = prune(centers, np.array([1.0, 2.0, 0.5]), min_distance=2.5)
    assert kept.tolist() == [1, 2]
