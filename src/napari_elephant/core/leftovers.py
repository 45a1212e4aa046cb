"""The leftovers of an atomic folder save (``NAME.tmp``, ``NAME.old``), found and
removed without following a symlink out of the workspace.

A graph or a model folder kept elsewhere through a link must survive a save:
the link is removed, never the folder it points to.  The graph's save
(:mod:`.workspace`) and the checkpoints' (:mod:`.training.checkpoint`) both
tidy through these two functions.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def present(path: Path) -> bool:
    """There is something at path (a dangling symlink counts: it is in the way)."""
    return path.is_symlink() or path.exists()


def remove_tree(path: Path) -> None:
    """Remove a folder; a symlink is unlinked, never followed, so a folder it points to
    (kept on another disk, say) is not emptied.  Nothing there: nothing to do."""
    if path.is_symlink():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
