"""The simulated user's eyes and hands: find suspicious spots, look, correct.

A proofreader in napari does not see the ground truth; they see the predicted
lineage, notice what looks wrong — a track that starts or ends in the middle
of the movie, a one- or two-timepoint track, a division — go there, look at
the image and fix what they see.  :class:`Oracle` does the same: it chooses
*where* to look from the predicted graph alone (:func:`find_spots`,
:func:`choose_timepoints`), and learns the truth only about the nuclei it
looks at (the spot and its neighbourhood), through the actions it takes.
Every action is a graph edit of ``core/graph/edits.py`` (one undoable step
per spot) and is counted, with the distinct nuclei it touched.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from napari_elephant.core.graph import Origin, Status, TrackingGraph
from napari_elephant.core.graph.checking import division_doubt
from napari_elephant.core.metrics import Lineage
from napari_elephant.core.track_matching import lineage_of, match_nuclei

# what each kind of spot suggests, and how urgent it looks (higher first)
PRIORITY = {"short": 3, "start": 2, "end": 2, "division": 1}


@dataclass(frozen=True)
class Spot:
    """Something that looks wrong at timepoint ``t`` around nucleus ``nid``.

    ``doubt`` orders spots of one kind: for a division, the linker's
    confidence in it (the user's **F** visits the least sure first).
    """

    kind: str
    t: int
    nid: int
    center: tuple[float, float, float]
    doubt: float = 1.0


@dataclass
class Ledger:
    """Every action taken (by kind) and every nucleus touched (graph ids)."""

    actions: Counter = field(default_factory=Counter)
    touched: set[int] = field(default_factory=set)
    recent: set[int] = field(default_factory=set)  # since the last link run
    spots: int = 0

    def note(self, action: str, *nuclei: int) -> None:
        self.actions[action] += 1
        self.touched.update(int(n) for n in nuclei)
        self.recent.update(int(n) for n in nuclei)

    @property
    def total(self) -> int:
        return sum(self.actions.values())


# ------------------------------------------------------------ where to look
def find_spots(graph: TrackingGraph, extent_um: np.ndarray, margin: float) -> list[Spot]:
    """Track starts/ends inside the movie, short tracks and divisions, from the graph only.

    Starts and ends within ``margin`` µm of the lateral border are left out:
    nuclei enter and leave the field of view there.
    """
    lin = lineage_of(graph)
    ts = sorted(lin.ids)
    if not ts:
        return []
    first, last = ts[0], ts[-1]
    parent = {c: p for p, kids in lin.children.items() for c in kids}
    spots = []
    for t in ts:
        for nid, c in zip(lin.ids[t].tolist(), lin.centers[t], strict=True):
            kind = _kind(lin, parent, nid, t, first, last, _inside(c, extent_um, margin))
            if kind is not None:
                doubt = division_doubt(graph, nid) if kind == "division" else None
                where = tuple(float(v) for v in c)
                spots.append(Spot(kind, t, nid, where, 1.0 if doubt is None else doubt))
    return spots


def _inside(center: np.ndarray, extent_um: np.ndarray, margin: float) -> bool:
    yx, ext = np.asarray(center)[1:], np.asarray(extent_um)[1:]
    return bool(np.all(yx > margin) and np.all(yx < ext - margin))


def _kind(lin: Lineage, parent: dict, nid: int, t: int, first: int, last: int, inside: bool):
    kids = lin.children.get(nid, ())
    if len(kids) == 2:
        return "division"
    starts, ends = nid not in parent and t > first, not kids and t < last
    if starts and _track_length(lin, nid) <= 2 and inside:
        return "short"
    if starts and inside:
        return "start"
    if ends and inside:
        return "end"
    return None


def _track_length(lin: Lineage, nid: int) -> int:
    """Nuclei from ``nid`` down its only children (3 at most: enough to tell short)."""
    length, kids = 1, lin.children.get(nid, ())
    while len(kids) == 1 and length < 3:
        length, kids = length + 1, lin.children.get(kids[0], ())
    return length if not kids else 3


def choose_timepoints(spots: list[Spot], n: int, visits: Counter, n_timepoints: int) -> list[int]:
    """The ``n`` timepoints that look worst, spread over the movie.

    A timepoint's weight is its spots' priorities, halved for each earlier
    visit.  Timepoints next to one already chosen (closer than a share of the
    movie) come only when no other has anything to look at.
    """
    weight = Counter()
    for s in spots:
        weight[s.t] += PRIORITY[s.kind]
    for t in weight:
        weight[t] *= 0.5 ** visits[t]
    spread = max(1, n_timepoints // (2 * max(n, 1)))
    ranked = sorted(weight, key=lambda t: (-weight[t], t))
    chosen: list[int] = []
    for t in ranked:
        if len(chosen) < n and all(abs(t - c) > spread for c in chosen):
            chosen.append(t)
    chosen += [t for t in ranked if t not in chosen][: n - len(chosen)]
    return sorted(chosen)


# ------------------------------------------------------------ look and fix
class Oracle:
    """A proofreader who knows the truth of whatever it looks at, and nothing else."""

    def __init__(
        self,
        graph: TrackingGraph,
        truth: TrackingGraph,
        dmax: float,
        look: float,
        tol: float,
        accept_correct: bool = False,
    ) -> None:
        self.graph, self.truth = graph, truth
        self.dmax, self.look, self.tol = dmax, look, tol
        self.accept_correct = accept_correct
        self.ledger = Ledger()
        self.seen: list[Spot] = []

    # -- looking: which true nucleus (if any) a nucleus is, and back
    def identity(self, nid: int) -> int | None:
        t = self.graph.nucleus(nid).t
        return dict(match_nuclei(self.graph, self.truth, self.dmax, t)).get(nid)

    def stand_in(self, t: int, tid: int) -> int | None:
        pairs = match_nuclei(self.graph, self.truth, self.dmax, t)
        return next((r for r, g in pairs if g == tid), None)

    def was_seen(self, spot: Spot) -> bool:
        """Looked at already (same kind, same timepoint, within a micrometre or so)."""
        return any(
            s.kind == spot.kind and s.t == spot.t and _dist(s.center, spot.center) < self.tol
            for s in self.seen
        )

    # -- acting: graph edits, each counted
    def accept(self, nid: int, tid: int) -> None:
        n, truth = self.graph.nucleus(nid), self.truth.nucleus(tid)
        if _dist(n.center, truth.center) > self.tol:
            self.graph.update_nucleus(
                nid, center=truth.center, cov=truth.cov, status=Status.ACCEPTED
            )
            self.ledger.note("move", nid)
        elif n.status != Status.ACCEPTED:
            self.graph.set_status([nid], Status.ACCEPTED)
            self.ledger.note("accept", nid)

    def reject(self, nid: int) -> None:
        self.graph.set_status([nid], Status.REJECTED)
        self.ledger.note("reject", nid)

    def ensure(self, t: int, tid: int) -> int:
        """The accepted nucleus standing for true nucleus ``tid``: accepted, moved or added."""
        nid = self.stand_in(t, tid)
        if nid is None:
            truth = self.truth.nucleus(tid)
            nid = self.graph.add_nucleus(
                t, truth.center, truth.cov, status=Status.ACCEPTED, origin=Origin.MANUAL
            )
            self.ledger.note("add", nid)
            self._straighten(t, nid)
        else:
            self.accept(nid, tid)
        return nid

    def _straighten(self, t: int, added: int) -> None:
        """A missed nucleus next to a mark that covers it (two touching nuclei seen as
        one): the user also moves that mark onto its own nucleus."""
        center = self.graph.nucleus(added).center
        for nid in self.graph.within(t, center, 2 * self.dmax).tolist():
            if nid == added or self.graph.nucleus(nid).status != Status.PREDICTED:
                continue
            tid = self.identity(nid)
            if tid is None:
                continue
            if _dist(self.graph.nucleus(nid).center, self.truth.nucleus(tid).center) > self.tol:
                self.accept(nid, tid)  # moved onto its nucleus

    def link(self, parent: int, child: int, parent_tid: int) -> None:
        """Make parent → child an accepted link, unlinking what stands in its way."""
        g = self.graph
        rejected = g.has_link(parent, child) and g.link(parent, child).status == Status.REJECTED
        if g.has_link(parent, child) and not rejected:
            if g.link(parent, child).status != Status.ACCEPTED:
                g.set_link_status([(parent, child)], Status.ACCEPTED)
                self.ledger.note("accept link", parent, child)
            return
        # a rejected link takes no slot: the child may have another parent, the parent two
        # other children, which must go before it is accepted again
        old = g.parent(child)
        if old is not None:
            g.remove_links([(old, child)])
            self.ledger.note("unlink", child)
        for other in g.children(parent):
            if len(g.children(parent)) >= 2 and not self._is_child(other, parent_tid):
                g.remove_links([(parent, other)])
                self.ledger.note("unlink", parent)
        if len(g.children(parent)) < 2:
            if rejected:
                g.set_link_status([(parent, child)], Status.ACCEPTED)
                self.ledger.note("accept link", parent, child)
            else:
                g.add_link(parent, child, Status.ACCEPTED)
                self.ledger.note("link", parent, child)

    def _is_child(self, nid: int, parent_tid: int) -> bool:
        tid = self.identity(nid)
        return tid is not None and self.truth.parent(tid) == parent_tid

    # -- one spot
    def fix_within(self, spot: Spot, cap: int) -> bool:
        """Fix a spot unless that would touch more than ``cap`` nuclei in all: then
        the step is undone (the user stops short of the budget) and False returned."""
        before = Ledger(Counter(self.ledger.actions), set(self.ledger.touched),
                        set(self.ledger.recent), self.ledger.spots)  # fmt: skip
        seen = len(self.seen)
        self.fix(spot)
        if len(self.ledger.touched) <= cap:
            return True
        self.graph.undo()
        self.ledger, self.seen = before, self.seen[:seen]
        return False

    def fix(self, spot: Spot) -> None:
        """Look at a spot and correct what is wrong there (one undoable step)."""
        self.seen.append(spot)
        self.ledger.spots += 1
        with self.graph.batch(f"proofread {spot.kind} t={spot.t}"):
            if spot.nid in self.graph:
                self._fix_nucleus(spot)
            self._scan(spot.t, spot.center)

    def _fix_nucleus(self, spot: Spot) -> None:
        """Reject a false nucleus; for a true one, fix the detections (and, where the
        linker went wrong between right detections, the links) around it."""
        tid = self.identity(spot.nid)
        if tid is None:
            self.reject(spot.nid)
            return
        if self.accept_correct:
            self.accept(spot.nid, tid)
        if spot.kind in ("start", "short"):
            self._fix_parent(spot.nid, spot.t, tid)
        if spot.kind in ("end", "short", "division"):
            self._fix_children(spot.nid, spot.t, tid)

    def _fix_parent(self, nid: int, t: int, tid: int) -> None:
        ptid = self.truth.parent(tid)
        if ptid is None or self.truth.nucleus(ptid).t != t - 1:
            return  # a true start: nothing to fix
        parent = self.stand_in(t - 1, ptid)
        if parent is None:
            self.ensure(t - 1, ptid)  # a missed detection: the next link run links it
        elif parent not in self.fresh and not self.graph.has_link(parent, nid):
            self._relink(parent, ptid, nid, tid)

    def _fix_children(self, nid: int, t: int, tid: int) -> None:
        for kid in list(self.graph.children(nid)):
            ktid = self.identity(kid)
            if ktid is None:
                self.reject(kid)
            elif self.truth.parent(ktid) is None:
                self._cut(nid, tid, kid, ktid)
            elif self.truth.parent(ktid) != tid:
                self._fix_parent(kid, t + 1, ktid)
        for ctid in self.truth.children(tid):
            if self.truth.nucleus(ctid).t != t + 1:
                continue
            kid = self.stand_in(t + 1, ctid)
            if kid is None:
                self.ensure(t + 1, ctid)
            elif kid not in self.fresh and not self.graph.has_link(nid, kid):
                self._relink(nid, tid, kid, ctid)

    def _relink(self, parent: int, ptid: int, child: int, ctid: int) -> None:
        """Right detections, wrong link: validate both and link them (it then persists)."""
        self.accept(parent, ptid)
        self.accept(child, ctid)
        self.link(parent, child, ptid)

    def _cut(self, parent: int, ptid: int, child: int, ctid: int) -> None:
        """A true track start linked to a parent: validate both and reject the link,
        so that no later link run draws it again."""
        self.accept(parent, ptid)
        self.accept(child, ctid)
        self.graph.set_link_status([(parent, child)], Status.REJECTED)
        self.ledger.note("reject link", parent, child)

    @property
    def fresh(self) -> set[int]:
        """Nuclei touched since the last link run: their links are the linker's to make."""
        return self.ledger.recent

    def start_round(self) -> None:
        self.ledger.recent.clear()

    def _scan(self, t: int, center: tuple[float, float, float]) -> None:
        """Around the spot (``look`` µm) the user sees the nuclei nothing marks and the
        marks on no nucleus: a mark near a bare nucleus is moved onto it, the other bare
        nuclei are added and the other marks rejected."""
        ids, centers = self.truth.centers_at(t)
        pairs = match_nuclei(self.graph, self.truth, self.dmax, t)
        matched_truth, matched = {g for _, g in pairs}, {r for r, _ in pairs}
        stray = [
            int(i)
            for i in self.graph.within(t, center, self.look).tolist()
            if int(i) not in matched and self.graph.nucleus(int(i)).status == Status.PREDICTED
        ]
        near = np.linalg.norm(centers - np.asarray(center), axis=1) <= self.look
        for tid in ids[near].tolist() if len(ids) else []:
            if tid in matched_truth:
                continue
            mark = self._closest(stray, self.truth.nucleus(tid).center, 2 * self.dmax)
            if mark is None:
                self.ensure(t, int(tid))
            else:
                stray.remove(mark)
                self.accept(mark, int(tid))  # moved onto the nucleus
        for nid in stray:
            self.reject(nid)

    def _closest(self, ids: list[int], point, radius: float) -> int | None:
        dists = [_dist(self.graph.nucleus(i).center, point) for i in ids]
        best = int(np.argmin(dists)) if dists else -1
        return ids[best] if dists and dists[best] <= radius else None


def _dist(a, b) -> float:
    return float(np.linalg.norm(np.subtract(a, b)))
