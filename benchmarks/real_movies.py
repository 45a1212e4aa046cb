"""The default pipeline on two real movies against a truth-tuned LoG and LoG + laptrack.

Per movie it does what a new user does with the defaults, through the core
functions the command line calls (no parameter changed anywhere):

1. ``init``: a workspace in a temporary folder for the TIFF, with the voxel
   size of /work/shared/data/real/README.md;
2. ``import``: N nuclei of t = 0 of the silver truth (chosen with a seeded
   RNG, without their links) as accepted annotations, the user's "clicks";
3. ``train-detection`` (``TrainingParams()``; the first round starts from the
   pretrained model), ``predict`` of every timepoint, ``link``;
4. scores (``core.metrics.evaluate``, nuclei matched one-to-one within 4 µm)
   against the silver truth: detection P / R / F1, link F1, division F1, DET
   and TRA, on every timepoint and on t >= 1 only (t = 0 is partly given);
   and detection F1 "inside": nuclei one truth radius or more in from the
   image's y and x sides only (the silver truth drops nuclei the border cuts).

Peers in the same run (benchmarks/real_movies_peers.py): TrackMate's LoG at
the truth's median in-plane radius with its threshold (median filter,
scaling) swept on the truth, and laptrack on those spots with its cutoffs swept on the
truth: the most favourable settings a user could ever find, not defaults.

    cd benchmarks && ../.venv/bin/python real_movies.py [--movies cho,hela] [--clicks N]
        [--click-seed S] [--threads N] [--quick] [--json PATH] [--keep DIR]

The CPU may be shared with other jobs: the times are rough unless the load
average printed first is low.  Real data: measure with it, never train a
shipped model on it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from detection_speed import machine_lines  # benchmarks/ holds scripts, not a package
from napari_elephant.core.detection.engine import predict_round, prediction_params, train_round
from napari_elephant.core.detection.merge import merge_predictions
from napari_elephant.core.ellipsoid import median_lateral_radius
from napari_elephant.core.graph import Nucleus, Status, TrackingGraph
from napari_elephant.core.io.csv_io import import_csv, load_csv, write_csv
from napari_elephant.core.io.image import open_image
from napari_elephant.core.linking import link_round, wants_flow
from napari_elephant.core.metrics import Evaluation, Scores, interior_detection_scores
from napari_elephant.core.training.device import (
    available_cores,
    configure_cpu_threads,
    select_device,
)
from napari_elephant.core.training.progress import drain
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import Workspace
from real_movies_peers import scored, tuned_laptrack, tuned_log

DATA = Path("/work/shared/data/real")
DMAX = 4.0  # µm: matching distance of every score here
QUICK_T = 4  # --quick: the first timepoints only


@dataclass(frozen=True)
class Movie:
    """A real movie, its silver truth and what a user types in for it."""

    image: str
    truth: str
    axes: str | None  # None: from the file
    voxel: tuple[float, ...]  # µm, as given to ``init --voxel-size``
    clicks: int  # default number of annotated nuclei of t = 0


MOVIES = {
    "cho": Movie("Fluo-N3DH-CHO_02_img.tif", "cho_silver_truth.csv", None, (1.0, 0.202, 0.202), 5),
    # 2D+t: the pixel size only, as `init --axes TYX --voxel-size 0.645 0.645`
    "hela": Movie("Fluo_Hela_02_img.tif", "hela_silver_truth.csv", "TYX", (0.645, 0.645), 10),
}


@dataclass
class Row:
    """One method on one movie."""

    movie: str
    method: str
    scores: dict[str, Evaluation]  # "all", "t>=1"
    seconds: float
    setting: str = "defaults"
    extra: dict[str, Any] = field(default_factory=dict)
    linked: bool = True  # False: a detector alone, its link scores mean nothing
    graph: TrackingGraph | None = None  # the result, scored away from the sides too
    interior: dict[str, Scores] = field(default_factory=dict)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--movies", default="cho,hela", help=f"comma-separated: {', '.join(MOVIES)}")
    ap.add_argument("--clicks", type=int, help="annotated nuclei of t=0 (default: cho 5, hela 10)")
    ap.add_argument("--click-seed", type=int, default=0, help="seed choosing the clicked nuclei")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: every core)")
    ap.add_argument("--quick", action="store_true", help=f"first {QUICK_T} timepoints only (dev)")
    ap.add_argument("--json", type=Path, help="write every figure here")
    ap.add_argument("--keep", type=Path, help="keep the workspaces in this (empty) folder")
    ap.add_argument("--data", type=Path, default=DATA, help="folder of the movies and truths")
    args = ap.parse_args(argv)
    unknown = set(args.movies.split(",")) - set(MOVIES)
    if unknown:
        ap.error(f"unknown movie(s) {', '.join(sorted(unknown))}; choose from {', '.join(MOVIES)}")
    return args


# ------------------------------------------------------------------ clicks
def choose_clicks(truth: TrackingGraph, n: int, seed: int) -> list[Nucleus]:
    """``n`` nuclei of t = 0, drawn with a seeded RNG, as accepted annotations."""
    first = sorted(truth.nuclei_at(0), key=lambda nucleus: nucleus.id)
    n = min(n, len(first))
    pick = np.random.default_rng(seed).choice(len(first), size=n, replace=False)
    return [first[i].with_(status=Status.ACCEPTED) for i in sorted(pick)]


def import_clicks(ws: Workspace, clicks: Sequence[Nucleus], folder: Path) -> str:
    """``napari-elephant import`` of the clicks written as a CSV (no links)."""
    path = folder / "clicks.csv"
    write_csv(TrackingGraph.from_records(list(clicks), []), path)
    report = import_csv(ws.graph, path)
    ws.save_graph()
    return str(report)


# --------------------------------------------------------------- pipeline
def timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def init_workspace(movie: Movie, image: Path, root: Path, clicks: Sequence[Nucleus]) -> Workspace:
    """``init --image --voxel-size [--axes]`` then ``import`` of the clicks."""
    voxel = VoxelSize.from_sequence(movie.voxel)
    ws = Workspace.create(root / "movie.elephant", image, None, voxel, movie.axes)
    print(f"  import: {import_clicks(ws, clicks, root)}")
    return ws


def train(ws: Workspace) -> dict[str, Any]:
    """``train-detection`` with the workspace's (default) parameters."""
    device = select_device(ws.params.device.device)
    outcome = drain(train_round(ws, device, ws.params.training, None, "current"))
    return {"steps": outcome.steps, "last_loss": outcome.last_loss, "device": str(device)}


