"""ELEPHANT's nearest-neighbour linking ("Algorithm for linking"), in µm.

For each nucleus at t (a child), its estimated position at t−1 is compared
with the nuclei at t−1 (parents) closer than ``d_search``; the nearer, the
higher the priority, and at most ``n_max`` of them are tried.  A parent takes
one child, or two (a division) when at least one of the two estimated
displacements exceeds ``d_disp`` or both distances are below ``d_dist``.
Without a motion model the displacement is the distance to the parent, as in
ELEPHANT's client.  When a parent is full, the nearer child wins: the
farther one is released and looks again in the next round.  Rounds repeat
until every child is linked or five rounds have run.

Children are visited nearest-first (by the distance to their best
candidate), so the result does not depend on the order of ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from napari_elephant.core.linking.problem import FramePair
from napari_elephant.core.params import LinkingParams

MAX_ROUNDS = 5


@dataclass
class _Held:
    """A link a parent holds during the rounds: kept (human) or proposed."""

    child: int  # child index, -1 for a kept link
    distance: float
    displacement: float

    @property
    def proposed(self) -> bool:
        return self.child >= 0


def candidates(pair: FramePair, params: LinkingParams) -> tuple[np.ndarray, np.ndarray]:
    """(distances, parent indices), (n_children, k) nearest first; inf / -1 past d_search."""
    k = min(params.n_max, pair.n_parents)
    if k == 0 or pair.n_children == 0:
        empty = np.empty((pair.n_children, 0))
        return empty, empty.astype(np.int64)
    tree = cKDTree(pair.parent_centers)
    dist, idx = tree.query(pair.estimates, k=k, distance_upper_bound=params.d_search)
    dist, idx = dist.reshape(pair.n_children, k), idx.reshape(pair.n_children, k)
    idx = np.where(np.isfinite(dist), idx, -1)
    if pair.forbidden:
        rows = np.repeat(np.arange(pair.n_children), k)
        ok = (idx.ravel() >= 0) & pair.allowed_pairs(rows, np.maximum(idx.ravel(), 0))
        ok = ok.reshape(dist.shape)
        dist, idx = np.where(ok, dist, np.inf), np.where(ok, idx, -1)
    return dist, idx


def division_allowed(
    distance: float, displacement: float, others: list[_Held], p: LinkingParams
) -> bool:
    """The paper's rule for a second child: a large displacement, or both links short."""
    if displacement > p.d_disp or any(h.displacement > p.d_disp for h in others):
        return True
    return distance < p.d_dist and all(h.distance < p.d_dist for h in others)


def _room(
    held: list[_Held], distance: float, displacement: float, cap: int, p: LinkingParams
) -> int:
    """Free slots of a parent for a child at this distance, under both limits."""
    if not held:
        return min(1, cap)
    allowed = 2 if division_allowed(distance, displacement, held, p) else 1
    n_proposed = sum(h.proposed for h in held)
    return min(allowed - len(held), cap - n_proposed)


class _Rounds:
    """State of the rounds: which parent holds which child."""

    def __init__(self, pair: FramePair, params: LinkingParams) -> None:
        self.pair, self.params = pair, params
        self.dist, self.idx = candidates(pair, params)
        self.held: dict[int, list[_Held]] = {
            int(i): [_Held(-1, d, s) for d, s in kept] for i, kept in pair.kept.items()
        }
        self.parent_of = np.full(pair.n_children, -1, dtype=np.int64)

    def run(self) -> None:
        best = self.dist.min(axis=1, initial=np.inf)  # nearest usable candidate
        order = [int(c) for c in np.argsort(best, kind="stable") if np.isfinite(best[c])]
        for _ in range(MAX_ROUNDS):
            pending = [c for c in order if self.parent_of[c] < 0]
            if not pending:
                return
            for c in pending:
                if self.parent_of[c] < 0:
                    self._try(c)

    def _try(self, c: int) -> None:
        """Link child c to the nearest candidate that takes it (maybe releasing another)."""
        for d, i in zip(self.dist[c].tolist(), self.idx[c].tolist(), strict=True):
            if i < 0:  # past d_search, or a pair a human rejected
                continue
            s = self.pair.displacement(c, d)
            held = self.held.setdefault(i, [])
            cap = int(self.pair.capacity[i])
            if _room(held, d, s, cap, self.params) > 0:
                return self._link(c, i, d, s)
            proposed = [h for h in held if h.proposed]
            if not proposed:
                continue
            worst = max(proposed, key=lambda h: h.distance)
            rest = [h for h in held if h is not worst]
            if worst.distance > d and _room(rest, d, s, cap, self.params) > 0:
                held.remove(worst)
                self.parent_of[worst.child] = -1
                return self._link(c, i, d, s)

    def _link(self, c: int, i: int, d: float, s: float) -> None:
        self.held[i].append(_Held(c, d, s))
        self.parent_of[c] = i


def nn_link(pair: FramePair, params: LinkingParams) -> list[tuple[int, int]]:
    """Nearest-neighbour links (parent_id, child_id) for one pair of timepoints."""
    state = _Rounds(pair, params)
    state.run()
    children = np.flatnonzero(state.parent_of >= 0)
    parents = state.parent_of[children]
    return list(
        zip(
            pair.parent_ids[parents].tolist(),
            pair.child_ids[children].tolist(),
            strict=True,
        )
    )
