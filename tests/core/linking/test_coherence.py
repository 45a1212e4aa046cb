"""Motion coherence: neighbours' links correct a shared estimation error; sibling divisions."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from napari_elephant.core.graph import Link, Status, TrackingGraph, make_nucleus
from napari_elephant.core.linking import link_round
from napari_elephant.core.linking.coherence import (
    coherent_link,
    consensus_shift,
    sibling_divisions,
)
from napari_elephant.core.linking.global_ import global_link
from napari_elephant.core.linking.nn import nn_link
from napari_elephant.core.linking.problem import simple_pair
from napari_elephant.core.params import LinkingParams
from napari_elephant.core.synthetic import ground_truth
from napari_elephant.core.training.progress import drain


def fixed(**changes) -> LinkingParams:
    """The paper's distances in µm (the geometry of these tests is drawn for them)."""
    return LinkingParams(**({"d_search": 5.0, "d_disp": 1.0, "d_dist": 1.0} | changes))


def grid(n: int = 5, spacing: float = 10.0) -> np.ndarray:
    """n × n centres in a plane (z = 0), ``spacing`` µm apart."""
    y, x = np.meshgrid(np.arange(n) * spacing, np.arange(n) * spacing, indexing="ij")
    return np.stack([np.zeros(n * n), y.ravel(), x.ravel()], axis=1)


def shifted_grid_pair(shift: float):
    """A grid whose every nucleus moved ``shift`` µm along x: a tissue-wide motion."""
    parents = grid()
    children = parents + np.array([0.0, 0.0, shift])
    ids = range(len(parents))
    return simple_pair(ids, parents, [100 + i for i in ids], children)


def test_a_shared_offset_is_recovered_from_the_neighbours_links():
    # 6 µm shifts on a 10 µm grid: the nearest parent is the wrong one for most
    # children (it lies 4 µm away, the true one 6 µm), but a wrong link's residual
    # is not what the neighbours agree on once the right links appear
    pair = shifted_grid_pair(6.0)
    truth = {(i, 100 + i) for i in range(25)}
    params = fixed(d_search=8.0)
    assert len(set(global_link(pair, params)) & truth) < 10
    assert set(coherent_link(global_link, pair, params, rounds=3)) == truth


def test_consensus_shift_is_the_median_of_the_neighbours_residuals():
    pair = shifted_grid_pair(2.0)
    right = [(i, 100 + i) for i in range(25)]
    wrong_one = [(1, 100), *right[1:]]  # one wrong link among 25 changes no median
    for links in (right, wrong_one):
        assert np.allclose(consensus_shift(pair, links), [0.0, 0.0, -2.0])
    assert np.allclose(consensus_shift(pair, []), 0.0)


def test_zero_rounds_is_the_linker_itself():
    pair = shifted_grid_pair(6.0)
    params = fixed(d_search=8.0)
    for linker in (nn_link, global_link):
        assert coherent_link(linker, pair, params, 0) == linker(pair, params)


def test_far_flung_daughters_are_found_by_their_midpoint():
    # mother at 0; daughters 9 µm away on either side, a bystander parent near one
    parents = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 12.0]])
    children = np.array([[0.0, 0.0, -9.0], [0.0, 0.0, 9.0], [0.0, 0.0, 12.5]])
    pair = simple_pair([1, 2], parents, [11, 12, 13], children)
    params = fixed(d_search=10.0)
    first = [(1, 11), (2, 13)]  # the one-to-one links; 12 was left
    assert sibling_divisions(pair, first, params) == [(1, 12)]
    # a lone child that is not the mirror image of the first one is no daughter
    lopsided = simple_pair([1], parents[:1], [11, 12], children[[0, 2]] - [0, 0, 20.0])
    assert sibling_divisions(lopsided, [(1, 11)], params) == []
    # rejected by a human: never proposed (12 then pairs with 13 around parent 2)
    banned = replace(pair, forbidden=frozenset({(1, 12)}))
    assert sibling_divisions(banned, first, params) == [(2, 12)]


