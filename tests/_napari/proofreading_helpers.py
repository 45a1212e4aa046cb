"""A small hand-built workspace and key presses for the proofreading tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from napari_elephant._napari.proofreading import Proofreading
from napari_elephant._napari.session import ElephantSession, session_for
from napari_elephant.core.graph import Link, Status, TrackingGraph, make_nucleus
from tests._napari.helpers import write_workspace

Z = 8.0  # µm: the middle plane of the tiny movie (8 planes of 2 µm)


def track_graph() -> TrackingGraph:
    """Track 1 → 2 → {3, 4} (a division at t=1), nucleus 5 alone at t=0 (predicted),
    6 → 7 rejected-linked, nucleus 8 predicted at t=2; radius 2 µm, z = 8 µm.

    (t, y, x) µm: 1 (0, 6, 6), 2 (1, 6, 7), 3 (2, 5, 5), 4 (2, 9, 9), 5 (0, 18, 18),
    6 (0, 18, 6), 7 (1, 18, 6), 8 (2, 18, 18).
    """
    spec = [
        (1, 0, 6, 6, "accepted"), (2, 1, 6, 7, "accepted"), (3, 2, 5, 5, "predicted"),
        (4, 2, 9, 9, "predicted"), (5, 0, 18, 18, "predicted"), (6, 0, 18, 6, "accepted"),
        (7, 1, 18, 6, "accepted"), (8, 2, 18, 18, "predicted"),
    ]  # fmt: skip
    nuclei = [make_nucleus(i, t, (Z, y, x), radius=2.0, status=s) for i, t, y, x, s in spec]
    links = [Link(1, 2), Link(2, 3), Link(2, 4, Status.PREDICTED), Link(6, 7, Status.REJECTED)]
    return TrackingGraph.from_records(nuclei, links)


def open_tracks(viewer: Any, tmp_path: Path) -> tuple[ElephantSession, Proofreading]:
    """The viewer showing a workspace of :func:`track_graph`, proofreading set up,
    the nuclei layer active."""
    session = session_for(viewer)
    session.open_workspace(write_workspace(tmp_path, graph=track_graph()))
    p = session.start_proofreading(keymap_path=tmp_path / "config" / "keymap.json")
    viewer.layers.selection.active = session.layers["nuclei"]
    return session, p


def point_at(viewer: Any, t: int, y: float, x: float, z: float = Z) -> None:
    """Put the mouse at a world position (and the view at its timepoint)."""
    viewer.dims.set_point(0, float(t))
    viewer.cursor.position = (float(t), z, y, x)


def press(viewer: Any, key: str) -> bool:
    """A key press and release through napari's own key handling (active layer first)."""
    handler = viewer.window._qt_viewer._key_map_handler
    done = handler.press_key(key)
    handler.release_key(key)
    return done


def key_down(viewer: Any, key: str) -> None:
    viewer.window._qt_viewer._key_map_handler.press_key(key)


def key_up(viewer: Any, key: str) -> None:
    viewer.window._qt_viewer._key_map_handler.release_key(key)


def radii(graph: TrackingGraph, nid: int) -> np.ndarray:
    return graph.nucleus(nid).radii


@dataclass
class MouseEvent:
    """What napari's mouse callbacks read from a vispy event (world position)."""

    type: str
    position: tuple[float, ...]
    is_dragging: bool = False
    modifiers: list[str] = field(default_factory=list)
    pos: np.ndarray = field(default_factory=lambda: np.zeros(2))
    view_direction: list[float] | None = None
    up_direction: list[float] | None = None
    dims_displayed: list[int] = field(default_factory=lambda: [2, 3])


def drag(layer: Any, start: tuple[float, ...], end: tuple[float, ...]) -> None:
    """Press at start, drag to end, release (world positions), as a mouse would."""
    from napari.utils._proxies import ReadOnlyWrapper
    from napari.utils.interactions import (
        mouse_move_callbacks,
        mouse_press_callbacks,
        mouse_release_callbacks,
    )

    def event(kind: str, position: tuple[float, ...], dragging: bool = False) -> Any:
        return ReadOnlyWrapper(MouseEvent(kind, position, dragging), exceptions=("handled",))

    mouse_press_callbacks(layer, event("mouse_press", start))
    if end != start:
        mouse_move_callbacks(layer, event("mouse_move", end, dragging=True))
    mouse_release_callbacks(layer, event("mouse_release", end))
