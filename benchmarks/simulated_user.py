"""Simulated user (issue 6): how few corrections does the learning loop need?

An oracle user starts from a handful of accepted nuclei of the first
timepoint; then, round after round, the loop trains detection (and flow, on
the links the user accepted), predicts and links everything, and the user
proofreads a few timepoints — those whose lineage looks worst, spread over
the movie (``benchmarks/oracle.py``: track starts and ends inside the movie,
short tracks, divisions, the least sure division first as the **F** key
visits them).  At each suspicious spot it looks at the truth of
what it sees and corrects it as a person would: accept a right nucleus
(moved onto the truth when off), reject a false one, add the missed ones
nearby, accept right links, unlink wrong ones and link the true parent and
children.  Each correction is a graph action, counted with the nuclei it
touched; the truth is read only through them.

    python benchmarks/simulated_user.py --image movie.ome.zarr --voxel-size 2 0.5 0.5 \\
        --ground-truth truth.csv --out result.csv [--device auto]
    python benchmarks/simulated_user.py --preset crowded_dim --seed 1001 --out result.csv

Writes the final graph as CSV and prints, as its last line, a JSON object:
``actions``, ``nuclei_touched_fraction`` (distinct nuclei the user added,
accepted, rejected, moved or linked ÷ ground-truth nuclei), ``det``, ``tra``,
``division_f1``, and ``curve``: the scores after each round against the
nuclei touched so far, with ``agreement``, the detection F1 of a round's
nuclei against the previous round's (how much a retraining swings the
prediction).  Scores are computed for the report only; the user
never sees them.  Issue 6 target (crowded_dim, held-out seed 1001): TRA ≥
0.98 and division F1 ≥ 0.85 with ≤ 3 % of the nuclei touched.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

from detection_accuracy import machine
from napari_elephant.core.graph import TrackingGraph
from napari_elephant.core.io.csv_io import load_csv, write_csv
from napari_elephant.core.loop import LoopSettings, run_pass
from napari_elephant.core.metrics import detection_scores, evaluate
from napari_elephant.core.sample import write_sample
from napari_elephant.core.training.device import (
    available_cores,
    configure_cpu_threads,
    select_device,
)
from napari_elephant.core.training.progress import StopFlag, drain
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import Workspace
from oracle import PRIORITY, Oracle, Spot, choose_timepoints, find_spots

DMAX = 3.0  # µm: the metrics' matching distance, also what the user calls "the same nucleus"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_argument_group("input: a movie and its truth, or a synthetic preset")
    src.add_argument("--image", type=Path, help="the movie (Zarr, OME-Zarr, HDF5, TIFF)")
    src.add_argument("--voxel-size", nargs=3, type=float, metavar=("Z", "Y", "X"))
    src.add_argument("--ground-truth", type=Path, help="truth graph, the project's CSV")
    src.add_argument("--preset", help="generate a synthetic movie instead (e.g. crowded_dim)")
    src.add_argument("--seed", type=int, default=1001, help="synthetic movie seed (held out)")
    ap.add_argument("--out", type=Path, required=True, help="final graph as CSV")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    user = ap.add_argument_group("the user")
    user.add_argument("--initial", type=int, default=5, help="accepted nuclei of t=0 to start")
    user.add_argument("--rounds", type=int, default=8, help="proofreading rounds at most")
    user.add_argument("--timepoints-per-round", type=int, default=3)
    user.add_argument("--touches-per-round", type=int, default=12, help="nuclei per round")
    user.add_argument("--budget", type=float, default=0.03, help="touched fraction at most")
    user.add_argument("--look", type=float, default=6.0, help="µm around a spot the user scans")
    user.add_argument(
        "--accept-correct",
        action="store_true",
        help="also accept every right nucleus the user looks at (costs touches; default: "
        "touch only what is wrong)",
    )
    loop = ap.add_argument_group("the loop")
    loop.add_argument("--steps", type=int, help="detection steps, first round (workspace's)")
    loop.add_argument("--round-steps", type=int, default=50, help="steps of later rounds")
    loop.add_argument(
        "--round-lr", type=float, help="learning rate of later rounds (default: the workspace's)"
    )
    loop.add_argument(
        "--link-method", choices=("nn", "global"), help="default: the workspace's (global)"
    )
    loop.add_argument("--t-max", type=int, help="gap interpolation, timepoints (workspace's)")
    loop.add_argument("--no-flow", action="store_true", help="never train the flow model")
    loop.add_argument("--flow-epochs", type=int, default=3, help="flow epochs per round")
    loop.add_argument("--train-seed", type=int, default=0, help="seeds the trainings")
    loop.add_argument(
        "--start",
        choices=("current", "scratch", "pretrained"),
        default="current",
        help="what the first detection round starts from (current: the workspace's "
        "initial_model, the pretrained model by default; scratch: a new network)",
    )
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: every core)")
    ap.add_argument("--time-budget", type=float, default=28.0, help="minutes; stops early")
    ap.add_argument("--work", type=Path, help="keep the movie and workspace here")
    return ap.parse_args(argv)


# ------------------------------------------------------------------ input
def prepare(args: argparse.Namespace, work: Path) -> tuple[Workspace, TrackingGraph, str]:
    """The workspace (movie, no annotations yet), the truth, and a description."""
    if args.preset:
        files = write_sample(work / "sample", args.preset, args.seed)
        image, truth = files.movie, files.data.graph
        voxel, what = None, f"synthetic {args.preset}, seed {args.seed}"
    else:
        if not (args.image and args.voxel_size and args.ground_truth):
            raise SystemExit("give --image, --voxel-size and --ground-truth (or --preset)")
        image, truth = args.image, load_csv(args.ground_truth)
        voxel, what = VoxelSize.from_sequence(args.voxel_size), str(args.image)
    ws = Workspace.create(work / "user.elephant", image, voxel_size=voxel, overwrite=True)
    return ws, truth, what


def first_annotations(ws: Workspace, truth: TrackingGraph, oracle: Oracle, n: int, seed: int):
    """The user's first clicks: ``n`` nuclei of the first timepoint, at random."""
    t0 = truth.timepoints()[0]
    ids = truth.ids_at(t0)
    pick = np.random.default_rng(seed).choice(len(ids), size=min(n, len(ids)), replace=False)
    with ws.graph.batch("first annotations"):
        for tid in sorted(ids[pick].tolist()):
            oracle.ensure(t0, int(tid))


