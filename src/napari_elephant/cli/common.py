"""Shared pieces of the command line: errors, the progress bar, common options."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from pydantic import BaseModel

EXIT_BAD_INPUT = 2
M = TypeVar("M", bound=BaseModel)


def fail(message: str) -> int:
    """Print the first line of ``message`` as the CLI's one-line error; the exit code."""
    first = message.strip().splitlines()[0] if message.strip() else "unknown error"
    print(f"napari-elephant: error: {first}", file=sys.stderr)
    return EXIT_BAD_INPUT


class ProgressBar:
    """A one-line progress bar on stderr (a line per 10 % when not a terminal)."""

    def __init__(self, width: int = 30) -> None:
        self.width = width
        self.tty = sys.stderr.isatty()
        self._last_decile = -1

    def __call__(self, record) -> None:
        frac = record.fraction or 0.0
        filled = round(frac * self.width)
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {record.summary()}"
        if self.tty:
            print("\r" + line[:150].ljust(150), end="", file=sys.stderr, flush=True)
        elif int(frac * 10) != self._last_decile:
            self._last_decile = int(frac * 10)
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tty:
            print(file=sys.stderr)


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
    """The torch device to use, with every CPU core for a headless run."""
    from napari_elephant.core.training.device import (
        available_cores,
        configure_cpu_threads,
        select_device,
    )

    configure_cpu_threads(available_cores())  # headless: no viewer needs a spare core
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
    given = {k: v for k, v in changes.items() if v is not None}
    return params.model_validate({**params.model_dump(), **given})
