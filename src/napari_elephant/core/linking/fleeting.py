"""A division needs two daughters that go on: a daughter with no future is dropped.

A false nucleus beside a real one (a faint speck, half of a split nucleus)
is offered to the nearest mother as her second daughter, and a step
t−1 → t cannot tell it from a real daughter: both sit where a daughter
would.  The next timepoint can: a real daughter goes on, a false nucleus is
gone.  So once every step of a run is planned, a proposed second-daughter
link is dropped when the daughter has no child (none proposed, none kept,
no gap bridged from her), unless

- she stands at the run's last timepoint (nothing to go on to yet), or
- she is within one nucleus radius of the lateral (y, x) edge of the
  field the nuclei fill (their bounding box), where a real cell may leave.
  The top and bottom of a stack do not count: they cut nuclei, and the
  cut caps are the small false nuclei this rule is for (counting them kept
  most of the false divisions of the measurement below).

The daughter stays, as a track of her own; human links are never touched
(they are kept, not proposed).  Detected crowded_dim nuclei (the simulated
user's final graphs relinked): division F1 0.80–0.84 → 0.91–0.94; the true
nuclei of the ASTEC lineages are unchanged (docs/linking.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from napari_elephant.core.ellipsoid import median_lateral_radius
from napari_elephant.core.graph import Status, TrackingGraph
from napari_elephant.core.linking.frames import Key, Scope, kept_children, usable


class Field:
    """The lateral box the nuclei of a run fill, and its edge band (one radius wide)."""

    def __init__(self, centers: np.ndarray, radius: float) -> None:
        yx = centers[:, 1:]
        self.low, self.high = yx.min(axis=0), yx.max(axis=0)
        self.margin = radius

    def at_edge(self, center: Sequence[float]) -> bool:
        c = np.asarray(center, dtype=np.float64)[1:]
        return bool(np.any((c - self.low < self.margin) | (self.high - c < self.margin)))


def field_of(graph: TrackingGraph, scope: Scope) -> Field | None:
    """The field of the run's nuclei; None when there are none."""
    nuclei = [n for t in scope.timepoints for n in usable(graph, t, scope)]
    radius = median_lateral_radius(nuclei)
    if not nuclei or radius is None:
        return None
    return Field(np.array([n.center for n in nuclei], dtype=np.float64), radius)


def drop_fleeting_daughters(
    graph: TrackingGraph,
    scope: Scope,
    proposed: Iterable[Key],
    sources: Iterable[int] = (),
    last: int | None = None,
) -> list[Key]:
    """``proposed`` without the second-daughter links of daughters with no future.

    ``sources``: nuclei a gap bridge goes on from; ``last``: the last
    timepoint the run linked (default: the scope's last).
    """
    proposed = list(proposed)
    last = (scope.timepoints[-1] if scope.timepoints else 0) if last is None else last
    children: dict[int, list[int]] = defaultdict(list)
    for p, c in proposed:
        children[p].append(c)
    go_on = set(children) | set(sources)
    field: Field | None = None
    drop: set[Key] = set()
    for parent, kids in children.items():
        kept = _kept_lineage(graph, scope, parent)
        if len(kids) + len(kept) < 2:
            continue
        gone = [k for k in kids if k not in go_on and not _kept_lineage(graph, scope, k)]
        gone = [k for k in gone if graph.nucleus(k).t < last]
        if gone:
            field = field or field_of(graph, scope)
        gone = [k for k in gone if field is None or not field.at_edge(graph.nucleus(k).center)]
        drop |= {(parent, k) for k in _one_of_two(graph, parent, gone, len(kept))}
    return [k for k in proposed if k not in drop]


def _kept_lineage(graph: TrackingGraph, scope: Scope, parent: int) -> list[int]:
    """The children a run keeps for ``parent`` that are lineage (not rejected)."""
    return [c for c, s in kept_children(graph, scope, parent) if s != Status.REJECTED]


def _one_of_two(graph: TrackingGraph, parent: int, gone: list[int], n_kept: int) -> list[int]:
    """The daughters to drop: beside a kept child, every one with no future; when
    both proposed daughters have none, only the farther from the mother (the
    nearer carries her track on)."""
    if n_kept or len(gone) < 2:
        return gone
    origin = np.asarray(graph.nucleus(parent).center)
    dist = [np.linalg.norm(np.asarray(graph.nucleus(k).center) - origin) for k in gone]
    return [gone[int(np.argmax(dist))]]
