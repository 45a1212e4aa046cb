"""Flow model speed (issue 4): training steps, an epoch, prediction throughput.

    python benchmarks/flow_speed.py [--device auto|cpu|cuda] [--threads N] [--quick]
                                    [--networks default,paper,b4d4,b8d3]
                                    [--accuracy [--augment]]

Material: the first timepoints of the 'default' synthetic movie (16×192×192
voxels of (2, 0.5, 0.5) µm) with every ground-truth link accepted.  Per
network: parameters; seconds per step of the real training generator with
the workspace defaults (FlowParams: two 16×96×96 crops per step, flips,
scaling and rotation); one epoch over the linked timepoints (each gives
``crops_per_timepoint`` crops); and the throughput of predicting one frame
pair (tiled, as ``predict_flow`` does) in voxels per second.  ``--quick``
shrinks everything for a smoke test.

``--accuracy`` (minutes on a CPU) checks that a round with the workspace
defaults learns something useful: the default network trains on the
accepted links of timepoints 1–4 of the 'fast_motion' movie (large,
non-uniform motion), then for every linked nucleus of timepoints 1–7 it
reports the mean distance from the estimated position at t−1 to the true
parent and how often the true parent is the nucleus nearest to it, for the
flow estimate and for no motion model (the centre itself).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from scipy.spatial import cKDTree

from detection_speed import machine_lines  # benchmarks/ holds scripts, not a package
from napari_elephant.core.detection.model import count_parameters
from napari_elephant.core.flow.labels import link_pairs
from napari_elephant.core.flow.model import PAPER_SCALE, FlowUNet, make_config
from napari_elephant.core.flow.predict import flow_to_um, predict_normalised, previous_positions
from napari_elephant.core.flow.train import FlowSample, make_flow_sample, train_flow
from napari_elephant.core.io.image import normalize
from napari_elephant.core.params import FlowParams
from napari_elephant.core.synthetic import generate
from napari_elephant.core.training.device import (
    available_cores,
    configure_cpu_threads,
    select_device,
)

SEED = 7
NETWORKS = {"default": (8, 4), "paper": (16, 4), "b4d4": (4, 4), "b8d3": (8, 3)}


def flow_samples(quick: bool) -> tuple[list[FlowSample], object]:
    """Linked frame pairs of the first timepoints of the 'default' movie."""
    overrides = (
        {"shape": (3, 16, 96, 96), "n_initial": 12} if quick else {"shape": (5, 16, 192, 192)}
    )
    movie = generate("default", seed=SEED, **overrides)
    frames = [normalize(v).astype(np.float32) for v in movie.image]
    samples = [
        make_flow_sample(
            t, frames[t - 1], frames[t], link_pairs(movie.graph, t), movie.voxel_size, PAPER_SCALE
        )
        for t in range(1, len(frames))
    ]
    return samples, movie


def time_steps(
    model: FlowUNet, samples: list[FlowSample], movie, params: FlowParams, device
) -> list[float]:
    """Seconds per step of the training generator (each record follows a synced loss)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=params.learning_rate)
    times, last = [], time.perf_counter()
    for _ in train_flow(model, optimizer, samples, movie.voxel_size, params, device):
        now = time.perf_counter()
        times.append(now - last)
        last = now
    return times


