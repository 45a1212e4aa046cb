"""Graph at the scale of the published Parhyale lineage (DESIGN §8, issue 2).

Builds a lineage of ~300k nuclei and ~300k links over 500 timepoints, saves it
to a workspace, then — in a fresh process, as a user reopening a project
would — reopens it and times the per-timepoint queries the viewer makes.

    python benchmarks/graph_scale.py [--timepoints 500] [--start 420] [--keep DIR]

Targets on the 2-core CI machine: reopen < 10 s, one timepoint's nuclei < 5 ms,
resident memory after reopening < 1.5 GB.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from napari_elephant.core.graph import Link, Nucleus, Status, TrackingGraph
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import ImageRef, Workspace


def build_lineage(n_t: int, n_start: int, seed: int = 0) -> tuple[list[Nucleus], list[Link]]:
    """Random-walk nuclei that divide so that their number doubles over the movie."""
    rng = np.random.default_rng(seed)
    p_div = np.log(2) / n_t
    nuclei: list[Nucleus] = []
    links: list[Link] = []
    pos = rng.uniform(0, 300, size=(n_start, 3))
    ids = np.arange(1, n_start + 1)
    next_id = n_start + 1
    statuses = (Status.ACCEPTED, Status.PREDICTED, Status.REJECTED)
    for t in range(n_t):
        for nid, p in zip(ids.tolist(), pos.tolist(), strict=True):
            nuclei.append(
                Nucleus(nid, t, tuple(p), (9.0, 0.0, 0.0, 9.0, 0.0, 9.0), statuses[nid % 3])
            )
        if t == n_t - 1:
            break
        divide = rng.random(len(ids)) < p_div
        parents = np.concatenate([ids, ids[divide]])
        pos = np.concatenate([pos, pos[divide]]) + rng.normal(0, 1.0, (len(parents), 3))
        new_ids = np.arange(next_id, next_id + len(parents))
        next_id += len(parents)
        links += [Link(int(a), int(b)) for a, b in zip(parents, new_ids, strict=True)]
        ids = new_ids
    return nuclei, links


def rss_mb() -> float:
    """Peak resident memory of this process (MB).

    Read from ``VmHWM``: a child's ``ru_maxrss`` starts from its parent's size
    at the fork, which would count the builder's memory against the reopen.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def reopen_and_query(path: Path) -> dict:
    """Run in a fresh process: what a user waits for when reopening."""
    ws, t_open = timed(Workspace.open, path)
    g = ws.graph
    rng = np.random.default_rng(1)
    tps = rng.choice(g.timepoints(), size=50, replace=False).tolist()
    cold, warm, records, near = [], [], [], []
    for t in tps:
        cold.append(timed(g.ids_at, t)[1])
        warm.append(timed(g.ids_at, t)[1])
        records.append(timed(g.nuclei_at, t)[1])
        point = g.centers_at(t)[1][0] + 0.5
        g.nearest(t, point)  # builds the KD-tree once
        near.append(timed(g.nearest, t, point)[1])
    ms = lambda xs: round(statistics.median(xs) * 1000, 3)  # noqa: E731
    return {
        "nuclei": len(g),
        "links": g.n_links,
        "timepoints": len(g.timepoints()),
        "reopen_s": round(t_open, 2),
        "ids_at_cold_ms": ms(cold),
        "ids_at_warm_ms": ms(warm),
        "nuclei_at_records_ms": ms(records),
        "nearest_ms": ms(near),
        "rss_after_reopen_mb": round(rss_mb()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timepoints", type=int, default=500)
    ap.add_argument("--start", type=int, default=420, help="nuclei at t=0")
    ap.add_argument("--keep", type=Path, help="keep the workspace here")
    ap.add_argument("--reopen", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reopen:
        print(json.dumps(reopen_and_query(args.reopen)))
        return
    (nuclei, links), t_gen = timed(build_lineage, args.timepoints, args.start)
    graph, t_build = timed(TrackingGraph.from_records, nuclei, links)
    del nuclei, links
    root = args.keep or Path(tempfile.mkdtemp()) / "scale.elephant"
    root.mkdir(parents=True, exist_ok=True)
    ws = Workspace(root, ImageRef("none.zarr"), VoxelSize(2.0, 0.5, 0.5), graph=graph)
    _, t_save_settings = timed(ws.save_settings)
    _, t_save = timed(ws.save_graph)
    out = subprocess.run(
        [sys.executable, __file__, "--reopen", str(root)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"{__import__('os').cpu_count()} cores, python {platform.python_version()}"
    )
    print(
        f"generate records {t_gen:.2f} s, build graph {t_build:.2f} s "
        f"(peak RSS while building {rss_mb():.0f} MB)"
    )
    print(f"save graph {t_save:.2f} s (settings {t_save_settings * 1000:.1f} ms)")
    for key, value in figures.items():
        print(f"{key:>22}: {value}")
    checks = {
        "reopen < 10 s": figures["reopen_s"] < 10,
        "one timepoint's nuclei < 5 ms": figures["ids_at_cold_ms"] < 5,
        "resident memory < 1.5 GB": figures["rss_after_reopen_mb"] < 1536,
    }
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")


if __name__ == "__main__":
    main()
