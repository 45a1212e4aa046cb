"""Nuclei coloured by a tag set instead of by status (Mastodon's "colour by tag set").

Each nucleus takes its value's colour in the set; one without a value (or
with a value the set no longer lists) is grey.  The session holds the set
(``session.color_by``; None: by status) and :class:`~.layer_sync.LayerSync`
asks here for the colours of the rows it draws.  The Tracks layer colours by
a feature through a colormap, so each vertex gets its value's slot in a
stepped colormap (:func:`track_tag_colors`): napari maps the feature as it is,
without rescaling, when the layer's ``colormaps_dict`` names it.
"""

from __future__ import annotations

import numpy as np
from napari.utils.colormaps import Colormap

from napari_elephant.core.graph import TrackingGraph
from napari_elephant.core.tagsets import TagSet, value_of


def hex_rgba(color: str) -> np.ndarray:
    """#rrggbb → RGBA floats in [0, 1]."""
    h = color.lstrip("#")
    return np.array([int(h[i : i + 2], 16) / 255.0 for i in (0, 2, 4)] + [1.0])


def tag_colors(graph: TrackingGraph, ids: np.ndarray, tag_set: TagSet) -> np.ndarray:
    """(n, 4) RGBA of each nucleus' value in ``tag_set``."""
    table = {v.name: hex_rgba(v.color) for v in tag_set.values}
    grey = hex_rgba(tag_set.color_of(None))
    rows = [table.get(value_of(n.tags, tag_set.name), grey) for n in graph.nuclei(ids.tolist())]
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


TRACK_FEATURE = "tag"  # the Tracks layer's feature coloured by the session's tag set


def track_tag_colors(
    graph: TrackingGraph, node_ids: np.ndarray, tag_set: TagSet
) -> tuple[np.ndarray, Colormap]:
    """(per vertex, the centre of its value's slot in [0, 1]; the stepped colormap):
    slot 0 is grey (no value), slot k + 1 the set's k-th value."""
    names = tag_set.names
    slot = {name: k + 1 for k, name in enumerate(names)}
    ids = [int(i) for i in np.asarray(node_ids).tolist()]
    codes = np.array(
        [slot.get(value_of(graph.nucleus(i).tags, tag_set.name), 0) if i in graph else 0
         for i in ids], dtype=np.float64,
    )  # fmt: skip
    n = len(names) + 1
    colors = [hex_rgba(tag_set.color_of(None))] + [hex_rgba(v.color) for v in tag_set.values]
    cmap = Colormap(
        np.array(colors), controls=np.linspace(0.0, 1.0, n + 1), interpolation="zero",
        name=f"tag set {tag_set.name}",
    )  # fmt: skip
    return (codes + 0.5) / n, cmap
