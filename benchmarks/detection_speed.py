"""Detection speed and memory (issue 3): training steps, prediction, one round.

    python benchmarks/detection_speed.py [--device auto|cpu|cuda] [--threads N]
                                         [--quick] [--skip-memory]

1. the machine; 2. per network (default and paper size): parameters, the time
of one real training step (crop sampling + augmentation + forward/backward
with the workspace defaults) and prediction throughput on a 16×192×192
timepoint; 3. one interactive round as a user sees it: a first round (the
default network from the pretrained model; the paper network from scratch) on
10 accepted nuclei of the 'default' synthetic movie, predict t=0, merge;
4. peak memory of predicting a 35×512×708 volume (C. elegans CE1 size) in a
fresh process.  Targets (issue 12): a round of 30 steps < 10 s on a CPU
(default network) or < 3 s on a GPU (paper network); prediction ≥ 3× the
paper's network; predicting CE1 < 4 GB.  ``--quick`` shrinks
everything for a smoke test: its PASS/FAIL lines are not the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from napari_elephant.core.detection import engine
from napari_elephant.core.detection.engine import crop_shape
from napari_elephant.core.detection.labels import annotations_from_nuclei
from napari_elephant.core.detection.merge import merge_predictions
from napari_elephant.core.detection.model import (
    DetectionUNet,
    UNetConfig,
    count_parameters,
    default_config,
    paper_config,
)
from napari_elephant.core.detection.postprocess import extract_nuclei
from napari_elephant.core.detection.scale import grid_for
from napari_elephant.core.detection.sizes import resolve_detection
from napari_elephant.core.detection.tiling import default_tile_shape, predict_tiled
from napari_elephant.core.detection.train import (
    Annotation,
    TrainOutcome,
    make_annotation,
    train_detection,
)
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.io.image import normalize, write_ome_zarr
from napari_elephant.core.metrics import detection_scores
from napari_elephant.core.params import DetectionParams, TrainingParams
from napari_elephant.core.synthetic import SyntheticMovie, generate
from napari_elephant.core.synthetic_presets import resolve_preset
from napari_elephant.core.training.checkpoint import load_checkpoint, load_weights, save_checkpoint
from napari_elephant.core.training.device import (
    amp_dtype,
    available_cores,
    configure_cpu_threads,
    configure_precision,
    select_device,
)
from napari_elephant.core.training.progress import drain
from napari_elephant.core.workspace import Workspace

SEED = 7
N_ANNOTATED = 10
ROUND_TARGET_S = {"cpu": 10.0, "cuda": 3.0}  # default network on a CPU, paper's on a GPU
ROUND_STEPS = 30  # issue 12: an interactive round is 30 steps from the pretrained model
PREDICT_RATIO_TARGET = 3.0  # the default network predicts ≥ 3× as fast as the paper's
MEMORY_TARGET_MB = 4096
NETWORKS = {"default": default_config, "paper": paper_config}
VOXEL_SIZE = resolve_preset("default").voxels  # (2, 0.5, 0.5) µm, also of the CE1-size volume


@dataclass(frozen=True)
class Sizes:
    """What one run measures: full (the targets) or quick (a smoke test)."""

    movie: dict  # overrides of the 'default' synthetic preset
    memory_shape: tuple[int, int, int]
    memory_nuclei: int
    warmup: int
    repeats: int
    predict_repeats: int
    round_training: dict  # overrides of the workspace's TrainingParams in the round
    both_rounds: bool  # False: only the network the device's target is about


FULL = Sizes(
    movie={},
    memory_shape=(35, 512, 708),
    memory_nuclei=400,
    warmup=2,
    repeats=5,
    predict_repeats=5,
    round_training={"steps": ROUND_STEPS},
    both_rounds=True,
)
QUICK = Sizes(
    movie={"shape": (2, 16, 128, 128), "n_initial": 15},
    memory_shape=(16, 128, 300),
    memory_nuclei=20,
    warmup=1,
    repeats=2,
    predict_repeats=1,
    round_training={"steps": 2},
    both_rounds=False,
)


# ------------------------------------------------------------------ helpers
def maxrss_mb() -> float:
    """``getrusage(RUSAGE_SELF).ru_maxrss`` in MB (KiB on Linux, bytes on macOS).

    In a child process on Linux this is at least the *parent's* resident size
    at the spawn: exec folds the peak of the memory it replaces (the parent's,
    shared through vfork or copied by fork) into it.  Hence :func:`peak_rss_mb`.
    """
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value / 2**20 if sys.platform == "darwin" else value / 1024


def peak_rss_mb() -> float:
    """Peak resident memory of this process image (MB): VmHWM, else ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return maxrss_mb()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_lines(device: torch.device, threads: int) -> list[str]:
    lines = [
        f"cpu: {cpu_model()}, {os.cpu_count()} cores ({available_cores()} usable), "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"device {device}, cpu threads {threads}, "
        f"prediction in {amp_dtype(device, inference=True) or torch.float32}, "
        f"training in {amp_dtype(device) or torch.float32}",
    ]
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        lines.append(
            f"gpu: {props.name}, {props.total_memory / 2**30:.0f} GiB, cuda {torch.version.cuda}"
        )
    return lines


