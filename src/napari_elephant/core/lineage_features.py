"""A nucleus feature as the lineage view's horizontal axis (TrackScheme's feature
mode) or as its nodes' colour.

The tree layout places a node by its descendants; the feature mode places it by
what it is: its volume, its speed, the network's confidence in it.  Rows stay
timepoints, so a track becomes a curve of the feature over time and a division
shows whether the daughters share the mother's size.  Nuclei without a value (a
manual nucleus has no confidence, a track's first nucleus no speed) are put in
a column of their own, left of every value.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from napari_elephant.core.ellipsoid import flat_area, six_volume
from napari_elephant.core.graph.graph import TrackingGraph
from napari_elephant.core.lineage_layout import LineageLayout

FEATURES = {
    "volume": "volume (µm³); in a 2D movie the ellipse's area (µm²)",
    "speed": "speed (µm per timepoint)",
    "confidence": "confidence",
}
NO_VALUE_GAP = 0.1  # the no-value column sits this share of the range left of the values


def feature_values(
    graph: TrackingGraph, ids: np.ndarray, name: str, two_d: bool = False
) -> np.ndarray:
    """The feature of each nucleus (µm³, µm per timepoint, 0–1); NaN where it has none.

    ``two_d``: a 2D movie's nuclei are flat ellipsoids, whose volume means
    nothing; their size is the ellipse's area (µm²), as in the analysis tables.
    """
    if name not in FEATURES:
        raise ValueError(f"no lineage feature {name!r}; one of {', '.join(FEATURES)}")
    nuclei = list(graph.nuclei(ids.tolist()))
    if name == "volume":
        six = np.array([n.cov for n in nuclei], dtype=np.float64).reshape(-1, 6)
        return flat_area(six) if two_d else six_volume(six)
    if name == "confidence":
        return np.array([np.nan if n.confidence is None else n.confidence for n in nuclei])
    return np.array([_speed(graph, n.id) for n in nuclei], dtype=np.float64)


def _speed(graph: TrackingGraph, nid: int) -> float:
    parent = graph.parent(nid)
    if parent is None:
        return np.nan
    a, b = graph.nucleus(parent), graph.nucleus(nid)
    return float(np.linalg.norm(np.subtract(b.center, a.center)) / (b.t - a.t))


def feature_layout(layout: LineageLayout, values: np.ndarray) -> LineageLayout:
    """The layout with each node's x at its feature value (NaN: the no-value column)."""
    known = np.isfinite(values)
    x = np.asarray(values, dtype=np.float64).copy()
    if known.any():
        lo, hi = float(x[known].min()), float(x[known].max())
        span = hi - lo if hi > lo else max(abs(hi), 1.0)
        x[~known] = lo - NO_VALUE_GAP * span
    else:
        x[:] = 0.0
    return replace(layout, x=x, by_row=np.lexsort((x, layout.t)))


def feature_colors(values: np.ndarray, cmap: str = "viridis") -> np.ndarray:
    """(n, 4) RGBA of values over their range in a colour map; grey where a nucleus
    has no value."""
    from matplotlib import colormaps

    values = np.asarray(values, dtype=np.float64)
    known = np.isfinite(values)
    out = np.tile(np.float32([0.5, 0.5, 0.5, 1.0]), (len(values), 1))
    if known.any():
        lo, hi = float(values[known].min()), float(values[known].max())
        scaled = (values[known] - lo) / (hi - lo) if hi > lo else np.full(known.sum(), 0.5)
        out[known] = colormaps[cmap](scaled).astype(np.float32)
    return out
