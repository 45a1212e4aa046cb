"""Linking command: link."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from napari_elephant.cli.common import device_args, engine_device, run_with_bar, timepoint_args


def _link_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("workspace", type=Path)
    p.add_argument(
        "--method",
        choices=("nn", "flow", "global"),
        help="nn: nearest neighbour; flow: nearest neighbour along the trained flow model; "
        "global: frame-pair assignment (default: the workspace's setting)",
    )
    p.add_argument(
        "--along-flow",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="link on the positions the trained flow model estimates at t-1, with any "
        "method (default: the workspace's setting; --method flow implies it)",
    )
    timepoint_args(p, "link among themselves")
    device_args(p)


def flow_estimator_for(ws, device_name: str | None):
    """The workspace's flow model as a position estimator; a clear error without one."""
    from napari_elephant.core.errors import InvalidInputError

    try:
        from napari_elephant.core.flow import engine
    except ImportError:
        raise InvalidInputError("flow linking is not available in this version") from None
    if not engine.has_flow_model(ws):
        raise InvalidInputError(
            f"no trained flow model in {ws.path}: run train-flow first, or link with --method nn"
        )
    return engine.flow_estimator(ws, engine_device(ws, device_name))


def cmd_link(args: argparse.Namespace) -> int:
    from napari_elephant.cli.common import with_changes
    from napari_elephant.core.linking import link_round, wants_flow
    from napari_elephant.core.timepoints import parse_timepoints
    from napari_elephant.core.workspace import Workspace

    ws = Workspace.open(args.workspace)
    ws.hold_for_writing()  # another process writing it gets a clear error
    params = with_changes(ws.params.linking, along_flow=args.along_flow)
    method = args.method or params.method
    tps = None
    if args.timepoints:
        tps = parse_timepoints(args.timepoints, max(ws.graph.timepoints(), default=-1) + 1)
    estimator = flow_estimator_for(ws, args.device) if wants_flow(method, params) else None
    result = run_with_bar(link_round(ws.graph, params, tps, estimator, method))
    ws.save_graph()
    print(f"linked ({result}); saved in {ws.path}")
    return 0


COMMANDS: dict[str, tuple[Callable, Callable, str]] = {
    "link": (_link_args, cmd_link, "link nuclei across timepoints (replaces predicted links)"),
}
