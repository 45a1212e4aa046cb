"""Detection commands: train-detection and predict."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from napari_elephant.cli.common import (
    ProgressBar,
    device_args,
    engine_device,
    fail,
    from_scratch_args,
    run_with_bar,
    timepoint_args,
    with_changes,
)

SAVE_EVERY_S = 60.0  # a long prediction saves what it found at least this often


def _train_detection_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("workspace", type=Path)
    p.add_argument(
        "--mode",
        choices=("interactive", "batch"),
        help="interactive: steps on crops of the annotations; batch: epochs",
    )
    p.add_argument("--steps", type=int, help="training steps (interactive mode)")
    p.add_argument("--epochs", type=int, help="epochs over the annotated timepoints (batch)")
    timepoint_args(p, "train on")
    p.add_argument(
        "--from-pretrained",
        action="store_true",
        help="start from the generic pretrained model shipped with napari-elephant "
        "instead of the workspace's model",
    )
    from_scratch_args(p, "model")


def cmd_train_detection(args: argparse.Namespace) -> int:
    from napari_elephant.core.detection.engine import detection_dir, train_round
    from napari_elephant.core.timepoints import parse_timepoints
    from napari_elephant.core.workspace import Workspace

    if args.from_scratch and args.from_pretrained:
        return fail("--from-scratch and --from-pretrained exclude each other")
    start = "scratch" if args.from_scratch else "pretrained" if args.from_pretrained else "current"
    ws = Workspace.open(args.workspace)
    ws.hold_for_writing()  # another process writing it gets a clear error
    params = with_changes(ws.params.training, mode=args.mode, steps=args.steps, epochs=args.epochs)
    device = engine_device(ws, args.device)
    tps = None
    if args.timepoints:
        tps = parse_timepoints(args.timepoints, ws.open_image().n_timepoints)
    outcome = run_with_bar(train_round(ws, device, params, tps, start))
    print(
        f"trained {outcome.steps} steps in {outcome.elapsed:.1f} s on {device} "
        f"(last loss {outcome.last_loss:.4f}); model saved in {detection_dir(ws)}"
    )
    return 0


def _predict_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("workspace", type=Path)
    timepoint_args(p, "predict")
    device_args(p)
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="fan timepoints out over a dask.distributed cluster ('local' starts a LocalCluster)",
    )


def cmd_predict(args: argparse.Namespace) -> int:
    from napari_elephant.core.detection.engine import predict_round, prediction_params
    from napari_elephant.core.detection.merge import merge_predictions
    from napari_elephant.core.timepoints import parse_timepoints
    from napari_elephant.core.workspace import Workspace

    ws = Workspace.open(args.workspace)
    ws.hold_for_writing()  # another process writing it gets a clear error
    tps = parse_timepoints(args.timepoints, ws.open_image().n_timepoints)
    device = engine_device(ws, args.device)
    if args.scheduler:
        from napari_elephant.core.detection.distributed import predict_distributed

        records = predict_distributed(ws, tps, args.scheduler, device.type)
    else:
        records = predict_round(ws, device, tps)
    bar, added, done, d_sup = ProgressBar(), 0, 0, prediction_params(ws).d_sup
    saved = time.monotonic()
    try:
        for record in records:
            t, found = record.extra["t"], record.extra["ellipsoids"]
            added += merge_predictions(ws.graph, t, found, d_sup).added
            done += 1
            bar(record)
            if time.monotonic() - saved >= SAVE_EVERY_S:  # a crash loses a minute at most
                ws.save_graph()
                saved = time.monotonic()
    finally:  # an interrupted run keeps every timepoint it finished
        bar.close()
        ws.save_graph()
    print(f"predicted {done} timepoints: {added} nuclei added; saved in {ws.path}")
    return 0


COMMANDS: dict[str, tuple[Callable, Callable, str]] = {
    "train-detection": (
        _train_detection_args,
        cmd_train_detection,
        "train the detection network on the workspace's annotations",
    ),
    "predict": (_predict_args, cmd_predict, "detect nuclei with the trained network"),
}
