"""The default pipeline on microscopy-like movies nobody trained on, against a tuned LoG.

The project is checked on movies that are not in the repository: other
nucleus sizes, voxel sizes, anisotropies, 2D and thin stacks, cameras.  This
benchmark draws such movies from :mod:`napari_elephant.core.synthetic_micro`
with held-out seeds (9001 on; the pretrained model saw 3001–3240), and for
each one does what a user does with the defaults — a workspace, a few
clicks at t = 0, one first round from the pretrained model, prediction of
every timepoint — then scores detection against the exact truth, beside
TrackMate's LoG with its threshold, median filter and scaling tuned on that
truth (benchmarks/real_movies_peers.py), in the same run.

    cd benchmarks && ../.venv/bin/python unseen_movies.py [--movies 12] [--clicks 8]
        [--timepoints 3] [--threads 0] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from detection_speed import machine_lines
from napari_elephant.core.ellipsoid import median_lateral_radius
from napari_elephant.core.io.image import write_ome_zarr
from napari_elephant.core.metrics import detection_scores
from napari_elephant.core.synthetic import SyntheticMovie
from napari_elephant.core.synthetic_micro import MicroscopyStyle, generate_micro, random_style
from napari_elephant.core.training.device import (
    available_cores,
    configure_cpu_threads,
    select_device,
)
from napari_elephant.core.workspace import Workspace
from real_movies import choose_clicks, import_clicks, predict, train
from real_movies_peers import tuned_log

SEED = 9001
DMAX_RADII = 0.5  # nuclei match within half a (median lateral) radius of the truth


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--movies", type=int, default=12)
    ap.add_argument("--clicks", type=int, default=8, help="accepted nuclei of t=0")
    ap.add_argument("--timepoints", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: every core)")
    ap.add_argument("--json", type=Path)
    return ap.parse_args()


def describe(style: MicroscopyStyle) -> str:
    z, y, _x = style.voxel_size
    kind = "2D" if style.ndim == 2 else ("thin" if style.shape[0] <= 7 else "3D")
    return (
        f"{kind} {'×'.join(map(str, style.shape))} vox {z:.2g}×{y:.2g} µm "
        f"r {style.radius:.1f} µm {style.dtype}"
    )


def run_ours(movie: SyntheticMovie, clicks: int, root: Path, dmax: float) -> tuple[float, float]:
    """Workspace, clicks, first round, predict; (detection F1, seconds)."""
    start = time.perf_counter()
    root.mkdir(parents=True)
    image = write_ome_zarr(root / "movie.ome.zarr", movie.image, movie.voxel_size)
    ws = Workspace.create(root / "w.elephant", image)
    import_clicks(ws, choose_clicks(movie.graph, clicks, 0), root)
    train(ws)
    predict(ws, list(range(movie.image.shape[0])))
    return detection_scores(ws.graph, movie.graph, dmax).f1, time.perf_counter() - start


def run_log(movie: SyntheticMovie, dmax: float) -> float:
    tps = list(range(movie.image.shape[0]))
    log = tuned_log(lambda t: movie.image[t], tps, movie.voxel_size, movie.graph, dmax)
    return detection_scores(log.graph, movie.graph, dmax).f1


def main() -> None:
    args = parse_args()
    threads = configure_cpu_threads(args.threads or available_cores())
    print("\n".join(machine_lines(select_device("auto"), threads)))
    rng, rows = np.random.default_rng(SEED), []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.movies):
            style = random_style(rng, ndim=2 if i % 3 == 2 else 3)
            movie = generate_micro(style, seed=SEED + i, n_timepoints=args.timepoints)
            dmax = DMAX_RADII * median_lateral_radius(movie.graph.nuclei())
            ours, seconds = run_ours(movie, args.clicks, Path(tmp) / f"m{i}", dmax)
            log = run_log(movie, dmax)
            rows.append({"movie": describe(style), "ours": ours, "log": log, "seconds": seconds})
            print(f"{i:2d} {rows[-1]['movie']}: ours F1 {ours:.3f}, LoG {log:.3f} "
                  f"({seconds:.0f} s)", flush=True)  # fmt: skip
    mean = {k: statistics.mean(r[k] for r in rows) for k in ("ours", "log")}
    wins = sum(r["ours"] >= r["log"] for r in rows)
    print(f"mean detection F1: ours {mean['ours']:.3f}, truth-tuned LoG {mean['log']:.3f}; "
          f"ours ≥ LoG on {wins} of {len(rows)} movies")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "mean": mean}, indent=1))


if __name__ == "__main__":
    main()
