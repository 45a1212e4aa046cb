"""Tracking graph and movie -> napari layer data (numpy in, numpy out).

Everything here is in micrometres: points and tracks carry (t, z, y, x)
coordinates in µm with a layer scale of 1, and the image gets its voxel size
as scale, so all our layers meet in one world.  The functions only read the
graph and never touch a viewer, so they are tested headless and reused by the
reader, the writer, the sample data and the session.

Tracks (DESIGN §9): napari draws (track_id, t, z, y, x) rows and a
``{child_track: [parent_track]}`` graph, so a track is a run of nuclei without
a division; each daughter starts her own track.  Rejected links are negative
annotations, not lineage, so they are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from napari_elephant.core.graph import Status, TrackingGraph, six_to_cov
from napari_elephant.core.io.image import ImageSource
from napari_elephant.core.units import VoxelSize

STATUS_ORDER: tuple[Status, ...] = (Status.PREDICTED, Status.ACCEPTED, Status.REJECTED)
STATUS_COLORS: dict[Status, tuple[float, float, float, float]] = {
    Status.PREDICTED: (0.0, 1.0, 0.0, 1.0),  # green
    Status.ACCEPTED: (0.0, 1.0, 1.0, 1.0),  # cyan
    Status.REJECTED: (1.0, 0.0, 1.0, 1.0),  # magenta
}
_COLOR_TABLE = np.array([STATUS_COLORS[s] for s in STATUS_ORDER], dtype=np.float32)
_STATUS_NAMES = np.array([s.value for s in STATUS_ORDER], dtype=object)
_STATUS_CODE = {s: i for i, s in enumerate(STATUS_ORDER)}

# Keys of layer.metadata that tie a layer to our data model.
GRAPH_KEY = "elephant_graph"  # the TrackingGraph the layer shows
WORKSPACE_KEY = "elephant_workspace"  # the open Workspace (workspace layers only)
ROLE_KEY = "elephant_role"  # "image", "nuclei" or "tracks"
AXIS_LABELS = ("t", "z", "y", "x")

FACE_ALPHA = 0.2
CONTRAST_SAMPLE_VOXELS = 2_000_000
"""Most voxels read to guess contrast limits: napari would otherwise read the movie."""


@dataclass(frozen=True)
class NucleiArrays:
    """Columns of the graph's nuclei, sorted by id."""

    ids: np.ndarray  # (n,) int64
    t: np.ndarray  # (n,) int64
    centers: np.ndarray  # (n, 3) µm
    radius: np.ndarray  # (n,) equal-volume radius, µm
    status: np.ndarray  # (n,) int8 index into STATUS_ORDER


@dataclass(frozen=True)
class PointsData:
    """What a Points layer of nuclei needs."""

    coords: np.ndarray  # (n, 4) t, z, y, x (µm)
    size: np.ndarray  # (n,) diameter, µm
    color: np.ndarray  # (n, 4) RGBA of the status
    features: dict[str, np.ndarray]  # "id", "status"


@dataclass(frozen=True)
class TracksData:
    """What a Tracks layer needs; rows sorted by (track_id, t) as napari keeps them."""

    data: np.ndarray  # (m, 5) track_id, t, z, y, x (µm)
    graph: dict[int, list[int]]  # {child_track: [parent_track]}
    features: dict[str, np.ndarray]  # "node_id", "status"

    def __len__(self) -> int:
        return len(self.data)


def nuclei_arrays(graph: TrackingGraph, t: int | None = None) -> NucleiArrays:
    """All nuclei (or those of timepoint t) as arrays, in one pass over the records."""
    ids = graph.ids_at(t) if t is not None else np.fromiter(graph.nx_graph, np.int64)
    ids = np.sort(ids)
    records = list(graph.nuclei(ids.tolist()))
    n = len(records)
    tt = np.fromiter((r.t for r in records), np.int64, count=n)
    centers = np.array([r.center for r in records], dtype=np.float64).reshape(n, 3)
    covs = np.array([r.cov for r in records], dtype=np.float64).reshape(n, 6)
    codes = np.fromiter((_STATUS_CODE[r.status] for r in records), np.int8, count=n)
    # equal-volume radius = (product of semi-axes)^(1/3) = det(cov)^(1/6)
    radius = np.abs(np.linalg.det(six_to_cov(covs))) ** (1.0 / 6.0) if n else np.zeros(0)
    return NucleiArrays(ids, tt, centers, radius, codes)


def status_colors(codes: np.ndarray) -> np.ndarray:
    """RGBA per status code (see STATUS_ORDER)."""
    return _COLOR_TABLE[np.asarray(codes, dtype=np.intp)]


def points_data(graph: TrackingGraph, t: int | None = None) -> PointsData:
    """Nuclei as Points: centres (t, z, y, x) µm, diameter, status colour."""
    arr = nuclei_arrays(graph, t)
    coords = np.column_stack([arr.t.astype(np.float64), arr.centers]).reshape(-1, 4)
    features = {"id": arr.ids, "status": _STATUS_NAMES[arr.status.astype(np.intp)]}
    return PointsData(coords, 2.0 * arr.radius, status_colors(arr.status), features)


def _kept_links(graph: TrackingGraph) -> np.ndarray:
    """(k, 2) parent, child ids of the links that are lineage (not rejected)."""
    rejected = Status.REJECTED
    pairs = [(p, c) for p, c, s in graph.nx_graph.edges(data="status") if s != rejected]
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


