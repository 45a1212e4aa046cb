"""The evaluate command: score a tracking result against a ground truth."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import TrackingGraph
from napari_elephant.core.metrics import DEFAULT_DMAX, Evaluation, Scores


def load_graph(path: Path, voxel_size: Sequence[float] | None = None) -> TrackingGraph:
    """A workspace's graph, a GEFF, a CSV file or a CTC folder, told apart by what is on disk.

    ``voxel_size`` (µm) is only used for CTC label images that do not carry one.
    """
    from napari_elephant.core.io.geff_io import is_geff
    from napari_elephant.core.workspace import is_workspace

    if not path.exists():
        raise InvalidInputError(f"{path}: no such file or folder")
    if is_workspace(path):
        from napari_elephant.core.workspace import Workspace

        return Workspace.open(path).graph
    if is_geff(path):
        from napari_elephant.core.io.geff_io import read_geff

        return read_geff(path)
    if path.is_file() and path.suffix.lower() == ".csv":
        from napari_elephant.core.io.csv_io import load_csv

        return load_csv(path)
    if path.is_dir() or path.suffix.lower() in (".tif", ".tiff"):
        from napari_elephant.core.io.ctc import read_ctc

        return read_ctc(path, voxel_size)
    raise InvalidInputError(f"{path}: not a workspace, GEFF, CSV file or CTC folder")


def timepoint_range(spec: str | None, graphs: Sequence[TrackingGraph]) -> list[int] | None:
    """``A:B`` (B excluded, either end optional) as a list; None for every timepoint."""
    if spec is None:
        return None
    end = max((g.timepoints()[-1] + 1 for g in graphs if len(g)), default=0)
    try:
        a, b = spec.split(":", 1) if ":" in spec else (spec, str(int(spec) + 1))
        lo, hi = int(a) if a.strip() else 0, int(b) if b.strip() else end
    except ValueError:
        raise InvalidInputError(f"timepoints {spec!r}: expected A:B, e.g. 0:10") from None
    if not 0 <= lo < hi:
        raise InvalidInputError(f"timepoints {spec!r}: need 0 <= A < B")
    return list(range(lo, hi))


# ------------------------------------------------------------- output
def _row(name: str, s: Scores) -> str:
    return (
        f"{name:<10} {s.tp:>7} {s.fp:>7} {s.fn:>7} "
        f"{s.precision:>10.4f} {s.recall:>8.4f} {s.f1:>8.4f}"
    )


def format_table(ev: Evaluation) -> str:
    """The scores as an aligned plain-text table."""
    c = ev.ctc
    lines = [
        f"{'':<10} {'TP':>7} {'FP':>7} {'FN':>7} {'precision':>10} {'recall':>8} {'F1':>8}",
        _row("detection", ev.detection),
        _row("links", ev.links),
        _row("divisions", ev.divisions),
        "",
        f"DET {c.det:.4f}   TRA {c.tra:.4f}",
        f"AOGM {c.aogm:g} of {c.aogm_0:g} (FN {c.fn}, FP {c.fp}, NS {c.ns}, "
        f"ED {c.ed}, EA {c.ea}, EC {c.ec}); AOGM_D {c.aogm_d:g} of {c.aogm_d0:g}",
    ]
    return "\n".join(lines)


def _describe(path: Path, g: TrackingGraph) -> str:
    return f"{path} ({len(g)} nuclei, {g.n_links} links)"


# ------------------------------------------------------------ command
def _evaluate_args(p: argparse.ArgumentParser) -> None:
    what = "a workspace, a GEFF, a CSV file or a CTC folder"
    p.add_argument("result", type=Path, help=f"the tracking to score: {what}")
    p.add_argument("ground_truth", type=Path, help=f"the reference: {what}")
    p.add_argument(
        "--dmax",
        type=float,
        default=DEFAULT_DMAX,
        metavar="UM",
        help=f"largest centre distance (µm) of a matched pair (default {DEFAULT_DMAX:g})",
    )
    p.add_argument(
        "--timepoints",
        metavar="A:B",
        help="score only timepoints A to B-1 (default: every timepoint of either graph)",
    )
    p.add_argument(
        "--voxel-size",
        nargs=3,
        type=float,
        metavar=("Z", "Y", "X"),
        help="voxel size in µm of CTC label images that carry none",
    )
    p.add_argument("--json", action="store_true", help="print the scores as JSON")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from napari_elephant.core.metrics import evaluate

    result = load_graph(args.result, args.voxel_size)
    truth = load_graph(args.ground_truth, args.voxel_size)
    tps = timepoint_range(args.timepoints, (result, truth))
    ev = evaluate(result, truth, args.dmax, tps)
    if args.json:
        out = {"result": str(args.result), "ground_truth": str(args.ground_truth)}
        print(json.dumps({**out, **ev.as_dict()}, indent=2))
        return 0
    print(f"result        {_describe(args.result, result)}")
    print(f"ground truth  {_describe(args.ground_truth, truth)}")
    print(f"matching      one-to-one per timepoint, centres within {args.dmax:g} µm\n")
    print(format_table(ev))
    return 0


COMMANDS: dict[str, tuple[Callable, Callable, str]] = {
    "evaluate": (
        _evaluate_args,
        cmd_evaluate,
        "score a tracking result against a ground truth (detection, links, divisions, DET, TRA)",
    ),
}
