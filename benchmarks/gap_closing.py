"""Gap interpolation (``t_max``) on movies with missed nuclei (issue 14, item 5).

From each true lineage, runs of 1–3 consecutive nuclei are taken out of
tracks that neither divide nor end nearby (a nucleus missed for 1–3
timepoints), ``--fraction`` of the tracks; the rest are linked with the
defaults, once with each ``t_max``.  A gap is **closed** when the run's
interpolated chain joins the nucleus before the gap to the one after it;
a **false bridge** is an interpolated chain between any other two nuclei.
Link F1 and TRA (``core.metrics.evaluate``) count the interpolated nuclei
against the removed ones (matched within a nucleus radius).  No motion
model: the walk back follows the nuclei's own centres (a flow model would
guide it; the CPU-trained one learns no motion here, docs/flow.md).

    cd benchmarks && ../.venv/bin/python gap_closing.py --presets crowded_dim fast_motion
"""

from __future__ import annotations

import argparse

import numpy as np

from napari_elephant.core.graph import TrackingGraph
from napari_elephant.core.linking import link_round
from napari_elephant.core.linking.frames import INTERPOLATED
from napari_elephant.core.metrics import evaluate
from napari_elephant.core.params import LinkingParams
from napari_elephant.core.synthetic import generate
from napari_elephant.core.training.progress import drain


def plain_run(truth: TrackingGraph, nid: int, length: int) -> list[int] | None:
    """``length`` nuclei from ``nid`` on, with a plain track one step around them."""
    run, n = [], nid
    for _ in range(length + 2):
        kids = truth.children(n)
        if len(kids) != 1 or truth.parent(n) is None:
            return None
        run.append(n)
        n = kids[0]
    return run[1:-1]


def make_gaps(
    truth: TrackingGraph, fraction: float, seed: int
) -> list[tuple[int, list[int], int]]:
    """(nucleus before, removed run, nucleus after) for about ``fraction`` of the tracks."""
    rng = np.random.default_rng(seed)
    last = max(truth.timepoints())
    starts = [n.id for n in truth.nuclei() if 1 <= n.t <= last - 5]
    taken: set[int] = set()
    gaps = []
    for nid in rng.permutation(starts)[: int(fraction * len(starts))]:
        run = plain_run(truth, int(nid), int(rng.integers(1, 4)))
        if run is None or taken & {truth.parent(run[0]), *run, truth.children(run[-1])[0]}:
            continue
        before, after = truth.parent(run[0]), truth.children(run[-1])[0]
        taken |= {before, *run, after}
        gaps.append((before, run, after))
    return gaps


def bridges(graph: TrackingGraph) -> list[tuple[int, int, int]]:
    """(source, target, interpolated nuclei) of every interpolated chain."""
    out = []
    for n in graph.nuclei():
        if INTERPOLATED in n.tags or INTERPOLATED not in _tags_of_children(graph, n.id):
            continue
        k, chain = graph.children(n.id), 0
        while k and INTERPOLATED in graph.nucleus(k[0]).tags:
            chain += 1
            k = graph.children(k[0])
        if k:
            out.append((n.id, k[0], chain))
    return out


def _tags_of_children(graph: TrackingGraph, nid: int) -> set[str]:
    return {t for c in graph.children(nid) for t in graph.nucleus(c).tags}


def measure(name: str, truth: TrackingGraph, args) -> None:
    gaps = make_gaps(truth, args.fraction, args.seed)
    removed = {n for _, run, _ in gaps for n in run}
    kept = [n for n in truth.nuclei() if n.id not in removed]
    want = {(b, a): len(run) for b, run, a in gaps}
    radius = float(np.median([n.radius for n in kept]))
    print(f"\n{name}: {len(gaps)} gaps ({len(removed)} nuclei removed of {len(truth)})")
    print("| t_max | gaps closed | false bridges | link F1 | TRA |")
    print("|---|---|---|---|---|")
    for t_max in args.t_max:
        graph = TrackingGraph.from_records(kept)
        drain(link_round(graph, LinkingParams(t_max=t_max)))
        found = bridges(graph)
        closed = sum(1 for s, t, k in found if want.get((s, t)) == k)
        ev = evaluate(graph, truth, radius)
        print(
            f"| {t_max} | {closed} / {len(gaps)} | {len(found) - closed} "
            f"| {ev.links.f1:.4f} | {ev.tra:.4f} |",
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="*", default=["crowded_dim", "fast_motion"])
    ap.add_argument("--movie-seed", type=int, default=1001)
    ap.add_argument("--seed", type=int, default=0, help="which nuclei go missing")
    ap.add_argument("--fraction", type=float, default=0.03)
    ap.add_argument("--t-max", nargs="*", type=int, default=[0, 2, 5], dest="t_max")
    args = ap.parse_args()
    for preset in args.presets:
        measure(f"{preset} {args.movie_seed}", generate(preset, seed=args.movie_seed).graph, args)


if __name__ == "__main__":
    main()
