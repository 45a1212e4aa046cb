"""Progress records and the stop flag shared by the training and prediction generators.

The engines are generators: they ``yield`` a :class:`Progress` after each
step and ``return`` their result.  Records are immutable so that a widget
can keep them after the worker thread has moved on (a record sent through
``worker.yielded`` must not change under the GUI thread).  Cancelling is a
:class:`StopFlag` (a ``threading.Event``) that the generators test between
steps; nothing here knows about Qt.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

R = TypeVar("R")


def _frozen_mapping(data: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True)
class Progress:
    """One step of a long task: what, how far, and the latest figures.

    ``extra`` holds task-specific figures (e.g. validation F1) as a read-only
    mapping; a copy of the dict given is taken, so later edits don't leak in.
    """

    task: str
    step: int
    total: int | None = None
    loss: float | None = None
    lr: float | None = None
    elapsed: float = 0.0
    message: str = ""
    extra: Mapping[str, Any] = field(default_factory=_frozen_mapping, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra", _frozen_mapping(self.extra))

    @property
    def fraction(self) -> float | None:
        """Share of the task done in [0, 1], or None when the total is unknown."""
        if not self.total:
            return None
        return min(1.0, max(0.0, self.step / self.total))

    def summary(self) -> str:
        """One line for a log or the command line."""
        parts = [f"{self.task} {self.step}" + (f"/{self.total}" if self.total else "")]
        if self.loss is not None:
            parts.append(f"loss {self.loss:.4g}")
        if self.lr is not None:
            parts.append(f"lr {self.lr:.2g}")
        parts.append(f"{self.elapsed:.1f} s")
        if self.message:
            parts.append(self.message)
        return "  ".join(parts)


class StopFlag:
    """A thread-safe "please stop" the generators check between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        """Ask the task to stop at its next check."""
        self._event.set()

    def clear(self) -> None:
        """Re-arm the flag for the next task."""
        self._event.clear()

    def is_set(self) -> bool:
        return self._event.is_set()

    def check(self) -> bool:
        """True when a stop was asked; never raises (the generator decides how to end)."""
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` s, waking early on a stop; True if stopped."""
        return self._event.wait(timeout)

    def __repr__(self) -> str:
        return f"StopFlag(set={self.is_set()})"


def drain(generator: Generator[Any, Any, R], callback: Callable[[Any], None] | None = None) -> R:
    """Run a generator to its end and return its ``return`` value.

    ``callback`` (if given) receives every yielded record; the CLI prints
    them, tests collect them.
    """
    while True:
        try:
            record = next(generator)
        except StopIteration as stop:
            return stop.value
        if callback is not None:
            callback(record)
