"""The analysis of a lineage read off the GUI thread, while the user may edit.

A whole embryo (300k nuclei) takes about three seconds to read into the
lineage arrays, tables and plots; the Analysis dock does it in a worker
thread so that opening a workspace or editing never waits for it.  The
graph is not locked: the read compares the graph's ``revision`` before and
after, and a copy torn by an edit (the revision moved, or a mapping changed
size under the reader) is read again.
"""

from __future__ import annotations

from dataclasses import dataclass

from napari_elephant.core.analysis.plots import Plot, lineage_plots, tables
from napari_elephant.core.analysis.tables import Lineage, Table, lineage_of
from napari_elephant.core.graph.graph import TrackingGraph

TRIES = 3


@dataclass(frozen=True)
class Analysis:
    """A lineage with every plot and table the dock shows."""

    lineage: Lineage
    plots: list[Plot]
    tables: dict[str, Table]


def read_analysis(graph: TrackingGraph, two_d: bool, tries: int = TRIES) -> Analysis | None:
    """The analysis of ``graph`` as it stands; None when edits tore every copy read."""
    for _ in range(tries):
        before = graph.revision
        try:
            lineage = lineage_of(graph, two_d=two_d)
        except RuntimeError:  # a dict or set changed size while it was iterated
            continue
        if graph.revision == before:
            return Analysis(lineage, lineage_plots(lineage), {t.name: t for t in tables(lineage)})
    return None
