"""Motion carried from the step before (core/linking/carried.py)."""

from __future__ import annotations

import numpy as np

from napari_elephant.core.graph import Link, Status, TrackingGraph, make_nucleus
from napari_elephant.core.linking import link_round
from napari_elephant.core.linking.carried import carried_shift, motion_sample
from napari_elephant.core.linking.frames import frame_pair, make_scope
from napari_elephant.core.linking.problem import simple_pair
from napari_elephant.core.params import LinkingParams
from napari_elephant.core.training.progress import drain

X = np.array([0.0, 0.0, 1.0])  # a step along x


def grid(n: int = 5, spacing: float = 10.0) -> np.ndarray:
    """n × n centres in a plane (z = 0), ``spacing`` µm apart."""
    y, x = np.meshgrid(np.arange(n) * spacing, np.arange(n) * spacing, indexing="ij")
    return np.stack([np.zeros(n * n), y.ravel(), x.ravel()], axis=1)


def moving_tissue(step: float, timepoints: int = 4) -> TrackingGraph:
    """A 5 × 5 grid that moves ``step`` µm along x per timepoint; ids 100 t + i."""
    nuclei, links = [], []
    for t in range(timepoints):
        for i, c in enumerate(grid() + step * t * X):
            nuclei.append(make_nucleus(100 * t + i, t, c, radius=2.0))
            if t:
                links.append(Link(100 * (t - 1) + i, 100 * t + i))
    return TrackingGraph.from_records(nuclei, links)


def test_the_sample_holds_the_residuals_of_proposed_and_kept_links():
    parents = grid()
    pair = simple_pair(range(25), parents, range(100, 125), parents + 3.0 * X)
    sample = motion_sample(4, pair, [(i, 100 + i) for i in range(25)])
    assert np.allclose(sample.residuals, [0.0, 0.0, -3.0])
    assert np.allclose(sample.positions, pair.centers)
    nxt = simple_pair(range(25), pair.centers, range(200, 225), pair.centers + 3.0 * X)
    assert np.allclose(carried_shift(sample, 5, nxt), [0.0, 0.0, -3.0])
    assert carried_shift(sample, 6, nxt) is None  # not the step just before
    assert carried_shift(None, 5, nxt) is None
    empty = motion_sample(4, pair, [])
    assert carried_shift(empty, 5, nxt) is None


def test_a_link_a_human_keeps_is_part_of_the_motion():
    truth = moving_tissue(3.0, timepoints=2)
    kept = [Link(*lk.key, Status.ACCEPTED) for lk in truth.links()]
    graph = TrackingGraph.from_records(list(truth.nuclei()), kept)
    pair = frame_pair(graph, make_scope(graph, [0, 1]), 1)
    assert pair.n_children == 0  # every child is taken
    assert np.allclose(pair.kept_residuals, [0.0, 0.0, -3.0])
    assert len(pair.kept_positions) == 25


def test_a_motion_the_user_validated_is_carried_to_the_next_steps():
    # 8 µm steps on a 10 µm grid: every nearest parent is the wrong one, and the
    # links of a wrong 2 µm backward motion agree with one another as well as the
    # true ones do; only the step a human accepted tells them apart
    truth = moving_tissue(8.0)
    first = [Link(*lk.key, Status.ACCEPTED) for lk in truth.links() if lk.child < 200]
    right = {lk.key for lk in truth.links()}
    params = LinkingParams(d_search=10.0)
    guided = TrackingGraph.from_records(list(truth.nuclei()), first)
    drain(link_round(guided, params))
    assert {lk.key for lk in guided.links()} == right
    alone = TrackingGraph.from_records(list(truth.nuclei()))
    drain(link_round(alone, params))
    assert len({lk.key for lk in alone.links()} & right) < len(right) / 2


def test_a_motion_that_stops_is_not_carried():
    # the tissue moved 8 µm in the accepted step and then stands still: the carried
    # motion's first links fit worse than those without it, so the rounds start at zero
    moved = moving_tissue(8.0, timepoints=2)
    still = [
        make_nucleus(n.id + 100 * k, n.t + k, n.center, radius=2.0)
        for k in (1, 2)
        for n in moved.nuclei_at(1)
    ]
    first = [Link(*lk.key, Status.ACCEPTED) for lk in moved.links()]
    graph = TrackingGraph.from_records([*moved.nuclei(), *still], first)
    drain(link_round(graph, LinkingParams(d_search=10.0)))
    links = {lk.key for lk in graph.links() if lk.status == Status.PREDICTED}
    assert links == {(100 * t + i, 100 * (t + 1) + i) for t in (1, 2) for i in range(25)}
