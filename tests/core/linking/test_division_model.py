"""Divisions learned from the user's decisions (core/linking/division_model.py)."""

from __future__ import annotations

import numpy as np

from napari_elephant.core.graph import Link, Status, TrackingGraph, make_nucleus
from napari_elephant.core.linking import link_round
from napari_elephant.core.linking.division_model import examples, features, fit, learn
from napari_elephant.core.params import LinkingParams
from napari_elephant.core.training.progress import drain


def test_the_features_do_not_depend_on_the_nuclei_size():
    a, b = np.array([0.0, 0.0, -3.0]), np.array([0.0, 0.0, 3.0])
    x = features(np.array(3.0), a, np.array(2.0), b, np.array(2.0))
    assert np.allclose(x, [0.0, np.log(2 / 3), 2.0])
    assert np.allclose(features(np.array(6.0), 2 * a, np.array(4.0), 2 * b, np.array(4.0)), x)
    lopsided = features(np.array(3.0), a, np.array(1.0), b, np.array(2.0))
    assert np.isclose(lopsided[0], np.log(2.0))


def rows(rng: np.random.Generator, n: int, unlike: float, spread: float) -> np.ndarray:
    """n feature rows around (unlike, −0.2, 2.3) with a little noise."""
    base = np.array([unlike, -0.2, 2.3])
    return base + rng.normal(0.0, spread, (n, 3)) * [0.02, 0.02, 0.2]


def test_a_model_is_made_only_when_it_would_have_caught_the_refusals():
    rng = np.random.default_rng(0)
    pos, near = rows(rng, 8, 0.02, 1.0), rows(rng, 30, 0.6, 5.0)
    refused = rows(rng, 3, 0.7, 1.0)
    model = fit(pos, refused, near)
    assert model is not None and model.floor <= 0.0
    assert model.plausible(rows(rng, 50, 0.02, 1.0)).all()  # new divisions like the user's
    assert not model.plausible(rows(rng, 50, 0.7, 1.0)).any()
    assert fit(pos[:2], refused, near) is None  # too few accepted divisions
    assert fit(pos, refused[:0], near) is None  # nothing refused: nothing to correct
    alike = rows(rng, 3, 0.02, 1.0)  # refusals that look like divisions: no model
    assert fit(pos, alike, near) is None


def division_graph() -> TrackingGraph:
    """t0 → t1 checked by a user: four accepted divisions (daughters 0.8 of the mother),
    a small bystander beside each, and one refused small daughter.  t1 → t2 is
    unchecked: mother 50 divides truly; mother 60 keeps her child 61 and a small
    nucleus 62 starts a track beside her, where a second daughter could be; still
    nuclei around them tell the coherence rounds that nothing moves."""
    n, links = [], []
    for k in range(5):
        y, m = 30.0 * k, 10 * k + 1
        n.append(make_nucleus(m, 0, (5.0, y, 20.0), radius=3.0))
        if k < 4:
            r = 2.4 + 0.02 * k
            n += [make_nucleus(m + 1, 1, (5.0, y, 16.5), radius=r)]
            n += [make_nucleus(m + 2, 1, (5.0, y, 23.5), radius=r)]
            n += [make_nucleus(m + 3, 1, (5.0, y + 3.0, 20.0), radius=1.2)]
            links += [Link(m, m + 1, Status.ACCEPTED), Link(m, m + 2, Status.ACCEPTED)]
        else:
            n += [make_nucleus(m + 1, 1, (5.0, y, 20.5), radius=3.0)]
            n += [make_nucleus(m + 2, 1, (5.0, y, 17.0), radius=1.2)]
            links += [Link(m, m + 1, Status.ACCEPTED), Link(m, m + 2, Status.REJECTED)]
    for m, y, kids in ((50, 200.0, ((16.5, 2.4), (23.5, 2.4))), (60, 300.0, ((20.5, 3.0),))):
        n.append(make_nucleus(m, 1, (5.0, y, 20.0), radius=3.0))
        n += [make_nucleus(m + i + 1, 2, (5.0, y, x), radius=r) for i, (x, r) in enumerate(kids)]
    n.append(make_nucleus(62, 2, (5.0, 300.0, 17.0), radius=1.2))
    for i, y in enumerate(np.arange(190.0, 320.0, 12.0)):  # still neighbours: no motion
        n += [make_nucleus(100 * t + i, t, (5.0, y, 40.0), radius=3.0) for t in (1, 2)]
    return TrackingGraph.from_records(n, links)


def test_examples_come_from_the_users_decisions():
    pos, refused, near = examples(division_graph())
    assert len(pos) == 4 and len(refused) == 1 and len(near) == 8  # 4 bystanders × 2 daughters
    assert np.allclose(pos[:, 0], 0.0) and np.isclose(refused[0, 0], np.log(3.0 / 1.2))


def test_the_users_decisions_keep_a_false_daughter_out():
    params = LinkingParams(d_search=8.0)
    checked = division_graph()
    assert learn(checked) is not None
    unchecked = TrackingGraph.from_records(list(checked.nuclei()))
    assert learn(unchecked) is None
    for graph in (checked, unchecked):
        drain(link_round(graph, params, timepoints=[1, 2]))
    assert sorted(unchecked.children(60)) == [61, 62]  # positions alone: a division
    assert checked.children(60) == [61]
    assert sorted(checked.children(50)) == sorted(unchecked.children(50)) == [51, 52]
    switched_off = division_graph()  # the setting turns it off
    drain(link_round(switched_off, params.model_copy(update={"learn_divisions": False}), [1, 2]))
    assert sorted(switched_off.children(60)) == [61, 62]
