"""Flow commands: train-flow."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from napari_elephant.cli.common import (
    engine_device,
    from_scratch_args,
    run_with_bar,
    timepoint_args,
    with_changes,
)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _train_flow_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("workspace", type=Path)
    p.add_argument(
        "--epochs",
        type=_positive_int,
        help="epochs over the linked timepoints (default: the workspace's setting, 20)",
    )
    timepoint_args(p, "train on (a timepoint t learns from its links from t-1)")
    from_scratch_args(p, "flow model")


def cmd_train_flow(args: argparse.Namespace) -> int:
    from napari_elephant.core.flow.engine import flow_dir, train_flow_round
    from napari_elephant.core.timepoints import parse_timepoints
    from napari_elephant.core.workspace import Workspace

    ws = Workspace.open(args.workspace)
    ws.hold_for_writing()  # another process writing it gets a clear error
    params = with_changes(ws.params.flow, epochs=args.epochs)
    device = engine_device(ws, args.device)
    tps = None
    if args.timepoints:
        tps = parse_timepoints(args.timepoints, ws.open_image().n_timepoints)
    outcome = run_with_bar(train_flow_round(ws, device, params, tps, args.from_scratch))
    loss = "n/a" if outcome.last_loss is None else f"{outcome.last_loss:.4f}"
    print(
        f"trained the flow model {outcome.steps} steps in {outcome.elapsed:.1f} s on {device} "
        f"(last loss {loss}); model saved in {flow_dir(ws)}"
    )
    return 0


COMMANDS: dict[str, tuple[Callable, Callable, str]] = {
    "train-flow": (
        _train_flow_args,
        cmd_train_flow,
        "train the flow model on the workspace's accepted links",
    ),
}
