"""The napari writer: nuclei points / tracks layers -> GEFF folder or CSV file.

A layer made by our reader, sample data or session carries its
:class:`TrackingGraph` in ``metadata['elephant_graph']``, and that graph (with
ellipsoids, statuses and links) is what gets written.  Layers drawn by hand
are converted: each point becomes an accepted nucleus (diameter = point size),
each track a chain of linked nuclei.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from napari_elephant._napari.layers import GRAPH_KEY
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Link, TrackingGraph, make_nucleus
from napari_elephant.core.io.csv_io import write_csv
from napari_elephant.core.io.geff_io import DEFAULT_RADIUS_UM, is_geff
from napari_elephant.core.io.geff_write import write_geff

LayerData = tuple[Any, dict[str, Any], str]


def write_points(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """Single-layer writer for a nuclei Points layer."""
    return [save_graph(_graph_of(meta) or graph_from_points(data, meta), path)]


def write_tracks(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """Single-layer writer for a Tracks layer."""
    return [save_graph(_graph_of(meta) or graph_from_tracks(data, meta), path)]


def write_layers(path: str, layer_data: list[LayerData]) -> list[str]:
    """Writer for nuclei + tracks selected together: they must show one graph."""
    graphs = {id(g): g for g in (_graph_of(meta) for _, meta, _ in layer_data) if g is not None}
    if len(graphs) > 1:
        raise InvalidInputError("the selected layers show different tracking graphs; save one")
    if graphs:
        return [save_graph(next(iter(graphs.values())), path)]
    by_type = {kind: (data, meta) for data, meta, kind in layer_data}
    if "tracks" in by_type:
        return [save_graph(graph_from_tracks(*by_type["tracks"]), path)]
    return [save_graph(graph_from_points(*by_type["points"]), path)]


def save_graph(graph: TrackingGraph, path: str | Path) -> str:
    """Write by extension: ``.geff`` (folder) or ``.csv``; an existing GEFF is replaced."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".geff":
        write_geff(graph, p, overwrite=is_geff(p))
    elif suffix == ".csv":
        write_csv(graph, p)
    else:
        raise InvalidInputError(f"cannot write a tracking graph to {p}: use .geff or .csv")
    return str(p)


def _graph_of(meta: dict[str, Any]) -> TrackingGraph | None:
    graph = (meta.get("metadata") or {}).get(GRAPH_KEY)
    return graph if isinstance(graph, TrackingGraph) else None


def _world(data: Any, meta: dict[str, Any]) -> np.ndarray:
    """Layer data coordinates -> world (µm) with the layer's scale and translate."""
    coords = np.asarray(data, dtype=np.float64)
    scale = np.asarray(meta.get("scale", np.ones(coords.shape[1])), dtype=np.float64)
    translate = np.asarray(meta.get("translate", np.zeros(coords.shape[1])), dtype=np.float64)
    return coords * scale + translate


def _as_tzyx(world: np.ndarray, what: str) -> np.ndarray:
    """(n, d) world coordinates -> (n, 4) t, z, y, x; 3D = z, y, x and 2D = y, x at t 0."""
    n, d = world.shape
    if d > 4 or d < 2:
        raise InvalidInputError(f"{what} has {d} dimensions; expected (t,) (z,) y, x")
    out = np.zeros((n, 4))
    out[:, 4 - d :] = world
    if np.any(out[:, 0] < -0.5):
        raise InvalidInputError(f"{what} has points at negative timepoints")
    out[:, 0] = np.round(out[:, 0])
    return out


def graph_from_points(data: Any, meta: dict[str, Any]) -> TrackingGraph:
    """Hand-drawn points -> accepted nuclei, sphere of the point's diameter, no links."""
    tzyx = _as_tzyx(_world(data, meta), "the points layer")
    size = np.broadcast_to(np.asarray(meta.get("size", 2 * DEFAULT_RADIUS_UM)), len(tzyx))
    if np.any(size <= 0):
        raise InvalidInputError("the points layer has points of size 0; give them a size")
    nuclei = [
        make_nucleus(i + 1, int(row[0]), row[1:], radius=float(s) / 2.0)
        for i, (row, s) in enumerate(zip(tzyx, size, strict=True))
    ]
    return TrackingGraph.from_records(nuclei)


def graph_from_tracks(data: Any, meta: dict[str, Any]) -> TrackingGraph:
    """Tracks rows -> linked nuclei (default radius); the track graph gives divisions."""
    rows = np.asarray(data, dtype=np.float64)
    tzyx = _as_tzyx(_world(rows[:, 1:], meta), "the tracks layer")
    order = np.lexsort((tzyx[:, 0], rows[:, 0]))
    track, tzyx = rows[order, 0].astype(np.int64), tzyx[order]
    ids = np.arange(1, len(track) + 1)
    nuclei = [
        make_nucleus(int(i), int(r[0]), r[1:], radius=DEFAULT_RADIUS_UM)
        for i, r in zip(ids, tzyx, strict=True)
    ]
    same = track[1:] == track[:-1]
    links = [Link(int(p), int(c)) for p, c in zip(ids[:-1][same], ids[1:][same], strict=True)]
    links += _division_links(track, ids, meta.get("graph") or {})
    return TrackingGraph.from_records(nuclei, links)


def _division_links(track: np.ndarray, ids: np.ndarray, graph: dict) -> list[Link]:
    """Last nucleus of the parent track -> first nucleus of each child track."""
    keys, first_idx = np.unique(track, return_index=True)  # track is sorted by (id, t)
    last_idx = np.append(first_idx[1:], len(track)) - 1
    first = dict(zip(keys.tolist(), ids[first_idx].tolist(), strict=True))
    last = dict(zip(keys.tolist(), ids[last_idx].tolist(), strict=True))
    links = []
    for child, parents in graph.items():
        parents = parents if isinstance(parents, list | tuple) else [parents]
        if len(parents) != 1:
            raise InvalidInputError(f"track {child} has {len(parents)} parents; a nucleus has one")
        links.append(Link(last[int(parents[0])], first[int(child)]))
    return links