def median_ms(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1000:.0f} ms"


# ------------------------------------------------------------ per network
def first_annotation(movie: SyntheticMovie) -> Annotation:
    """t=0 with its first N_ANNOTATED nuclei accepted: the material of one round."""
    volume = normalize(movie.image[0])
    true, false = annotations_from_nuclei(movie.graph.nuclei_at(0)[:N_ANNOTATED])
    params = resolve_detection(DetectionParams(), 3.0)
    return make_annotation(0, volume, true, false, movie.voxel_size, params)


def time_train_steps(
    config: UNetConfig, item: Annotation, movie: SyntheticMovie, device: torch.device, s: Sizes
) -> list[float]:
    """Seconds per step of the real generator (workspace crop size and batch)."""
    torch.manual_seed(0)
    model = DetectionUNet(config).to(device)
    grid = grid_for(movie.voxel_size, movie.image.shape[1:], 3.0)  # the preset's own voxels
    params = TrainingParams(steps=s.warmup + s.repeats, seed=0)
    params = params.model_copy(update={"crop_size": crop_shape(params, grid)})
    optimizer = torch.optim.Adam(model.parameters(), lr=params.learning_rate)
    times, last = [], time.perf_counter()
    # each record is yielded after the step's loss reached the host (synchronised)
    for _ in train_detection(model, optimizer, [item], movie.voxel_size, params, device):
        now = time.perf_counter()
        times.append(now - last)
        last = now
    return times[s.warmup :]


def time_predictions(
    variants: dict[str, tuple[UNetConfig, str]],
    volume: np.ndarray,
    device: torch.device,
    repeats: int,
) -> dict[str, float]:
    """Median seconds of predict_tiled on ``volume`` per (network, precision) variant
    (after one warm-up), taking turns so that a noisy machine slows each alike."""
    torch.manual_seed(0)
    models = {name: (DetectionUNet(c).to(device), p) for name, (c, p) in variants.items()}
    times: dict[str, list[float]] = {name: [] for name in models}
    try:
        for repeat in range(repeats + 1):
            for name, (model, precision) in models.items():
                configure_precision(precision)
                start = time.perf_counter()
                predict_tiled(model, volume, device=device, amp=True)  # as the engine does
                if repeat:
                    times[name].append(time.perf_counter() - start)
    finally:
        configure_precision("auto")
    return {name: statistics.median(ts) for name, ts in times.items()}


