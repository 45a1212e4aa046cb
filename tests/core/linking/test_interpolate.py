"""Gap interpolation: an orphan walks back along the estimator to a track end."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from napari_elephant.core.graph import Link, Nucleus, Origin, Status, TrackingGraph, make_nucleus
from napari_elephant.core.linking import interpolate, link_round
from napari_elephant.core.linking.frames import INTERPOLATED
from napari_elephant.core.params import LinkingParams
from napari_elephant.core.training.progress import drain


def gapped_track(step: float = 0.5, missing: tuple[int, ...] = (2,)) -> tuple[TrackingGraph, dict]:
    """One track moving ``step`` µm per timepoint along x over t = 0..4, with holes."""
    g = TrackingGraph()
    ids = {
        t: g.add_nucleus(t, (5, 5, step * t), radius=2 + 0.1 * t)
        for t in range(5)
        if t not in missing
    }
    g.history.clear()
    return g, ids


def interpolated(g: TrackingGraph) -> list[Nucleus]:
    return sorted((n for n in g.nuclei() if INTERPOLATED in n.tags), key=lambda n: n.t)


def test_a_missed_detection_is_bridged_by_an_interpolated_nucleus():
    g, ids = gapped_track()
    result = drain(link_round(g, LinkingParams(t_max=3)))
    (new,) = interpolated(g)
    assert new.t == 2 and np.allclose(new.center, (5, 5, 1.0))
    assert np.isclose(new.radius, 2.2, atol=0.01)  # covariance blended between the ends
    assert new.status == Status.PREDICTED and new.origin == Origin.PREDICTED
    assert g.parent(new.id) == ids[1] and g.children(new.id) == [ids[3]]
    assert g.link(ids[1], new.id).status == Status.PREDICTED
    assert result.nuclei_interpolated == 1
    g.undo()  # one step for links and nuclei
    assert g.n_links == 0 and not interpolated(g)


def test_no_interpolation_when_t_max_is_too_short():
    g, _ = gapped_track(missing=(1, 2))  # a gap of two timepoints: the source is 3 back
    drain(link_round(g, LinkingParams(t_max=2)))
    assert not interpolated(g)
    g.undo()
    drain(link_round(g, LinkingParams(t_max=3)))
    assert [n.t for n in interpolated(g)] == [1, 2]
    drain(link_round(g, LinkingParams(t_max=0)))  # off: the old interpolation is replaced
    assert not interpolated(g)


def test_relinking_replaces_earlier_interpolations_instead_of_adding_more():
    g, _ = gapped_track()
    drain(link_round(g, LinkingParams(t_max=3)))
    n_nuclei, n_links = len(g), g.n_links
    drain(link_round(g, LinkingParams(t_max=3)))
    assert len(g) == n_nuclei and g.n_links == n_links


def velocity(dx: float):
    def estimate(t: int, nuclei: Sequence[Nucleus]) -> np.ndarray:
        return np.array([n.center for n in nuclei]).reshape(-1, 3) - [0.0, 0.0, dx]

    return estimate


def test_the_walk_follows_the_estimator():
    g, ids = gapped_track(step=4.0)  # 8 µm between t = 1 and t = 3: beyond d_search
    params = LinkingParams(t_max=3, d_search=5.0)
    drain(link_round(g, params, method="nn"))
    assert not interpolated(g)
    g.undo()
    drain(link_round(g, params, estimator=velocity(4.0), method="flow"))
    (new,) = interpolated(g)
    assert np.allclose(new.center, (5, 5, 8.0))
    assert g.parent(ids[3]) == new.id


def test_interpolate_alone_keeps_existing_links():
    g, _ = gapped_track()
    drain(link_round(g, LinkingParams()))
    links = set(g.links())
    result = interpolate(g, LinkingParams(t_max=3))
    assert result.nuclei_interpolated == 1 and links <= set(g.links())
    g.undo()
    assert set(g.links()) == links


def test_a_track_end_with_rejected_child_links_is_still_a_source():
    g, ids = gapped_track()
    far = [g.add_nucleus(2, (5, 5, x), radius=2) for x in (60.0, 80.0)]
    g.add_links([Link(ids[1], f, Status.REJECTED) for f in far])  # take no child slot
    drain(link_round(g, LinkingParams(t_max=3, d_search=5.0)))
    (new,) = interpolated(g)
    assert g.parent(new.id) == ids[1] and g.children(new.id) == [ids[3]]


def test_an_orphan_whose_link_was_rejected_is_bridged_but_never_to_that_source():
    g, ids = gapped_track()
    other = g.add_nucleus(1, (5, 5, 3.5), radius=2)  # a track end farther than ids[1]
    g.add_link(ids[1], ids[3], "rejected")
    drain(link_round(g, LinkingParams(t_max=3, d_search=3.0)))
    (new,) = interpolated(g)
    assert g.parent(new.id) == other and g.children(new.id) == [ids[3]]
    assert g.link(ids[1], ids[3]).status == Status.REJECTED


def test_without_an_estimator_the_walk_follows_the_links_motion():
    # a 5 × 5 grid moves 3 µm along x per timepoint; one nucleus is missed at t = 2
    # and 3.  Walking back on its own centre, the orphan at t = 4 ends 6 µm from its
    # track's end at t = 1; along the motion its neighbours' links show, on it
    nuclei, gone = [], {(2, 12), (3, 12)}
    for t in range(5):
        for i in range(25):
            if (t, i) not in gone:
                center = (5.0, 10.0 * (i // 5), 10.0 * (i % 5) + 3.0 * t)
                nuclei.append(make_nucleus(100 * t + i, t, center, radius=2.0))
    g = TrackingGraph.from_records(nuclei)
    drain(link_round(g, LinkingParams(t_max=3, d_search=4.0)))
    bridge = interpolated(g)
    assert [n.t for n in bridge] == [2, 3]
    assert g.parent(bridge[0].id) == 112 and g.children(bridge[-1].id) == [412]
    assert np.allclose([n.center[2] for n in bridge], [26.0, 29.0], atol=0.5)


def test_an_orphan_a_gap_can_explain_is_no_neighbours_daughter():
    # A is missed at t = 1; at t = 2 it stands 5 µm from B, close enough that the
    # midpoint of B's child and A falls inside B: with interpolation off, A becomes
    # B's second daughter; with it on, the track end A0 takes A through the gap
    nuclei = [make_nucleus(10 * t + 1, t, (5.0, 20.0, 20.0), radius=3.0) for t in range(3)]
    nuclei += [make_nucleus(10 * t + 2, t, (5.0, 20.0, 25.0), radius=3.0) for t in (0, 2)]
    for t_max, b_children in ((0, [21, 22]), (3, [21])):
        g = TrackingGraph.from_records(nuclei)
        drain(link_round(g, LinkingParams(t_max=t_max, d_search=8.0)))
        assert sorted(g.children(11)) == b_children
    (bridge,) = interpolated(g)
    assert g.parent(bridge.id) == 2 and g.children(bridge.id) == [22]
