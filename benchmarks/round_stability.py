"""Do retraining rounds swing the prediction? (issue 12, stable rounds)

A user's loop: a few clicks at t = 0, a first round, then round after round a
few more corrections (here: true nuclei of random timepoints accepted, the
material a proofreading round adds) and a retraining of the workspace's
model.  After each round every timepoint is predicted again and compared

- with the previous round's prediction: **agreement**, the detection F1 of
  one against the other (1: the round changed nothing the user would see);
- with the truth: detection F1, so a steadier model that is worse shows.

Each setting runs over the same training seeds and the same corrections, in
one process, so the comparison is side by side:

    cd benchmarks && ../.venv/bin/python round_stability.py [--preset crowded_dim]
        [--seed 1001] [--rounds 5] [--train-seeds 0 1] [--threads 1]

Settings compared: the workspace defaults, the defaults without the hold
on unlabelled voxels (``hold_unlabelled`` 0, docs/detection.md), and the
defaults with ``average_weights`` on (the mean of each round's second half
of weights).  ``--settings`` picks some of them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from detection_speed import machine_lines
from napari_elephant.core.detection.engine import predict_round, prediction_params, train_round
from napari_elephant.core.detection.merge import merge_predictions
from napari_elephant.core.graph import TrackingGraph
from napari_elephant.core.metrics import detection_scores
from napari_elephant.core.sample import write_sample
from napari_elephant.core.training.device import configure_cpu_threads
from napari_elephant.core.training.progress import drain
from napari_elephant.core.workspace import Workspace

DMAX = 3.0
SETTINGS = {
    "default": {},
    "no hold": {"hold_unlabelled": 0.0},
    "averaged": {"average_weights": True},
}


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="crowded_dim")
    ap.add_argument("--seed", type=int, default=1001, help="movie seed (held out)")
    ap.add_argument("--clicks", type=int, default=5, help="accepted nuclei of t=0 to start")
    ap.add_argument("--per-round", type=int, default=6, help="nuclei accepted per later round")
    ap.add_argument("--rounds", type=int, default=5, help="retraining rounds after the first")
    ap.add_argument("--round-steps", type=int, default=50, help="steps of a later round")
    ap.add_argument("--train-seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    ap.add_argument("--json", type=Path)
    return ap.parse_args()


def corrections(truth: TrackingGraph, args: argparse.Namespace) -> list[list]:
    """The nuclei accepted before each round (round 0: the clicks at t = 0)."""
    rng = np.random.default_rng(args.seed)
    first = truth.nuclei_at(0)
    out = [[first[i] for i in rng.choice(len(first), args.clicks, replace=False)]]
    tps = truth.timepoints()
    for _ in range(args.rounds):
        t = int(rng.choice(tps))
        nuclei = truth.nuclei_at(t)
        out.append([nuclei[i] for i in rng.choice(len(nuclei), args.per_round, replace=False)])
    return out


def predicted(ws: Workspace) -> TrackingGraph:
    """Predict every timepoint, merge, and return a copy of the nuclei."""
    d_sup = prediction_params(ws).d_sup
    for record in predict_round(ws, torch.device("cpu")):
        merge_predictions(ws.graph, record.extra["t"], record.extra["ellipsoids"], d_sup)
    out = TrackingGraph()
    out.add_nuclei(list(ws.graph.nuclei()))
    return out


def run_setting(image: Path, truth, plan, changes: dict, seed: int, args, tmp: Path) -> list:
    """Rounds of one setting and training seed: (agreement, F1 to truth) per round."""
    ws = Workspace.create(tmp / f"ws_{seed}_{len(changes)}.elephant", image, overwrite=True)
    ws.params.training = ws.params.training.model_copy(update=changes | {"seed": seed})
    previous, curve = None, []
    for r, accepted in enumerate(plan):
        ws.graph.add_nuclei([n for n in accepted if n.id not in ws.graph])
        steps = None if r == 0 else args.round_steps
        params = ws.params.training.model_copy(update={"steps": steps} if steps else {})
        drain(train_round(ws, torch.device("cpu"), params))
        now = predicted(ws)
        f1 = detection_scores(now, truth, DMAX).f1
        agree = None if previous is None else detection_scores(now, previous, DMAX).f1
        curve.append({"round": r, "f1": f1, "agreement": agree})
        print(f"  round {r}: F1 {f1:.3f}" + ("" if agree is None else f" agreement {agree:.3f}"))
        previous = now
    return curve


def summary(curves: list[list]) -> dict:
    agree = [p["agreement"] for c in curves for p in c if p["agreement"] is not None]
    f1 = [p["f1"] for c in curves for p in c]
    return {
        "agreement_mean": statistics.mean(agree),
        "agreement_min": min(agree),
        "f1_mean": statistics.mean(f1),
        "f1_min": min(f1),
        "f1_last_mean": statistics.mean(c[-1]["f1"] for c in curves),
    }


def main() -> None:
    args = parse_args()
    threads = configure_cpu_threads(args.threads)
    print("\n".join(machine_lines(torch.device("cpu"), threads)))
    results, start = {}, time.perf_counter()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        files = write_sample(tmp / "sample", args.preset, args.seed)
        truth, plan = files.data.graph, corrections(files.data.graph, args)
        for label in args.settings:
            changes, curves = SETTINGS[label], []
            for seed in args.train_seeds:
                print(f"{label}, training seed {seed}:")
                curves.append(run_setting(files.movie, truth, plan, changes, seed, args, tmp))
            results[label] = {"summary": summary(curves), "curves": curves}
    for label, r in results.items():
        s = r["summary"]
        agree = f"agreement mean {s['agreement_mean']:.3f} (min {s['agreement_min']:.3f})"
        f1 = f"F1 mean {s['f1_mean']:.3f} (min {s['f1_min']:.3f}, last {s['f1_last_mean']:.3f})"
        print(f"{label:>9}: {agree}; {f1}")
    print(f"{time.perf_counter() - start:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
