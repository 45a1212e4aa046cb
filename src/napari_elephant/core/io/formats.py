"""The tracking-graph file formats, by name: one entry point for the CLI and the docks.

============  ==========================================  =================================
format        file                                        keeps
============  ==========================================  =================================
``csv``       one table (``.csv``)                        ellipsoids, lineage, nucleus status
``geff``      zarr folder (``.geff`` / ``.zarr``)         everything (the workspace format)
``ctc``       folder of label TIFFs + ``*_track.txt``     voxelised nuclei, lineage
``trackmate`` TrackMate XML (``.xml``)                    everything but tags
============  ==========================================  =================================

See ``docs/interchange.md`` for what each format keeps and loses.  The
readers and writers are imported when first used: the command line builds
its parser from :data:`GRAPH_FORMATS` and should start fast.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.units import VoxelSize

if TYPE_CHECKING:
    from napari_elephant.core.graph import TrackingGraph
    from napari_elephant.core.training.progress import Progress

GRAPH_FORMATS = ("csv", "geff", "ctc", "trackmate")
_SUFFIXES = {".csv": "csv", ".geff": "geff", ".zarr": "geff", ".xml": "trackmate"}
_SUFFIXES |= {".tif": "ctc", ".tiff": "ctc"}
_CTC_FOLDER_ENDINGS = ("_res", "_gt", "_tra")


def guess_format(path: str | os.PathLike) -> str:
    """The format of an existing file or folder, or of a path to write, from its name.

    Folders: GEFF metadata → geff; a CTC track file (also in ``TRA/``) or
    numbered TIFFs → ctc.  Names: ``.csv``, ``.geff`` / ``.zarr``, ``.xml``,
    ``.tif`` (a label movie), and folders named like CTC's ``01_RES``.
    """
    from napari_elephant.core.io.ctc_tracks import find_track_file
    from napari_elephant.core.io.geff_io import is_geff

    p = Path(path)
    if p.is_dir():
        if is_geff(p):
            return "geff"
        if find_track_file(p) is not None or _has_frames(p):
            return "ctc"
    fmt = _SUFFIXES.get(p.suffix.lower())
    if fmt is None and p.name.lower().endswith(_CTC_FOLDER_ENDINGS):
        fmt = "ctc"
    if fmt is None:
        raise InvalidInputError(
            f"cannot tell the format of {p} from its name; pass --format "
            f"({', '.join(GRAPH_FORMATS)})"
        )
    return fmt


def _has_frames(folder: Path) -> bool:
    from napari_elephant.core.io.label_images import frame_files

    try:
        return bool(frame_files(folder))
    except InvalidInputError:
        return True  # several series: a CTC-like folder, the reader says what is wrong


def check_format(fmt: str) -> str:
    if fmt not in GRAPH_FORMATS:
        raise InvalidInputError(
            f"unknown format {fmt!r} (expected one of {', '.join(GRAPH_FORMATS)})"
        )
    return fmt


def read_graph(
    path: str | os.PathLike,
    fmt: str | None = None,
    voxel_size: VoxelSize | Sequence[float] | None = None,
) -> TrackingGraph:
    """Read a tracking graph in any of :data:`GRAPH_FORMATS` (default: guessed).

    ``voxel_size`` (z, y, x µm) is used where the file has none: CTC label
    images without calibration, TrackMate files in pixels.
    """
    from napari_elephant.core.io.csv_io import load_csv
    from napari_elephant.core.io.ctc import read_ctc
    from napari_elephant.core.io.geff_io import read_geff
    from napari_elephant.core.io.trackmate import read_trackmate

    fmt = check_format(fmt) if fmt else guess_format(path)
    if fmt == "csv":
        return load_csv(path)
    if fmt == "geff":
        return read_geff(path)
    if fmt == "ctc":
        return read_ctc(path, voxel_size)
    return read_trackmate(path, voxel_size)


def write_graph(
    graph: TrackingGraph,
    path: str | os.PathLike,
    fmt: str,
    voxel_size: VoxelSize | Sequence[float] | None = None,
    shape_tzyx: Sequence[int] | None = None,
    overwrite: bool = False,
    image_path: str | os.PathLike | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> str:
    """Write ``graph`` as ``fmt``; returns a one-line summary of what was written.

    CTC needs the movie's voxel size and (T, Z, Y, X) shape (masks cover the
    whole movie); TrackMate records them for Fiji when given, with
    ``image_path`` as the movie Fiji opens.  ``progress`` receives the
    per-frame records of the CTC export.  A shape with Z = 1 is a 2D movie:
    CTC writes 2D masks, TrackMate a 2D image's settings, GEFF the y, x axes
    only (CSV keeps its columns, z = 0).
    """
    from napari_elephant.core.io.csv_io import write_csv
    from napari_elephant.core.io.geff_write import write_geff
    from napari_elephant.core.io.trackmate_write import write_trackmate

    path, fmt = Path(path), check_format(fmt)
    if path.exists() and not overwrite:
        raise InvalidInputError(f"{path} exists; pass --overwrite to replace it")
    summary = f"{len(graph)} nuclei and {graph.n_links} links"
    if fmt == "csv":
        write_csv(graph, path)
    elif fmt == "geff":
        write_geff(graph, path, overwrite=overwrite, two_d=is_2d_shape(shape_tzyx))
    elif fmt == "ctc":
        summary = _write_ctc(graph, path, voxel_size, shape_tzyx, overwrite, progress)
    else:
        write_trackmate(graph, path, voxel_size or VoxelSize(), shape_tzyx, image_path)
    return summary


def is_2d_shape(shape_tzyx: Sequence[int] | None) -> bool:
    """Whether a movie of this (T, Z, Y, X) shape is 2D (one z plane); unknown: no."""
    return shape_tzyx is not None and len(shape_tzyx) == 4 and int(shape_tzyx[1]) == 1


def _write_ctc(
    graph: TrackingGraph,
    path: Path,
    voxel_size: VoxelSize | Sequence[float] | None,
    shape_tzyx: Sequence[int] | None,
    overwrite: bool,
    progress: Callable[[Progress], None] | None,
) -> str:
    from napari_elephant.core.io.ctc import export_ctc
    from napari_elephant.core.training.progress import drain

    if voxel_size is None or shape_tzyx is None or len(shape_tzyx) != 4:
        raise InvalidInputError("CTC export needs the movie's voxel size and (t, z, y, x) shape")
    n_t, *shape_zyx = (int(s) for s in shape_tzyx)
    steps = export_ctc(graph, path, shape_zyx, voxel_size, overwrite, n_t)
    return str(drain(steps, progress))


def with_fresh_ids(graph: TrackingGraph, first_id: int) -> TrackingGraph:
    """A copy of ``graph`` whose nuclei are numbered from ``first_id`` (order kept).

    Files whose ids mean nothing in the workspace (CTC, another tool's
    TrackMate) are renumbered before a merge, so they add nuclei instead of
    overwriting the workspace's nuclei that happen to share an id.
    """
    from napari_elephant.core.graph import TrackingGraph

    old = sorted(n.id for n in graph.nuclei())
    new = {nid: first_id + k for k, nid in enumerate(old)}
    nuclei = [replace(n, id=new[n.id]) for n in graph.nuclei(old)]
    links = [replace(lk, parent=new[lk.parent], child=new[lk.child]) for lk in graph.links()]
    return TrackingGraph.from_records(nuclei, links)
