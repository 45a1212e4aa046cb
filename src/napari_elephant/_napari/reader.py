"""The napari reader: movies, workspaces and tracking graphs, in µm.

``get_reader`` only looks at names, folder contents and first bytes, since
napari calls it on every path dropped on the viewer; the reading happens in
the function it returns.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from napari_elephant._napari.layers import (
    LayerData,
    graph_layer_data,
    guessed_layer_data,
    source_layer_data,
    workspace_layer_data,
)
from napari_elephant._napari.session import session_for
from napari_elephant.core.io.csv_columns import REQUIRED_COLUMNS
from napari_elephant.core.io.csv_io import load_csv
from napari_elephant.core.io.geff_io import is_geff, read_geff
from napari_elephant.core.io.image import (
    AXES_2D_MOVIE,
    AmbiguousAxesError,
    detect_format,
    open_image,
)
from napari_elephant.core.workspace import Workspace, is_workspace

ReaderFunction = Callable[[str | list[str]], list[LayerData]]

GRAPH_CSV_COLUMNS = frozenset(REQUIRED_COLUMNS)
"""Columns a CSV needs before we claim it (napari's builtin reader takes other CSVs)."""


def get_reader(path: str | list[str]) -> ReaderFunction | None:
    """The reader for a path, or None when the path is not ours."""
    if isinstance(path, list | tuple):
        if len(path) != 1:
            return None
        path = path[0]
    p = os.fspath(path)
    if is_workspace(p):
        return read_workspace
    if is_geff(p):
        return read_graph_file
    if is_graph_csv(p):
        return read_graph_file
    if detect_format(p) is not None:
        return read_image
    return None


def _single(path: str | list[str]) -> Path:
    return Path(path[0] if isinstance(path, list | tuple) else path)


def is_graph_csv(path: str | os.PathLike) -> bool:
    """A .csv whose header has our required columns (reads one line only)."""
    p = Path(path)
    if p.suffix.lower() != ".csv" or not p.is_file():
        return False
    try:
        with open(p, encoding="utf-8-sig") as fh:
            header = fh.readline()
    except (OSError, UnicodeDecodeError):
        return False
    columns = {c.strip().strip('"').lower() for c in header.split(",")}
    return columns >= GRAPH_CSV_COLUMNS


def read_image(path: str | list[str]) -> list[LayerData]:
    """A movie as one Image layer (scale = voxel size, or 1 when unknown).

    A reader cannot ask: a 3-axis file without axis names is shown as napari
    would show it, (T, Y, X), and marked as a guess; the dock asks "2D movie or
    3D stack?" before a workspace is made of it.
    """
    p = _single(path)
    try:
        return [source_layer_data(open_image(p))]
    except AmbiguousAxesError:
        return [guessed_layer_data(open_image(p, axes=AXES_2D_MOVIE))]


def read_workspace(path: str | list[str]) -> list[LayerData]:
    """A workspace: its movie, nuclei, outlines and tracks, all tied to the open
    Workspace.

    The current viewer's session is started first: it adopts the layers as
    napari inserts them, so a workspace dropped before any dock is opened is
    live (time steps, edits) rather than frozen at its first timepoint, with
    the proofreading keys and the autosave.
    """
    layers = workspace_layer_data(Workspace.open(_single(path)))
    viewer = _current_viewer()
    if viewer is not None:
        session_for(viewer).start_with_autosave()
    return layers


def _current_viewer() -> Any:
    """The active napari viewer, or None when there is none or we are off the GUI
    thread (the session wires itself to the viewer's events).

    Without ``napari.viewer`` loaded no viewer exists, and asking napari would
    import Qt into a headless process (scripts, tests) for nothing.
    """
    if "napari.viewer" not in sys.modules:
        return None
    if threading.current_thread() is not threading.main_thread():
        return None
    from napari import current_viewer

    return current_viewer()


def read_graph_file(path: str | list[str]) -> list[LayerData]:
    """A GEFF or CSV tracking graph as nuclei points and tracks."""
    p = _single(path)
    graph = read_geff(p) if is_geff(p) else load_csv(p)
    name = p.name.removesuffix(".geff").removesuffix(".csv")
    return graph_layer_data(graph, name, {"graph_path": str(p)})
