"""Tracking graph -> napari Tracks data: lineage runs, divisions, time windows.

napari draws (track_id, t, z, y, x) rows and a ``{child_track: [parent_track]}``
graph (DESIGN §9), so a track is a run of nuclei without a division and each
daughter starts her own track.  Rejected links are negative annotations, not
lineage, so they are left out.  A workspace's Tracks layer holds only a window
of timepoints around the current one: 300k rows with their graph cost seconds
to build and slow every time step, while napari draws a few timepoints of tail.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from napari_elephant.core.graph import Status, TrackingGraph
from napari_elephant.core.units import VoxelSize

TAIL_LENGTH = 5
"""Timepoints of tail napari draws behind the current one (the layer's default)."""
TRACK_SLACK = 10
"""Timepoints held beyond what the Tracks layer draws: a rebuild every ~10 steps."""


@dataclass(frozen=True)
class TracksData:
    """What a Tracks layer needs; rows sorted by (track_id, t) as napari keeps them."""

    data: np.ndarray  # (m, 5) track_id, t, z, y, x (voxels, or µm without a voxel size)
    graph: dict[int, list[int]]  # {child_track: [parent_track]}
    features: dict[str, np.ndarray]  # "node_id", "status"

    def __len__(self) -> int:
        return len(self.data)


def _kept_links(graph: TrackingGraph, ids: np.ndarray | None = None) -> np.ndarray:
    """(k, 2) parent, child ids of the lineage links (not rejected), among ``ids``."""
    rejected = Status.REJECTED
    if ids is None:
        edges = graph.nx_graph.edges(data="status")
        pairs = [(p, c) for p, c, s in edges if s != rejected]
    else:
        succ, inside = graph.nx_graph._succ, set(ids.tolist())
        pairs = [
            (p, c)
            for p in ids.tolist()
            for c, d in succ[p].items()
            if c in inside and d["status"] != rejected
        ]
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def track_labels(n: int, parents: np.ndarray, children: np.ndarray) -> np.ndarray:
    """Track label (component) of each of n nodes, given link endpoints as indices.

    A link continues a track when its parent has exactly one (kept) child;
    the runs joined by such links are the connected components.
    """
    n_children = np.bincount(parents, minlength=n)
    cont = n_children[parents] == 1
    ones = np.ones(int(cont.sum()), dtype=np.int8)
    adj = coo_matrix((ones, (parents[cont], children[cont])), shape=(n, n))
    return connected_components(adj, directed=False)[1]


def track_window(t: int, before: int, after: int, slack: int) -> tuple[int, int]:
    """Timepoints a Tracks layer holds around t: what napari draws (``before``
    tail, ``after`` head) plus ``slack`` so that stepping rebuilds it rarely."""
    return (t - before - slack, t + after + slack)


def window_covers(window: tuple[int, int], t: int, before: int, after: int) -> bool:
    return window[0] <= t - before and t + after <= window[1]


def window_ids(graph: TrackingGraph, window: tuple[int, int]) -> np.ndarray:
    """Ids of the nuclei in the timepoints of a window (inclusive)."""
    parts = [graph.ids_at(t) for t in range(max(window[0], 0), window[1] + 1)]
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


@dataclass(frozen=True)
class _Nodes:
    ids: np.ndarray  # sorted
    t: np.ndarray
    centers: np.ndarray  # µm
    status: np.ndarray  # names


def _track_nodes(graph: TrackingGraph, ids: np.ndarray | None) -> _Nodes:
    """Columns of the nuclei (all, or the given ids), sorted by id."""
    ids = np.fromiter(graph.nx_graph, np.int64) if ids is None else ids
    ids = np.sort(np.asarray(ids, dtype=np.int64))
    records = list(graph.nuclei(ids.tolist()))
    n = len(records)
    tt = np.fromiter((r.t for r in records), np.int64, count=n)
    centers = np.array([r.center for r in records], dtype=np.float64).reshape(n, 3)
    status = np.array([r.status.value for r in records], dtype=object)
    return _Nodes(ids, tt, centers, status)


def tracks_data(
    graph: TrackingGraph,
    voxel: VoxelSize | None = None,
    window: tuple[int, int] | None = None,
) -> TracksData:
    """Nuclei with at least one lineage link as tracks, with the division graph
    (only the links inside the window, when one is given)."""
    ids = None if window is None else window_ids(graph, window)
    arr = _track_nodes(graph, ids)
    links = _kept_links(graph, ids)
    parents = np.searchsorted(arr.ids, links[:, 0])
    children = np.searchsorted(arr.ids, links[:, 1])
    labels = track_labels(len(arr.ids), parents, children)
    in_track = np.zeros(len(arr.ids), dtype=bool)
    in_track[parents] = in_track[children] = True
    # renumber the components that hold linked nuclei as 1, 2, ... (0 is not a track)
    track_of = np.zeros(len(arr.ids), dtype=np.int64)
    track_of[in_track] = np.unique(labels[in_track], return_inverse=True)[1] + 1
    divides = np.bincount(parents, minlength=len(arr.ids))[parents] == 2
    division_graph = {
        int(track_of[c]): [int(track_of[p])]
        for p, c in zip(parents[divides], children[divides], strict=True)
    }
    rows = np.flatnonzero(in_track)
    rows = rows[np.lexsort((arr.t[rows], track_of[rows]))]
    zyx = (voxel or VoxelSize()).to_voxels(arr.centers[rows])
    data = np.column_stack([track_of[rows], arr.t[rows], zyx]).astype(np.float64)
    features = {"node_id": arr.ids[rows], "status": arr.status[rows]}
    return TracksData(data.reshape(-1, 5), division_graph, features)
