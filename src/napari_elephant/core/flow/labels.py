"""Training labels of the flow network, rendered from validated links.

For each accepted link parent (t-1) → child (t), the child's ellipsoid is
painted with its *backward* displacement ``parent.center - child.center``
(where it came from), converted to voxels and multiplied by the per-axis
scale so that it fits the network's tanh range (paper: 1/10, 1/80, 1/80 per
voxel for z, y, x).  Everything else is masked out of the loss: the flow of
unannotated voxels is unknown, not zero.  Displacements beyond the range
(|normalised| > 1) are clipped and counted, so the caller can say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_elephant.core.detection.labels import as_voxel_size, ellipsoid_mask
from napari_elephant.core.flow.model import check_scale
from napari_elephant.core.graph.model import Status
from napari_elephant.core.units import VoxelSize

Pair = tuple[
    Any, Any
]  # (child at t, parent at t-1): anything with .center (and .cov for the child)


@dataclass(frozen=True)
class FlowLabels:
    """Normalised backward flow (3, Z, Y, X) float32, its mask, and how many were clipped."""

    flow: np.ndarray
    mask: np.ndarray
    n_clipped: int = 0

    @property
    def shape(self) -> tuple[int, ...]:
        return self.mask.shape


def link_pairs(graph: Any, t: int) -> list[Pair]:
    """(child, parent) of every accepted link from t-1 into timepoint t.

    Only consecutive timepoints: the network sees the pair (I_{t-1}, I_t),
    so a link that skips a timepoint says nothing about it.
    """
    pairs = []
    for child in graph.nuclei_at(t):
        pid = graph.parent(child.id)
        if pid is None:
            continue
        parent = graph.nucleus(pid)
        if parent.t == t - 1 and graph.link(pid, child.id).status == Status.ACCEPTED:
            pairs.append((child, parent))
    return pairs


def normalised_displacement(
    child: Any, parent: Any, voxel_size: VoxelSize, scale: Sequence[float]
) -> np.ndarray:
    """(parent - child) centre in voxels times the scale, unclipped (z, y, x)."""
    um = np.asarray(parent.center, dtype=np.float64) - np.asarray(child.center, dtype=np.float64)
    return voxel_size.to_voxels(um) * np.asarray(check_scale(scale))


def render_flow_labels(
    shape_zyx: Sequence[int],
    voxel_size: VoxelSize | Sequence[float],
    pairs: Iterable[Pair],
    scale: Sequence[float],
    origin_um: Sequence[float] = (0.0, 0.0, 0.0),
) -> FlowLabels:
    """Paint each child's ellipsoid with its normalised backward displacement.

    Voxel index ``i`` sits at ``origin_um + i × voxel_size`` (so crops can be
    rendered directly).  Where children overlap, the later pair wins.
    """
    vs = as_voxel_size(voxel_size)
    shape = tuple(int(s) for s in shape_zyx)
    flow = np.zeros((3, *shape), dtype=np.float32)
    mask = np.zeros(shape, dtype=bool)
    clipped = 0
    for child, parent in pairs:
        value = normalised_displacement(child, parent, vs, scale)
        if np.any(np.abs(value) > 1.0):
            clipped += 1
            value = np.clip(value, -1.0, 1.0)
        slices, inside = ellipsoid_mask(shape, vs, child.center, child.cov, origin_um)
        if not inside.any():
            continue
        for axis in range(3):
            flow[axis][slices][inside] = value[axis]
        mask[slices][inside] = True
    return FlowLabels(flow, mask, clipped)
