"""Keeps a workspace's per-timepoint layers in step with the dims, the graph and
the selection.

The nuclei layer holds the current timepoint only (DESIGN §9), the outlines
the ellipses cut by the current plane, the Tracks layer a window of
timepoints: a time step swaps the first two and moves the window every
``TRACK_SLACK`` steps.  Graph events mark the timepoints they touch; the end
of each action (``changed``) redraws only what is stale, so an edit at
another timepoint costs nothing here.  How the layers are written (one repaint
per swap, napari's quirks) is :mod:`~.layer_writes`.

3D view: the nuclei layer draws the timepoint's nuclei as spheres of equal
volume (napari Points in 3D) and the outlines are emptied.  Measured with
benchmarks/viewer_speed.py (300k nuclei, 500 timepoints, real window under
Xvfb, 2 cores): a time step in 3D took ~111 ms median (2D: ~68 ms; image
alone ~25-31 ms), so true ellipsoid meshes (a Surface layer, DESIGN §9:
0.6 s per step at 10⁵ ellipsoids) are left for when they are asked for.

Threads: graph events are connected with psygnal's ``thread="main"``, so an
edit on the GUI thread redraws at once and an edit from a worker thread is
queued for the GUI thread.  The queue is drained by
``psygnal.qt.start_emitting_from_queue()`` (started by the Qt side, see
``_qt``) and, as a fallback, at every dims change here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Protocol

import numpy as np
import psygnal

from napari_elephant._napari import outlines
from napari_elephant._napari.layer_writes import fill_tracks, quietly, set_vectors
from napari_elephant._napari.layers import (
    SELECTED_COLOR,
    NucleiArrays,
    nuclei_arrays,
    point_style,
    points_from_arrays,
    status_colors,
    visible_rows,
)
from napari_elephant._napari.status_counts import (
    StatusCounts,
    all_tallies,
    summarize_tallies,
    timepoint_tally,
)
from napari_elephant._napari.tag_colors import TRACK_FEATURE, tag_colors, track_tag_colors
from napari_elephant._napari.tracks import (
    TAIL_LENGTH,
    TRACK_SLACK,
    track_window,
    tracks_data,
    window_covers,
)
from napari_elephant._napari.viewer_dims import current_t
from napari_elephant.core.errors import GraphError


class Shown(Protocol):
    """What the layer sync reads of the session that owns it (and nothing more: the
    session creates the sync, so the sync does not import the session)."""

    viewer: Any
    graph: Any
    workspace: Any
    layers: dict[str, Any]
    selection: Any
    show_rejected: bool
    color_by: Any

    def add_tracks_layer(self, window: tuple[int, int] | None) -> None: ...


_NUCLEI_SIGNALS = ("nuclei_added", "nuclei_updated")
_UNDRAWN = ("undrawn",)
_LINK_SIGNALS = ("links_added", "links_removed", "links_updated")


class LayerSync:
    """Drives the nuclei, outlines and tracks layers of one session's workspace."""

    def __init__(self, session: Shown) -> None:
        self.session = session
        self.graph = session.graph
        self.voxel = session.workspace.voxel_size
        self.t: int | None = None
        self.frame: NucleiArrays | None = None  # the shown rows of timepoint t
        self.cuts: outlines.CrossSections | None = None
        self.window: tuple[int, int] | None = None
        self._plane: tuple | None = _UNDRAWN
        self._stale: set[int] = set()
        self._tracks_stale = False
        self._tallies: dict[int, np.ndarray] = {}
        self._syncing = False
        self._points: Any = None
        self._connect()

    # --------------------------------------------------------- wiring
    def _connect(self) -> None:
        ev = self.graph.events
        for name in _NUCLEI_SIGNALS:
            getattr(ev, name).connect(self._on_nuclei, thread="main")
        ev.nuclei_removed.connect(self._on_removed, thread="main")
        for name in _LINK_SIGNALS:
            getattr(ev, name).connect(self._on_links, thread="main")
        ev.changed.connect(self._on_changed, thread="main")
        dims = self.session.viewer.dims.events
        for emitter in (dims.current_step, dims.order, dims.ndisplay):
            emitter.connect(self._on_dims)
        self.session.selection.events.changed.connect(self._on_selection)

    def close(self) -> None:
        """Stop listening (the workspace was closed or replaced)."""
        ev = self.graph.events
        for name in (*_NUCLEI_SIGNALS, "nuclei_removed", *_LINK_SIGNALS, "changed"):
            getattr(ev, name).disconnect(self._handler(name))
        dims = self.session.viewer.dims.events
        for emitter in (dims.current_step, dims.order, dims.ndisplay):
            emitter.disconnect(self._on_dims)
        self.session.selection.events.changed.disconnect(self._on_selection)
        self.attach_points(None)

    def _handler(self, name: str) -> Any:
        if name in _NUCLEI_SIGNALS:
            return self._on_nuclei
        return {"nuclei_removed": self._on_removed, "changed": self._on_changed}.get(
            name, self._on_links
        )

    def attach_points(self, layer: Any) -> None:
        """Follow clicks in a (new) nuclei layer; None forgets the old one."""
        old = self._points
        if old is not None:
            old.selected_data.events.items_changed.disconnect(self._on_layer_selection)
        self._points = layer
        if layer is not None:
            layer.selected_data.events.items_changed.connect(self._on_layer_selection)
            self.t = None  # redraw into it

    # ------------------------------------------------------------ view
    def _on_dims(self, event: Any = None) -> None:
        psygnal.emit_queued()  # worker-thread edits, if the Qt timer is not running
        self.update()

    def update(self, force: bool = False, redraw: bool = False) -> None:
        """Bring the layers to the viewer's timepoint and plane (only what changed);
        ``redraw`` reloads the timepoint, ``force`` also refills the tracks."""
        t = current_t(self.session.viewer)
        if force or redraw or t != self.t or t in self._stale:
            self._load_frame(t)
            self._draw_points()
            self._plane = _UNDRAWN
        self._stale.clear()
        self._draw_outlines()
        self._move_tracks(t, force)

    def _load_frame(self, t: int) -> None:
        arr = nuclei_arrays(self.graph, t) if t in self.graph.timepoints() else _empty(self.graph)
        self.t = t
        self.frame = visible_rows(arr, self.session.show_rejected)

    def colors(self) -> np.ndarray:
        """(n, 4) RGBA of the shown nuclei: by status, or by the session's tag set."""
        tag_set = self.session.color_by
        if tag_set is None or self.frame is None:
            return status_colors(self.frame.status)
        return tag_colors(self.graph, self.frame.ids, tag_set)

    def _selected_rows(self) -> np.ndarray:
        ids = np.fromiter(self.session.selection.ids, np.int64)
        return np.isin(self.frame.ids, ids)

    def _draw_points(self) -> None:
        layer = self._points
        if layer is None or self.frame is None:
            return
        pts = points_from_arrays(self.frame, self.voxel)
        with self._guard(), quietly(layer):
            layer.data = pts.coords
            layer.features = pts.features
            if len(pts.coords):
                layer.size = pts.size
                layer.face_color = point_style(self.colors())["face_color"]
            self._style_selection(layer)

    def _restyle_points(self) -> None:
        with self._guard(), quietly(self._points):
            self._style_selection(self._points)

    def _style_selection(self, layer: Any) -> None:
        """Selected nuclei: white thick border, and the layer's own selection."""
        if len(layer.data) != len(self.frame):
            return  # napari's remove() reselects before the rows are gone: wait for data
        selected = self._selected_rows()
        if len(selected):
            style = point_style(self.colors(), selected)
            layer.border_color = style["border_color"]
            layer.border_width = style["border_width"]
        rows = set(np.flatnonzero(selected).tolist())
        if set(layer.selected_data) != rows:
            layer.selected_data = rows

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Our own writes to the layer's selection are not the user's clicks."""
        self._syncing = True
        try:
            yield
        finally:
            self._syncing = False

    # -------------------------------------------------------- outlines
    def _plane_now(self) -> tuple | None:
        """(t, sliced spatial axis, its position in µm) or None when t is displayed
        or the view is 3D."""
        dims = self.session.viewer.dims
        if dims.ndim < 4 or dims.ndisplay != 2:
            return None
        t_axis = dims.ndim - 4
        if t_axis in dims.displayed:
            return None
        spatial = [a - t_axis - 1 for a in dims.not_displayed if a > t_axis]
        axis = spatial[0]
        return (self.t, axis, float(dims.point[t_axis + 1 + axis]))

    def _draw_outlines(self) -> None:
        layer = self.session.layers.get("outlines")
        plane = self._plane_now()
        if layer is None or plane == self._plane:
            return
        self._plane = plane
        if plane is None or self.frame is None or len(self.frame) == 0:
            self.cuts = None
            set_vectors(layer, np.zeros((0, 2, 4)), np.zeros((0, 4)))
            return
        self.cuts = outlines.cross_sections(self.frame.centers, self.frame.covs, *plane[1:])
        self._paint_outlines(layer)

    def _paint_outlines(self, layer: Any) -> None:
        cuts = self.cuts
        vectors = outlines.outline_vectors(cuts, self.t, self.voxel)
        colors = self.colors()[cuts.index]
        colors[self._selected_rows()[cuts.index]] = SELECTED_COLOR
        set_vectors(layer, vectors, np.repeat(colors, outlines.SEGMENTS, axis=0))

    def nucleus_at(self, position: np.ndarray) -> int | None:
        """Id of the nucleus whose outline holds a world position (t, z, y, x µm)."""
        if self.cuts is None:
            return None
        hit = outlines.pick(self.cuts, np.asarray(position, dtype=np.float64)[-3:])
        return None if hit is None else int(self.frame.ids[self.cuts.index[hit]])

    # ----------------------------------------------------------- tracks
    def _move_tracks(self, t: int, force: bool = False) -> None:
        layer = self.session.layers.get("tracks")
        before = int(layer.tail_length) if layer is not None else TAIL_LENGTH
        after = int(layer.head_length) if layer is not None else 0
        if not force and self.window is not None and window_covers(self.window, t, before, after):
            return
        self.window = track_window(t, before, after, TRACK_SLACK)
        if layer is not None:
            self.rebuild_tracks()

    def rebuild_tracks(self) -> None:
        """Refill the Tracks layer with the current window; add or drop the layer
        as the graph gains or loses its last link."""
        self._tracks_stale = False
        layer = self.session.layers.get("tracks")
        trk = tracks_data(self.graph, self.voxel, self.window)
        if len(trk) == 0 and not _has_links(self.graph):
            if layer is not None:
                self.session.viewer.layers.remove(layer)
            return
        if layer is None:
            self.session.add_tracks_layer(self.window)
            return
        tag_set = self.session.color_by
        if tag_set is None or len(trk) == 0:
            fill_tracks(layer, trk, self.window)
            layer.color_by = "track_id"
            return
        values, cmap = track_tag_colors(self.graph, trk.features["node_id"], tag_set)
        fill_tracks(layer, replace(trk, features={**trk.features, TRACK_FEATURE: values}),
                    self.window)  # fmt: skip
        layer.colormaps_dict = {TRACK_FEATURE: cmap}
        layer.color_by = TRACK_FEATURE

    # -------------------------------------------------------- selection
    def _on_selection(self, ids: frozenset[int], current: int | None) -> None:
        if self.frame is None:
            return
        if self._points is not None:
            self._restyle_points()
        layer = self.session.layers.get("outlines")
        if layer is not None and self.cuts is not None and len(self.cuts):
            self._paint_outlines(layer)

    def _on_layer_selection(self, event: Any = None) -> None:
        """A click (or box) in the nuclei layer selects those nuclei."""
        if self._syncing or self._points is None or self.frame is None:
            return
        if len(self._points.data) != len(self.frame):
            return  # rows are being deleted: the data event brings the new frame
        rows = sorted(i for i in self._points.selected_data if i < len(self.frame))
        ids = self.frame.ids[rows].tolist()
        selection = self.session.selection
        fresh = [i for i in ids if i not in selection.ids]
        current = fresh[-1] if fresh else (selection.current if selection.current in ids else None)
        selection.select(ids, current)

    # ---------------------------------------------------- graph events
    def _on_nuclei(self, ids: tuple[int, ...]) -> None:
        try:
            nuclei = [self.graph.nucleus(i) for i in ids]
        except GraphError:  # gone again before a queued event arrived
            self._touch_all()
            return
        recolour = self.session.color_by is not None  # a tag may have changed
        self._touch({n.t for n in nuclei}, tracks=recolour or not self._only_status(nuclei))

    def _only_status(self, nuclei: list[Any]) -> bool:
        """Whether these nuclei of the shown timepoint kept their centres (a status
        change, say), so the tracks need no rebuild."""
        frame = self.frame
        if frame is None or any(n.t != self.t for n in nuclei):
            return False
        rows = np.searchsorted(frame.ids, [n.id for n in nuclei])
        if np.any(rows >= len(frame)) or np.any(frame.ids[rows] != [n.id for n in nuclei]):
            return False
        return bool(np.array_equal(frame.centers[rows], [n.center for n in nuclei]))

    def _on_removed(self, records: tuple[Any, ...]) -> None:
        self._touch({r.t for r in records})
        self.session.selection.discard(r.id for r in records)

    def _on_links(self, keys: tuple[tuple[int, int], ...]) -> None:
        try:
            self._touch({self.graph.nucleus(p).t for p, _ in keys}, frame=False)
        except GraphError:
            self._touch_all()
        self._tracks_stale = True

    def _touch(self, ts: set[int], frame: bool = True, tracks: bool = True) -> None:
        for t in ts:
            self._tallies.pop(t, None)
        if frame:
            self._stale |= ts
        window = self.window
        if tracks and window is not None and any(window[0] <= t <= window[1] for t in ts):
            self._tracks_stale = True

    def _touch_all(self) -> None:
        self._tallies.clear()
        self._stale.add(self.t if self.t is not None else 0)
        self._tracks_stale = True

    def _on_changed(self, action: Any) -> None:
        """End of an action: redraw what it made stale (the session then tells the rest)."""
        if self.t in self._stale:
            self.update(redraw=True)
        if self._tracks_stale:
            self.rebuild_tracks()
        self._stale.clear()

    # ----------------------------------------------------------- counts
    def counts(self) -> StatusCounts:
        """Counters at the current timepoint and in total (cached per timepoint)."""
        if not self._tallies:  # a new workspace (or a bulk change): one pass
            self._tallies = all_tallies(self.graph)
        for t in self.graph.timepoints():
            if t not in self._tallies:
                self._tallies[t] = timepoint_tally(self.graph, t)
        for t in set(self._tallies) - set(self.graph.timepoints()):
            del self._tallies[t]
        return summarize_tallies(self._tallies, current_t(self.session.viewer))


def _has_links(graph: Any) -> bool:
    """Any link at all (stops at the first; networkx counts edges in O(n))."""
    return any(graph.nx_graph._succ.values())


def _empty(graph: Any) -> NucleiArrays:
    return nuclei_arrays(graph, ids=np.zeros(0, np.int64))
