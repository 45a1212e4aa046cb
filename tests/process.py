"""What the tests that start Python child processes share."""

from __future__ import annotations

import os
import sys


def child_env() -> dict[str, str]:
    """The environment of a child that must import what this process imports (the
    package and the tests, from wherever pytest found them)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
