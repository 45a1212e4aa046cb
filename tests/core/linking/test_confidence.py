"""The linker's confidence in its links (core/linking/confidence.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from napari_elephant.core.graph import TrackingGraph, make_nucleus
from napari_elephant.core.linking import link_round
from napari_elephant.core.linking.confidence import link_confidences
from napari_elephant.core.linking.problem import simple_pair
from napari_elephant.core.params import LinkingParams
from napari_elephant.core.training.progress import drain


def test_a_link_with_no_rival_is_sure_and_one_between_two_parents_is_not():
    parents = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 10.0]])
    children = np.array([[0.0, 0.0, 0.5], [0.0, 0.0, 5.2]])  # the second sits between
    pair = simple_pair([1, 2], parents, [11, 12], children)
    q = link_confidences(pair, [(1, 11), (2, 12)])
    assert q[(1, 11)] == pytest.approx(1 - (0.5 / 5.2) ** 2)  # nearest rival: child 12
    assert q[(2, 12)] == pytest.approx(1 - (4.8 / 5.2) ** 2)  # rival: parent 1
    assert link_confidences(pair, []) == {}


def test_a_division_is_as_sure_as_its_daughters_straddle_their_mother():
    parents = np.array([[0.0, 0.0, 0.0], [0.0, 400.0, 0.0]])
    covs = np.stack([np.eye(3) * 9.0] * 2)  # radius 3 µm
    for shift, expected in ((0.0, 1.0), (1.5, 0.75)):  # midpoint 0 or 1.5 µm off her centre
        children = np.array([[0.0, 0.0, -2.0 + shift], [0.0, 0.0, 2.0 + shift], [0, 400.0, 0]])
        pair = replace(simple_pair([1, 2], parents, [11, 12, 13], children), parent_covs=covs)
        q = link_confidences(pair, [(1, 11), (1, 12), (2, 13)])
        assert q[(1, 11)] == pytest.approx(expected, abs=1e-4)
        assert q[(1, 12)] == pytest.approx(expected, abs=1e-4)
        assert q[(2, 13)] == 1.0  # nothing near: the sister does not count as a rival


def test_a_far_flung_division_is_sure_and_unlike_daughters_are_not():
    # mother 1 divides: her daughters fly 7 µm out, nearer the neighbours 2 and 3
    # than to her.  Six still nuclei far away tell how much a size varies (2 %).
    parents = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, -9.0], [0.0, 0.0, 9.0]])
    parents = np.vstack([parents, [[0.0, 100.0 + 10 * k, 0.0] for k in range(6)]])
    children = np.vstack([[[0.0, 0.0, -7.0], [0.0, 0.0, 7.0]], parents[3:]])
    links = [(1, 11), (1, 12)] + [(4 + k, 14 + k) for k in range(6)]
    pair = simple_pair([1, 2, 3, *range(4, 10)], parents, [11, 12, *range(14, 20)], children)
    covs = np.stack([np.eye(3) * 9.0] * 9)
    still = [3.0 * (1.02 if k % 2 else 0.98) for k in range(6)]
    for sister, expected in ((2.4, 1.0), (1.2, 0.0)):  # alike, or a small false nucleus
        radii = np.array([2.4, sister, *still])
        sized = replace(pair, parent_covs=covs, child_radii=radii, parent_radii=np.full(9, 3.0))
        q = link_confidences(sized, links)
        assert q[(1, 11)] == q[(1, 12)] == pytest.approx(expected, abs=1e-3)


def test_a_run_stores_the_confidence_on_its_links_and_refreshes_it():
    nuclei = [make_nucleus(1, 0, (5.0, 10.0, 10.0), radius=3.0)]
    nuclei += [make_nucleus(2, 1, (5.0, 10.0, 11.0), radius=3.0)]
    graph = TrackingGraph.from_records(nuclei)
    # no coherence rounds: with one nucleus they would move its estimate onto its parent
    params = LinkingParams(d_search=6.0, d_disp=1.0, d_dist=1.0, coherence_rounds=0)
    drain(link_round(graph, params))
    assert graph.link(1, 2).confidence == 1.0
    graph.add_nucleus(0, (5.0, 10.0, 13.0), radius=3.0)  # a rival parent appears
    result = drain(link_round(graph, params))
    assert graph.link(1, 2).confidence == pytest.approx(0.75)  # 1 − (1 µm / 2 µm)²
    assert (result.links_added, result.links_unchanged) == (0, 1)
