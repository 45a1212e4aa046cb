"""The "Lineage" dock: the workspace's lineage trees, a thin vispy renderer.

The layout is :func:`napari_elephant.core.lineage_layout.layout_lineage`; this
module only draws it (one Markers visual for the nuclei, one Line visual of
segments for the links, one Markers visual for the selection: vispy keeps
10⁵–10⁶ points interactive, and it ships with napari, so no new dependency)
and turns clicks and keys into selection, viewer moves and graph edits.

The graph's columns are read once and then kept up to date from its events
(:class:`~napari_elephant.core.lineage_arrays.LiveArrays`), so re-laying the
trees after an edit costs the vectorised layout alone, not a read of every
record.

Selection goes through the session's shared :class:`Selection` both ways: a
click here selects and moves the viewer to the nucleus; a selection made
elsewhere is highlighted and scrolled into view here.  Graph changes re-lay
the trees after a short quiet period (one QTimer, restarted by each event):
about 0.25 s for 300k nuclei when the graph's records are read (opening a
workspace), the vectorised layout alone after an edit.
A status change that keeps a nucleus in the lineage only recolours it.

"Fold" hides the current nucleus' descendants (again: shows them), as
TrackScheme folds a branch; the axis menu puts each node at a feature of its
nucleus (volume, speed, confidence: :mod:`~napari_elephant.core.lineage_features`)
instead of its tree column, rows staying timepoints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from napari_elephant._napari.session import session_for
from napari_elephant._napari.tag_colors import tag_colors
from napari_elephant._napari.viewer_dims import centre_on
from napari_elephant._qt.lineage_canvas import LineageCanvas
from napari_elephant.core.analysis.tables import is_2d
from napari_elephant.core.graph import Status, TrackingGraph
from napari_elephant.core.graph.checking import parent_link_confidence
from napari_elephant.core.graph.model import STATUS_CODE, STATUS_ORDER
from napari_elephant.core.lineage_arrays import LiveArrays
from napari_elephant.core.lineage_features import (
    FEATURES,
    feature_colors,
    feature_layout,
    feature_values,
)
from napari_elephant.core.lineage_layout import (
    NONE,
    graph_arrays,
    layout_arrays,
    layout_lineage,
    link_segments,
    nearest_node,
    step,
)

if TYPE_CHECKING:
    import napari

LINEAGE_NAME = "Lineage"
RELAYOUT_DELAY_MS = 150  # quiet time after the last graph event before re-laying out
PICK_PX, CLICK_SLOP_PX = 8.0, 4.0
MAX_LABELS = 150  # nodes in view at most for their ids to be written beside them
_REJECTED = STATUS_CODE[Status.REJECTED]
_MOD_NAMES = {"Control": "Ctrl", "Shift": "Shift", "Alt": "Alt", "Meta": "Meta"}
_MODIFIERS = set(_MOD_NAMES)
_TOPOLOGY_EVENTS = (
    "nuclei_added",
    "nuclei_removed",
    "links_added",
    "links_removed",
    "links_updated",
)
_STEP_KEYS = {"Up": "parent", "Down": "child", "Left": "left", "Right": "right"}


def jump_viewer(viewer: napari.Viewer, t: int, center: tuple[float, float, float]) -> None:
    """Move the viewer to a nucleus (the same move as the navigation keys make)."""
    centre_on(viewer, t, center)


class LineageView(QWidget):
    """The Lineage dock: click = select + jump, keys navigate and validate."""

    def __init__(self, napari_viewer: napari.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.selection = self.session.selection  # shared by every view of this viewer
        self.layout_ = layout_lineage(TrackingGraph())  # until relayout reads the graph
        self._segments = link_segments(self.layout_)
        self._shown_root: int | None = None
        self.folded: set[int] = set()  # nuclei whose descendants are folded away
        self.renderer = LineageCanvas()
        self._graph: TrackingGraph | None = None
        self._two_d = False  # a 2D movie: the size feature is an area
        self._live: LiveArrays | None = None  # the graph's columns, kept up to date
        self._press: np.ndarray | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(RELAYOUT_DELAY_MS)
        self._timer.timeout.connect(self.relayout)
        self._build_controls()
        self._connect()
        self._bind_graph(self.session.graph)
        self.relayout(fit=True)

    # ------------------------------------------------------------ set-up
    def _build_controls(self) -> None:
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Zoom to show every tree shown (F in the tree)")
        self.fit_button.clicked.connect(self.fit)
        self.lineage_only = QCheckBox("Selected lineage only")
        self.lineage_only.toggled.connect(lambda _: self._redraw(fit=True))
        self.show_rejected = QCheckBox("Rejected")
        self.show_rejected.setToolTip("Draw rejected nuclei (magenta); rejected links never")
        self.show_rejected.toggled.connect(lambda _: self.relayout())
        self.fold_button = QPushButton("Fold")
        self.fold_button.setToolTip("Fold the current nucleus' descendants away (again: unfold)")
        self.fold_button.clicked.connect(self.toggle_fold)
        self.axis = QComboBox()
        self.axis.addItems(["tree", *FEATURES])
        self.axis.setToolTip("Across: the tree's columns, or a feature of each nucleus")
        self.axis.currentTextChanged.connect(lambda _: self.relayout(fit=True))
        self.colour = QComboBox()
        self.colour.addItems(["status", *FEATURES])
        self.colour.setToolTip(
            "Node colours: status (or the Tags tab's tag set), or a feature of each "
            "nucleus (viridis; grey: none)"
        )
        self.colour.currentTextChanged.connect(lambda _: self._redraw())
        self.info = QLabel("")
        bar = QHBoxLayout()
        for w in (self.fit_button, self.fold_button, self.axis, self.colour,
                  self.lineage_only, self.show_rejected):  # fmt: skip
            bar.addWidget(w)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.renderer.native, stretch=1)
        layout.addWidget(self.info)

    def _connect(self) -> None:
        self.session.events.workspace_changed.connect(self._on_workspace_changed)
        self.session.events.color_by_changed.connect(self._on_color_by)
        self.selection.events.changed.connect(self._on_selection_changed)
        self.renderer.view.scene.transform.changed.connect(self._update_labels)
        events = self.renderer.canvas.events
        events.mouse_press.connect(self._on_mouse_press)
        events.mouse_release.connect(self._on_mouse_release)
        events.key_press.connect(self._on_key)

    def _graph_or_empty(self) -> TrackingGraph:
        return self.session.graph if self.session.graph is not None else TrackingGraph()

    def _bind_graph(self, graph: TrackingGraph | None) -> None:
        """Listen to the open workspace's graph (and stop listening to the old one)."""
        if self._graph is not None:
            for name in _TOPOLOGY_EVENTS:
                getattr(self._graph.events, name).disconnect(self._schedule)
            self._graph.events.nuclei_updated.disconnect(self._on_nuclei_updated)
        if self._live is not None:
            self._live.close()
        self._graph = graph
        self._two_d = graph is not None and is_2d(graph, self.session.workspace)
        self._live = LiveArrays(graph) if graph is not None else None
        if graph is not None:
            for name in _TOPOLOGY_EVENTS:
                getattr(graph.events, name).connect(self._schedule)
            graph.events.nuclei_updated.connect(self._on_nuclei_updated)

    # ------------------------------------------------------------ layout
    def relayout(self, fit: bool = False) -> None:
        """Lay the trees out again from the graph and redraw."""
        self._timer.stop()
        graph = self._graph_or_empty()
        self.folded = {nid for nid in self.folded if nid in graph}  # deleted: forgotten
        arrays = self._live.arrays if self._live is not None else graph_arrays(graph)
        lay = layout_arrays(arrays, self.show_rejected.isChecked(), self.folded)
        feature = self.axis.currentText()
        if feature in FEATURES:
            lay = feature_layout(lay, feature_values(graph, lay.ids, feature, self._two_d))
        self.layout_ = lay
        self._segments = link_segments(self.layout_)
        self._redraw(fit=fit)

    def toggle_fold(self) -> None:
        """Fold (or unfold) the descendants of the current nucleus."""
        nid = self.selection.current
        if nid is None:
            return
        self.folded ^= {int(nid)}
        self.relayout()

    def _schedule(self, *_: Any) -> None:
        self._timer.start()

    def _on_workspace_changed(self, _ws: Any) -> None:
        self.folded.clear()
        self._bind_graph(self.session.graph)
        self.relayout(fit=True)

    def _on_color_by(self, _tag_set: Any) -> None:
        self._redraw()

    def _on_nuclei_updated(self, ids: tuple[int, ...]) -> None:
        """Recolour in place when every nucleus stays in the lineage, else re-lay out."""
        graph, lay = self._graph, self.layout_
        if graph is None or self._timer.isActive() or self.axis.currentText() in FEATURES:
            return self._schedule()  # a feature (a size, a confidence) may have changed
        codes = np.array([STATUS_CODE[graph.nucleus(i).status] for i in ids], np.int8)
        rows = lay.indices(np.array(ids, dtype=np.int64))
        leaves_lineage = not self.show_rejected.isChecked() and np.any(codes == _REJECTED)
        if np.any(rows == NONE) or leaves_lineage:
            return self._schedule()
        recolour = self.session.color_by is not None or self.colour.currentText() in FEATURES
        if recolour or np.any(lay.status[rows] != codes):
            lay.status[rows] = codes
            self._redraw()
        return None

    def _shown(self) -> np.ndarray:
        """Indices drawn: all, or the current nucleus' tree."""
        current = self.layout_.index_of(self.selection.current)
        if self.lineage_only.isChecked() and current is not None:
            return self.layout_.tree(current)
        return np.arange(len(self.layout_))

    def _redraw(self, fit: bool = False) -> None:
        shown = self._shown()
        self._shown_root = self._current_root()
        self.renderer.draw(self.layout_, shown, self._segments, self._node_colors())
        self.renderer.mark_folds(self.layout_, shown)
        self._update_highlight()
        if fit:
            self.renderer.fit(self.layout_.x[shown], self.layout_.t[shown])
        self._update_labels()
        self.renderer.canvas.update()

    def _update_labels(self, *_: Any) -> None:
        """Write the nuclei's ids beside their nodes once few enough are in view; zoomed
        further out, the id of each track's first nucleus beside it ("track 12")."""
        lay = self.layout_
        x0, x1, t0, t1 = self.renderer.visible_rect()
        shown = self._shown()
        x, t = lay.x[shown], lay.t[shown]
        inside = shown[(x >= x0) & (x <= x1) & (t >= t0) & (t <= t1)]
        texts = [str(i) for i in lay.ids[inside].tolist()]
        if len(inside) > MAX_LABELS:
            inside = inside[_starts_track(lay, inside)]
            texts = [f"track {i}" for i in lay.ids[inside].tolist()]
        if len(inside) > MAX_LABELS:
            inside, texts = inside[:0], []
        pos = np.column_stack([lay.x[inside], lay.t[inside]])
        self.renderer.label(pos, texts)

    def _node_colors(self) -> np.ndarray | None:
        """The nodes' colours: a feature's, the session's tag set's, or None (status)."""
        feature, graph = self.colour.currentText(), self._graph
        if feature in FEATURES and graph is not None:
            return feature_colors(feature_values(graph, self.layout_.ids, feature, self._two_d))
        tag_set = self.session.color_by
        if tag_set is None or graph is None:
            return None
        return tag_colors(graph, self.layout_.ids, tag_set).astype(np.float32)

    def fit(self) -> None:
        shown = self._shown()
        self.renderer.fit(self.layout_.x[shown], self.layout_.t[shown])

    def _current_root(self) -> int | None:
        current = self.layout_.index_of(self.selection.current)
        return None if current is None else int(self.layout_.root[current])

    # --------------------------------------------------------- selection
    def _on_selection_changed(self, _ids: Any, _current: Any) -> None:
        """Highlight the selection; scroll to (or switch to the tree of) the current one."""
        if self.lineage_only.isChecked() and self._current_root() != self._shown_root:
            self._redraw(fit=True)
            return
        self._update_highlight()
        current = self.layout_.index_of(self.selection.current)
        if current is not None:
            self.renderer.ensure_visible(
                float(self.layout_.x[current]), float(self.layout_.t[current])
            )
        self.renderer.canvas.update()

    def _update_highlight(self) -> None:
        lay = self.layout_
        rows = lay.indices(np.array(sorted(self.selection.ids), dtype=np.int64))
        rows = rows[rows != NONE]
        current = lay.index_of(self.selection.current)
        points = np.column_stack([lay.x[rows], lay.t[rows]]).reshape(-1, 2)
        at = np.flatnonzero(rows == current)
        self.renderer.highlight(points, int(at[0]) if len(at) else None)
        self._update_info(current)

    def _update_info(self, current: int | None) -> None:
        lay = self.layout_
        total = f"{len(lay):,} nuclei, {lay.n_columns:,} leaves"
        if current is None:
            self.info.setText(total)
            return
        status = STATUS_ORDER[lay.status[current]].value
        nid = int(lay.ids[current])
        graph = self._graph
        known = graph is not None and nid in graph
        confidence = graph.nucleus(nid).confidence if known else None
        link = parent_link_confidence(graph, nid, predicted_only=False) if known else None
        sure = "" if confidence is None else f" · confidence {confidence:.2f}"
        sure += "" if link is None else f" · link {link:.2f}"
        self.info.setText(f"nucleus {nid} · t {lay.t[current]} · {status}{sure} · {total}")

    def select_node(self, index: int, add: bool = False) -> None:
        """Select a node of the layout (toggle with ``add``) and move the viewer to it."""
        nid = int(self.layout_.ids[index])
        if add:
            self.selection.toggle(nid)
            return
        self.selection.select_one(nid)
        graph = self._graph
        if graph is not None and nid in graph:
            nucleus = graph.nucleus(nid)
            jump_viewer(self.viewer, nucleus.t, nucleus.center)

    def node_pixel(self, nucleus_id: int) -> tuple[int, int] | None:
        """Canvas pixel of a nucleus' node (where a click selects it), or None."""
        i = self.layout_.index_of(nucleus_id)
        if i is None:
            return None
        px = self.renderer.to_pixel(float(self.layout_.x[i]), float(self.layout_.t[i]))
        return round(float(px[0])), round(float(px[1]))

    # ------------------------------------------------------ mouse, keys
    def _on_mouse_press(self, event: Any) -> None:
        self._press = np.asarray(event.pos, dtype=np.float64)

    def _on_mouse_release(self, event: Any) -> None:
        """A click (not a drag) on a node selects it; shift-click toggles."""
        pos = np.asarray(event.pos, dtype=np.float64)
        if self._press is None or np.hypot(*(pos - self._press)) > CLICK_SLOP_PX:
            return
        self._press = None
        x, t = self.renderer.to_scene(pos)
        dx, dt = np.abs(self.renderer.to_scene(pos + PICK_PX) - (x, t))
        index = nearest_node(self.layout_, float(x), float(t), float(dx), max(float(dt), 0.5))
        if index is not None:
            self.select_node(index, add="Shift" in _modifier_names(event))

    def _on_key(self, event: Any) -> None:
        """Arrows: parent / child / sibling; F: fit; any other key does what it does in
        the viewer (accept, reject, delete, link the two selected, unlink, tag, undo …),
        on the selection, as one undoable action."""
        name = event.key.name if event.key is not None else ""
        mods = _modifier_names(event)
        if name in _STEP_KEYS and not mods:
            self._step(_STEP_KEYS[name])
        elif name == "F" and not mods:
            self.fit()
        elif not self.viewer_key(name, mods):
            return
        event.handled = True

    def viewer_key(self, name: str, mods: set[str]) -> bool:
        """Run the viewer's action for this key (False: none)."""
        if not name or name in _MODIFIERS:
            return False
        spelled = [_MOD_NAMES.get(m, m) for m in sorted(mods) if m in _MOD_NAMES]
        keymap = session_for(self.viewer).start_proofreading().keymap
        return keymap.run_key("+".join([*spelled, name]))

    def _step(self, direction: str) -> None:
        current = self.layout_.index_of(self.selection.current)
        if current is None:
            return
        target = step(self.layout_, current, direction)
        if target is not None:
            self.select_node(target)


def _starts_track(lay: Any, rows: np.ndarray) -> np.ndarray:
    """Which rows begin a track: a root, or a daughter of a division."""
    parent = lay.parent[rows]
    daughter = (parent != NONE) & (lay.children[np.maximum(parent, 0), 1] != NONE)
    return (parent == NONE) | daughter


def _modifier_names(event: Any) -> set[str]:
    return {getattr(m, "name", str(m)) for m in (getattr(event, "modifiers", None) or ())}