def network_section(movie: SyntheticMovie, device: torch.device, s: Sizes) -> list:
    """Steps and prediction of both networks; the check of their prediction ratio."""
    item = first_annotation(movie)
    grid = grid_for(movie.voxel_size, movie.image.shape[1:], 3.0)
    crop, batch = crop_shape(TrainingParams(), grid), TrainingParams().batch_size
    shape = item.volume.shape
    print(f"\n== networks (training crops {crop} × {batch}, prediction of {shape}) ==")
    configs = {name: make(movie.voxel_size) for name, make in NETWORKS.items()}
    variants = {name: (config, "auto") for name, config in configs.items()}
    mixed = amp_dtype(device, inference=True)
    if mixed is not None:  # the paper's network as it ran: in float32
        variants["paper, float32"] = (configs["paper"], "float32")
    seconds = time_predictions(variants, item.volume, device, s.predict_repeats)
    for name, config in configs.items():
        n_params = count_parameters(DetectionUNet(config))
        steps = time_train_steps(config, item, movie, device, s)
        pred = seconds[name]
        tiles = default_tile_shape(shape, multiple=config.size_multiple)
        print(
            f"{name:>8}: {n_params:,} parameters; training step {median_ms(steps)} "
            f"(median of {len(steps)}, min {min(steps) * 1000:.0f} ms); "
            f"prediction {pred:.2f} s = {item.volume.size / pred / 1e6:.2f} Mvoxel/s "
            f"(tile {tiles}, median of {s.predict_repeats}, the networks taking turns)"
        )
    ratio = seconds["paper"] / seconds["default"]
    print(f"prediction: default network {ratio:.2f}× as fast as the paper's (same run)")
    if mixed is not None:
        print(
            f"prediction in {mixed}: both networks as above (the target); the paper's in "
            f"float32 {seconds['paper, float32']:.2f} s, "
            f"{seconds['paper, float32'] / seconds['default']:.2f}× the default's time"
        )
    return [
        (
            f"prediction ≥ {PREDICT_RATIO_TARGET:g}× the paper's network",
            ratio >= PREDICT_RATIO_TARGET,
        )
    ]


# ------------------------------------------------------------ one round
def make_workspace(root: Path, image: Path, movie: SyntheticMovie) -> Workspace:
    ws = Workspace.create(root, image)
    ws.graph.add_nuclei(movie.graph.nuclei_at(0)[:N_ANNOTATED])
    return ws


def train_fresh(
    ws: Workspace, device: torch.device, params: TrainingParams, config: UNetConfig
) -> TrainOutcome:
    """engine.train_round from scratch, with a network of ``config``.

    engine.load_model only builds the default network from scratch (a saved
    checkpoint would be loaded as not fresh, skipping the prior phase), so the
    paper-size round repeats train_round's steps with the network swapped.
    """
    source = ws.open_image()
    setup = engine.detection_setup(ws, source)
    items = engine.collect_annotations(ws, source, ws.graph.timepoints(), setup)
    model = DetectionUNet(config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=params.learning_rate)
    params = params.model_copy(update={"crop_size": engine.crop_shape(params, setup.grid)})
    vs = setup.grid.voxel_size
    gen = train_detection(model, optimizer, items, vs, params, device, prior=True)
    outcome = drain(gen)
    extra = {"steps": outcome.steps, "last_loss": outcome.last_loss}
    save_checkpoint(engine.detection_dir(ws), model, model.config, optimizer, extra=extra)
    return outcome