def predict(ws: Workspace, tps: Sequence[int]) -> dict[int, int]:
    """``predict`` of ``tps``, merged as the command merges; nuclei found per timepoint."""
    device = select_device(ws.params.device.device)
    found, d_sup = {}, prediction_params(ws).d_sup  # an 'auto' distance resolved, as the CLI
    for record in predict_round(ws, device, tps):
        t, ellipsoids = record.extra["t"], record.extra["ellipsoids"]
        merge_predictions(ws.graph, t, ellipsoids, d_sup)
        found[t] = len(ellipsoids)
    ws.save_graph()
    return found


def link(ws: Workspace) -> str:
    """``link`` with the workspace's (default) method."""
    params = ws.params.linking
    if wants_flow(params.method, params):
        raise SystemExit("the default linking wants a flow model: this benchmark trains none")
    result = drain(link_round(ws.graph, params, None, None, params.method))
    ws.save_graph()
    return str(result)


def run_defaults(
    movie: Movie, truth: TrackingGraph, args: argparse.Namespace, root: Path, tps: list[int]
) -> Row:
    """Steps 1-3 of the module docstring, timed; the scored row."""
    clicks = choose_clicks(truth, args.clicks or movie.clicks, args.click_seed)
    start = time.perf_counter()
    ws, s_init = timed(init_workspace, movie, args.data / movie.image, root, clicks)
    info, s_train = timed(train, ws)
    print(f"  train: {info} in {s_train:.1f} s", flush=True)
    found, s_predict = timed(predict, ws, tps)
    print(f"  predict: {s_predict:.1f} s; nuclei per t {list(found.values())}", flush=True)
    linked, s_link = timed(link, ws)
    print(f"  link: {linked} in {s_link:.1f} s", flush=True)
    total = time.perf_counter() - start
    seconds = {"init+import": s_init, "train": s_train, "predict": s_predict, "link": s_link}
    print("  stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items())
          + f"; total {total:.1f} s")  # fmt: skip
    clicked = [n.id for n in clicks]
    extra = {"stage_seconds": seconds, "train": info, "clicks": clicked, "found_per_t": found}
    scores = scored(ws.graph, truth, tps, DMAX)
    return Row("", "ELEPHANT defaults", scores, total, extra=extra, graph=ws.graph)


# ------------------------------------------------------------------ movie
def divisions(graph: TrackingGraph) -> int:
    """Nuclei with two children: without any, every division F1 is 1 or 0."""
    return sum(len(graph.children(n.id)) >= 2 for n in graph.nuclei())


