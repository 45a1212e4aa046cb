"""The lineage view's vispy scene: nodes, links, selection rings, the time axis and
the ids written beside the nodes when zoomed in (:class:`LineageCanvas`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from qtpy.QtWidgets import QWidget
from vispy import scene

from napari_elephant._napari.layers import STATUS_COLORS
from napari_elephant.core.graph.model import STATUS_ORDER
from napari_elephant.core.lineage_layout import LineageLayout

NODE_PX, HIGHLIGHT_PX, FOLD_PX = 6.0, 14.0, 9.0
AXIS_PX = 44  # the time axis' width, labels and ticks
LABEL_OFFSET = 0.15  # columns between a node and its label
COLORS = np.array([STATUS_COLORS[s] for s in STATUS_ORDER], dtype=np.float32)
LINK_COLORS = COLORS * np.array([0.8, 0.8, 0.8, 0.9], dtype=np.float32)


class LineageCanvas:
    """The vispy scene: time down (labelled on an axis at the left), one column per
    leaf, pan/zoom with the mouse."""

    def __init__(self) -> None:
        self.canvas = scene.SceneCanvas(keys=None, bgcolor="black", size=(300, 400))
        grid = self.canvas.central_widget.add_grid(spacing=0)
        self.time_axis = scene.AxisWidget(
            orientation="left", axis_label="t", axis_font_size=8, tick_label_margin=4,
            axis_label_margin=22, text_color="w", axis_color="w", tick_color="w",
        )  # fmt: skip
        self.time_axis.width_max = AXIS_PX
        grid.add_widget(self.time_axis, row=0, col=0)
        self.view = grid.add_view(row=0, col=1)
        self.view.camera = scene.PanZoomCamera(aspect=None, flip=(False, True, False))
        self.time_axis.link_view(self.view)
        self.links = scene.visuals.Line(connect="segments", parent=self.view.scene)
        self.nodes = scene.visuals.Markers(parent=self.view.scene)
        self.marks = scene.visuals.Markers(parent=self.view.scene)
        self.marks.order = 1  # drawn after (over) the nodes
        self.folds = scene.visuals.Markers(parent=self.view.scene)  # folded branches
        self.labels = scene.visuals.Text(
            color="white", font_size=7, anchor_x="left", parent=self.view.scene
        )
        self.labels.visible = False

    @property
    def native(self) -> QWidget:
        return self.canvas.native

    def draw(
        self,
        layout: LineageLayout,
        shown: np.ndarray,
        segments: tuple[np.ndarray, np.ndarray],
        node_colors: np.ndarray | None = None,
    ) -> None:
        """Nodes ``shown`` (indices) and the links between them (``link_segments``);
        ``node_colors`` (n, 4) replaces the status colours (a tag set's)."""
        pos = np.column_stack([layout.x[shown], layout.t[shown]]).astype(np.float32)
        colors = COLORS[layout.status[shown]] if node_colors is None else node_colors[shown]
        self._set_markers(self.nodes, pos, colors, NODE_PX)
        segs, which = segments
        if len(shown) == len(layout):
            keep = np.ones(len(which), dtype=bool)
        else:
            keep = np.isin(layout.root[layout.link_parent[which]], np.unique(layout.root[shown]))
        link_colors = np.repeat(LINK_COLORS[layout.link_status[which[keep]]], 2, axis=0)
        kept = segs.reshape(-1, 2, 2)[keep].reshape(-1, 2)
        self.links.set_data(pos=_or_dummy(kept), color=_or_dummy(link_colors))
        self.links.visible = bool(keep.any())

    def mark_folds(self, layout: LineageLayout, shown: np.ndarray) -> None:
        """A downward triangle under each shown node whose descendants are folded away."""
        folded = shown[layout.folded[shown]] if layout.folded is not None else shown[:0]
        self.folds.visible = len(folded) > 0
        if len(folded):
            pos = np.column_stack([layout.x[folded], layout.t[folded]]).astype(np.float32)
            below = pos + np.float32([0.0, 0.45])
            self.folds.set_data(below, size=FOLD_PX, symbol="triangle_down",
                                face_color="white", edge_width=0.0)  # fmt: skip

    def highlight(self, points: np.ndarray, current: int | None) -> None:
        """Rings around the selected nodes (rows of points: x, t); current in yellow."""
        edge = np.ones((len(points), 4), dtype=np.float32)
        if current is not None:
            edge[current] = (1.0, 1.0, 0.0, 1.0)
        self.marks.visible = len(points) > 0
        if len(points):
            self.marks.set_data(
                points.astype(np.float32),
                size=HIGHLIGHT_PX,
                face_color=(0, 0, 0, 0),
                edge_color=edge,
                edge_width=2.0,
            )

    def label(self, pos: np.ndarray, texts: list[str]) -> None:
        """Texts beside nodes (rows of pos: x, t); none hides the labels."""
        self.labels.visible = bool(texts)
        if texts:
            self.labels.text = texts
            self.labels.pos = pos.astype(np.float32) + np.float32([LABEL_OFFSET, 0.0])

    def visible_rect(self) -> tuple[float, float, float, float]:
        """(x0, x1, t0, t1) of the camera's view."""
        rect = self.view.camera.rect
        x0, x1 = sorted((rect.left, rect.right))
        t0, t1 = sorted((rect.bottom, rect.top))
        return x0, x1, t0, t1

    def _set_markers(self, visual: Any, pos: np.ndarray, colors: np.ndarray, size: float) -> None:
        visual.visible = len(pos) > 0
        if len(pos):
            visual.set_data(pos, size=size, face_color=colors, edge_width=0.0)

    def fit(self, x: np.ndarray, t: np.ndarray) -> None:
        """Zoom to show these points, with a column / a timepoint of margin."""
        if len(x):
            margin = max(1.0, 0.05 * float(x.max() - x.min()))  # a column, or 5 % of a feature
            lo_x, hi_x = float(x.min()) - margin, float(x.max()) + margin
            lo_t, hi_t = float(t.min()) - 1.0, float(t.max()) + 1.0
            self.view.camera.rect = (lo_x, lo_t, hi_x - lo_x, hi_t - lo_t)

    def ensure_visible(self, x: float, t: float) -> None:
        """Centre on a point when it is outside the visible rectangle."""
        rect = self.view.camera.rect
        left, right = sorted((rect.left, rect.right))
        bottom, top = sorted((rect.bottom, rect.top))
        if not (left <= x <= right and bottom <= t <= top):
            self.view.camera.center = (x, t)

    def to_scene(self, pixel: tuple[float, float]) -> np.ndarray:
        """Canvas pixel -> scene (x, t)."""
        tr = self.canvas.scene.node_transform(self.view.scene)
        return tr.map(np.asarray(pixel, dtype=np.float64))[:2]

    def to_pixel(self, x: float, t: float) -> np.ndarray:
        tr = self.canvas.scene.node_transform(self.view.scene)
        return tr.imap(np.array([x, t, 0.0, 1.0]))[:2]


def _or_dummy(values: np.ndarray) -> np.ndarray:
    """vispy refuses an empty vertex array: a hidden degenerate segment instead."""
    return values.astype(np.float32) if len(values) else np.zeros((2, values.shape[1]), np.float32)
