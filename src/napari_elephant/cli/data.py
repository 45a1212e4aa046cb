"""Commands that move data: sample, init, import, export, demo."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from napari_elephant.cli.common import (
    ProgressBar,
    device_args,
    engine_device,
    run_with_bar,
    voxel_size_arg,
    voxel_size_for,
    with_changes,
)
from napari_elephant.core.errors import ElephantError, InvalidInputError
from napari_elephant.core.io.formats import GRAPH_FORMATS


# ----------------------------------------------------------------- sample
def _sample_args(p: argparse.ArgumentParser) -> None:
    from napari_elephant.core.synthetic_presets import PRESETS

    p.add_argument("out_dir", type=Path, help="folder to write into (created)")
    p.add_argument("--preset", default="default", choices=sorted(PRESETS))
    p.add_argument("--seed", type=int, default=0)


def cmd_sample(args: argparse.Namespace) -> int:
    from napari_elephant.core.sample import write_sample

    files = write_sample(args.out_dir, args.preset, args.seed)
    g = files.data.graph
    print(
        f"movie {files.movie} ({'×'.join(map(str, files.data.image.shape))} TZYX, "
        f"voxel {files.data.voxel_size.as_tuple()} µm)"
    )
    print(
        f"ground truth {files.truth_geff} and {files.truth_csv} "
        f"({len(g)} nuclei, {g.n_links} links)"
    )
    return 0


# ------------------------------------------------------------------- init
def _init_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "workspace", type=Path, help="workspace folder to create (e.g. embryo.elephant)"
    )
    p.add_argument("--image", required=True, type=Path, help="the movie (Zarr, HDF5, TIFF)")
    p.add_argument("--dataset", help="key of the array inside a Zarr/HDF5 container")
    p.add_argument(
        "--axes",
        help="axis order when the file does not say, e.g. TZYX; a 3-axis file without axis "
        "names needs TYX (a 2D movie over time) or ZYX (one 3D stack)",
    )
    voxel_size_arg(p, "µm per voxel (overrides the file's metadata)")
    p.add_argument(
        "--nucleus-diameter",
        type=float,
        metavar="UM",
        help="typical nucleus diameter (µm); every size follows from it (default: from the "
        "accepted nuclei, else measured on the image)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing workspace")


def cmd_init(args: argparse.Namespace) -> int:
    from napari_elephant.core.io.image import open_image
    from napari_elephant.core.params import DetectionParams
    from napari_elephant.core.workspace import Workspace

    detection = with_changes(DetectionParams(), nucleus_diameter=args.nucleus_diameter)
    source = open_image(args.image, args.dataset, axes=args.axes)  # 2D or 3D: how many numbers
    two_d = source.is_2d
    source.close()
    voxel = voxel_size_for(args.voxel_size, two_d)
    ws = Workspace.create(
        args.workspace, args.image, args.dataset, voxel, args.axes, overwrite=args.overwrite
    )
    if args.nucleus_diameter is not None:
        ws.params.detection = detection
        ws.save_settings()
    source = ws.open_image()
    print(f"created {ws.path}: {_movie_summary(source.n_timepoints, source.shape_zyx, ws)}")
    source.close()
    return 0


def _movie_summary(n_t: int, shape_zyx: tuple[int, int, int], ws) -> str:
    z, y, x = shape_zyx
    vs = ws.voxel_size
    if z == 1:
        return f"{n_t} timepoints of {y}×{x} pixels (a 2D movie), pixel {vs.y:g} × {vs.x:g} µm"
    return f"{n_t} timepoints of {z}×{y}×{x} ZYX, voxel {vs.as_tuple()} µm"


# ---------------------------------------------------------- import/export
FORMAT_HELP = (
    "csv, geff, ctc (Cell Tracking Challenge folder or label movie) or trackmate (XML); "
    "default: from the name"
)


def _import_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("workspace", type=Path)
    p.add_argument("file", type=Path, help="tracking graph to merge in (file or folder)")
    p.add_argument("--format", choices=GRAPH_FORMATS, help=FORMAT_HELP)
    voxel_size_arg(
        p,
        "µm per voxel of CTC label images (or per pixel of a TrackMate file) that do not "
        "say; default: the workspace's",
    )
    p.add_argument(
        "--new-ids",
        action="store_true",
        help="add every nucleus under a fresh id instead of updating nuclei of the same id "
        "(always so for CTC, whose files have no nucleus ids)",
    )


def cmd_import(args: argparse.Namespace) -> int:
    from napari_elephant.core.errors import GraphError
    from napari_elephant.core.graph.merge import flatten_all, merge_into
    from napari_elephant.core.io.csv_io import import_csv, read_csv
    from napari_elephant.core.io.formats import guess_format, read_graph, with_fresh_ids
    from napari_elephant.core.workspace import Workspace

    ws = Workspace.open(args.workspace)
    ws.hold_for_writing()  # another process writing it gets a clear error
    fmt = args.format or guess_format(args.file)
    if fmt == "csv" and not args.new_ids:
        _require_inside(ws, [r.nucleus for r in read_csv(args.file)], args.file)
        report = import_csv(ws.graph, args.file)
    else:
        voxel = voxel_size_for(args.voxel_size, _is_2d(ws, args.voxel_size)) or ws.voxel_size
        other = read_graph(args.file, fmt, voxel)
        _require_inside(ws, other.nuclei(), args.file)
        if args.new_ids or fmt == "ctc":
            other = with_fresh_ids(other, ws.graph.next_id)
        try:
            report = merge_into(
                ws.graph, other.nuclei(), other.links(), f"import {args.file.name}"
            )
        except GraphError as exc:
            raise InvalidInputError(f"{args.file}: {exc} (try --new-ids)") from None
    flat = flatten_all(ws.graph) if _is_2d(ws, args.voxel_size) else 0
    ws.save_graph()
    note = f"; {flat} nuclei brought into the 2D movie's plane" if flat else ""
    print(f"imported {args.file} into {ws.path}: {report}{note}")
    return 0


def _require_inside(ws, nuclei, source) -> None:
    """Refuse a file whose nuclei lie outside the workspace's movie (one line)."""
    from napari_elephant.core.io.inside import require_inside

    image = ws.open_image()
    require_inside(nuclei, image.n_timepoints, image.shape_zyx, ws.voxel_size, source)


