"""Tiny test data shared by the napari and Qt tests: movies, graphs, workspaces."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import h5py
import numpy as np
import tifffile

from napari_elephant.core.graph import Link, Status, TrackingGraph, make_nucleus
from napari_elephant.core.io.image import write_ome_zarr
from napari_elephant.core.synthetic import SyntheticMovie, generate
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import Workspace

VOXEL = VoxelSize(2.0, 0.5, 0.5)


@lru_cache(maxsize=1)
def tiny_movie() -> SyntheticMovie:
    """The 'tiny' synthetic movie (4 × 8 × 48 × 48, 18 nuclei, one division)."""
    return generate("tiny", seed=0)


def copy_graph(graph: TrackingGraph) -> TrackingGraph:
    return TrackingGraph.from_records(graph.nuclei(), graph.links())


def division_graph() -> TrackingGraph:
    """1 → 2 → {3, 4}, 3 → 5; 6 rejected and alone; 7 → 8 by a rejected link.

    Lineage tracks: [1, 2], [3, 5], [4] with both daughters' parent [1, 2].
    """
    spec = [
        (1, 0, "accepted"), (2, 1, "accepted"), (3, 2, "predicted"), (4, 2, "accepted"),
        (5, 3, "accepted"), (6, 0, "rejected"), (7, 0, "predicted"), (8, 1, "predicted"),
    ]  # fmt: skip
    nuclei = [
        make_nucleus(i, t, (2.0 * i, 1.0 + i, 3.0 + i), radius=1.0 + 0.5 * i, status=s)
        for i, t, s in spec
    ]
    links = [
        Link(1, 2),
        Link(2, 3),
        Link(2, 4, Status.PREDICTED),
        Link(3, 5),
        Link(7, 8, Status.REJECTED),
    ]
    return TrackingGraph.from_records(nuclei, links)


def write_zarr(path: Path) -> Path:
    return write_ome_zarr(path, tiny_movie().image, VOXEL)


def write_tiff(path: Path) -> Path:
    """A plain TIFF with no voxel size (axes given so it reads as a movie)."""
    tifffile.imwrite(path, tiny_movie().image, imagej=True, metadata={"axes": "TZYX"})
    return path


def write_h5(path: Path) -> Path:
    with h5py.File(path, "w") as f:
        f.create_dataset("raw", data=tiny_movie().image, chunks=(1, 8, 48, 48))
        f["raw"].attrs["element_size_um"] = VOXEL.as_tuple()
    return path


def write_workspace(root: Path, graph: TrackingGraph | None = None) -> Path:
    """A workspace on the tiny movie holding its ground truth (or the given graph)."""
    movie = write_zarr(root / "movie.ome.zarr")
    ws = Workspace.create(
        root / "tiny.elephant", movie, graph=graph or copy_graph(tiny_movie().graph)
    )
    return ws.path


def same_graph(a: TrackingGraph, b: TrackingGraph, csv: bool = False) -> bool:
    """Same nuclei (floats to 1e-9) and links; CSV keeps neither origin nor link status,
    and as a lineage format only the links that are not rejected."""
    if sorted(a.nx_graph) != sorted(b.nx_graph):
        return False
    for n in a.nuclei():
        m = b.nucleus(n.id)
        if (n.t, n.status, n.tags) != (m.t, m.status, m.tags) or (
            not csv and n.origin != m.origin
        ):
            return False
        if not np.allclose(n.center + n.cov, m.center + m.cov, rtol=0, atol=1e-9):
            return False
    return _link_keys(a, not csv) == _link_keys(b, not csv)


def _link_keys(g: TrackingGraph, with_status: bool) -> list[tuple]:
    links = [lk for lk in g.links() if with_status or lk.status != Status.REJECTED]
    return sorted((lk.parent, lk.child, lk.status if with_status else None) for lk in links)


def shown_ids(session) -> list[int]:
    """Ids in the nuclei layer (the current timepoint's shown nuclei), sorted."""
    return sorted(session.layers["nuclei"].features["id"].tolist())
