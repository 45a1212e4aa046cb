"""Train the generic pretrained detection model shipped with napari-elephant.

The model is the default (light) detection network, trained on fully
annotated timepoints of synthetic movies that look like microscopy
(:mod:`napari_elephant.core.synthetic_micro`: textured chromatin, nucleoli,
dim and bright nuclei side by side, mitoses, touching nuclei, anisotropic
blur, 8- and 16-bit cameras with offsets, bleaching, debris; nuclei of 2–15
µm at 0.1–2 µm per voxel; full stacks, thin stacks and 2D+t movies) plus the
project's clean presets.  Every movie reaches the network exactly as a
user's does: normalised per timepoint, resampled onto the network's grid
for its nucleus size (:mod:`napari_elephant.core.detection.scale`), the
network's z pooling set for that grid, 2D movies through the network's 2D
path, intensities normalised as the network's config says (asinh,
:mod:`napari_elephant.core.intensity`).  Every nucleus of a timepoint is a
true annotation and every other voxel is background
(``background_threshold = 1``: the truth is complete).

Movie seeds start at 3001 (micro) and 2001 (presets), never the benchmarks'
held-out seeds (1001–1003); no real movie is used.  The recipe (styles,
seeds, steps, torch version, final loss) goes into the checkpoint's
``config.json`` under ``training``; the weights are stored in half precision
(they load into the float32 network).

    python scripts/train_pretrained.py [--steps 8000] [--movies 240] [--preset-share 0.3]
        [--threads 2] [--out FOLDER]
"""

from __future__ import annotations

import argparse
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from napari_elephant.core.detection.augment import Augmenter
from napari_elephant.core.detection.engine import crop_shape
from napari_elephant.core.detection.losses import vclass_loss
from napari_elephant.core.detection.model import DetectionUNet, default_config, pooling_schedule
from napari_elephant.core.detection.scale import NetworkGrid, grid_for
from napari_elephant.core.detection.sizes import resolve_detection
from napari_elephant.core.detection.train import (
    Annotation,
    batch_tensors,
    cosine_lr,
    make_annotation,
    sample_crop,
    set_lr,
)
from napari_elephant.core.ellipsoid import median_lateral_radius
from napari_elephant.core.intensity import normalize_as
from napari_elephant.core.params import DetectionParams, TrainingParams
from napari_elephant.core.synthetic import SyntheticMovie, generate
from napari_elephant.core.synthetic_micro import generate_micro, random_style
from napari_elephant.core.training.checkpoint import save_checkpoint
from napari_elephant.core.units import VoxelSize

PRESETS = ("easy", "default", "crowded_dim", "fast_motion")
PRESET_SEEDS = (2001, 2002)
PRESET_TIMEPOINTS = (0, 5, 10, 15)
MICRO_SEED = 3001
MICRO_TIMEPOINTS = 2
SHARE_2D = 0.35  # of the micro movies; the rest are stacks (thin ones among them)
OUT = Path(__file__).resolve().parents[1] / "src/napari_elephant/pretrained/detection"
NORMALIZATION = default_config(VoxelSize(2.0, 0.5, 0.5)).normalization  # asinh


@dataclass(frozen=True)
class Item:
    """One annotated timepoint on its network grid, with how to crop and pool it."""

    annotation: Annotation
    grid: NetworkGrid
    crop: tuple[int, int, int]
    pool_z: tuple[bool, ...]


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=8000, help="optimiser steps")
    ap.add_argument("--movies", type=int, default=240, help="synthetic microscopy movies")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--seed", type=int, default=0, help="training seed (weights, crops)")
    ap.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (cosine decay)")
    ap.add_argument(
        "--preset-share",
        type=float,
        default=0.3,
        help="share of the steps on the clean presets (the rest: microscopy-like movies)",
    )
    ap.add_argument("--out", type=Path, default=OUT, help="checkpoint folder to write")
    return ap.parse_args()


def items_of(movie: SyntheticMovie, timepoints: range | tuple[int, ...]) -> list[Item]:
    """A movie's timepoints as a user's workspace would feed them to the network."""
    labels = DetectionParams(background_threshold=1.0)
    out = []
    for t in timepoints:
        if t >= movie.image.shape[0] or not movie.graph.nuclei_at(t):
            continue
        true = movie.graph.nuclei_at(t)
        radius = median_lateral_radius(true)
        grid = grid_for(movie.voxel_size, movie.image.shape[1:], radius)
        params = resolve_detection(labels, radius or 1.0)
        volume = grid.to_grid(normalize_as(movie.image[t], NORMALIZATION))
        annotation = make_annotation(t, volume, grid.shift_in(true), [], grid.voxel_size, params)
        crop = crop_shape(TrainingParams(), grid)
        schedule = pooling_schedule(grid.voxel_size, 4, grid.shape[0])
        out.append(Item(annotation, grid, crop, schedule))
    return out


