"""Gap interpolation: bridge a missed detection with interpolated nuclei.

A nucleus left without a parent (an orphan) may have lost it to a missed
detection at t−1.  ELEPHANT's optional module lets each orphan look for its
source up to T_max timepoints back, following the motion estimate, and
fills the timepoints in between.  Here an orphan at t walks back one
timepoint at a time along the estimator (its centre, without one),
corrected by the motion the run's own links show there (the median
residual of the 9 nearest links of that step, :mod:`.carried`: without a
flow model, the tissue's motion read off the links); from
t−2 on, the nearest unused track end (a nucleus without children) within
``d_search`` of the walk becomes its source.  The new nuclei lie on the walk,
bent linearly to end exactly on the source, with covariances blended
between the two ends; they are predicted, tagged ``interpolated``, and
linked in a chain source → … → orphan.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
from scipy.spatial import cKDTree

from napari_elephant.core.graph import Link, Nucleus, Origin, Status, TrackingGraph
from napari_elephant.core.linking.carried import MotionSample, local_motion
from napari_elephant.core.linking.estimator import PositionEstimator, estimate_previous
from napari_elephant.core.linking.frames import (
    INTERPOLATED,
    Key,
    Scope,
    kept_children,
    kept_parent,
    usable,
)
from napari_elephant.core.linking.problem import FramePair
from napari_elephant.core.params import LinkingParams


@dataclass(frozen=True)
class Gap:
    """A bridge from a track end (source) to an orphan: the nuclei in between."""

    source: int
    target: int
    t_source: int
    centers: np.ndarray  # (k − 1, 3) µm, for t_source + 1 … t_target − 1
    covs: np.ndarray  # (k − 1, 6) µm²

    def records(self, ids: list[int]) -> tuple[tuple[Nucleus, ...], tuple[Link, ...]]:
        """The interpolated nuclei (with the given ids) and the chain of links."""
        nuclei = tuple(
            Nucleus(
                nid,
                self.t_source + 1 + j,
                tuple(self.centers[j].tolist()),  # type: ignore[arg-type]
                tuple(self.covs[j].tolist()),  # type: ignore[arg-type]
                Status.PREDICTED,
                Origin.PREDICTED,
                frozenset({INTERPOLATED}),
            )
            for j, nid in enumerate(ids)
        )
        chain = [self.source, *ids, self.target]
        links = tuple(Link(a, b, Status.PREDICTED) for a, b in pairwise(chain))
        return nuclei, links


@dataclass
class _Walker:
    """An orphan walking back in time: its positions at t−1, t−2, …"""

    target: Nucleus
    path: list[np.ndarray] = field(default_factory=list)

    def at(self, t: int) -> Nucleus:
        """A virtual nucleus where the walk is at timepoint t (fed to the estimator)."""
        pos = self.path[-1] if self.path else np.asarray(self.target.center)
        return Nucleus(-1 - self.target.id, t, tuple(pos.tolist()), self.target.cov)


class GapFinder:
    """Bridges orphans to track ends, one orphan timepoint at a time.

    A run calls :meth:`add_links` after each step t−1 → t and then
    :meth:`bridge` for t: by then every link that decides whether a nucleus
    at t or before is an orphan or a track end is known, and the estimator
    is asked for the timepoints it has just seen (a flow model caches them).
    """

    def __init__(
        self,
        graph: TrackingGraph,
        scope: Scope,
        params: LinkingParams,
        estimator: PositionEstimator | None = None,
    ) -> None:
        self.graph, self.scope, self.params, self.estimator = graph, scope, params, estimator
        self.children: dict[int, int] = defaultdict(int)
        self.has_parent: set[int] = set()
        self.used: set[int] = set()
        self.ts = set(scope.timepoints)
        self.motion: dict[int, MotionSample] = {}

    @property
    def active(self) -> bool:
        return self.params.t_max >= 2

    def add_motion(self, sample: MotionSample) -> None:
        """The links of step ``sample.t`` and their residuals: the walks follow them."""
        self.motion[sample.t] = sample

    def add_links(self, links: list[Key]) -> None:
        for p, c in links:
            self.children[p] += 1
            self.has_parent.add(c)

    def is_orphan(self, n: Nucleus) -> bool:
        return n.id not in self.has_parent and not kept_parent(self.graph, self.scope, n.id)

    def is_end(self, n: Nucleus) -> bool:
        """No lineage child kept or proposed (rejected links take no slot), not yet a source."""
        links = kept_children(self.graph, self.scope, n.id)
        real = [c for c, s in links if s != Status.REJECTED]
        return not real and not self.children[n.id] and n.id not in self.used

    def rejected(self, source: int, target: int) -> bool:
        """Whether a human rejected the pair: no bridge may join them either."""
        g = self.graph
        return g.has_link(source, target) and g.link(source, target).status == Status.REJECTED

    def bridgeable(self, t: int, pair: FramePair, motion: MotionSample | None) -> frozenset[int]:
        """Children of the step t−1 → t that a free track end of t − 2 … t − t_max lies in
        reach of (their estimates walked on by the motion of the links of t − 1): a gap
        may be theirs, so the sibling step leaves them alone."""
        first = self.scope.timepoints[0] if self.scope.timepoints else t
        if not self.active or not pair.n_children:
            return frozenset()
        found: set[int] = set()
        back = pair.estimates
        for s in range(t - 2, max(first, t - self.params.t_max) - 1, -1):
            if motion is not None:
                back = back + local_motion(motion, back)
            ends = [n for n in usable(self.graph, s, self.scope) if self.is_end(n)]
            if ends:
                tree = cKDTree(np.array([n.center for n in ends], dtype=np.float64))
                dist, _ = tree.query(back, k=1, distance_upper_bound=self.params.d_search)
                found |= set(pair.child_ids[np.isfinite(dist)].tolist())
        return frozenset(found)

    def bridge(self, t: int) -> list[Gap]:
        """Gaps for the orphans of t: walk back from t−1 to t − t_max."""
        first = self.scope.timepoints[0] if self.scope.timepoints else t
        if not self.active or t - 2 < first or t - 1 not in self.ts:
            return []
        walkers = [_Walker(n) for n in usable(self.graph, t, self.scope) if self.is_orphan(n)]
        gaps: list[Gap] = []
        for s in range(t, max(first, t - self.params.t_max), -1):
            if not walkers or s - 1 not in self.ts:
                break
            _step(walkers, s, self.estimator, self.motion.get(s))
            found = self._match(walkers, s - 1) if t - (s - 1) >= 2 else []
            done = {g.target for g in found}
            walkers = [w for w in walkers if w.target.id not in done]
            gaps += found
        return gaps

    def _match(self, walkers: list[_Walker], t: int) -> list[Gap]:
        """Pair walkers with the nearest free track ends of t (nearest pairs first)."""
        sources = [n for n in usable(self.graph, t, self.scope) if self.is_end(n)]
        if not walkers or not sources:
            return []
        tree = cKDTree(np.array([n.center for n in sources], dtype=np.float64))
        pos = np.array([w.path[-1] for w in walkers])
        k = min(3, len(sources))
        dist, idx = tree.query(pos, k=k, distance_upper_bound=self.params.d_search)
        dist, idx = dist.reshape(len(walkers), k), idx.reshape(len(walkers), k)
        finite = np.isfinite(dist)
        rows = np.nonzero(finite)[0]
        order = np.argsort(dist[finite], kind="stable")
        gaps, taken = [], set()
        for i, j in zip(rows[order].tolist(), idx[finite][order].tolist(), strict=True):
            if i in taken or sources[j].id in self.used:
                continue
            if self.rejected(sources[j].id, walkers[i].target.id):
                continue
            taken.add(i)
            self.used.add(sources[j].id)
            gaps.append(_bridge(walkers[i], sources[j]))
        self.add_links([(g.source, g.target) for g in gaps])  # ends and orphans no more
        return gaps


def find_gaps(
    graph: TrackingGraph,
    scope: Scope,
    proposed: list[Key],
    params: LinkingParams,
    estimator: PositionEstimator | None = None,
) -> list[Gap]:
    """Gaps to fill once ``proposed`` links are in (on top of what the scope keeps)."""
    finder = GapFinder(graph, scope, params, estimator)
    if not finder.active:
        return []
    finder.add_links(proposed)
    return [gap for t in scope.steps for gap in finder.bridge(t)]


def _step(
    walkers: list[_Walker],
    s: int,
    estimator: PositionEstimator | None,
    motion: MotionSample | None = None,
) -> None:
    """Move every walker from timepoint s to s−1 along the estimator, corrected by the
    residuals of the links of step s when known."""
    nuclei = [w.at(s) for w in walkers]
    est, _ = estimate_previous(estimator, s, nuclei)
    if motion is not None:
        est = est + local_motion(motion, [n.center for n in nuclei])
    for w, pos in zip(walkers, est, strict=True):
        w.path.append(pos)


def _bridge(walker: _Walker, source: Nucleus) -> Gap:
    """The nuclei between source and orphan: the walk, bent to end on the source."""
    k = walker.target.t - source.t
    path = np.array(walker.path[: k - 1][::-1]).reshape(-1, 3)  # t_source + 1 … t_target − 1
    j = np.arange(k - 1, 0, -1)[:, None]  # steps back from the orphan
    offset = np.asarray(source.center) - walker.path[k - 1]
    w = j / k
    centers = path + w * offset
    covs = (1 - w) * np.asarray(walker.target.cov) + w * np.asarray(source.cov)
    return Gap(source.id, walker.target.id, source.t, centers, covs)
