"""The global linker: one assignment per pair of timepoints, with divisions, starts, ends."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.optimize import linear_sum_assignment

from napari_elephant.core.linking.global_ import (
    Costs,
    candidate_pairs,
    global_link,
    slot_costs,
)
from napari_elephant.core.linking.nn import nn_link
from napari_elephant.core.linking.problem import FramePair, simple_pair
from napari_elephant.core.params import LinkingParams


def fixed(**changes) -> LinkingParams:
    """The paper's distances in µm (the geometry of these tests is drawn for them)."""
    return LinkingParams(**({"d_search": 5.0, "d_disp": 1.0, "d_dist": 1.0} | changes))


def x_axis(*xs: float) -> np.ndarray:
    return np.array([[0.0, 0.0, x] for x in xs])


def pair_on_x(parents, children) -> FramePair:
    """Parents 1, 2, … and children 11, 12, … on the x axis."""
    return simple_pair(
        range(1, len(parents) + 1),
        x_axis(*parents),
        range(11, 11 + len(children)),
        x_axis(*children),
    )


def test_assignment_is_chosen_together_where_greedy_nearest_neighbour_divides():
    # X (1.4) is nearest to A (0), Y (-1.5) too: nearest neighbour makes A divide and
    # leaves B (3) without a child; the assignment links X to B instead
    pair = pair_on_x([0, 3], [1.4, -1.5])
    assert set(nn_link(pair, fixed())) == {(1, 11), (1, 12)}
    assert set(global_link(pair, fixed())) == {(1, 12), (2, 11)}


def test_division_when_no_other_parent_claims_the_daughters():
    pair = pair_on_x([0], [3, -3])
    assert set(global_link(pair, fixed())) == {(1, 11), (1, 12)}
    # a division cost above the start cost makes the second daughter start a track
    expensive = fixed(division_cost=1.0)
    assert len(global_link(pair, expensive)) == 1


def test_track_starts_and_ends_beat_links_that_cost_more():
    pair = pair_on_x([0, 20], [1, 24])  # links of 1 µm and 4 µm
    assert set(global_link(pair, fixed())) == {(1, 11), (2, 12)}
    # start + end = 0.2 × 25 µm² = 5: the 4 µm link (16 µm²) loses, the 1 µm one stays
    cheap = fixed(start_cost=0.1, end_cost=0.1)
    assert set(global_link(pair, cheap)) == {(1, 11)}
    # a child beyond d_search starts a track, its would-be parent ends one
    assert global_link(pair_on_x([0], [6]), fixed(d_search=5)) == []


def test_human_constraints_shape_the_columns():
    base = {
        "parent_ids": [1, 2],
        "parent_centers": x_axis(0, 3),
        "child_ids": [11],
        "estimates": x_axis(0.5),
    }
    params = fixed()
    assert global_link(FramePair(**base), params) == [(1, 11)]
    assert global_link(FramePair(**base, forbidden=frozenset({(1, 11)})), params) == [(2, 11)]
    assert global_link(FramePair(**base, capacity=np.array([0, 2])), params) == [(2, 11)]
    # a parent that keeps a child pays the division cost for another: B (2.5 µm) is cheaper
    kept = FramePair(**base, kept={0: ((1.0, 1.0),)})
    first, second = slot_costs(kept, Costs.from_params(params))
    assert np.isinf(first[0]) and np.isfinite(second[0])
    assert global_link(kept, params) == [(2, 11)]


def _total_cost(pair: FramePair, links, costs: Costs) -> float:
    """The objective the linker minimises, from scratch."""
    p_index = {int(p): i for i, p in enumerate(pair.parent_ids)}
    c_index = {int(c): i for i, c in enumerate(pair.child_ids)}
    total, seen = 0.0, set()
    for p, c in links:
        i, j = p_index[p], c_index[c]
        total += float(np.sum((pair.estimates[j] - pair.parent_centers[i]) ** 2))
        total += costs.division if i in seen else 0.0
        seen.add(i)
    total += costs.start * (pair.n_children - len(links)) + costs.end * (
        pair.n_parents - len(seen)
    )
    return total


def test_components_give_the_same_optimum_as_one_dense_problem():
    rng = np.random.default_rng(3)
    params = fixed(d_search=4.0)
    costs = Costs.from_params(params)
    for _ in range(5):
        parents = rng.uniform(0, 30, (25, 3))
        children = parents + rng.normal(0, 1.5, parents.shape)
        pair = simple_pair(range(25), parents, range(100, 125), children)
        links = global_link(pair, params)
        # the optimum found component by component, against brute force on one matrix
        rows, cols, d2 = candidate_pairs(pair, params.d_search)
        first, second = slot_costs(pair, costs)
        m, n = pair.n_children, pair.n_parents
        dense = np.full((m, 2 * n + m), np.inf)
        dense[rows, cols] = d2 + first[cols]
        dense[rows, n + cols] = d2 + second[cols]
        dense[np.arange(m), 2 * n + np.arange(m)] = costs.start
        r, c = linear_sum_assignment(dense)
        best = [(int(c_ % n), int(r_ + 100)) for r_, c_ in zip(r, c, strict=True) if c_ < 2 * n]
        assert len({c for _, c in links}) == len(links)  # one parent per child
        assert max(np.bincount([p for p, _ in links], minlength=25)) <= 2
        assert np.isclose(_total_cost(pair, links, costs), _total_cost(pair, best, costs))


def test_a_forbidden_pair_without_any_candidate_in_reach_links_nothing():
    far = replace(pair_on_x([0.0], [50.0]), forbidden=frozenset({(1, 11)}))
    assert global_link(far, fixed()) == [] and nn_link(far, fixed()) == []
