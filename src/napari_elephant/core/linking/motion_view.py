"""The motion a user can look at before linking: one arrow per nucleus, in µm.

An arrow starts at a nucleus of timepoint t and points to where it was at
t − 1, the backward displacement the flow model predicts and the linker
searches from.  Two sources, whichever the workspace has:

- ``flow``: the trained flow model, each nucleus' mean flow inside its
  ellipsoid (what ``link --method flow`` uses), plus the dense field thinned
  to about one arrow per nucleus radius (:func:`thinned_field`);
- ``links``: without a flow model, the motion the links into t show: at each
  nucleus, the median of (parent − child) over the 9 nearest linked children
  (:func:`~napari_elephant.core.linking.carried.local_motion`), the motion the
  default linker's coherence rounds read off its own links.  Daughters and
  a few wrong links do not move the median.

This module reads arrays and the graph only; the flow field comes from
``core/flow`` and the layer from ``_napari/motion_layer.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from napari_elephant.core.ellipsoid import equal_volume_radius
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Status, TrackingGraph
from napari_elephant.core.linking.carried import MotionSample, local_motion
from napari_elephant.core.units import VoxelSize

FLOW, LINKS = "flow", "links"


def _empty() -> np.ndarray:
    return np.empty((0, 3), dtype=np.float64)


@dataclass(frozen=True)
class MotionView:
    """Arrows of timepoint ``t``: ``centers`` (n, 3) µm and ``motion`` (n, 3) µm
    (estimated position at t − 1 minus centre) of the nuclei ``ids``; ``grid`` /
    ``grid_motion`` the thinned dense field (flow only, else empty)."""

    t: int
    source: str
    ids: np.ndarray
    centers: np.ndarray
    motion: np.ndarray
    grid: np.ndarray = field(default_factory=_empty)
    grid_motion: np.ndarray = field(default_factory=_empty)

    def summary(self) -> str:
        """One line for the log: how many arrows and how long they are."""
        if not len(self.motion):
            return f"motion at t={self.t} ({self.source}): no nuclei"
        lengths = np.linalg.norm(self.motion, axis=1)
        return (
            f"motion at t={self.t} ({self.source}): {len(lengths)} nuclei, median "
            f"{np.median(lengths):.2f} µm, largest {lengths.max():.2f} µm"
        )


def shown_nuclei(graph: TrackingGraph, t: int) -> list:
    """The nuclei of t that get an arrow: all but the rejected."""
    return [n for n in graph.nuclei_at(t) if n.status != Status.REJECTED]


def linked_motion(graph: TrackingGraph, t: int) -> MotionView:
    """The motion the links into ``t`` show at each nucleus of t (source ``links``)."""
    nuclei = shown_nuclei(graph, t)
    ids = np.array([n.id for n in nuclei], dtype=np.int64)
    centers = np.array([n.center for n in nuclei], dtype=np.float64).reshape(-1, 3)
    sample = links_into(graph, t)
    if not len(sample.positions):
        raise InvalidInputError(
            f"no links into t={t} to read a motion from: link or accept some links there, "
            "or train the flow model"
        )
    return MotionView(t, LINKS, ids, centers, local_motion(sample, centers))


def links_into(graph: TrackingGraph, t: int) -> MotionSample:
    """The children of t (not rejected) of every lineage link (not rejected) and
    parent − child."""
    where, moved = [], []
    for n in shown_nuclei(graph, t):
        for link in graph.links_of(n.id):
            if link.child != n.id or link.status == Status.REJECTED:
                continue
            parent = np.asarray(graph.nucleus(link.parent).center, np.float64)
            where.append(n.center)
            moved.append(parent - np.asarray(n.center, np.float64))
    positions = np.array(where, np.float64).reshape(-1, 3)
    return MotionSample(t, positions, np.array(moved, np.float64).reshape(-1, 3))


def thinned_field(
    flow_um: np.ndarray, voxel: VoxelSize, step_um: float
) -> tuple[np.ndarray, np.ndarray]:
    """(positions (m, 3) µm, motion (m, 3) µm) of a (3, Z, Y, X) field sampled every
    ``step_um`` along each axis (at least every voxel), so a movie of any voxel size
    shows about as many arrows per nucleus."""
    shape = flow_um.shape[1:]
    steps = [max(1, round(step_um / v)) for v in voxel.as_tuple()]
    axes = [np.arange(s // 2, n, s) for s, n in zip(steps, shape, strict=True)]
    zz, yy, xx = np.meshgrid(*axes, indexing="ij")
    idx = np.stack([zz.ravel(), yy.ravel(), xx.ravel()], axis=1)
    motion = flow_um[:, idx[:, 0], idx[:, 1], idx[:, 2]].T.astype(np.float64)
    return voxel.to_um(idx.astype(np.float64)), motion


def nucleus_scale(graph: TrackingGraph, t: int) -> float:
    """The median equal-volume radius (µm) of the nuclei of t, or 1 µm without any:
    the spacing of the dense field's arrows."""
    six = np.array([n.cov for n in shown_nuclei(graph, t)], np.float64).reshape(-1, 6)
    return float(np.median(equal_volume_radius(six))) if len(six) else 1.0
