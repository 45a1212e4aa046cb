"""Nuclei coloured by a tag set instead of by status (Mastodon's "colour by tag set").

Each nucleus takes its value's colour in the set; one without a value (or
with a value the set no longer lists) is grey.  The session holds the set
(``session.color_by``; None: by status) and :class:`~.layer_sync.LayerSync`
asks here for the colours of the rows it draws.
"""

from __future__ import annotations

import numpy as np

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
