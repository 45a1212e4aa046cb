"""One session per viewer: the open workspace, its graph and the layers showing it.

The docks of a viewer share its session through :func:`session_for`; two
viewers never share one (no global state beyond the weak viewer → session map).
The session keeps its layers in step with the graph: every applied, undone or
redone action refreshes them, and the session re-emits it as
``events.graph_changed`` so widgets need not reconnect when the workspace
changes.

Layers opened by the reader (a workspace dropped on the viewer) carry the
Workspace in their metadata; the session adopts them when they are inserted.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from psygnal import Signal

from napari_elephant._napari.layers import (
    GRAPH_KEY,
    ROLE_KEY,
    WORKSPACE_KEY,
    graph_layer_data,
    point_colors,
    points_data,
    status_counts,
    tracks_data,
    tracks_layer_data,
)
from napari_elephant._napari.reader import workspace_layer_data, workspace_metadata
from napari_elephant.core.errors import InvalidInputError, WorkspaceError
from napari_elephant.core.graph import TrackingGraph
from napari_elephant.core.io.image import write_ome_zarr
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import Workspace, is_workspace

if TYPE_CHECKING:
    import napari
    from napari.layers import Layer

_SESSIONS: weakref.WeakKeyDictionary[Any, ElephantSession] = weakref.WeakKeyDictionary()
ROLES = ("image", "nuclei", "tracks")
IMAGE_IN_WORKSPACE = "image.ome.zarr"


class SessionEvents:
    """``workspace_changed(Workspace | None)``; ``graph_changed(action)``."""

    workspace_changed = Signal(object)
    graph_changed = Signal(object)


def session_for(viewer: napari.Viewer) -> ElephantSession:
    """The viewer's session, created on first use."""
    session = _SESSIONS.get(viewer)
    if session is None:
        session = _SESSIONS[viewer] = ElephantSession(viewer)
    return session


