"""The simulated user of benchmarks/simulated_user.py: where it looks and what it fixes."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np

from napari_elephant.core.graph import Origin, Status, TrackingGraph

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from oracle import Oracle, Spot, choose_timepoints, find_spots

EXTENT = np.array([30.0, 100.0, 100.0])  # µm
R = 2.5  # µm


def track(g: TrackingGraph, start: tuple, ts: range, status=Status.ACCEPTED, step=(0, 0, 0)):
    """A straight track; returns its ids."""
    ids = []
    for i, t in enumerate(ts):
        center = np.add(start, np.multiply(step, i))
        ids.append(g.add_nucleus(t, center, radius=R, status=status))
        if i:
            g.add_link(ids[-2], ids[-1], status)
    return ids


def predicted_copy(truth: TrackingGraph, drop: set[int] = frozenset()) -> TrackingGraph:
    """The truth as predictions (same ids), without the nuclei in ``drop``."""
    g = TrackingGraph()
    kept = [
        n.with_(status=Status.PREDICTED, origin=Origin.PREDICTED)
        for n in truth.nuclei()
        if n.id not in drop
    ]
    g.add_nuclei(kept)
    for lk in truth.links():
        if lk.parent not in drop and lk.child not in drop:
            g.add_link(lk.parent, lk.child, Status.PREDICTED)
    return g


def test_spots_are_starts_ends_short_tracks_and_divisions_inside_the_movie():
    g = TrackingGraph()
    whole = track(g, (10, 50, 20), range(5))
    ends = track(g, (10, 50, 40), range(3))
    starts = track(g, (10, 50, 60), range(2, 5))
    short = track(g, (10, 50, 80), range(1, 3))
    border = track(g, (10, 50, 1), range(2, 5))  # enters the field of view: not suspicious
    daughter = g.add_nucleus(1, (10, 54, 20), radius=R)
    g.add_link(whole[0], daughter)
    kinds = {(s.kind, s.nid) for s in find_spots(g, EXTENT, margin=4.0)}
    assert kinds == {
        ("division", whole[0]),
        ("end", daughter),
        ("end", ends[-1]),
        ("start", starts[0]),
        ("short", short[0]),
        ("end", short[-1]),
    }
    assert not {s.nid for s in find_spots(g, EXTENT, 4.0)} & set(border)


def test_timepoints_are_the_worst_spread_out_and_not_the_same_again():
    spots = [Spot("start", t, i, (0, 0, 0)) for i, t in enumerate([3, 3, 3, 4, 4, 4, 9])]
    assert choose_timepoints(spots, 2, Counter(), 10) == [3, 9]  # 4 is next to 3
    assert choose_timepoints(spots, 1, Counter({3: 2, 4: 2}), 10) == [9]  # 6 · ¼ < 2
    assert choose_timepoints(spots, 3, Counter(), 10) == [3, 4, 9]  # neighbours come last


def test_a_false_detection_is_rejected_as_one_undoable_step():
    truth = TrackingGraph()
    track(truth, (10, 50, 50), range(3))
    g = predicted_copy(truth)
    fp = g.add_nucleus(1, (10, 20, 20), radius=R, status=Status.PREDICTED)
    oracle = Oracle(g, truth, dmax=3.0, look=6.0, tol=1.0)
    oracle.fix(Spot("short", 1, fp, g.nucleus(fp).center))
    assert g.nucleus(fp).status == Status.REJECTED
    assert oracle.ledger.actions == Counter({"reject": 1}) and oracle.ledger.touched == {fp}
    g.undo()
    assert g.nucleus(fp).status == Status.PREDICTED


def test_a_missed_nucleus_is_added_and_left_for_the_linker():
    truth = TrackingGraph()
    ids = track(truth, (10, 50, 50), range(4))
    g = predicted_copy(truth, drop={ids[2]})  # the track breaks at t = 2
    oracle = Oracle(g, truth, dmax=3.0, look=6.0, tol=1.0)
    oracle.fix(Spot("end", 1, ids[1], g.nucleus(ids[1]).center))
    (added,) = oracle.ledger.touched
    n = g.nucleus(added)
    assert (n.t, n.status, n.origin) == (2, Status.ACCEPTED, Origin.MANUAL)
    assert np.allclose(n.center, truth.nucleus(ids[2]).center)
    assert oracle.ledger.actions == Counter({"add": 1})  # nothing else was touched
    assert g.parent(added) is None  # the next link run links it


def test_a_wrong_link_between_right_detections_is_relinked_and_validated():
    truth = TrackingGraph()
    a = track(truth, (10, 50, 30), range(3))
    b = track(truth, (10, 50, 36), range(3))
    g = predicted_copy(truth)
    g.remove_links([(a[0], a[1]), (b[0], b[1])])
    g.add_link(b[0], a[1], Status.PREDICTED)  # the linker swapped the tracks
    oracle = Oracle(g, truth, dmax=3.0, look=1.0, tol=1.0)
    oracle.fix(Spot("start", 1, b[1], g.nucleus(b[1]).center))  # b[1] has no parent
    oracle.fix(Spot("division", 0, b[0], g.nucleus(b[0]).center))
    assert g.link(b[0], b[1]).status == Status.ACCEPTED
    assert not g.has_link(b[0], a[1])
    assert g.parent(a[1]) is None or g.parent(a[1]) == a[0]
    assert all(g.nucleus(i).status == Status.ACCEPTED for i in oracle.ledger.touched)


def test_the_user_fixes_what_it_sees_around_the_spot_and_nothing_else():
    truth = TrackingGraph()
    spot = track(truth, (10, 50, 50), range(2))
    beside = track(truth, (10, 54, 50), range(2))  # 4 µm away: in view
    off = track(truth, (10, 46, 50), range(2))  # in view, its mark 4 µm off
    far = track(truth, (10, 50, 90), range(2))
    g = predicted_copy(truth, drop={beside[1], far[1], off[1]})
    g.add_nucleus(1, (10, 46, 54), radius=R, status=Status.PREDICTED, id=100)  # off's mark
    fp_near = g.add_nucleus(1, (10, 50, 55), radius=R, status=Status.PREDICTED)
    fp_far = g.add_nucleus(1, (10, 20, 20), radius=R, status=Status.PREDICTED)
    oracle = Oracle(g, truth, dmax=3.0, look=6.0, tol=1.0)
    oracle.fix(Spot("end", 1, spot[1], g.nucleus(spot[1]).center))

    assert oracle.ledger.actions == Counter({"add": 1, "move": 1, "reject": 1})
    assert g.nucleus(fp_near).status == Status.REJECTED
    assert np.allclose(g.nucleus(100).center, truth.nucleus(off[1]).center)
    assert g.nucleus(100).status == Status.ACCEPTED
    # out of view: the far miss stays missed, the far false mark stays
    assert g.nucleus(fp_far).status == Status.PREDICTED
    assert len(g.within(1, truth.nucleus(far[1]).center, 3.0)) == 0
    assert oracle.was_seen(Spot("end", 1, -1, g.nucleus(spot[1]).center))


def test_two_touching_nuclei_seen_as_one_are_split():
    truth = TrackingGraph()
    a = track(truth, (10, 50, 50), range(2))
    b = track(truth, (10, 50, 54), range(2))
    g = predicted_copy(truth, drop={a[1], b[1]})
    merged = g.add_nucleus(1, (10, 50, 52), radius=3.5, status=Status.PREDICTED)
    g.add_link(a[0], merged, Status.PREDICTED)
    oracle = Oracle(g, truth, dmax=3.0, look=1.0, tol=1.0)
    oracle.fix(Spot("end", 0, b[0], g.nucleus(b[0]).center))  # b's track ends at t = 0
    assert oracle.ledger.actions == Counter({"add": 1, "move": 1})
    centers = sorted(tuple(n.center) for n in g.nuclei_at(1))
    assert np.allclose(centers, [truth.nucleus(a[1]).center, truth.nucleus(b[1]).center])


def test_a_division_spot_carries_the_linkers_doubt():
    from napari_elephant.core.graph import Link

    g = TrackingGraph()
    doubt = {}
    for x, q in ((20, 0.9), (60, 0.2)):  # a sure and an unsure division
        mother = g.add_nucleus(0, (10, 50, x), radius=R)
        kids = [g.add_nucleus(1, (10, 50 + dy, x), radius=R) for dy in (-4, 4)]
        g.add_links([Link(mother, k, Status.PREDICTED, q) for k in kids])
        for k in kids:  # the daughters go on to the end of the movie
            g.add_link(k, g.add_nucleus(2, g.nucleus(k).center, radius=R), Status.PREDICTED)
        doubt[mother] = q
    spots = find_spots(g, EXTENT, 4.0)
    assert {s.nid: s.doubt for s in spots if s.kind == "division"} == doubt


def test_a_fix_that_would_pass_the_budget_is_undone():
    truth = TrackingGraph()
    track(truth, (10, 50, 50), range(3))
    g = predicted_copy(truth)
    fp = g.add_nucleus(1, (10, 20, 20), radius=R, status=Status.PREDICTED)
    oracle = Oracle(g, truth, dmax=3.0, look=6.0, tol=1.0)
    spot = Spot("short", 1, fp, g.nucleus(fp).center)
    assert not oracle.fix_within(spot, cap=0)
    assert g.nucleus(fp).status == Status.PREDICTED
    assert oracle.ledger.total == 0 and not oracle.ledger.touched and not oracle.seen
    assert oracle.fix_within(spot, cap=1) and g.nucleus(fp).status == Status.REJECTED