def time_prediction(model: FlowUNet, sample: FlowSample, device, repeats: int) -> float:
    """Median seconds to predict one frame pair (after a warm-up)."""
    predict_normalised(model, sample.prev, sample.curr, device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict_normalised(model, sample.prev, sample.curr, device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_network(name: str, samples, movie, device, quick: bool) -> str:
    base, depth = NETWORKS[name]
    torch.manual_seed(0)
    model = FlowUNet(make_config(movie.voxel_size, base, depth)).to(device)
    params = FlowParams(seed=0, epochs=1)
    if quick:
        params = params.model_copy(update={"crop_size": (16, 64, 64), "crops_per_timepoint": 2})
    per_epoch = len(samples) * params.crops_per_timepoint // params.batch_size
    steps = time_steps(model, samples, movie, params, device)
    warm = steps[1:] or steps
    step = statistics.median(warm)
    predict = time_prediction(model, samples[0], device, 1 if quick else 3)
    voxels = samples[0].curr.size
    return (
        f"| {name} | {base} | {depth} | {count_parameters(model):,} | {step:.2f} | "
        f"{step * per_epoch:.1f} ({per_epoch} steps) | {sum(steps):.1f} | "
        f"{predict:.2f} | {voxels / predict / 1e6:.2f} |"
    )


def accuracy(device, augment: bool) -> None:
    """Train on t = 1..4 of 'fast_motion', score the estimates on t = 1..7 (5..7 unseen)."""
    movie = generate("fast_motion", seed=3, shape=(8, 16, 160, 160))
    frames = [normalize(v).astype(np.float32) for v in movie.image]
    vs = movie.voxel_size
    samples = [
        make_flow_sample(t, frames[t - 1], frames[t], link_pairs(movie.graph, t), vs, PAPER_SCALE)
        for t in range(1, 5)
    ]
    torch.manual_seed(0)
    model = FlowUNet(make_config(vs, *NETWORKS["default"])).to(device)
    params = FlowParams(seed=0, augment=augment)
    start = time.perf_counter()
    steps = time_steps(model, samples, movie, params, device)
    print(
        f"fast_motion, {params.epochs} epochs ({len(steps)} steps, augment {augment}): "
        f"{time.perf_counter() - start:.0f} s"
    )
    print(
        "| t | links | error no motion (µm) | error flow (µm) | nearest right, no motion | flow |"
    )
    print("|---|---|---|---|---|---|")
    for t in range(1, len(frames)):
        print(score_timepoint(model, movie, frames, t, device))


def score_timepoint(model: FlowUNet, movie, frames, t: int, device) -> str:
    normalised = predict_normalised(model, frames[t - 1], frames[t], device)
    flow = flow_to_um(normalised, model.config.scale, movie.voxel_size)
    pairs = link_pairs(movie.graph, t)
    children = [c for c, _ in pairs]
    truth = np.array([p.center for _, p in pairs])
    parents = np.array([p.id for _, p in pairs])
    ids, centres = movie.graph.centers_at(t - 1)
    tree = cKDTree(centres)
    cells = []
    for guess in (
        np.array([c.center for c in children]),
        previous_positions(flow, movie.voxel_size, children),
    ):
        error = np.linalg.norm(guess - truth, axis=1).mean()
        right = np.mean(ids[tree.query(guess)[1]] == parents)
        cells.append((error, right))
    (e0, r0), (e1, r1) = cells
    seen = "" if t <= 4 else " (unseen)"
    return f"| {t}{seen} | {len(pairs)} | {e0:.2f} | {e1:.2f} | {r0:.2f} | {r1:.2f} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=available_cores())
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--networks", default="default,paper")
    parser.add_argument("--accuracy", action="store_true", help="also train and score (slow)")
    parser.add_argument("--augment", action="store_true", help="augment in --accuracy")
    args = parser.parse_args()
    device = select_device(args.device)
    threads = configure_cpu_threads(args.threads)
    for line in machine_lines(device, threads):
        print(line)
    samples, movie = flow_samples(args.quick)
    shape = "×".join(map(str, samples[0].curr.shape))
    print(
        f"{len(samples)} linked timepoints of {shape} voxels, "
        f"{sum(len(s.pairs) for s in samples)} links; FlowParams defaults"
    )
    print(
        "| network | base | depth | parameters | step (s) | epoch (s) | measured epoch (s) "
        "| predict pair (s) | Mvoxel/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.networks.split(","):
        print(bench_network(name.strip(), samples, movie, device, args.quick), flush=True)
    if args.accuracy:
        accuracy(device, args.augment)


if __name__ == "__main__":
    main()
