"""The analyze command: a lineage's tables and plots, written headless."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path


def _analyze_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", type=Path, help="a workspace, GEFF, CSV file or CTC folder")
    p.add_argument("--out", type=Path, required=True, help="folder for the CSV and PNG files")


def cmd_analyze(args: argparse.Namespace) -> int:
    from napari_elephant.cli.evaluate import load_graph
    from napari_elephant.core.analysis.plots import write_analysis
    from napari_elephant.core.analysis.tables import is_2d, lineage_of
    from napari_elephant.core.workspace import Workspace, is_workspace

    ws = Workspace.open(args.source) if is_workspace(args.source) else None
    graph = ws.graph if ws is not None else load_graph(args.source)  # read once
    lin = lineage_of(graph, two_d=is_2d(graph, ws))
    written = write_analysis(lin, args.out)
    print(
        f"{len(lin)} nuclei, {int((lin.n_children == 2).sum())} divisions, "
        f"{int((lin.parent < 0).sum())} lineages: {len(written)} files in {args.out}"
    )
    return 0


COMMANDS: dict[str, tuple[Callable, Callable, str]] = {
    "analyze": (
        _analyze_args,
        cmd_analyze,
        "tables (nuclei, tracks, divisions) and plots (counts, cell cycle, track length, "
        "speed) of a lineage as CSV and PNG files",
    ),
}
