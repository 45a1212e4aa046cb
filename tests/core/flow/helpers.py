"""A hand-made movie for the flow tests: soft balls translating by a known step."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from napari_elephant.core.graph import Link, TrackingGraph, make_nucleus
from napari_elephant.core.io.image import write_ome_zarr
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import Workspace

VOXEL = VoxelSize(2.0, 0.5, 0.5)
SHAPE = (8, 48, 48)  # (Z, Y, X) voxels: 16 × 24 × 24 µm
STEP = np.array([0.0, 1.5, -2.0])  # µm per timepoint (z, y, x)
RADIUS = 2.5
STARTS = np.array([[7.0, 6.0, 8.0], [7.0, 8.0, 17.0], [9.0, 16.0, 9.0], [8.0, 15.0, 18.0]])


def centers(t: int) -> np.ndarray:
    return STARTS + t * STEP


def render(t: int) -> np.ndarray:
    """Soft-edged balls on a dim background, as uint16."""
    grid = np.stack(np.meshgrid(*[np.arange(n) for n in SHAPE], indexing="ij"), axis=-1)
    um = grid * VOXEL.array
    image = np.full(SHAPE, 100.0)
    for c in centers(t):
        r = np.linalg.norm(um - c, axis=-1) / RADIUS
        image += 800.0 / (1.0 + np.exp((r - 1.0) * 6.0))
    return image.astype(np.uint16)


def truth_graph(n_t: int) -> TrackingGraph:
    graph = TrackingGraph()
    nuclei = [
        make_nucleus(t * 10 + i, t, c, radius=RADIUS)
        for t in range(n_t)
        for i, c in enumerate(centers(t))
    ]
    graph.add_nuclei(nuclei)
    graph.add_links(
        [Link((t - 1) * 10 + i, t * 10 + i) for t in range(1, n_t) for i in range(len(STARTS))]
    )
    return graph


def make_workspace(folder: Path, n_t: int = 3) -> Workspace:
    image = np.stack([render(t) for t in range(n_t)])
    path = write_ome_zarr(folder / "m.ome.zarr", image, VOXEL)
    return Workspace.create(folder / "w.elephant", path, graph=truth_graph(n_t))