class ElephantSession:
    """The workspace open in one viewer, and the layers that show it."""

    def __init__(self, viewer: napari.Viewer) -> None:
        self._viewer = weakref.ref(viewer)
        self.workspace: Workspace | None = None
        self.layers: dict[str, Layer] = {}
        self.events = SessionEvents()
        viewer.layers.events.inserted.connect(self._on_inserted)
        viewer.layers.events.removed.connect(self._on_removed)
        for layer in list(viewer.layers):
            self.adopt(layer)

    # ----------------------------------------------------------- state
    @property
    def viewer(self) -> napari.Viewer:
        viewer = self._viewer()
        if viewer is None:
            raise RuntimeError("the viewer of this session was closed")
        return viewer

    @property
    def graph(self) -> TrackingGraph | None:
        return self.workspace.graph if self.workspace is not None else None

    def counts(self) -> dict[str, int]:
        """Nuclei per status and links; zeros without a workspace."""
        return status_counts(self.graph if self.graph is not None else TrackingGraph())

    # ------------------------------------------------------ workspaces
    def open_workspace(self, path: str | os.PathLike) -> Workspace:
        """Open a workspace in place of the current one and show its layers."""
        ws = Workspace.open(path)
        layer_data = workspace_layer_data(ws)
        self._replace(ws)
        self._add_layers(layer_data)
        self.reset_view()
        return ws

    def create_workspace(
        self,
        path: str | os.PathLike,
        image_layer: Layer,
        voxel_size: VoxelSize | None = None,
        overwrite: bool = False,
    ) -> Workspace:
        """Make a workspace for an image layer; its file is used, or the data is
        written into the workspace when the layer has no file behind it."""
        voxel = voxel_size or layer_voxel_size(image_layer)
        if voxel is None:
            raise InvalidInputError(f"layer {image_layer.name!r} has no voxel size; give it")
        if is_workspace(path) and not overwrite:
            raise WorkspaceError(f"{path} already holds a workspace; open it instead")
        ours = bool(image_layer.metadata.get("source_path"))
        image = _layer_file(image_layer) or _write_layer_image(path, image_layer, voxel)
        meta = image_layer.metadata if ours else {}
        ws = Workspace.create(
            path, image, meta.get("dataset"), voxel, meta.get("axes"), overwrite=overwrite
        )
        if image_layer.ndim == 4:  # show the workspace on the layer the user chose
            self._replace(ws, keep=image_layer)
            _bind_image_layer(image_layer, ws)
            self.adopt(image_layer)
            self._add_layers(graph_layer_data(ws.graph, ws.name, workspace_metadata(ws)))
        else:  # the file read another way than napari's reader did: show ours
            self._replace(ws)
            self._add_layers(workspace_layer_data(ws))
        self.reset_view()
        return ws

    def save(self) -> None:
        """Write settings and graph to the workspace folder (atomically)."""
        self._require().save()

    def undo(self) -> None:
        self._require().graph.undo()

    def redo(self) -> None:
        self._require().graph.redo()

    def close(self) -> None:
        """Forget the workspace (its layers stay in the viewer, no longer refreshed)."""
        self._replace(None)

    def _require(self) -> Workspace:
        if self.workspace is None:
            raise InvalidInputError("no workspace is open; open or create one first")
        return self.workspace

    # ---------------------------------------------------------- layers
    def adopt(self, layer: Layer) -> bool:
        """Take charge of a layer that shows a workspace (switching to it if needed)."""
        ws = layer.metadata.get(WORKSPACE_KEY)
        role = layer.metadata.get(ROLE_KEY)
        if not isinstance(ws, Workspace) or role not in ROLES:
            return False
        if ws is not self.workspace:
            self._attach(ws)
        self.layers[role] = layer
        if role == "nuclei" and self.viewer.dims.ndim >= 4:
            self._set_z_margin(self.viewer.dims.ndim - 3)
        return True

    def _on_inserted(self, event: Any) -> None:
        self.adopt(event.value)

    def _on_removed(self, event: Any) -> None:
        for role, layer in list(self.layers.items()):
            if layer is event.value:
                del self.layers[role]

    def _add_layers(self, layer_data: list[tuple[Any, dict[str, Any], str]]) -> None:
        from napari.layers import Layer

        for data, kwargs, kind in layer_data:
            self.viewer.add_layer(Layer.create(data, kwargs, kind))

    def _replace(self, ws: Workspace | None, keep: Layer | None = None) -> None:
        """Remove the layers of the current workspace (except ``keep``), switch to ws."""
        for layer in list(self.layers.values()):
            if layer is not keep and layer in self.viewer.layers:
                self.viewer.layers.remove(layer)
        self._attach(ws)

    def _attach(self, ws: Workspace | None) -> None:
        if self.workspace is not None:
            self.workspace.graph.events.changed.disconnect(self._on_graph_changed)
        self.workspace = ws
        self.layers = {}
        if ws is not None:
            ws.graph.events.changed.connect(self._on_graph_changed)
        self.events.workspace_changed.emit(ws)

    # --------------------------------------------------------- refresh
    def _on_graph_changed(self, action: Any) -> None:
        self.refresh()
        self.events.graph_changed.emit(action)

    def refresh(self) -> None:
        """Rebuild the nuclei and tracks layers from the graph."""
        graph = self.graph
        if graph is None:
            return
        if "nuclei" in self.layers:
            update_points_layer(self.layers["nuclei"], graph)
        self._refresh_tracks(graph)

    def _refresh_tracks(self, graph: TrackingGraph) -> None:
        layer = self.layers.get("tracks")
        trk = tracks_data(graph)
        if len(trk) == 0:  # napari has no empty Tracks layer: drop it until links return
            if layer is not None:
                self.viewer.layers.remove(layer)
            return
        if layer is not None:
            update_tracks_layer(layer, graph, trk)
            return
        ws = self._require()
        new = tracks_layer_data(graph, f"{ws.name} tracks", workspace_metadata(ws))
        if new is not None:
            self._add_layers([new])

    # ------------------------------------------------------------ view
    def reset_view(self) -> None:
        """2D, first timepoint, middle z plane; z margins so nuclei show as discs."""
        viewer = self.viewer
        viewer.dims.ndisplay = 2
        if viewer.dims.ndim < 4:
            return
        z_axis = viewer.dims.ndim - 3
        viewer.dims.set_current_step(0, 0)
        image = self.layers.get("image")
        if image is not None:  # the middle image plane (the dims step may be finer)
            viewer.dims.set_point(z_axis, (image.data.shape[-3] // 2) * image.scale[-3])
        self._set_z_margin(z_axis)
        viewer.reset_view()

    def _set_z_margin(self, z_axis: int) -> None:
        """Points within a radius of the slice are drawn as the disc the slice cuts
        (projection_mode 'rescale_spherical' uses the dims margins)."""
        margin = self.workspace.params.detection.r_max if self.workspace else 8.0
        nuclei = self.layers.get("nuclei")
        if nuclei is not None and len(nuclei.size):
            margin = max(margin, float(np.max(nuclei.size)) / 2)
        left = list(self.viewer.dims.margin_left)
        right = list(self.viewer.dims.margin_right)
        left[z_axis] = right[z_axis] = margin
        self.viewer.dims.margin_left = tuple(left)
        self.viewer.dims.margin_right = tuple(right)


def update_points_layer(layer: Any, graph: TrackingGraph) -> None:
    """Swap a nuclei Points layer's content for the graph's, keeping the selection."""
    pts = points_data(graph)
    old_ids = np.asarray(layer.features["id"]) if "id" in layer.features else np.zeros(0)
    chosen = [i for i in layer.selected_data if i < len(old_ids)]
    selected_ids = old_ids[chosen]
    layer.data = pts.coords
    layer.features = pts.features
    if len(pts.coords):
        layer.size = pts.size
        colors = point_colors(pts)
        layer.face_color = colors["face_color"]
        layer.border_color = colors["border_color"]
    layer.selected_data = set(np.flatnonzero(np.isin(pts.features["id"], selected_ids)).tolist())
    layer.metadata[GRAPH_KEY] = graph


def update_tracks_layer(layer: Any, graph: TrackingGraph, trk: Any = None) -> None:
    """Swap a Tracks layer's content for the graph's (data, division graph, features)."""
    trk = trk if trk is not None else tracks_data(graph)
    layer.data = trk.data
    layer.graph = trk.graph
    layer.features = trk.features
    layer.metadata[GRAPH_KEY] = graph


# ---------------------------------------------------------- image layers
def _bind_image_layer(layer: Layer, ws: Workspace) -> None:
    """Give an image layer the workspace's voxel size and tie it to the workspace."""
    voxel = ws.voxel_size.as_tuple()
    layer.scale = (1.0, *voxel)
    layer.metadata = {
        **layer.metadata,
        **workspace_metadata(ws),
        ROLE_KEY: "image",
        "voxel_size": voxel,
        "voxel_size_missing": False,
    }


def layer_voxel_size(layer: Layer) -> VoxelSize | None:
    """The voxel size our reader found, or None when the file had none."""
    meta = layer.metadata
    if meta.get("voxel_size_missing") or meta.get("voxel_size") is None:
        return None
    return VoxelSize.from_sequence(meta["voxel_size"])


def _layer_file(layer: Layer) -> Path | None:
    """The file behind an image layer (ours first, then napari's record)."""
    path = layer.metadata.get("source_path") or getattr(layer.source, "path", None)
    return Path(path) if path else None


def _write_layer_image(path: str | os.PathLike, layer: Layer, voxel: VoxelSize) -> Path:
    """Save an in-memory image as OME-Zarr inside the workspace; 3D = one timepoint."""
    data = layer.data
    if data.ndim not in (2, 3, 4) or getattr(layer, "rgb", False):
        raise InvalidInputError(f"layer {layer.name!r} is not a grey (T,) (Z,) Y, X image")
    while data.ndim < 4:
        data = data[np.newaxis]
    target = Path(path) / IMAGE_IN_WORKSPACE
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_ome_zarr(target, data, voxel, overwrite=True)
