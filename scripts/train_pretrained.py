"""Train the generic pretrained detection model shipped with napari-elephant.

The model is the default (light) detection network trained on fully
annotated timepoints of the project's synthetic presets, so that a first
round on a new movie starts from a network that already knows what a
bright blob on a darker background looks like.  Every nucleus of the chosen
timepoints is a true annotation and every other voxel is background
(``background_threshold = 1``: the truth is complete there).

Seeds 2001+ are used, never the benchmarks' held-out seeds (1001–1003).
The recipe (presets, seeds, timepoints, steps, torch version, final loss)
is written into the checkpoint's ``config.json`` under ``training``, and the
weights are stored in half precision (they load into the float32 network).

    python scripts/train_pretrained.py [--steps 2000] [--threads 2] [--out FOLDER]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import torch

from napari_elephant.core.detection.model import DetectionUNet, default_config
from napari_elephant.core.detection.train import Annotation, make_annotation, train_detection
from napari_elephant.core.io.image import normalize
from napari_elephant.core.params import DetectionParams, TrainingParams
from napari_elephant.core.synthetic import generate
from napari_elephant.core.training.checkpoint import save_checkpoint

PRESETS = ("easy", "default", "crowded_dim", "fast_motion")
SEEDS = (2001, 2002)
TIMEPOINTS = (0, 5, 10, 15)
OUT = Path(__file__).resolve().parents[1] / "src/napari_elephant/pretrained/detection"


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=2000, help="optimiser steps")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--seed", type=int, default=0, help="training seed (weights, crops)")
    ap.add_argument("--out", type=Path, default=OUT, help="checkpoint folder to write")
    return ap.parse_args()


def annotations() -> tuple[list[Annotation], object]:
    """Fully annotated timepoints of every preset × seed (volumes normalised as at
    prediction time)."""
    labels = DetectionParams(background_threshold=1.0)
    items, voxel_size = [], None
    for preset in PRESETS:
        for seed in SEEDS:
            movie = generate(preset, seed=seed)
            voxel_size = movie.voxel_size
            for t in TIMEPOINTS:
                if t >= movie.image.shape[0]:
                    continue
                volume = normalize(movie.image[t])
                true = movie.graph.nuclei_at(t)
                items.append(make_annotation(t, volume, true, [], voxel_size, labels))
    return items, voxel_size


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    items, voxel_size = annotations()
    print(f"{len(items)} annotated timepoints, {sum(len(i.anchors) for i in items)} nuclei")
    model = DetectionUNet(default_config(voxel_size))
    params = TrainingParams(steps=args.steps, seed=args.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=params.learning_rate)
    start, losses = time.perf_counter(), []
    cpu = torch.device("cpu")
    for record in train_detection(model, optimizer, items, voxel_size, params, cpu):
        losses.append(record.loss)
        if record.step % 100 == 0:
            recent = float(np.mean(losses[-100:]))
            print(f"step {record.step}/{record.total} loss {recent:.4f} {record.elapsed:.0f} s")
    model.half()  # half the file size; load_state_dict casts back to float32
    recipe = {
        "pretrained": "napari-elephant generic detection model",
        "recipe": f"scripts/train_pretrained.py --steps {args.steps} --seed {args.seed}",
        "presets": list(PRESETS),
        "movie_seeds": list(SEEDS),
        "timepoints": list(TIMEPOINTS),
        "steps": args.steps,
        "last_loss": float(np.mean(losses[-100:])),
        "seconds": round(time.perf_counter() - start, 1),
        "torch": torch.__version__,
        "machine": platform.machine(),
    }
    save_checkpoint(args.out, model, model.config, None, extra=recipe)
    print(f"saved {args.out} ({recipe['seconds']} s)")


if __name__ == "__main__":
    main()
