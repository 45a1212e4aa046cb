"""One linking problem: the nuclei of t−1 (parents) and t (children), in µm.

Both linkers take a :class:`FramePair` and return ``(parent_id, child_id)``
proposals, so they can be tested on hand-built arrays and benchmarked
without a graph.  The human decisions of the graph arrive here as plain
constraints: links a parent already keeps, free slots under the
two-children limit, and pairs that must never be linked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from napari_elephant.core.linking.division_model import DivisionModel

MAX_CHILDREN = 2  # the graph's limit: a parent has at most two children

# (distance µm, estimated displacement µm) of a link a parent keeps
Kept = tuple[float, float]


@dataclass(frozen=True)
class FramePair:
    """What a linker needs for the step t−1 → t.

    ``estimates`` are the children's estimated centres at t−1 (their own
    centres without a motion model); ``displacements`` the lengths of the
    estimated motion, or None when there is no motion model.  ``kept[i]``
    lists the links parent ``i`` keeps to real children (accepted links):
    they count for the division rules.  ``capacity[i]`` is how many new
    children parent ``i`` may still take under the graph's limit (its kept
    lineage links use it up; rejected links, outside the limit, do not).
    ``forbidden`` holds (parent_id, child_id) pairs a human rejected.
    ``centers`` are the children's own centres at t (None: taken as the
    estimates, i.e. no motion).  ``parent_covs`` (n_parents, 3, 3) µm² are
    the parents' ellipsoids, which a division's daughters must straddle
    (:func:`~napari_elephant.core.linking.coherence.sibling_divisions`;
    None: not checked).  ``kept_estimates[i]`` is the estimated position at
    t−1 of the one lineage child parent ``i`` keeps (when it keeps exactly
    one), so that the child a human linked can be the first of two daughters.
    ``kept_positions`` / ``kept_residuals`` (m, 3) µm: the centres of the
    children of all kept lineage links and how far their estimates miss the
    parent (parent − estimate), the motion a human confirmed
    (:mod:`~napari_elephant.core.linking.carried`).
    ``division_model``: what a division looks like in this workspace (learned
    from the user's decisions, :mod:`~napari_elephant.core.linking.division_model`;
    None: not checked), with the radii (µm) it needs: ``child_radii``,
    ``parent_radii`` and ``kept_radii[i]`` of the one child parent ``i`` keeps.
    ``bridgeable``: ids of children that a track end two timepoints back could
    take through a gap (with interpolation on): no second daughters.
    """

    parent_ids: np.ndarray
    parent_centers: np.ndarray
    child_ids: np.ndarray
    estimates: np.ndarray
    displacements: np.ndarray | None = None
    kept: Mapping[int, tuple[Kept, ...]] = field(default_factory=dict)
    capacity: np.ndarray | None = None
    forbidden: frozenset[tuple[int, int]] = frozenset()
    centers: np.ndarray | None = None
    parent_covs: np.ndarray | None = None
    kept_estimates: Mapping[int, np.ndarray] = field(default_factory=dict)
    kept_positions: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
    kept_residuals: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))
    division_model: DivisionModel | None = None
    child_radii: np.ndarray | None = None
    parent_radii: np.ndarray | None = None
    kept_radii: Mapping[int, float] = field(default_factory=dict)
    bridgeable: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        for name in ("parent_ids", "child_ids"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), np.int64).reshape(-1))
        for name in ("parent_centers", "estimates", "kept_positions", "kept_residuals"):
            xyz = np.asarray(getattr(self, name), np.float64).reshape(-1, 3)
            object.__setattr__(self, name, xyz)
        if self.capacity is None:
            full = np.full(len(self.parent_ids), MAX_CHILDREN, dtype=np.int64)
            object.__setattr__(self, "capacity", full)
        centers = self.estimates if self.centers is None else self.centers
        object.__setattr__(self, "centers", np.asarray(centers, np.float64).reshape(-1, 3))
        if self.parent_covs is not None:
            covs = np.asarray(self.parent_covs, np.float64).reshape(-1, 3, 3)
            object.__setattr__(self, "parent_covs", covs)
            if len(covs) != len(self.parent_ids):
                raise ValueError("parent_ids and parent_covs differ in length")
        if len(self.parent_ids) != len(self.parent_centers):
            raise ValueError("parent_ids and parent_centers differ in length")
        if not len(self.child_ids) == len(self.estimates) == len(self.centers):
            raise ValueError("child_ids, estimates and centers differ in length")

    @property
    def n_parents(self) -> int:
        return len(self.parent_ids)

    @property
    def n_children(self) -> int:
        return len(self.child_ids)

    def displacement(self, child: int, distance: float) -> float:
        """Estimated displacement of a child; the distance itself without a motion model."""
        return distance if self.displacements is None else float(self.displacements[child])

    def link_ends(self, links: Iterable[tuple[int, int]]) -> np.ndarray:
        """(n_links, 2) (parent index, child index) of (parent id, child id) links among
        the pair's nuclei."""
        row = {int(c): i for i, c in enumerate(self.child_ids.tolist())}
        col = {int(p): i for i, p in enumerate(self.parent_ids.tolist())}
        return np.array([(col[p], row[c]) for p, c in links], dtype=np.int64).reshape(-1, 2)

    def allowed_pairs(self, children: np.ndarray, parents: np.ndarray) -> np.ndarray:
        """Mask of (child index, parent index) pairs that no human decision forbids."""
        if not self.forbidden:
            return np.ones(len(children), dtype=bool)
        pid, cid = self.parent_ids[parents].tolist(), self.child_ids[children].tolist()
        pairs = zip(pid, cid, strict=True)
        return np.array([(p, c) not in self.forbidden for p, c in pairs], dtype=bool)


def simple_pair(
    parent_ids: Iterable[int],
    parent_centers: np.ndarray,
    child_ids: Iterable[int],
    child_centers: np.ndarray,
    estimates: np.ndarray | None = None,
) -> FramePair:
    """A pair without human constraints; ``estimates`` (if given) carry a motion model."""
    centers = np.asarray(child_centers, dtype=np.float64).reshape(-1, 3)
    disp = None
    if estimates is not None:
        estimates = np.asarray(estimates, dtype=np.float64).reshape(-1, 3)
        disp = np.linalg.norm(estimates - centers, axis=1)
    return FramePair(
        np.fromiter(parent_ids, dtype=np.int64),
        parent_centers,
        np.fromiter(child_ids, dtype=np.int64),
        centers if estimates is None else estimates,
        disp,
        centers=centers,
    )