def run_round(ws: Workspace, device: torch.device, net: str, s: Sizes) -> dict:
    """Wall times of train (prior + steps, checkpoint saved), predict t=0, merge."""
    params = ws.params.training.model_copy(update={"seed": 0} | s.round_training)
    torch.manual_seed(0)
    start, cpu_start = time.perf_counter(), time.process_time()
    if net == "default":  # the workspace default: a first round from the pretrained model
        outcome = drain(engine.train_round(ws, device, params))
    else:
        outcome = train_fresh(ws, device, params, NETWORKS[net](ws.voxel_size))
    trained = time.perf_counter()
    found: list = []
    drain(
        engine.predict_round(ws, device, timepoints=[0]),
        lambda record: found.extend(record.extra["ellipsoids"]),
    )
    predicted = time.perf_counter()
    merged = merge_predictions(ws.graph, 0, found, engine.prediction_params(ws).d_sup)
    end = time.perf_counter()
    return {
        "steps": outcome.steps,
        "train": trained - start,
        "predict": predicted - trained,
        "merge": end - predicted,
        "total": end - start,
        "cpu": time.process_time() - cpu_start,
        "added": merged.added,
    }


def round_line(net: str, r: dict, f1: float, n_truth: int) -> str:
    return (
        f"{net:>8}: {r['total']:.1f} s (process cpu {r['cpu']:.1f} s) = "
        f"train {r['train']:.1f} s ({r['steps']} steps incl. prior) + "
        f"predict {r['predict']:.2f} s + merge {r['merge'] * 1000:.0f} ms; "
        f"{r['added']} nuclei added; F1 at t=0 (accepted + predicted vs {n_truth} true) {f1:.2f}"
    )


def round_section(tmp: Path, movie: SyntheticMovie, device: torch.device, s: Sizes) -> tuple:
    """The rounds; returns the checks and each round's checkpoint folder."""
    image = write_ome_zarr(tmp / "movie.ome.zarr", movie.image, movie.voxel_size)
    target_net = "paper" if device.type == "cuda" else "default"
    target = ROUND_TARGET_S.get(device.type)
    print(
        f"\n== one interactive round: {N_ANNOTATED} accepted nuclei at t=0 of the 'default' "
        f"movie (seed {SEED}, {movie.image.shape[1:]}), "
        f"first round of {s.round_training.get('steps')} steps (default: from the pretrained "
        "model; paper: from scratch) + predict t=0 + merge =="
    )
    checks, checkpoints = [], {}
    for net in NETWORKS if s.both_rounds else [target_net]:
        ws = make_workspace(tmp / f"{net}.elephant", image, movie)
        r = run_round(ws, device, net, s)
        f1 = detection_scores(ws.graph, movie.graph, timepoints=[0]).f1
        print(round_line(net, r, f1, len(movie.graph.ids_at(0))))
        checkpoints[net] = engine.detection_dir(ws)
        if net == target_net and target is not None:
            label = f"one round < {target:g} s ({device.type}, {net} network)"
            checks.append((label, r["total"] < target))
    return checks, checkpoints


# ---------------------------------------------------------------- memory
def load_network(folder: Path | None, device: torch.device) -> DetectionUNet:
    """The round's trained default network, or a fresh one (same memory, odd nuclei)."""
    if folder is None:
        torch.manual_seed(0)
        return DetectionUNet(default_config(VOXEL_SIZE)).to(device)
    loaded = load_checkpoint(folder, device, expected_kind=engine.KIND, with_optimizer=False)
    model = DetectionUNet(UNetConfig.from_dict(loaded.config))
    load_weights(model, loaded.model_state, folder)
    return model.to(device)


def memory_child(args: argparse.Namespace) -> dict:
    """In a fresh process: read one timepoint, predict it, extract nuclei."""
    out = {"baseline_mb": peak_rss_mb()}  # after the imports
    device = select_device(args.device)
    configure_cpu_threads(args.threads)
    volume = normalize(np.load(args.memory_child))  # as ImageSource.timepoint: float32 copy
    model = load_network(args.checkpoint, device)
    out["model_mb"] = peak_rss_mb()
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    probs = predict_tiled(model, volume, device=device, amp=True)
    predicted = time.perf_counter()
    out["peak_predict_mb"] = peak_rss_mb()
    found = extract_nuclei(probs, VOXEL_SIZE, resolve_detection(DetectionParams(), 3.0))
    return out | {
        "shape": list(volume.shape),
        "peak_mb": peak_rss_mb(),
        "ru_maxrss_mb": maxrss_mb(),
        "predict_s": predicted - start,
        "extract_s": time.perf_counter() - predicted,
        "nuclei": len(found),
        "voxels_per_s": volume.size / (predicted - start),
        "cuda_peak_mb": torch.cuda.max_memory_allocated(device) / 2**20 if cuda else None,
    }