def run_movie(key: str, args: argparse.Namespace, root: Path) -> list[Row]:
    """The defaults, then the two peers, on one movie."""
    movie = MOVIES[key]
    root.mkdir(parents=True, exist_ok=True)
    truth = load_csv(args.data / movie.truth)
    voxel = VoxelSize.from_sequence(movie.voxel)
    source = open_image(args.data / movie.image, voxel_size=voxel, axes=movie.axes)
    n_t = min(source.n_timepoints, QUICK_T) if args.quick else source.n_timepoints
    tps = list(range(n_t))
    print(
        f"\n{key}: {movie.image} (T, Z, Y, X) ({source.n_timepoints}, "
        f"{', '.join(map(str, source.shape_zyx))}), voxel {voxel.as_tuple()} µm; "
        f"truth {len(truth)} nuclei, {truth.n_links} links, {divisions(truth)} divisions; "
        f"scored t = 0..{n_t - 1}",
        flush=True,
    )
    rows = [run_defaults(movie, truth, args, root, tps)]
    log = tuned_log(lambda t: source.timepoint(t, normalized=False), tps, voxel, truth, DMAX)
    print(f"  LoG: {log.setting} ({log.seconds:.1f} s)", flush=True)
    rows.append(Row("", "LoG (truth-tuned)", scored(log.graph, truth, tps, DMAX), log.seconds,
                    log.setting, linked=False, graph=log.graph))  # fmt: skip
    lap = tuned_laptrack(log.graph, truth, tps, DMAX)
    print(f"  laptrack: {lap.setting} ({lap.seconds:.1f} s)", flush=True)
    rows.append(Row("", "LoG + laptrack (truth-tuned)", scored(lap.graph, truth, tps, DMAX),
                    log.seconds + lap.seconds, f"{log.setting}; {lap.setting}",
                    graph=lap.graph))  # fmt: skip
    margin = median_lateral_radius(truth.nuclei()) or 0.0
    extent = (
        0.0,
        *(n * v for n, v in zip(source.shape_zyx[1:], voxel.as_tuple()[1:], strict=True)),
    )
    for row in rows:
        row.movie = key
        row.interior = interior(row.graph, truth, tps, extent, margin)
        row.extra["interior_margin_um"] = margin
    return rows


def interior(
    graph: TrackingGraph, truth: TrackingGraph, tps: list[int], extent: tuple, margin: float
) -> dict[str, Scores]:
    """Detection scores at least one nucleus radius inside the image's y and x sides
    (the silver truth drops nuclei the border cuts: docs/metrics.md)."""
    later = [t for t in tps if t >= 1]
    return {
        span: interior_detection_scores(graph, truth, extent, margin, DMAX, ts)
        for span, ts in (("all", tps), ("t>=1", later))
    }


# ----------------------------------------------------------------- report
def table(rows: Sequence[Row]) -> str:
    """One line per method, movie and scored range (links of a LoG alone: none)."""
    head = (
        "| movie | method | scored t | det P | det R | det F1 | link F1 | division F1 "
        "| DET | TRA | seconds | det F1 inside |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for span, ev in r.scores.items():
            d = ev.detection
            links = f"{ev.links.f1:.3f} | {ev.divisions.f1:.3f}" if r.linked else "— | —"
            tra = f"{ev.tra:.4f}" if r.linked else "—"
            lines.append(
                f"| {r.movie} | {r.method} | {span} | {d.precision:.3f} | {d.recall:.3f} "
                f"| {d.f1:.3f} | {links} | {ev.det:.4f} | {tra} | {r.seconds:.0f} "
                f"| {r.interior[span].f1:.3f} |"
            )
    return "\n".join(lines)


def as_json(rows: Sequence[Row], header: list[str], args: argparse.Namespace) -> dict:
    out: dict[str, Any] = {"machine": header, "dmax_um": DMAX, "quick": args.quick, "rows": []}
    for r in rows:
        scores = {span: ev.as_dict() for span, ev in r.scores.items()}
        scores |= {f"{span} inside": sc.as_dict() for span, sc in r.interior.items()}
        out["rows"].append({"movie": r.movie, "method": r.method, "setting": r.setting,
                            "seconds": r.seconds, "scores": scores, **r.extra})  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    threads = configure_cpu_threads(args.threads or available_cores())
    device = select_device("auto")
    header = machine_lines(device, threads)
    print("\n".join(header))
    start = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="real_movies_") as tmp:
        root = args.keep or Path(tmp)
        for key in args.movies.split(","):
            rows += run_movie(key, args, root / key)
    wall = time.perf_counter() - start
    print(f"\nmatching within {DMAX:g} µm; seconds: ELEPHANT = init+import+train+predict+link, "
          "LoG = the sweep, LoG + laptrack = both sweeps")  # fmt: skip
    print(table(rows))
    print(f"total wall clock {wall:.0f} s")
    if args.json:
        data = as_json(rows, header, args) | {"wall_s": wall}
        args.json.write_text(json.dumps(data, indent=2, default=str) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
