"""Linking speed at the scale of the published Parhyale lineage (issue 4).

Generates ~300k nuclei over 500 timepoints (600 random walkers per
timepoint in a 40 × 150 × 150 µm box, about 8 µm apart, stepping ~1 µm per
axis; a few divide while as many others end, so the count stays constant),
then times a whole linking run on the graph — frame pairs, linker, one
undoable apply — with the defaults (``LinkingParams()``: global assignment,
3 coherence rounds, ``auto`` distances), and, as in issue 4, nearest
neighbour and the global linker alone at a 5 µm search distance; it prints
link F1 against the walks it drew.

    python benchmarks/linking_speed.py [--timepoints 500] [--per-timepoint 600]

Targets: the defaults < 30 s (issue 13), each issue-4 row < 60 s, on the
2-core CPU machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from napari_elephant.core.graph import Nucleus, Status, TrackingGraph
from napari_elephant.core.linking import link_round
from napari_elephant.core.params import LinkingParams
from napari_elephant.core.training.progress import drain

TARGETS_S = {"defaults": 30.0, "nn": 60.0, "global": 60.0}
BOX = np.array([40.0, 150.0, 150.0])
COV = (4.0, 0.0, 0.0, 4.0, 0.0, 4.0)


def random_walks(
    n_t: int, n: int, seed: int = 0, step: float = 1.0, p_div: float = 0.005
) -> tuple[list[Nucleus], set[tuple[int, int]]]:
    """Nuclei (no links) and the true (parent, child) links of the walks."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, 1, (n, 3)) * BOX
    ids = np.arange(1, n + 1)
    nuclei, truth, next_id = [], set(), n + 1
    for t in range(n_t):
        nuclei += [
            Nucleus(i, t, tuple(p), COV, Status.PREDICTED)
            for i, p in zip(ids.tolist(), pos.tolist(), strict=True)
        ]
        divide = rng.random(n) < p_div
        end = rng.choice(np.flatnonzero(~divide), int(divide.sum()), replace=False)
        alive = np.setdiff1d(np.arange(n), end)
        parents = np.concatenate([alive, np.flatnonzero(divide)])
        offset = rng.normal(0, step, (len(parents), 3))
        offset[len(alive) :] *= 3  # daughters move apart
        pos = np.clip(pos[parents] + offset, 0, BOX)
        new_ids = np.arange(next_id, next_id + len(parents))
        next_id += len(parents)
        truth |= set(zip(ids[parents].tolist(), new_ids.tolist(), strict=True))
        ids = new_ids
    last = {int(i) for i in ids}
    return nuclei, {k for k in truth if k[1] not in last}


def link_f1(graph: TrackingGraph, truth: set[tuple[int, int]]) -> float:
    found = {lk.key for lk in graph.links()}
    return 2 * len(found & truth) / (len(found) + len(truth))


def run(name: str, nuclei: list[Nucleus], truth: set[tuple[int, int]]) -> float:
    """One linking run: ``name`` is "defaults" or an issue-4 method at 5 µm."""
    graph = TrackingGraph.from_records(nuclei)
    if name == "defaults":
        params = LinkingParams()
    else:
        params = LinkingParams(d_search=5.0, method=name, coherence_rounds=0)
    start = time.perf_counter()
    result = drain(link_round(graph, params))
    seconds = time.perf_counter() - start
    target = TARGETS_S[name]
    verdict = "PASS" if seconds < target else "FAIL"
    print(f"{name:>8}: {seconds:6.1f} s  {verdict} (< {target:.0f} s)  {result}")
    print(f"        link F1 vs the walks {link_f1(graph, truth):.4f}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timepoints", type=int, default=500)
    parser.add_argument("--per-timepoint", type=int, default=600)
    args = parser.parse_args()
    cpu = f"{platform.machine()} {platform.processor() or ''}".strip()
    print(f"machine: {cpu}, {os.cpu_count()} cores, python {platform.python_version()}")
    start = time.perf_counter()
    nuclei, truth = random_walks(args.timepoints, args.per_timepoint)
    print(
        f"{len(nuclei)} nuclei, {len(truth)} true links over {args.timepoints} timepoints "
        f"(generated in {time.perf_counter() - start:.1f} s)"
    )
    for name in TARGETS_S:
        run(name, nuclei, truth)


if __name__ == "__main__":
    main()
