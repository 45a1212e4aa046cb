"""Writing into napari layers: many properties under one repaint, and the
napari 0.9 quirks of Vectors and Tracks layers.

:mod:`~.layer_sync` decides *what* the layers show and *when*; this module
knows *how* to hand it to napari cheaply and without tripping its events, so
the workarounds for one napari version sit in one place.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import numpy as np

from napari_elephant._napari.tracks import TracksData


@contextmanager
def quietly(layer: Any, thumbnail: bool = True) -> Iterator[None]:
    """Set many properties of a layer, then slice and repaint it once.

    Each napari setter re-slices and repaints (7 repaints per time step
    measured on the nuclei layer), and napari 0.9.2 repaints a Vectors layer
    on its data event with the previous slice's indices, which fails when it
    shrinks.  The swaps are silent on ``layer.events.data``, so a data event
    on the nuclei layer is always a user's edit.
    """
    with ExitStack() as stack:
        stack.enter_context(layer._block_refresh())
        stack.enter_context(layer.events.blocker_all())
        for name in ("_face", "_border", "_edge"):
            manager = getattr(layer, name, None)
            if manager is not None:
                stack.enter_context(manager.events.blocker_all())
        yield
    layer.refresh(thumbnail=thumbnail)


def set_vectors(layer: Any, vectors: np.ndarray, colors: np.ndarray) -> None:
    """Outlines and their colours; no thumbnail (napari 0.9.2 spends ~90 ms on
    it for a few hundred outlines)."""
    with quietly(layer, thumbnail=False):
        layer.data = vectors
        if len(vectors):
            layer.edge_color = colors


def fill_tracks(layer: Any, trk: TracksData, window: tuple[int, int]) -> None:
    """Swap a Tracks layer's data, graph and features, then rebuild it once."""
    if len(trk) == 0:  # nothing linked in the window: one invisible vertex
        trk = _placeholder_tracks(window)
    with quietly(layer):
        layer.data = trk.data
        layer.graph = trk.graph
        layer.features = trk.features
    layer.events.rebuild_tracks()
    layer.events.rebuild_graph()


def _placeholder_tracks(window: tuple[int, int]) -> TracksData:
    """A one-vertex track (draws nothing) for a window without links: napari has no
    empty Tracks layer."""
    data = np.array([[1.0, max(window[0], 0), 0.0, 0.0, 0.0]])
    features = {"node_id": np.array([-1]), "status": np.array(["predicted"], dtype=object)}
    return TracksData(data, {}, features)
