"""What the tests that start Python child processes share."""

from __future__ import annotations

import os
import sys


def child_env() -> dict[str, str]:
    """The environment of a child that must import what this process imports (the
    package and the tests, from wherever pytest found them)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def fuzz_examples(n: int) -> int:
    """``n`` random files per fuzz test in CI; ``FUZZ_SCALE=k`` runs k times as many
    (the slow run whose figures docs/reliability.md gives)."""
    return n * max(1, int(os.environ.get("FUZZ_SCALE", "1")))
