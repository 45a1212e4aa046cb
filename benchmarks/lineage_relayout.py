"""Re-laying the lineage after an edit at 300k nuclei: reading the graph again
against the live arrays (issue 15: an edit with the lineage view open).

Builds the random dividing lineage of ``graph_scale.py`` (500 timepoints, ~315k
nuclei and links), then, for 20 edits spread over the lineage, times the layout
from a fresh read of the graph (what the view did) and from the arrays kept up to
date by the graph's events (what it does), in the same run.

    python benchmarks/lineage_relayout.py [--timepoints 500] [--start 420]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

from graph_scale import build_lineage
from napari_elephant.core.graph import TrackingGraph
from napari_elephant.core.lineage_arrays import LiveArrays
from napari_elephant.core.lineage_layout import graph_arrays, layout_arrays


def ms(values: list[float]) -> float:
    return 1000 * statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timepoints", type=int, default=500)
    parser.add_argument("--start", type=int, default=420)
    args = parser.parse_args()
    graph = TrackingGraph.from_records(*build_lineage(args.timepoints, args.start))
    live = LiveArrays(graph)
    ids = sorted(graph.nx_graph.nodes)[:: max(1, len(graph) // 20)][:20]
    fresh, kept, events = [], [], []
    for nid in ids:
        t0 = time.perf_counter()
        graph.set_status([nid], "accepted")  # the live arrays follow inside the edit
        events.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        layout_arrays(graph_arrays(graph))
        fresh.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        layout_arrays(live.arrays)
        kept.append(time.perf_counter() - t0)
    assert live.reads == 1
    print(f"{platform.processor() or platform.machine()}; {len(graph):,} nuclei, "
          f"{graph.n_links:,} links; medians of {len(ids)} edits")  # fmt: skip
    print(f"edit, live arrays following it : {ms(events):7.1f} ms")
    print(f"re-layout from a fresh read    : {ms(fresh):7.1f} ms")
    print(f"re-layout from the live arrays : {ms(kept):7.1f} ms")
    print(f"ratio                          : {ms(fresh) / ms(kept):7.1f} x")


if __name__ == "__main__":
    main()
