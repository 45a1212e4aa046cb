"""Replacing a folder in one step, for the writers of folder formats (GEFF, CTC).

A writer builds the new folder next to the target, then swaps it in with two
renames: a reader sees the old folder or the new one, never a half-written
one, and a crash before the swap leaves the old one untouched.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def swap_folder_into_place(tmp: Path, target: Path) -> None:
    """Move the finished folder ``tmp`` to ``target``, replacing what was there."""
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)