def _is_2d(ws, voxel_size: list[float] | None) -> bool:
    """Whether the workspace's movie is 2D; without the movie, what the numbers say."""
    try:
        source = ws.open_image()
    except ElephantError:
        return voxel_size is not None and len(voxel_size) == 2
    source.close()
    return source.is_2d


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("workspace", type=Path)
    p.add_argument(
        "out", type=Path, help="file (csv, trackmate .xml) or folder (geff, ctc) to write"
    )
    p.add_argument("--format", choices=GRAPH_FORMATS, help=FORMAT_HELP)
    p.add_argument("--overwrite", action="store_true")


def cmd_export(args: argparse.Namespace) -> int:
    from napari_elephant.core.errors import WorkspaceError
    from napari_elephant.core.io.formats import guess_format, write_graph
    from napari_elephant.core.workspace import Workspace

    fmt = args.format or guess_format(args.out)
    if args.out.exists() and not args.overwrite:
        raise InvalidInputError(f"{args.out} exists; pass --overwrite to replace it")
    ws = Workspace.open(args.workspace)
    shape, image = None, None
    try:
        source = ws.open_image()
    except WorkspaceError:
        if fmt == "ctc":  # the masks need the movie's grid
            raise
    else:
        shape = (source.n_timepoints, *source.shape_zyx)
        image = ws.image_path() if ws.image_path().suffix.lower() in (".tif", ".tiff") else None
        source.close()
    bar = ProgressBar()
    summary = write_graph(
        ws.graph, args.out, fmt, ws.voxel_size, shape, args.overwrite, image, progress=bar
    )
    bar.close()
    print(f"wrote {summary} to {args.out} ({fmt})")
    return 0


# ------------------------------------------------------------------- demo
def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workspace",
        type=Path,
        default=None,
        help="where the demo workspace lives (default: the user data folder)",
    )
    p.add_argument("--fresh", action="store_true", help="recreate the demo workspace")
    p.add_argument(
        "--preset",
        default=None,
        help="synthetic preset of the sample movie (default: default, or the existing demo's)",
    )
    p.add_argument(
        "--headless",
        action="store_true",
        help="no window: train, predict, link and print the scores against the ground truth "
        "(the default where there is no display)",
    )
    p.add_argument("--steps", type=int, help="training steps of the headless run")
    p.add_argument("--seed", type=int, help="training seed of the headless run (repeatable)")
    device_args(p)


def has_display() -> bool:
    """False on Linux/BSD without an X11 or Wayland display (a server, CI, ssh)."""
    if sys.platform in ("darwin", "win32", "cygwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def cmd_demo(args: argparse.Namespace) -> int:
    from napari_elephant.core.demo import demo_workspace

    ws = demo_workspace(args.workspace, preset=args.preset, fresh=args.fresh)
    print(f"demo workspace {ws.path}")
    if args.headless:
        return _demo_headless(ws, args)
    if not has_display():
        print("note: no display ($DISPLAY / $WAYLAND_DISPLAY unset): running the demo headless")
        return _demo_headless(ws, args)
    try:
        from napari_elephant._qt.launch import launch_viewer
    except ImportError as exc:  # napari or a Qt binding missing
        print(f"note: cannot open napari ({exc}): running the demo headless")
        return _demo_headless(ws, args)
    launch_viewer(ws.path)
    return 0


def _demo_headless(ws, args: argparse.Namespace) -> int:
    """One pass of the loop on the demo workspace, then its scores (one line)."""
    from napari_elephant.core.demo import run_demo, scores_line
    from napari_elephant.core.loop import LoopSettings

    device = engine_device(ws, args.device)
    settings = LoopSettings(steps=args.steps, seed=args.seed)
    slow = " (a few minutes on a CPU)" if device.type == "cpu" else ""
    n = _annotation_count(ws)
    print(f"training on {n} annotations, predicting, linking on {device}{slow}")
    result = run_with_bar(run_demo(ws, device, settings))
    out, ev = result.outcome, result.evaluation
    took = ", ".join(f"{k} {v:.1f} s" for k, v in out.seconds.items())
    print(f"{out.trained_steps} training steps; {out.predicted}; {out.link} ({took})")
    print(f"saved in {ws.path}; open it in napari with: napari-elephant demo")
    print(scores_line(ev))
    return 0


def _annotation_count(ws) -> int:
    from napari_elephant.core.graph import Status

    return sum(1 for n in ws.graph.nuclei() if n.status != Status.PREDICTED)


COMMANDS: dict[str, tuple[Callable, Callable, str]] = {
    "demo": (
        _demo_args,
        cmd_demo,
        "open napari with the sample movie and the ELEPHANT docks (headless without a "
        "display: run the loop and print its scores)",
    ),
    "sample": (_sample_args, cmd_sample, "write a synthetic movie and its ground truth"),
    "init": (_init_args, cmd_init, "create a workspace for a movie"),
    "import": (
        _import_args,
        cmd_import,
        "merge a tracking graph (CSV, GEFF, CTC, TrackMate XML) into a workspace",
    ),
    "export": (
        _export_args,
        cmd_export,
        "write a workspace's tracking graph (CSV, GEFF, CTC, TrackMate XML)",
    ),
}