def memory_section(
    tmp: Path, checkpoint: Path | None, device: torch.device, threads: int, s: Sizes
) -> list:
    """Predict a CE1-size volume in a fresh process; its figures and the check."""
    movie = generate("default", seed=SEED, shape=(1, *s.memory_shape), n_initial=s.memory_nuclei)
    path = tmp / "memory_volume.npy"
    np.save(path, movie.image[0])
    cmd = [sys.executable, __file__, "--memory-child", str(path)]
    cmd += ["--device", device.type, "--threads", str(threads)]
    cmd += ["--checkpoint", str(checkpoint)] if checkpoint is not None else []
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stderr[-3000:], file=sys.stderr)
        return [("memory child process ran", False)]
    m = json.loads(out.stdout.strip().splitlines()[-1])
    print_memory(m, "trained in the round" if checkpoint is not None else "untrained")
    label = f"peak memory predicting {tuple(m['shape'])} < {MEMORY_TARGET_MB / 1024:g} GB"
    return [(label, m["peak_mb"] < MEMORY_TARGET_MB)]


def print_memory(m: dict, weights: str) -> None:
    print(
        f"\n== memory: predict one {tuple(m['shape'])} volume + extract nuclei, "
        f"fresh process (default network, {weights}) =="
    )
    stages = (
        f"after predict_tiled {m['peak_predict_mb']:.0f} MB, after imports "
        f"{m['baseline_mb']:.0f} MB, + volume and network {m['model_mb']:.0f} MB"
    )
    print(f"peak RSS {m['peak_mb']:.0f} MB (VmHWM; {stages})")
    print(f"ru_maxrss {m['ru_maxrss_mb']:.0f} MB (counts the parent's size at the spawn)")
    print(
        f"predict {m['predict_s']:.1f} s = {m['voxels_per_s'] / 1e6:.2f} Mvoxel/s; "
        f"extract nuclei {m['extract_s']:.1f} s ({m['nuclei']} nuclei)"
    )
    if m["cuda_peak_mb"] is not None:
        print(f"torch.cuda.max_memory_allocated {m['cuda_peak_mb']:.0f} MB")


# ------------------------------------------------------------------ main
def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: every core)")
    ap.add_argument("--quick", action="store_true", help="smoke test: small and few")
    ap.add_argument("--skip-memory", action="store_true", help="skip the CE1-size memory test")
    ap.add_argument("--memory-child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--checkpoint", type=Path, help=argparse.SUPPRESS)
    return ap.parse_args()


def run(args: argparse.Namespace) -> None:
    sizes = QUICK if args.quick else FULL
    device = select_device(args.device)
    threads = configure_cpu_threads(args.threads or available_cores())
    print("\n".join(machine_lines(device, threads)))
    if args.quick:
        print("QUICK run: reduced sizes, steps and repeats; not the target measurements")
    movie = generate("default", seed=SEED, **sizes.movie)
    checks = network_section(movie, device, sizes)
    with tempfile.TemporaryDirectory() as name:
        rounds, checkpoints = round_section(Path(name), movie, device, sizes)
        checks += rounds
        if not args.skip_memory:
            trained = checkpoints.get("default")
            checks += memory_section(Path(name), trained, device, threads, sizes)
    print()
    for label, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}" + ("  [quick]" if args.quick else ""))


def main() -> None:
    args = parse_args()
    try:
        if args.memory_child:
            print(json.dumps(memory_child(args)))
        else:
            run(args)
    except InvalidInputError as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
