"""ELEPHANT's nearest-neighbour rules on hand-built frame pairs (positions in µm)."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant.core.linking.nn import MAX_ROUNDS, nn_link
from napari_elephant.core.linking.problem import FramePair, simple_pair
from napari_elephant.core.params import LinkingParams


def fixed(**changes) -> LinkingParams:
    """The paper's distances in µm (the geometry of these tests is drawn for them)."""
    return LinkingParams(**({"d_search": 5.0, "d_disp": 1.0, "d_dist": 1.0} | changes))


def x_axis(*xs: float) -> np.ndarray:
    """Points on the x axis (z = y = 0)."""
    return np.array([[0.0, 0.0, x] for x in xs])


def link(parents, children, estimates=None, **params) -> set[tuple[int, int]]:
    """Links of parents 1, 2, … and children 11, 12, … placed on the x axis."""
    pair = simple_pair(
        range(1, len(parents) + 1),
        x_axis(*parents),
        range(11, 11 + len(children)),
        x_axis(*children),
        None if estimates is None else x_axis(*estimates),
    )
    return set(nn_link(pair, fixed(**params)))


def test_each_child_takes_its_nearest_parent_within_d_search():
    assert link([0, 10], [1, 9]) == {(1, 11), (2, 12)}
    assert link([0], [6], d_search=5) == set()  # too far
    assert link([0], [6], d_search=7) == {(1, 11)}


def test_division_accepted_when_an_estimated_displacement_exceeds_d_disp():
    # the flow moves both daughters 2 µm back onto the mother: displacement 2 > d_disp = 1
    assert link([0], [2, -2], estimates=[0.2, -0.3]) == {(1, 11), (1, 12)}


def test_division_refused_when_displacements_are_small_and_distances_large():
    # displacements 0.3 and 0.4 < d_disp; distances 1.2 and 1.4 > d_dist: one child only,
    # the nearer one
    assert link([0], [1.5, -1.8], estimates=[1.2, -1.4]) == {(1, 11)}


def test_division_accepted_when_both_distances_are_below_d_dist():
    # small displacements, but both estimates land within d_dist = 1 of the mother
    assert link([0], [0.8, -0.9], estimates=[0.5, -0.6]) == {(1, 11), (1, 12)}
    assert link([0], [0.8, -0.9], estimates=[0.5, -0.6], d_dist=0.55) == {(1, 11)}


def test_without_motion_model_the_distance_is_the_displacement():
    # ELEPHANT without flow: both children 3 µm away, 3 > d_disp = 1 → a division
    assert link([0], [3, -3]) == {(1, 11), (1, 12)}
    assert link([0], [3, -3.5], d_disp=5) == {(1, 11)}


def test_competing_children_the_nearer_wins_and_the_other_tries_its_next_neighbour():
    params = {"d_disp": 100.0, "d_dist": 0.0}  # no divisions
    # X (0.2) and Y (1.0) both want A (0); Y falls back to B (3)
    assert link([0, 3], [0.2, 1.0], **params) == {(1, 11), (2, 12)}
    # the answer does not depend on the order in which the children are listed
    assert link([0, 3], [1.0, 0.2], **params) == {(1, 12), (2, 11)}


def test_n_max_limits_the_neighbours_tried():
    params = {"d_disp": 100.0, "d_dist": 0.0}
    assert link([0, 3], [0.2, 1.0], n_max=1, **params) == {(1, 11)}
    assert link([0, 3], [0.2, 1.0], n_max=2, **params) == {(1, 11), (2, 12)}


def test_a_released_child_looks_again_in_the_next_round():
    # X takes A; Y (A full) takes B at 3.2; Z is nearer to B (1.0) and releases Y, which
    # in the next round finds C (its third neighbour) free
    params = {"d_disp": 100.0, "d_dist": 0.0, "n_max": 3}
    assert link([0, 4, -3], [-0.5, 0.8, 5], **params) == {(1, 11), (2, 13), (3, 12)}
    assert MAX_ROUNDS == 5
    # with two neighbours only, Y stays unlinked
    assert link([0, 4, -3], [-0.5, 0.8, 5], d_disp=100.0, d_dist=0.0, n_max=2) == {
        (1, 11),
        (2, 13),
    }


def test_human_constraints_forbidden_pairs_capacity_and_kept_children():
    base = {
        "parent_ids": [1, 2],
        "parent_centers": x_axis(0, 3),
        "child_ids": [11],
        "estimates": x_axis(0.5),
    }
    params = fixed()
    assert nn_link(FramePair(**base), params) == [(1, 11)]
    # a rejected pair is never proposed: the child goes to its next neighbour
    assert nn_link(FramePair(**base, forbidden=frozenset({(1, 11)})), params) == [(2, 11)]
    # a parent whose slots are used up (e.g. by kept links) takes no child
    full = np.array([0, 2])
    assert nn_link(FramePair(**base, capacity=full), params) == [(2, 11)]
    # a kept child far from the mother, small displacements: no second child
    kept = {0: ((1.5, 0.2),)}
    one = FramePair(**base, displacements=np.array([0.1]), kept=kept)
    assert nn_link(one, params) == [(2, 11)]
    # …but a kept daughter that moved a lot allows the division
    moved = FramePair(**base, displacements=np.array([0.1]), kept={0: ((1.5, 3.0),)})
    assert nn_link(moved, params) == [(1, 11)]


@pytest.mark.parametrize("n_parents, n_children", [(0, 3), (3, 0), (0, 0)])
def test_empty_sides_give_no_links(n_parents, n_children):
    assert link(list(range(n_parents)), list(range(n_children))) == set()