# ------------------------------------------------------------------ rounds
def proofread(
    oracle: Oracle, ws: Workspace, args: argparse.Namespace, visits: Counter, quota: int
) -> list[int]:
    """One round of the user's corrections; the timepoints visited."""
    extent = ws.voxel_size.to_um(np.asarray(ws.open_image().shape_zyx) - 1)
    spots = [s for s in find_spots(ws.graph, extent, margin=4.0) if not oracle.was_seen(s)]
    n_t = len(ws.graph.timepoints())
    chosen = choose_timepoints(spots, args.timepoints_per_round, visits, n_t)
    oracle.start_round()
    start = len(oracle.ledger.touched)
    for i, t in enumerate(chosen):
        visits[t] += 1
        share = start + quota * (i + 1) // len(chosen)
        here = sorted((s for s in spots if s.t == t), key=_urgency)
        for spot in here:
            if len(oracle.ledger.touched) >= min(share, start + quota):
                break
            if not oracle.fix_within(spot, start + quota):
                break  # the budget is a hard limit: a fix that would pass it is undone
    return chosen


def _urgency(spot: Spot) -> tuple:
    """Most telling kind first; within a kind the least sure (divisions), then by id."""
    return (-PRIORITY[spot.kind], spot.doubt, spot.nid)


def score(ws: Workspace, truth: TrackingGraph, oracle: Oracle, extra: dict) -> dict:
    ev = evaluate(ws.graph, truth, DMAX)
    return {
        **extra,
        "actions": oracle.ledger.total,
        "nuclei_touched": len(oracle.ledger.touched),
        "nuclei_touched_fraction": len(oracle.ledger.touched) / len(truth),
        "det": ev.det,
        "tra": ev.tra,
        "detection_f1": ev.detection.f1,
        "link_f1": ev.links.f1,
        "division_f1": ev.divisions.f1,
    }


