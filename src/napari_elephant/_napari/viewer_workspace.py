"""The workspace open in one viewer, and the layers that show it.

:class:`ViewerWorkspace` holds a viewer's open workspace, its layers, the
shared :class:`Selection` and a :class:`LayerSync` that keeps the workspace's
layers (nuclei of the current timepoint, outlines, tracks window) in step
with the dims, the graph and the selection; each applied, undone or redone
action is passed on as ``events.graph_changed`` so that listeners need not
reconnect when the workspace changes.  The session (:mod:`.session`) builds
on it with the proofreading tools and the jobs; the tools themselves read
only this class, so the arrows run one way.

Layers opened by the reader (a workspace dropped on the viewer) carry the
Workspace in their metadata; the session adopts them when they are inserted.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from psygnal import Signal

from napari_elephant._napari import collector
from napari_elephant._napari.layer_sync import LayerSync
from napari_elephant._napari.layers import (
    AXES_GUESS_KEY,
    ROLE_KEY,
    WORKSPACE_KEY,
    graph_layer_data,
    layer_scale,
    tracks_layer_data,
    workspace_layer_data,
    workspace_metadata,
)
from napari_elephant._napari.selection import Selection
from napari_elephant._napari.status_counts import StatusCounts, count_statuses
from napari_elephant.core.errors import InvalidInputError, WorkspaceError
from napari_elephant.core.graph import TrackingGraph
from napari_elephant.core.graph.store import gc_paused
from napari_elephant.core.io.image import AXES_2D_MOVIE, AXES_3D_STACK, write_ome_zarr
from napari_elephant.core.tagsets import TagChoice, TagSet
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import Workspace, is_workspace

if TYPE_CHECKING:
    import napari
    from napari.layers import Layer

ROLES = ("image", "nuclei", "outlines", "tracks")
IMAGE_IN_WORKSPACE = "image.ome.zarr"


class SessionEvents:
    """``workspace_changed(Workspace | None)``; ``graph_changed(action)``;
    ``color_by_changed(TagSet | None)``."""

    workspace_changed = Signal(object)
    graph_changed = Signal(object)
    color_by_changed = Signal(object)


class ViewerWorkspace:
    """The workspace open in one viewer, and the layers that show it."""

    def __init__(self, viewer: napari.Viewer) -> None:
        self._viewer = weakref.ref(viewer)
        self.workspace: Workspace | None = None
        self.layers: dict[str, Layer] = {}
        self.events = SessionEvents()
        self.selection = Selection()
        self.sync: LayerSync | None = None
        self._show_rejected = False
        self._color_by: TagSet | None = None
        self.tag_choice: TagChoice | None = None  # what the tag key gives (the Tags tab's)
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

    @property
    def show_rejected(self) -> bool:
        """Rejected nuclei are negative examples, hidden unless asked for."""
        return self._show_rejected

    @show_rejected.setter
    def show_rejected(self, value: bool) -> None:
        self._show_rejected = bool(value)
        if self.sync is not None:
            self.sync.update(force=True)

    @property
    def color_by(self) -> TagSet | None:
        """The tag set the nuclei are coloured by; None: by status."""
        return self._color_by

    @color_by.setter
    def color_by(self, tag_set: TagSet | None) -> None:
        self._color_by = tag_set
        if self.sync is not None:
            self.sync.update(force=True)  # nuclei, outlines and tracks
        self.events.color_by_changed.emit(tag_set)

    def status_counts(self) -> StatusCounts:
        """Nuclei and links per status at the current timepoint and in total."""
        if self.sync is None:
            return count_statuses(TrackingGraph(), 0)
        return self.sync.counts()

    def counts(self) -> dict[str, int]:
        """Total nuclei per status and links; zeros without a workspace."""
        counts = self.status_counts()
        return {**counts.nuclei_total, "links": sum(counts.links_total.values())}

    def nucleus_at(self, position: Any) -> int | None:
        """Id of the nucleus whose outline in the current plane holds a world
        position (t, z, y, x µm, e.g. ``event.position`` of a click), or None."""
        return self.sync.nucleus_at(position) if self.sync is not None else None

    # ------------------------------------------------------ workspaces
    def open_workspace(self, path: str | os.PathLike) -> Workspace:
        """Open a workspace in place of the current one and show its layers (the
        collector paused throughout: see :mod:`collector`)."""
        with gc_paused():
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
        axes: str | None = None,
    ) -> Workspace:
        """Make a workspace for an image layer; its file is used, or the data is
        written into the workspace when the layer has no file behind it.

        A 3-axis layer needs ``axes``: ``"TYX"`` (a 2D movie over time) or
        ``"ZYX"`` (one 3D stack), see :func:`layer_needs_axes`.
        """
        axes = _checked_axes(image_layer, axes)
        guessed = image_layer.metadata.get(AXES_GUESS_KEY) is not None
        voxel = voxel_size or (None if guessed else layer_voxel_size(image_layer))
        if voxel is None and not guessed:  # a guessed file's own voxel size still counts
            raise InvalidInputError(f"layer {image_layer.name!r} has no voxel size; give it")
        if is_workspace(path) and not overwrite:
            raise WorkspaceError(f"{path} already holds a workspace; open it instead")
        meta = image_layer.metadata if image_layer.metadata.get("source_path") else {}
        file = _layer_file(image_layer)
        if file is None:  # written into the workspace as (T, Z, Y, X): no axes to say
            file, axes = _write_layer_image(path, image_layer, voxel, axes), None
        ws = Workspace.create(
            path, file, meta.get("dataset"), voxel, axes or meta.get("axes"), overwrite=overwrite
        )
        self._show_created(ws, image_layer)
        return ws

    def _show_created(self, ws: Workspace, image_layer: Layer) -> None:
        """Show a new workspace on the layer the user chose when it is (T, Z, Y, X);
        otherwise the workspace's own movie replaces it (a 3D layer's first axis
        would line up with z in the 4D world)."""
        if image_layer.ndim == 4:
            self._replace(ws, keep=image_layer)
            _bind_image_layer(image_layer, ws)
            self.adopt(image_layer)
            self._add_layers(graph_layer_data(ws.graph, ws.name, workspace_metadata(ws)))
        else:
            self._replace(ws)
            if image_layer in self.viewer.layers:
                self.viewer.layers.remove(image_layer)
            self._add_layers(workspace_layer_data(ws))
        self.reset_view()

    def save(self) -> None:
        """Write settings and graph to the workspace folder (atomically)."""
        self.require_workspace().save()

    def close(self) -> None:
        """Forget the workspace (its layers stay in the viewer, no longer refreshed)."""
        self._replace(None)

    def require_graph(self) -> TrackingGraph:
        """The open workspace's graph, or a clear error when none is open."""
        return self.require_workspace().graph

    def require_workspace(self) -> Workspace:
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
        if role == "nuclei":
            self.sync.attach_points(layer)
        if role == "tracks":
            self.sync.window = None  # refill it with the session's own window
        self.sync.update()
        self._activate_nuclei()
        return True

    def _activate_nuclei(self) -> None:
        """Keep the nuclei layer active in select mode as the workspace's layers arrive
        (napari activates each new layer): a click then picks a nucleus."""
        nuclei = self.layers.get("nuclei")
        if nuclei is not None and nuclei in self.viewer.layers:
            self.viewer.layers.selection.active = nuclei
            nuclei.mode = "select"

    def _on_inserted(self, event: Any) -> None:
        self.adopt(event.value)

    def _on_removed(self, event: Any) -> None:
        for role, layer in list(self.layers.items()):
            if layer is event.value:
                del self.layers[role]
                if role == "nuclei" and self.sync is not None:
                    self.sync.attach_points(None)

    def _add_layers(self, layer_data: list[tuple[Any, dict[str, Any], str]]) -> None:
        from napari.layers import Layer

        for data, kwargs, kind in layer_data:
            self.viewer.add_layer(Layer.create(data, kwargs, kind))
        self._activate_nuclei()  # napari made the last layer added the active one

    def _replace(self, ws: Workspace | None, keep: Layer | None = None) -> None:
        """Remove the layers of the current workspace (except ``keep``), switch to ws."""
        for layer in list(self.layers.values()):
            if layer is not keep and layer in self.viewer.layers:
                self.viewer.layers.remove(layer)
        self._attach(ws)

    def _attach(self, ws: Workspace | None) -> None:
        if self.sync is not None:
            self.sync.close()
            self.sync = None
        if self.workspace is not None:
            self.workspace.graph.events.changed.disconnect(self._on_graph_changed)
        if self.workspace is not None and self.workspace is not ws:
            self.workspace.release()  # its pending save still locks while it writes
            collector.release()
        if ws is not None:  # one writer: a CLI run on it gets a clear error; if another
            with contextlib.suppress(WorkspaceError):  # process writes, each save says so
                ws.hold_for_writing()
        self.workspace = ws
        self.layers = {}
        self._color_by = None  # another workspace has its own tag sets
        self.selection.clear()
        if ws is not None:
            self.sync = LayerSync(self)  # connected first: it redraws before the rest hear
            ws.graph.events.changed.connect(self._on_graph_changed, thread="main")
            collector.settle(len(ws.graph))
        self.events.workspace_changed.emit(ws)

    def _on_graph_changed(self, action: Any) -> None:
        """Pass each action on (``events.graph_changed``) to the autosave, the live
        training and the widgets, so none of them follows workspace switches."""
        self.events.graph_changed.emit(action)

    # --------------------------------------------------------- refresh
    def refresh(self) -> None:
        """Redraw the nuclei, outlines and tracks from the graph."""
        if self.sync is not None:
            self.sync.update(force=True)

    def add_tracks_layer(self, window: tuple[int, int] | None) -> None:
        """Add the workspace's Tracks layer (once the graph has links)."""
        ws = self.require_workspace()
        new = tracks_layer_data(
            ws.graph, f"{ws.name} tracks", workspace_metadata(ws), ws.voxel_size, window
        )
        if new is not None:
            self._add_layers([new])

    # ------------------------------------------------------------ view
    def reset_view(self) -> None:
        """2D, first timepoint, middle z plane."""
        viewer = self.viewer
        viewer.dims.ndisplay = 2
        if viewer.dims.ndim < 4:
            return
        z_axis = viewer.dims.ndim - 3
        viewer.dims.set_current_step(0, 0)
        image = self.layers.get("image")
        if image is not None:  # the middle image plane (the dims step may be finer)
            viewer.dims.set_point(z_axis, (image.data.shape[-3] // 2) * image.scale[-3])
        viewer.reset_view()


# ---------------------------------------------------------- image layers
def _bind_image_layer(layer: Layer, ws: Workspace) -> None:
    """Give an image layer the workspace's voxel size and tie it to the workspace."""
    voxel = ws.voxel_size.as_tuple()
    layer.scale = layer_scale(ws.voxel_size)
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


def layer_needs_axes(layer: Layer) -> bool:
    """Whether only the user can say what a layer is: a 3-axis grey image is as
    often a 2D movie over time (TYX) as one 3D stack (ZYX)."""
    return layer.ndim == 3 and not getattr(layer, "rgb", False)


def _checked_axes(layer: Layer, axes: str | None) -> str | None:
    """The axes of a 3-axis layer, upper case (None for other layers); a clear error
    when they are missing or not one of the two readings."""
    if not layer_needs_axes(layer):
        return None
    choice = (axes or "").upper()
    if choice not in (AXES_2D_MOVIE, AXES_3D_STACK):
        shape = tuple(int(s) for s in layer.data.shape)
        raise InvalidInputError(
            f"layer {layer.name!r} has 3 axes {shape}: say whether it is a 2D movie "
            f"({AXES_2D_MOVIE}) or one 3D stack ({AXES_3D_STACK})"
        )
    return choice


def _write_layer_image(
    path: str | os.PathLike, layer: Layer, voxel: VoxelSize, axes: str | None = None
) -> Path:
    """Save an in-memory image as OME-Zarr inside the workspace: a 3D layer as a 2D
    movie (``axes`` TYX, Z = 1) or one stack (ZYX); a 2D layer as one plane."""
    data = layer.data
    if data.ndim not in (2, 3, 4) or getattr(layer, "rgb", False):
        raise InvalidInputError(f"layer {layer.name!r} is not a grey (T,) (Z,) Y, X image")
    if data.ndim == 3 and axes == AXES_2D_MOVIE:
        data = data[:, np.newaxis]
    while data.ndim < 4:
        data = data[np.newaxis]
    target = Path(path) / IMAGE_IN_WORKSPACE
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_ome_zarr(target, data, voxel, overwrite=True)