def build_pool(n_movies: int) -> tuple[list[Item], list[Item]]:
    """The presets' timepoints, and those of ``n_movies`` microscopy-like movies."""
    presets: list[Item] = []
    for preset in PRESETS:
        for seed in PRESET_SEEDS:
            presets += items_of(generate(preset, seed=seed), PRESET_TIMEPOINTS)
    items: list[Item] = []
    rng = np.random.default_rng(MICRO_SEED)
    for i in range(n_movies):
        ndim = 2 if rng.random() < SHARE_2D else 3
        style = random_style(rng, ndim=ndim)
        movie = generate_micro(style, seed=MICRO_SEED + i, n_timepoints=MICRO_TIMEPOINTS)
        items += items_of(movie, range(MICRO_TIMEPOINTS))
    return presets, items


def train(
    model: DetectionUNet, pools: tuple[list[Item], list[Item]], args: argparse.Namespace
) -> list[float]:
    """Interactive-style training: each step one timepoint (a preset's with
    probability ``--preset-share``, else a microscopy-like movie's), two crops.
    The presets keep their weight although they are a few dozen of ~500
    timepoints: a model that forgot them lost a point of F1 on crowded_dim."""
    rng = np.random.default_rng(args.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    augmenters: dict[VoxelSize, Augmenter] = {}
    losses, start = [], time.perf_counter()
    model.train()
    for step in range(args.steps):
        pool = pools[0] if rng.random() < args.preset_share else pools[1]
        item = pool[rng.integers(len(pool))]
        vs = item.grid.voxel_size
        augmenter = augmenters.setdefault(vs, Augmenter(rng, voxel_size=vs))
        crops = [sample_crop(rng, item.annotation, item.crop, augmenter) for _ in range(2)]
        image, labels, is_false = batch_tensors(crops, torch.device("cpu"))
        model.with_pooling(item.pool_z)
        set_lr(optimizer, cosine_lr(args.lr, step, args.steps))
        optimizer.zero_grad(set_to_none=True)
        loss = vclass_loss(model(image), labels, is_false)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        if (step + 1) % 100 == 0:
            recent, took = float(np.mean(losses[-100:])), time.perf_counter() - start
            print(f"step {step + 1}/{args.steps} loss {recent:.4f} {took:.0f} s", flush=True)
    return losses


def recipe(args: argparse.Namespace, items: list[Item], losses: list[float], seconds: float):
    """What the checkpoint's config.json says about how the model was made."""
    flat = sum(item.grid.flat for item in items)
    return {
        "pretrained": "napari-elephant generic detection model (microscopy-like synthetic movies)",
        "recipe": f"scripts/train_pretrained.py --steps {args.steps} --movies {args.movies} "
        f"--seed {args.seed} --lr {args.lr} --preset-share {args.preset_share}",
        "presets": list(PRESETS),
        "preset_seeds": list(PRESET_SEEDS),
        "preset_timepoints": list(PRESET_TIMEPOINTS),
        "preset_share": args.preset_share,
        "micro_movies": args.movies,
        "micro_seeds": [MICRO_SEED, MICRO_SEED + args.movies - 1],
        "timepoints": len(items),
        "timepoints_2d": flat,
        "nuclei": int(sum(len(item.annotation.anchors) for item in items)),
        "steps": args.steps,
        "last_loss": float(np.mean(losses[-100:])),
        "seconds": round(seconds, 1),
        "torch": torch.__version__,
        "machine": platform.machine(),
    }


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    start = time.perf_counter()
    pools = build_pool(args.movies)
    items = pools[0] + pools[1]
    n_nuclei, took = sum(len(i.annotation.anchors) for i in items), time.perf_counter() - start
    print(f"{len(items)} annotated timepoints, {n_nuclei} nuclei, {took:.0f} s", flush=True)
    config = default_config(VoxelSize(2.0, 0.5, 0.5))
    model = DetectionUNet(config)
    losses = train(model, pools, args)
    model.with_pooling(config.pool_z)  # the schedule it is saved with, whatever it trained last
    model.half()  # half the file size; load_state_dict casts back to float32
    info = recipe(args, items, losses, time.perf_counter() - start)
    save_checkpoint(args.out, model, model.config, None, extra=info)
    print(f"saved {args.out} ({info['seconds']} s)")


if __name__ == "__main__":
    main()
