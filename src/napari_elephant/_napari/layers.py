"""Tracking graph and movie -> napari layer data (numpy in, numpy out).

The world is in micrometres.  The image gets its voxel size as scale; the
nuclei, outlines and tracks of a workspace get the same scale and hold voxel
coordinates (converted by :class:`VoxelSize`, the one place for it), so the
dims slider steps by one image plane and every layer meets in one µm world.
A graph without an image (a GEFF or CSV file) has no voxel: its layers hold µm
at scale 1.  The functions only read the graph and never touch a viewer, so
they are tested headless and reused by the reader, writer, sample data and
session.

A workspace's nuclei layer holds one timepoint (DESIGN §9: a 300k-point 4D
layer costs ~280 ms per time step); the session swaps it on dims changes.
Points are drawn only on the plane of their centre (napari's "rescale"
projections compare z distances in z voxels with sizes in x voxels, wrong for
anisotropic voxels); the true cross-sections are the outlines (outlines.py).

Tracks (DESIGN §9): napari draws (track_id, t, z, y, x) rows and a
``{child_track: [parent_track]}`` graph, so a track is a run of nuclei without
a division; each daughter starts her own track.  Rejected links are negative
annotations, not lineage, so they are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_elephant._napari.tracks import TAIL_LENGTH, TRACK_SLACK, track_window, tracks_data
from napari_elephant.core.graph import Status, TrackingGraph, six_to_cov
from napari_elephant.core.graph.checking import parent_link_confidence
from napari_elephant.core.graph.model import STATUS_CODE, STATUS_ORDER
from napari_elephant.core.io.image import ImageSource
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import Workspace

STATUS_COLORS: dict[Status, tuple[float, float, float, float]] = {
    Status.PREDICTED: (0.0, 1.0, 0.0, 1.0),  # green
    Status.ACCEPTED: (0.0, 1.0, 1.0, 1.0),  # cyan
    Status.REJECTED: (1.0, 0.0, 1.0, 1.0),  # magenta
}
SELECTED_COLOR = (1.0, 1.0, 1.0, 1.0)
"""Border (and outline) colour of selected nuclei: white stands out from all statuses."""
_COLOR_TABLE = np.array([STATUS_COLORS[s] for s in STATUS_ORDER], dtype=np.float32)
_STATUS_NAMES = np.array([s.value for s in STATUS_ORDER], dtype=object)
REJECTED_CODE = STATUS_CODE[Status.REJECTED]

# Keys of layer.metadata that tie a layer to our data model.
GRAPH_KEY = "elephant_graph"  # the TrackingGraph the layer shows
WORKSPACE_KEY = "elephant_workspace"  # the open Workspace (workspace layers only)
ROLE_KEY = "elephant_role"  # "image", "nuclei", "outlines", "tracks" or "surfaces"
AXES_GUESS_KEY = "axes_guess"  # the axes a 3-axis image without axis names is shown with
AXIS_LABELS = ("t", "z", "y", "x")
UNIT_VOXEL = VoxelSize(1.0, 1.0, 1.0)

FACE_ALPHA = 0.2
BORDER_WIDTH = 0.12  # of the diameter
SELECTED_BORDER_WIDTH = 0.3
CONTRAST_SAMPLE_VOXELS = 2_000_000
"""Most voxels read to guess contrast limits: napari would otherwise read the movie."""
LayerData = tuple[Any, dict[str, Any], str]  # napari's (data, kwargs, layer type)


def layer_scale(voxel: VoxelSize | None) -> tuple[float, float, float, float]:
    """(t, z, y, x) scale of layers in voxel coordinates (1 µm without a voxel size)."""
    return (1.0, *(voxel or UNIT_VOXEL).as_tuple())


@dataclass(frozen=True)
class NucleiArrays:
    """Columns of some nuclei, sorted by id (µm)."""

    ids: np.ndarray  # (n,) int64
    t: np.ndarray  # (n,) int64
    centers: np.ndarray  # (n, 3) µm
    covs: np.ndarray  # (n, 3, 3) µm²
    radius: np.ndarray  # (n,) equal-volume radius, µm
    status: np.ndarray  # (n,) int8 index into STATUS_ORDER
    confidence: np.ndarray  # (n,) float64 0–1, NaN where a nucleus has none
    link_confidence: np.ndarray  # (n,) float64 0–1 of the link to the parent, NaN: none

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, rows: np.ndarray) -> NucleiArrays:
        """The given rows (indices or a mask)."""
        return NucleiArrays(*(getattr(self, f)[rows] for f in _ARRAY_FIELDS))


_ARRAY_FIELDS = (
    "ids",
    "t",
    "centers",
    "covs",
    "radius",
    "status",
    "confidence",
    "link_confidence",
)


@dataclass(frozen=True)
class PointsData:
    """What a Points layer of nuclei needs (coordinates in the layers' data space)."""

    coords: np.ndarray  # (n, 4) t, z, y, x: voxels (µm without a voxel size)
    size: np.ndarray  # (n,) diameter in units of the x voxel (napari scales by x)
    color: np.ndarray  # (n, 4) RGBA of the status
    features: dict[str, np.ndarray]  # "id", "status", "confidence", "link confidence" (NaN: none)


def nuclei_arrays(
    graph: TrackingGraph, t: int | None = None, ids: np.ndarray | None = None
) -> NucleiArrays:
    """All nuclei, those of timepoint t, or the given ids, in one pass over the records."""
    if ids is None:
        ids = graph.ids_at(t) if t is not None else np.fromiter(graph.nx_graph, np.int64)
    ids = np.sort(np.asarray(ids, dtype=np.int64))
    records = list(graph.nuclei(ids.tolist()))
    n = len(records)
    tt = np.fromiter((r.t for r in records), np.int64, count=n)
    centers = np.array([r.center for r in records], dtype=np.float64).reshape(n, 3)
    covs = six_to_cov(np.array([r.cov for r in records], dtype=np.float64).reshape(n, 6))
    codes = np.fromiter((STATUS_CODE[r.status] for r in records), np.int8, count=n)
    # equal-volume radius = (product of semi-axes)^(1/3) = det(cov)^(1/6)
    radius = np.abs(np.linalg.det(covs)) ** (1.0 / 6.0) if n else np.zeros(0)
    q = (np.nan if r.confidence is None else r.confidence for r in records)
    conf = np.fromiter(q, np.float64, count=n)
    linked = np.fromiter((_parent_link_confidence(graph, i) for i in ids.tolist()), np.float64, n)
    return NucleiArrays(ids, tt, centers, covs, radius, codes, conf, linked)


def _parent_link_confidence(graph: TrackingGraph, nid: int) -> float:
    """The linker's confidence in a nucleus' lineage link to its parent; NaN: none."""
    q = parent_link_confidence(graph, nid, predicted_only=False)
    return np.nan if q is None else q


def status_colors(codes: np.ndarray) -> np.ndarray:
    """RGBA per status code (see STATUS_ORDER)."""
    return _COLOR_TABLE[np.asarray(codes, dtype=np.intp)]


def visible_rows(arr: NucleiArrays, show_rejected: bool) -> NucleiArrays:
    """Rejected nuclei are kept as negative examples but hidden unless asked for."""
    return arr if show_rejected else arr.take(arr.status != REJECTED_CODE)


def points_from_arrays(arr: NucleiArrays, voxel: VoxelSize | None = None) -> PointsData:
    """Centres (t, z, y, x) in voxels, diameter in x voxels, status colour; the
    features (id, status, the network's confidence, the linker's confidence in
    the link to the parent) show in napari's status bar."""
    vox = voxel or UNIT_VOXEL
    coords = np.column_stack([arr.t.astype(np.float64), vox.to_voxels(arr.centers)])
    status = _STATUS_NAMES[arr.status.astype(np.intp)]
    features = {
        "id": arr.ids,
        "status": status,
        "confidence": arr.confidence,
        "link confidence": arr.link_confidence,
    }
    size = 2.0 * arr.radius / vox.x
    return PointsData(coords.reshape(-1, 4), size, status_colors(arr.status), features)


def points_data(
    graph: TrackingGraph,
    t: int | None = None,
    voxel: VoxelSize | None = None,
    show_rejected: bool = True,
) -> PointsData:
    """Nuclei (all, or of timepoint t) as Points."""
    return points_from_arrays(visible_rows(nuclei_arrays(graph, t), show_rejected), voxel)


def point_style(colors: np.ndarray, selected: np.ndarray | None = None) -> dict[str, Any]:
    """Status colour on the border and a faint fill, so the nucleus shows through;
    selected nuclei get a thick white border (napari refuses an empty colour
    array, hence the names for no points)."""
    if len(colors) == 0:
        return {"face_color": "transparent", "border_color": "cyan"}
    face = np.array(colors, dtype=np.float32)
    face[:, 3] = FACE_ALPHA
    border = np.array(colors, dtype=np.float32)
    width = np.full(len(colors), BORDER_WIDTH)
    if selected is not None and selected.any():
        border[selected] = SELECTED_COLOR
        width[selected] = SELECTED_BORDER_WIDTH
    return {"face_color": face, "border_color": border, "border_width": width}


def point_colors(pts: PointsData) -> dict[str, Any]:
    """Face and border colours of nuclei points, nothing selected."""
    style = point_style(pts.color)
    return {k: style[k] for k in ("face_color", "border_color")}


# ------------------------------------------------------------ layer tuples
def _meta(metadata: dict[str, Any] | None, graph: TrackingGraph | None, role: str) -> dict:
    extra = {GRAPH_KEY: graph} if graph is not None else {}
    return {**(metadata or {}), **extra, ROLE_KEY: role}


def points_layer_data(
    graph: TrackingGraph,
    name: str,
    metadata: dict[str, Any] | None = None,
    voxel: VoxelSize | None = None,
    t: int | None = None,
    show_rejected: bool = True,
) -> tuple[np.ndarray, dict[str, Any], str]:
    """The nuclei Points layer (all nuclei, or those of timepoint t) as LayerData."""
    pts = points_data(graph, t, voxel, show_rejected)
    kwargs = {
        "name": name,
        "ndim": 4,
        "axis_labels": AXIS_LABELS,
        "scale": layer_scale(voxel),
        "size": pts.size,
        **point_style(pts.color),
        "features": pts.features,
        "metadata": _meta(metadata, graph, "nuclei"),
    }
    return pts.coords, kwargs, "points"


def outlines_layer_data(
    name: str, metadata: dict[str, Any] | None = None, voxel: VoxelSize | None = None
) -> tuple[np.ndarray, dict[str, Any], str]:
    """An empty Vectors layer for the cross-section outlines (see outlines.py)."""
    kwargs = {
        "name": name,
        "ndim": 4,
        "axis_labels": AXIS_LABELS,
        "scale": layer_scale(voxel),
        "edge_width": 0.5,
        "vector_style": "line",
        "metadata": _meta(metadata, None, "outlines"),
    }
    return np.zeros((0, 2, 4)), kwargs, "vectors"


def tracks_layer_data(
    graph: TrackingGraph,
    name: str,
    metadata: dict[str, Any] | None = None,
    voxel: VoxelSize | None = None,
    window: tuple[int, int] | None = None,
) -> tuple[np.ndarray, dict[str, Any], str] | None:
    """The Tracks layer as a LayerData tuple, or None when nothing is linked
    (napari cannot build an empty Tracks layer)."""
    trk = tracks_data(graph, voxel, window)
    if len(trk) == 0:
        return None
    kwargs = {
        "name": name,
        "axis_labels": AXIS_LABELS,
        "scale": layer_scale(voxel),
        "graph": trk.graph,
        "features": trk.features,
        "tail_length": TAIL_LENGTH,
        "head_length": 0,
        "tail_width": 2,
        "metadata": _meta(metadata, graph, "tracks"),
    }
    return trk.data, kwargs, "tracks"


def graph_layer_data(
    graph: TrackingGraph,
    name: str,
    metadata: dict[str, Any] | None = None,
    voxel: VoxelSize | None = None,
) -> list[tuple[np.ndarray, dict[str, Any], str]]:
    """Nuclei points and (when anything is linked) tracks of a graph.

    A workspace's layers (``metadata`` holding it) are live: voxel coordinates
    at its voxel size, the first timepoint's nuclei, an outlines layer, tracks
    around that timepoint; the session keeps them in step.  Other graphs give
    static layers of every nucleus.
    """
    ws = (metadata or {}).get(WORKSPACE_KEY)
    if ws is None:
        layers = [points_layer_data(graph, f"{name} nuclei", metadata, voxel)]
        tracks = tracks_layer_data(graph, f"{name} tracks", metadata, voxel)
        return layers if tracks is None else [*layers, tracks]
    voxel = voxel or ws.voxel_size
    t = graph.timepoints()[0] if len(graph) else 0
    layers = [
        points_layer_data(graph, f"{name} nuclei", metadata, voxel, t, show_rejected=False),
        outlines_layer_data(f"{name} outlines", metadata, voxel),
    ]
    window = track_window(t, TAIL_LENGTH, 0, TRACK_SLACK)
    tracks = tracks_layer_data(graph, f"{name} tracks", metadata, voxel, window)
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


def guessed_layer_data(
    source: ImageSource, metadata: dict[str, Any] | None = None
) -> tuple[Any, dict[str, Any], str]:
    """A 3-axis movie of unknown axes, opened as (T, 1, Y, X), shown as napari shows a
    3D array: (T, Y, X) with a slider on the first axis.  Its metadata says the axes
    are a guess (``axes`` None, :data:`AXES_GUESS_KEY`), so the dock asks the user
    before a workspace is made of it."""
    data, kwargs, kind = source_layer_data(source, metadata)
    meta = {**kwargs["metadata"], "axes": None, AXES_GUESS_KEY: source.axes}
    scale = (kwargs["scale"][0], *kwargs["scale"][2:])
    flat = {**kwargs, "axis_labels": ("t", "y", "x"), "scale": scale, "metadata": meta}
    return data[:, 0], flat, kind


# ------------------------------------------------------ a workspace's layers
def workspace_layer_data(ws: Workspace) -> list[LayerData]:
    """Layers of an open workspace; each carries the Workspace in its metadata,
    so that the session of the viewer they land in can adopt them."""
    meta = workspace_metadata(ws)
    image = source_layer_data(ws.open_image(), meta)
    return [image, *graph_layer_data(ws.graph, ws.name, meta)]


def workspace_metadata(ws: Workspace) -> dict[str, Any]:
    """Layer metadata that ties a layer to an open workspace."""
    return {WORKSPACE_KEY: ws, "workspace_path": str(ws.path)}