def nuclei_copy(graph: TrackingGraph) -> TrackingGraph:
    """The nuclei of a graph (no links): what a round predicted, for the next to compare."""
    out = TrackingGraph()
    out.add_nuclei(list(graph.nuclei()))
    return out


def agreement(previous: TrackingGraph | None, graph: TrackingGraph) -> float | None:
    """Detection F1 of this round's nuclei against the previous round's (1: no swing)."""
    if previous is None:
        return None
    return detection_scores(graph, previous, DMAX).f1


def print_point(p: dict) -> None:
    print(
        f"round {p['round']}: touched {p['nuclei_touched']} "
        f"({100 * p['nuclei_touched_fraction']:.2f} %), {p['actions']} actions; "
        f"DET {p['det']:.4f} TRA {p['tra']:.4f} detection F1 {p['detection_f1']:.3f} "
        f"link F1 {p['link_f1']:.3f} division F1 {p['division_f1']:.3f}"
        + ("" if p["agreement"] is None else f" agreement {p['agreement']:.3f}")
        + "  "
        f"[{p['seconds']:.0f} s: {p['stages']}]",
        flush=True,
    )


def deadline(minutes: float) -> tuple[StopFlag, threading.Timer]:
    """A stop flag that sets itself when the time budget is spent (ends a pass early)."""
    stop = StopFlag()
    timer = threading.Timer(minutes * 60, stop.set)
    timer.daemon = True
    timer.start()
    return stop, timer


def run(args: argparse.Namespace, work: Path) -> dict:
    start = time.perf_counter()
    ws, truth, what = prepare(args, work)
    threads = configure_cpu_threads(args.threads or available_cores())
    device = select_device(args.device)
    print(f"{what}: {len(truth)} nuclei, {truth.n_links} links; {machine()}; {threads} threads")
    if args.t_max is not None:
        ws.params.linking.t_max = args.t_max
    oracle = Oracle(ws.graph, truth, DMAX, args.look, 1.0, args.accept_correct)
    first_annotations(ws, truth, oracle, args.initial, args.seed)
    settings = LoopSettings(
        steps=args.steps, seed=args.train_seed, link_method=args.link_method,
        flow=not args.no_flow, flow_epochs=args.flow_epochs,
    )  # fmt: skip
    stop, timer = deadline(args.time_budget)
    quota = int(args.budget * len(truth))
    curve: list[dict] = []
    visits: Counter = Counter()
    previous: TrackingGraph | None = None
    for r in range(args.rounds + 1):
        t0 = time.perf_counter()
        if r > 0:
            room = quota - len(oracle.ledger.touched)
            tps = proofread(oracle, ws, args, visits, min(args.touches_per_round, room))
            print(f"round {r}: proofread timepoints {tps}", flush=True)
        steps = args.steps if r == 0 else args.round_steps
        begin = args.start if r == 0 else "current"
        if r == 1 and args.round_lr is not None:
            ws.params.training.learning_rate = args.round_lr
        outcome = drain(run_pass(ws, device, replace(settings, steps=steps, start=begin), stop))
        secs = {k: round(v) for k, v in outcome.seconds.items()}
        extra = {"round": r, "seconds": time.perf_counter() - t0}
        point = score(ws, truth, oracle, extra | {"agreement": agreement(previous, ws.graph)})
        previous = nuclei_copy(ws.graph)
        curve.append({**point, "stages": secs})
        print_point(curve[-1])
        last_round = time.perf_counter() - t0
        elapsed = time.perf_counter() - start
        if stop.is_set() or elapsed + last_round > args.time_budget * 60:
            break
        if len(oracle.ledger.touched) >= quota:
            break
    timer.cancel()
    write_csv(ws.graph, args.out)
    ws.save_graph()
    final = {k: v for k, v in curve[-1].items() if k not in ("round", "seconds", "stages")}
    return {
        **final,
        "actions_by_kind": dict(oracle.ledger.actions),
        "spots_examined": oracle.ledger.spots,
        "truth_nuclei": len(truth),
        "rounds": len(curve) - 1,
        "stopped_by_time_budget": stop.is_set(),
        "seconds": time.perf_counter() - start,
        "device": str(device),
        "input": what,
        "start": args.start,
        "curve": curve,
    }


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="simulated_user_") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        result = run(args, work)
    print(f"final graph: {args.out}")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