def test_coherence_rounds_link_a_fast_moving_movie_better():
    truth = ground_truth("fast_motion", 5, shape=(5, 16, 160, 160))
    found = {}
    for rounds in (0, 3):
        graph = TrackingGraph.from_records(list(truth.nuclei()))
        drain(link_round(graph, fixed(d_search=10.0), method="global", coherence=rounds))
        assert all(lk.status == Status.PREDICTED for lk in graph.links())
        found[rounds] = {lk.key for lk in graph.links()} & {lk.key for lk in truth.links()}
    assert len(found[3]) > len(found[0]) + 0.1 * truth.n_links
    graph = TrackingGraph.from_records(list(truth.nuclei()))  # the setting, not the argument
    params = fixed(d_search=10.0, coherence_rounds=3)
    drain(link_round(graph, params, method="global"))
    assert {lk.key for lk in graph.links()} & {lk.key for lk in truth.links()} == found[3]


def test_coherence_keeps_accepted_links():
    truth = ground_truth("tiny", 0)
    first = next(iter(truth.links()))
    graph = TrackingGraph.from_records(list(truth.nuclei()), [Link(*first.key, Status.ACCEPTED)])
    drain(link_round(graph, fixed(), method="global", coherence=3))
    assert graph.link(*first.key).status == Status.ACCEPTED


def test_a_daughter_goes_to_the_mother_whose_first_child_is_far():
    # mother 1's first child (a daughter) sits 8 µm off; neighbour 2's child 0.5 µm off.
    # The left child 12 is closer to the midpoint rule of parent 2 (1.3² against 2²),
    # but only with mother 1 does the pair explain a first child that is far away
    parents = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 14.0]])
    children = np.array([[0.0, 0.0, -8.0], [0.0, 0.0, 12.0], [0.0, 0.0, 14.5]])
    pair = simple_pair([1, 2], parents, [11, 12, 13], children)
    params = fixed(d_search=10.0)
    assert sibling_divisions(pair, [(1, 11), (2, 13)], params) == [(1, 12)]
    # with the mother's first child close too, the nearer midpoint wins again
    near = children.copy()
    near[0, 2] = -0.5
    close = simple_pair([1, 2], parents, [11, 12, 13], near)
    assert sibling_divisions(close, [(1, 11), (2, 13)], params) == [(2, 12)]


def test_daughters_must_straddle_their_mother():
    # mother 1 (radius 3 µm) keeps her child 11 on her; a nucleus starting a track
    # nearby is her daughter only when the pair's midpoint falls inside her
    parents = np.array([[0.0, 0.0, 0.0], [0.0, 30.0, 0.0]])
    covs = np.stack([np.eye(3) * 9.0] * 2)
    params = fixed(d_search=10.0)
    for lone_x, daughter in ((-5.0, True), (-8.0, False)):
        children = np.array([[0.0, 0.0, 0.5], [0.0, 0.0, lone_x], [0.0, 30.0, 0.0]])
        pair = simple_pair([1, 2], parents, [11, 12, 13], children)
        links = [(1, 11), (2, 13)]
        assert sibling_divisions(pair, links, params) == [(1, 12)]  # no ellipsoids: no check
        checked = replace(pair, parent_covs=covs)
        assert sibling_divisions(checked, links, params) == ([(1, 12)] if daughter else [])


def test_a_daughter_a_human_linked_brings_her_sister():
    # the user accepted mother 1 → daughter 2; the linker adds the sister 3 beside her
    nuclei = [make_nucleus(1, 0, (5.0, 20.0, 20.0), radius=3.0)]
    nuclei += [make_nucleus(i, 1, (5.0, 20.0, x), radius=3.0) for i, x in ((2, 17.0), (3, 23.5))]
    graph = TrackingGraph.from_records(nuclei, [Link(1, 2, Status.ACCEPTED)])
    drain(link_round(graph, fixed(d_search=6.0)))
    assert sorted(graph.children(1)) == [2, 3]
    assert graph.link(1, 3).status == Status.PREDICTED
