"""From the graph to frame pairs, under the human-decision rules.

What a linking run may change (its :class:`Scope`): the ``predicted`` links
between the timepoints it re-links and the interpolated nuclei a previous
run left there.  Everything else is kept as it is and becomes a constraint:

- accepted links stay; a child whose parent is fixed by one is not re-linked,
  and a parent counts its accepted children in the division rules;
- rejected links stay too (they are negative examples) and are never
  proposed again; but they are not lineage, so they use up none of the
  graph's limits (:mod:`napari_elephant.core.graph.limits`): a child whose
  only parent link is rejected is free to get another parent, and the
  parent keeps both its slots for other children;
- rejected nuclei take no part; accepted and predicted nuclei do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from napari_elephant.core.ellipsoid import equal_volume_radius
from napari_elephant.core.graph import Nucleus, Status, TrackingGraph, six_to_cov
from napari_elephant.core.linking.division_model import DivisionModel
from napari_elephant.core.linking.estimator import PositionEstimator, estimate_previous
from napari_elephant.core.linking.problem import MAX_CHILDREN, FramePair

INTERPOLATED = "interpolated"  # tag of the nuclei that gap interpolation creates

Key = tuple[int, int]


@dataclass(frozen=True)
class Scope:
    """The timepoints a run links among themselves and what it may replace."""

    timepoints: tuple[int, ...]
    stale_links: frozenset[Key] = frozenset()
    stale_nuclei: frozenset[int] = frozenset()

    @property
    def steps(self) -> list[int]:
        """Child timepoints t whose step t−1 → t lies inside the scope."""
        ts = set(self.timepoints)
        return [t for t in self.timepoints if t - 1 in ts]

    def is_stale(self, parent: int, child: int) -> bool:
        return (parent, child) in self.stale_links or bool(
            self.stale_nuclei and (parent in self.stale_nuclei or child in self.stale_nuclei)
        )


def make_scope(graph: TrackingGraph, timepoints: Iterable[int], replace: bool = True) -> Scope:
    """The scope of a run; ``replace=False`` keeps every existing link and nucleus."""
    ts = tuple(sorted({int(t) for t in timepoints}))
    if not replace:
        return Scope(ts)
    inside = set(ts)
    g, predicted = graph.nx_graph, Status.PREDICTED
    stale: set[Key] = set()
    for t in Scope(ts).steps:
        for c in graph.ids_at(t).tolist():
            for p, data in g._pred[c].items():
                if data["status"] == predicted and graph.nucleus(p).t in inside:
                    stale.add((p, c))
    nuclei = frozenset(n for t in ts for n in _stale_interpolated(graph, t, inside))
    return Scope(ts, frozenset(stale), nuclei)


def _stale_interpolated(graph: TrackingGraph, t: int, inside: set[int]) -> list[int]:
    """Predicted interpolated nuclei of t whose links are all predicted and inside."""
    out = []
    for n in graph.nuclei_at(t):
        if n.status != Status.PREDICTED or INTERPOLATED not in n.tags:
            continue
        links = graph.links_of(n.id)
        if all(lk.status == Status.PREDICTED for lk in links) and all(
            graph.nucleus(o).t in inside for lk in links for o in lk.key
        ):
            out.append(n.id)
    return out


def usable(graph: TrackingGraph, t: int, scope: Scope) -> list[Nucleus]:
    """Nuclei of t that take part in linking (not rejected, not about to be replaced)."""
    stale = scope.stale_nuclei
    return [n for n in graph.nuclei_at(t) if n.status != Status.REJECTED and n.id not in stale]


def kept_parent(graph: TrackingGraph, scope: Scope, child: int) -> tuple[int, Status] | None:
    """The lineage parent link of a child that the run keeps, or None.

    A rejected link is no parent: its child is free to be linked again (never
    to that parent, a forbidden pair of :func:`frame_pair`).
    """
    for p, data in graph.nx_graph._pred[child].items():
        if data["status"] != Status.REJECTED and not scope.is_stale(p, child):
            return p, data["status"]
    return None


def kept_children(graph: TrackingGraph, scope: Scope, parent: int) -> list[tuple[int, Status]]:
    """The child links of a parent that the run keeps, rejected ones included."""
    succ = graph.nx_graph._succ[parent]
    return [(c, d["status"]) for c, d in succ.items() if not scope.is_stale(parent, c)]


def frame_pair(
    graph: TrackingGraph,
    scope: Scope,
    t: int,
    estimator: PositionEstimator | None = None,
    model: DivisionModel | None = None,
) -> FramePair:
    """The linking problem t−1 → t with the graph's human decisions as constraints
    (and the workspace's division ``model``)."""
    parents, nuclei = usable(graph, t - 1, scope), usable(graph, t, scope)
    est, disp = estimate_previous(estimator, t, nuclei)
    row = {n.id: i for i, n in enumerate(nuclei)}
    free = [i for i, n in enumerate(nuclei) if kept_parent(graph, scope, n.id) is None]
    pcenters = np.array([p.center for p in parents], dtype=np.float64).reshape(-1, 3)
    parent_six = np.array([p.cov for p in parents], np.float64).reshape(-1, 6)
    capacity = np.full(len(parents), MAX_CHILDREN, dtype=np.int64)
    kept: dict[int, tuple[tuple[float, float], ...]] = {}
    kept_est: dict[int, np.ndarray] = {}
    forbidden: set[Key] = set()
    moved: list[tuple[np.ndarray, np.ndarray]] = []
    only: dict[int, int] = {}  # parent index → the one lineage child it keeps
    for i, p in enumerate(parents):
        links = kept_children(graph, scope, p.id)
        forbidden |= {(p.id, c) for c, s in links if s == Status.REJECTED}
        real = [c for c, s in links if s != Status.REJECTED]
        capacity[i] -= len(real)  # rejected links take no slot
        if real:
            kept[i] = tuple(_measure(graph, pcenters[i], c, row, est, disp) for c in real)
        for c in real:
            where = np.asarray(graph.nucleus(c).center, np.float64)
            moved.append((where, pcenters[i] - (est[row[c]] if c in row else where)))
        if len(real) == 1:
            c = only[i] = real[0]
            kept_est[i] = est[row[c]] if c in row else np.asarray(graph.nucleus(c).center)
    pair = FramePair(
        parent_ids=np.array([p.id for p in parents], dtype=np.int64),
        parent_centers=pcenters,
        child_ids=np.array([nuclei[i].id for i in free], dtype=np.int64),
        estimates=est[free],
        displacements=None if disp is None else disp[free],
        kept=kept,
        capacity=capacity,
        forbidden=frozenset(forbidden),
        centers=np.array([nuclei[i].center for i in free], dtype=np.float64).reshape(-1, 3),
        kept_estimates=kept_est,
        parent_covs=six_to_cov(parent_six),
        kept_positions=np.array([m[0] for m in moved], np.float64).reshape(-1, 3),
        kept_residuals=np.array([m[1] for m in moved], np.float64).reshape(-1, 3),
    )
    return with_radii(graph, pair, [nuclei[i] for i in free], parent_six, only, model)


def with_radii(
    graph: TrackingGraph,
    pair: FramePair,
    children: list[Nucleus],
    parent_six: np.ndarray,
    only: dict[int, int],
    model: DivisionModel | None,
) -> FramePair:
    """The pair with the nuclei's radii (the divisions' size checks) and a division model;
    ``parent_six``: the parents' covariance entries, ``only``: parent index → the one
    lineage child it keeps."""
    kept = np.array([graph.nucleus(c).cov for c in only.values()], np.float64).reshape(-1, 6)
    return replace(
        pair,
        division_model=model,
        child_radii=equal_volume_radius(np.array([n.cov for n in children], np.float64)),
        parent_radii=equal_volume_radius(parent_six),
        kept_radii=dict(zip(only, equal_volume_radius(kept).tolist(), strict=True)),
    )


def _measure(
    graph: TrackingGraph,
    parent_center: np.ndarray,
    child: int,
    row: dict[int, int],
    est: np.ndarray,
    disp: np.ndarray | None,
) -> tuple[float, float]:
    """(distance, displacement) of a kept link, from the child's estimate when it has one."""
    if child in row:
        d = float(np.linalg.norm(est[row[child]] - parent_center))
        return d, d if disp is None else float(disp[row[child]])
    d = float(np.linalg.norm(np.subtract(graph.nucleus(child).center, parent_center)))
    return d, d