def tracks_data(graph: TrackingGraph) -> TracksData:
    """Nuclei with at least one lineage link as tracks, with the division graph."""
    arr = nuclei_arrays(graph)
    links = _kept_links(graph)
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
    data = np.column_stack([track_of[rows], arr.t[rows], arr.centers[rows]]).astype(np.float64)
    features = {"node_id": arr.ids[rows], "status": _STATUS_NAMES[arr.status[rows]]}
    return TracksData(data.reshape(-1, 5), division_graph, features)


def status_counts(graph: TrackingGraph) -> dict[str, int]:
    """Numbers of nuclei per status and of links (the dock's counters)."""
    codes = nuclei_arrays(graph).status
    counts = np.bincount(codes.astype(np.intp), minlength=len(STATUS_ORDER))
    out = {s.value: int(c) for s, c in zip(STATUS_ORDER, counts, strict=True)}
    out["links"] = graph.n_links
    return out


# ------------------------------------------------------------ layer tuples
def points_layer_data(
    graph: TrackingGraph, name: str, metadata: dict[str, Any] | None = None
) -> tuple[np.ndarray, dict[str, Any], str]:
    """The nuclei Points layer as a napari LayerData tuple."""
    pts = points_data(graph)
    kwargs = {
        "name": name,
        "ndim": 4,
        "axis_labels": AXIS_LABELS,
        "size": pts.size,
        **point_colors(pts),
        "border_width": 0.12,  # of the diameter
        "features": pts.features,
        # draw each nucleus as the disc where the slice cuts its sphere
        "projection_mode": "rescale_spherical",
        "metadata": {**(metadata or {}), GRAPH_KEY: graph, ROLE_KEY: "nuclei"},
    }
    return pts.coords, kwargs, "points"


def point_colors(pts: PointsData) -> dict[str, Any]:
    """Status colour on the border, a faint fill so the nucleus shows through
    (napari refuses an empty colour array, hence the names for no points)."""
    if len(pts.coords) == 0:
        return {"face_color": "transparent", "border_color": "cyan"}
    face = pts.color.copy()
    face[:, 3] = FACE_ALPHA
    return {"face_color": face, "border_color": pts.color}


def tracks_layer_data(
    graph: TrackingGraph, name: str, metadata: dict[str, Any] | None = None
) -> tuple[np.ndarray, dict[str, Any], str] | None:
    """The Tracks layer as a LayerData tuple, or None when nothing is linked
    (napari cannot build an empty Tracks layer)."""
    trk = tracks_data(graph)
    if len(trk) == 0:
        return None
    kwargs = {
        "name": name,
        "axis_labels": AXIS_LABELS,
        "graph": trk.graph,
        "features": trk.features,
        "tail_length": 5,
        "tail_width": 2,
        "metadata": {**(metadata or {}), GRAPH_KEY: graph, ROLE_KEY: "tracks"},
    }
    return trk.data, kwargs, "tracks"


def graph_layer_data(
    graph: TrackingGraph, name: str, metadata: dict[str, Any] | None = None
) -> list[tuple[np.ndarray, dict[str, Any], str]]:
    """Nuclei points and (when anything is linked) tracks of a graph."""
    layers = [points_layer_data(graph, f"{name} nuclei", metadata)]
    tracks = tracks_layer_data(graph, f"{name} tracks", metadata)
    return layers if tracks is None else [*layers, tracks]


def contrast_limits(data: Any, max_voxels: int = CONTRAST_SAMPLE_VOXELS) -> tuple[float, float]:
    """Contrast from a few central slices of the first timepoint, strided to a
    budget: cheap on any movie, and close to what the whole movie would give."""
    z = data.shape[1]
    zs = sorted({z // 2, max(z // 2 - z // 4, 0), min(z // 2 + z // 4, z - 1)})
    plane = int(data.shape[2]) * int(data.shape[3]) * len(zs)
    step = max(1, int(np.ceil(np.sqrt(plane / max_voxels))))
    sample = np.asarray(data[0, zs, ::step, ::step], dtype=np.float64)
    lo, hi = np.percentile(sample, [0.5, 99.9]) if sample.size else (0.0, 1.0)
    return (float(lo), float(hi if hi > lo else lo + 1.0))


def image_layer_data(
    data: Any,
    voxel_size: VoxelSize | None,
    name: str,
    metadata: dict[str, Any] | None = None,
) -> tuple[Any, dict[str, Any], str]:
    """A (T, Z, Y, X) movie as an Image layer in µm (scale = voxel size, t = 1)."""
    vs = voxel_size.as_tuple() if voxel_size is not None else (1.0, 1.0, 1.0)
    meta = {
        **(metadata or {}),
        ROLE_KEY: "image",
        "voxel_size": voxel_size.as_tuple() if voxel_size is not None else None,
        "voxel_size_missing": voxel_size is None,
    }
    kwargs = {
        "name": name,
        "axis_labels": AXIS_LABELS,
        "scale": (1.0, *vs),
        "contrast_limits": contrast_limits(data),
        "rgb": False,
        "multiscale": False,
        "colormap": "gray",
        "metadata": meta,
    }
    return data, kwargs, "image"


def source_layer_data(
    source: ImageSource, metadata: dict[str, Any] | None = None
) -> tuple[Any, dict[str, Any], str]:
    """An opened movie as an Image layer, remembering where it came from."""
    meta = {
        **(metadata or {}),
        "source_path": source.path,
        "dataset": source.dataset,
        "format": source.format,
        "axes": source.axes,
    }
    return image_layer_data(source.data, source.voxel_size, source.name, meta)
