"""Shared pieces of the command line: errors, the progress bar, common options."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # the shell's code for a command stopped by Ctrl+C
M = TypeVar("M", bound=BaseModel)
BAR_FORMAT = "{percentage:3.0f}%|{bar}| {elapsed}<{remaining}{postfix}"  # postfix: the summary


def fail(message: str) -> int:
    """Print the first line of ``message`` as the CLI's one-line error; the exit code."""
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    print(f"napari-elephant: error: {first}", file=sys.stderr)
    return EXIT_BAD_INPUT


class ProgressBar:
    """Progress on stderr: tqdm's bar on a terminal (rate and time left, redrawn in
    place), a line per 10 % when stderr is a file or a pipe (a log gets no carriage
    returns).  Each line carries the record's summary (task, step/total, loss, time)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self._bar: Any = None
        self._last_decile = -1

    def __call__(self, record) -> None:
        if self.tty:
            self._draw(record)
            return
        decile = int((record.fraction or 0.0) * 10)
        if decile != self._last_decile:
            self._last_decile = decile
            print(record.summary(), file=sys.stderr, flush=True)

    def _draw(self, record) -> None:
        from tqdm import tqdm

        total = record.total or None
        if self._bar is None or self._bar.total != total:  # a new task: a new bar
            self.close()
            columns, rows = _terminal_size()
            self._bar = tqdm(total=total, desc=record.task, file=sys.stderr, leave=True,
                             ncols=columns, nrows=rows, bar_format=BAR_FORMAT)  # fmt: skip
        self._bar.n = record.step
        self._bar.set_postfix_str(record.summary(), refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _terminal_size() -> tuple[int, int]:
    """(columns, rows) of stderr's terminal; 120 × 24 for one nobody sized (a pty:
    tqdm reads its 0 rows as "no room" and draws nothing)."""
    try:
        size = os.get_terminal_size(sys.stderr.fileno())
    except OSError:
        return 120, 24
    return (size.columns if size.columns > 0 else 120), (size.lines if size.lines > 0 else 24)


def voxel_size_arg(p: argparse.ArgumentParser, help_text: str) -> None:
    """``--voxel-size``: Z Y X µm for a 3D movie, Y X for a 2D one (checked by
    :func:`voxel_size_for` once the movie is known)."""
    p.add_argument(
        "--voxel-size",
        nargs="+",
        type=float,
        metavar="UM",
        help=f"{help_text}: Z Y X for a 3D movie, Y X (pixel size) for a 2D movie",
    )


def voxel_size_for(values: list[float] | None, two_d: bool):
    """The VoxelSize of ``--voxel-size`` for a 2D or 3D movie, or None when not given.

    A 2D movie has no z to measure: it takes exactly Y X (its z is the nominal
    1 µm), and three numbers are refused rather than half-used.
    """
    from napari_elephant.core.errors import InvalidInputError
    from napari_elephant.core.units import VoxelSize

    if values is None:
        return None
    if two_d and len(values) != 2:
        raise InvalidInputError(
            f"--voxel-size takes the pixel size Y X of a 2D movie (2 numbers), got {len(values)}"
        )
    if not two_d and len(values) != 3:
        raise InvalidInputError(
            f"--voxel-size takes Z Y X of a 3D movie (3 numbers), got {len(values)}"
        )
    return VoxelSize.from_sequence(values)


def device_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda", "mps"),
        help="where the network runs (default: the workspace's setting, auto)",
    )


def timepoint_args(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--timepoints",
        metavar="A:B",
        help=f"timepoints to {what}, A included, B excluded (default: all)",
    )


def engine_device(ws, name: str | None):
    """The torch device to use; on a CPU the workspace's thread count when set, else
    every core (headless: no viewer needs a spare core)."""
    from napari_elephant.core.training.device import (
        available_cores,
        configure_cpu_threads,
        configure_precision,
        select_device,
    )

    configure_cpu_threads(ws.params.device.cpu_threads or available_cores())
    configure_precision(ws.params.device.precision)
    return select_device(name or ws.params.device.device)


def from_scratch_args(p: argparse.ArgumentParser, model: str) -> None:
    """``--from-scratch`` and ``--device``, the tail of every training command."""
    p.add_argument(
        "--from-scratch",
        action="store_true",
        help=f"start from a fresh network instead of the workspace's {model}",
    )
    device_args(p)


def run_with_bar(records: Iterable[Any]) -> Any:
    """Drain a core generator behind a progress bar (closed on errors too); its result."""
    from napari_elephant.core.training.progress import drain

    bar = ProgressBar()
    try:
        return drain(records, bar)
    finally:
        bar.close()


def with_changes(params: M, **changes: Any) -> M:
    """``params`` with the options the user gave (None: not given), validated like
    the model itself (``model_copy`` would not check them)."""
    from pydantic import ValidationError

    from napari_elephant.core.errors import InvalidInputError

    given = {k: v for k, v in changes.items() if v is not None}
    try:
        return params.model_validate({**params.model_dump(), **given})
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else type(params).__name__
        raise InvalidInputError(f"{name} = {first.get('input')!r}: {first['msg']}") from None
