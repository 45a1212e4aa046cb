"""The ``napari-elephant`` command line: the same core functions the docks call.

Every command exits 0 on success; on bad input it prints one line
(``napari-elephant: error: ...``) to stderr and exits 2, with no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from napari_elephant import __version__
from napari_elephant.core.errors import ElephantError, InvalidInputError

EXIT_BAD_INPUT = 2
GRAPH_FORMATS = ("csv", "geff")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``napari-elephant`` and ``python -m napari_elephant``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ElephantError as exc:
        return fail(str(exc))
    except (OSError, ValueError) as exc:  # a library's complaint about the user's file
        return fail(f"{type(exc).__name__}: {exc}")
    except KeyboardInterrupt:
        return fail("interrupted")


def fail(message: str) -> int:
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    print(f"napari-elephant: error: {first}", file=sys.stderr)
    return EXIT_BAD_INPUT


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="napari-elephant",
        description="Track cell nuclei in 3D+time movies by incremental deep learning.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (add_args, func, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        add_args(p)
        p.set_defaults(func=func)
    return parser


# ----------------------------------------------------------------- sample
def _sample_args(p: argparse.ArgumentParser) -> None:
    from napari_elephant.core.synthetic import PRESETS

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
    p.add_argument("--axes", help="axis order when the file does not say, e.g. TZYX, TYX")
    p.add_argument(
        "--voxel-size",
        nargs=3,
        type=float,
        metavar=("Z", "Y", "X"),
        help="voxel size in µm (overrides the file's metadata)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing workspace")


def cmd_init(args: argparse.Namespace) -> int:
    from napari_elephant.core.units import VoxelSize
    from napari_elephant.core.workspace import Workspace

    voxel = VoxelSize.from_sequence(args.voxel_size) if args.voxel_size else None
    ws = Workspace.create(
        args.workspace, args.image, args.dataset, voxel, args.axes, overwrite=args.overwrite
    )
    source = ws.open_image()
    print(
        f"created {ws.path}: {source.n_timepoints} timepoints of "
        f"{'×'.join(map(str, source.shape_zyx))} ZYX, voxel {ws.voxel_size.as_tuple()} µm"
    )
    return 0


# ---------------------------------------------------------- import/export
def _format_from(path: Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    name = path.name.lower().rstrip("/")
    for candidate in GRAPH_FORMATS:
        if name.endswith("." + candidate):
            return candidate
    raise InvalidInputError(f"cannot tell the format of {path} from its name; pass --format")


def _import_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("workspace", type=Path)
    p.add_argument("file", type=Path, help="tracking graph to merge in")
    p.add_argument("--format", choices=GRAPH_FORMATS, help="default: from the extension")


def cmd_import(args: argparse.Namespace) -> int:
    from napari_elephant.core.graph.merge import merge_into
    from napari_elephant.core.io.csv_io import import_csv
    from napari_elephant.core.io.geff_io import read_geff
    from napari_elephant.core.workspace import Workspace

    ws = Workspace.open(args.workspace)
    fmt = _format_from(args.file, args.format)
    if fmt == "csv":
        report = import_csv(ws.graph, args.file)
    else:
        other = read_geff(args.file)
        report = merge_into(ws.graph, other.nuclei(), other.links(), f"import {args.file.name}")
    ws.save_graph()
    print(f"imported {args.file} into {ws.path}: {report}")
    return 0


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("workspace", type=Path)
    p.add_argument("out", type=Path, help="file (csv) or folder (geff) to write")
    p.add_argument("--format", choices=GRAPH_FORMATS, help="default: from the extension")
    p.add_argument("--overwrite", action="store_true")


def cmd_export(args: argparse.Namespace) -> int:
    from napari_elephant.core.io.csv_io import write_csv
    from napari_elephant.core.io.geff_io import write_geff
    from napari_elephant.core.workspace import Workspace

    fmt = _format_from(args.out, args.format)
    if args.out.exists() and not args.overwrite:
        raise InvalidInputError(f"{args.out} exists; pass --overwrite to replace it")
    ws = Workspace.open(args.workspace)
    if fmt == "csv":
        write_csv(ws.graph, args.out)
    else:
        write_geff(ws.graph, args.out, overwrite=True)
    print(f"wrote {len(ws.graph)} nuclei and {ws.graph.n_links} links to {args.out}")
    return 0


# ------------------------------------------------------ detection rounds
class ProgressBar:
    """A one-line progress bar on stderr (a line per 10 % when not a terminal)."""

    def __init__(self, width: int = 30) -> None:
        self.width = width
        self.tty = sys.stderr.isatty()
        self._last_decile = -1

    def __call__(self, record) -> None:
        frac = record.fraction or 0.0
        filled = round(frac * self.width)
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {record.summary()}"
        if self.tty:
            print("\r" + line[:150].ljust(150), end="", file=sys.stderr, flush=True)
        elif int(frac * 10) != self._last_decile:
            self._last_decile = int(frac * 10)
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tty:
            print(file=sys.stderr)


def _device_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda", "mps"),
        help="where the network runs (default: the workspace's setting, auto)",
    )


def _timepoint_args(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--timepoints",
        metavar="A:B",
        help=f"timepoints to {what}, A included, B excluded (default: all)",
    )


def _engine_device(ws, name: str | None):
    """The torch device to use, with every CPU core for a headless run."""
    from napari_elephant.core.training.device import (
        available_cores,
        configure_cpu_threads,
        select_device,
    )

    configure_cpu_threads(available_cores())  # headless: no viewer needs a spare core
    return select_device(name or ws.params.device.device)


def _train_detection_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("workspace", type=Path)
    p.add_argument(
        "--mode",
        choices=("interactive", "batch"),
        help="interactive: steps on crops of the annotations; batch: epochs",
    )
    p.add_argument("--steps", type=int, help="training steps (interactive mode)")
    p.add_argument("--epochs", type=int, help="epochs over the annotated timepoints (batch)")
    _timepoint_args(p, "train on")
    p.add_argument(
        "--from-scratch",
        action="store_true",
        help="start from a fresh network instead of the workspace's model",
    )
    _device_args(p)


def cmd_train_detection(args: argparse.Namespace) -> int:
    from napari_elephant.core.detection.engine import detection_dir, parse_timepoints, train_round
    from napari_elephant.core.training.progress import drain
    from napari_elephant.core.workspace import Workspace

    ws = Workspace.open(args.workspace)
    changes = {
        k: v
        for k, v in (("mode", args.mode), ("steps", args.steps), ("epochs", args.epochs))
        if v is not None
    }
    params = ws.params.training.model_validate({**ws.params.training.model_dump(), **changes})
    device = _engine_device(ws, args.device)
    tps = None
    if args.timepoints:
        tps = parse_timepoints(args.timepoints, ws.open_image().n_timepoints)
    bar = ProgressBar()
    outcome = drain(train_round(ws, device, params, tps, args.from_scratch), bar)
    bar.close()
    print(
        f"trained {outcome.steps} steps in {outcome.elapsed:.1f} s on {device} "
        f"(last loss {outcome.last_loss:.4f}); model saved in {detection_dir(ws)}"
    )
    return 0


def _predict_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("workspace", type=Path)
    _timepoint_args(p, "predict")
    _device_args(p)
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="fan timepoints out over a dask.distributed cluster ('local' starts a LocalCluster)",
    )


def cmd_predict(args: argparse.Namespace) -> int:
    from napari_elephant.core.detection.engine import parse_timepoints, predict_round
    from napari_elephant.core.detection.merge import merge_predictions
    from napari_elephant.core.workspace import Workspace

    ws = Workspace.open(args.workspace)
    tps = parse_timepoints(args.timepoints, ws.open_image().n_timepoints)
    device = _engine_device(ws, args.device)
    if args.scheduler:
        from napari_elephant.core.detection.distributed import predict_distributed

        records = predict_distributed(ws, tps, args.scheduler, device.type)
    else:
        records = predict_round(ws, device, tps)
    bar, added = ProgressBar(), 0
    for record in records:
        result = merge_predictions(
            ws.graph, record.extra["t"], record.extra["ellipsoids"], ws.params.detection.d_sup
        )
        added += result.added
        bar(record)
    bar.close()
    ws.save_graph()
    print(f"predicted {len(tps)} timepoints: {added} nuclei added; saved in {ws.path}")
    return 0


# ------------------------------------------------------------------- demo
def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workspace",
        type=Path,
        default=None,
        help="where the demo workspace lives (default: the user cache folder)",
    )
    p.add_argument("--fresh", action="store_true", help="recreate the demo workspace")
    p.add_argument("--preset", default="default", help="synthetic preset of the sample movie")


def cmd_demo(args: argparse.Namespace) -> int:
    from napari_elephant.core.demo import demo_workspace

    ws = demo_workspace(args.workspace, preset=args.preset, fresh=args.fresh)
    print(f"demo workspace {ws.path}")
    from napari_elephant._qt.launch import launch_viewer

    launch_viewer(ws.path)
    return 0


COMMANDS: dict[str, tuple[Callable, Callable, str]] = {
    "demo": (_demo_args, cmd_demo, "open napari with the sample movie and the ELEPHANT docks"),
    "sample": (_sample_args, cmd_sample, "write a synthetic movie and its ground truth"),
    "init": (_init_args, cmd_init, "create a workspace for a movie"),
    "import": (_import_args, cmd_import, "merge a tracking graph (CSV, GEFF) into a workspace"),
    "export": (_export_args, cmd_export, "write a workspace's tracking graph (CSV, GEFF)"),
    "train-detection": (
        _train_detection_args,
        cmd_train_detection,
        "train the detection network on the workspace's annotations",
    ),
    "predict": (_predict_args, cmd_predict, "detect nuclei with the trained network"),
}
