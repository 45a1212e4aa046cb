"""The analyze command: a lineage's tables and plots, written headless."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path


def _analyze_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", type=Path, help="a workspace, GEFF, CSV file or CTC folder")
    p.add_argument("--out", type=Path, required=True, help="folder for the CSV and PNG files")


def _two_d(path: Path, graph) -> bool:
    """A workspace says whether its movie is 2D; a file's nuclei tell."""
    from napari_elephant.core.analysis.tables import looks_flat
    from napari_elephant.core.errors import ElephantError
    from napari_elephant.core.workspace import Workspace, is_workspace

    if is_workspace(path):
        try:
            return Workspace.open(path).open_image().is_2d
        except (ElephantError, OSError):  # the movie moved: its nuclei still tell
            pass
    return looks_flat(graph)


def cmd_analyze(args: argparse.Namespace) -> int:
    from napari_elephant.cli.evaluate import load_graph
    from napari_elephant.core.analysis.plots import write_analysis
    from napari_elephant.core.analysis.tables import lineage_of

    graph = load_graph(args.source)
    lin = lineage_of(graph, two_d=_two_d(args.source, graph))
    written = write_analysis(lin, args.out)
    tracks = len({int(t) for t in lin.ids[lin.parent < 0]})
    print(
        f"{len(lin)} nuclei, {int((lin.n_children == 2).sum())} divisions, "
        f"{tracks} lineages: {len(written)} files in {args.out}"
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
