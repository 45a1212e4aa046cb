"""One writer per workspace: an advisory lock on ``NAME.elephant/.lock``.

Two processes writing one workspace would each swap in their own graph, the
last one silently undoing the other's work, and two saves at the same moment
would write into the same temporary folder.  So a process that writes holds
an exclusive ``flock`` on the workspace's lock file: the CLI's writing
commands for their whole run, a napari session while the workspace is open,
and every save while it writes.  The second process gets a one-line error
naming the holder's pid.  The operating system drops the lock when its
holder exits, however it exits (kill -9 included): there is no stale lock.

``flock`` locks belong to an open file, so within one process the holds are
counted here and share one file (a session, its autosave thread and a
reopened copy of the same workspace are one writer).  Where the system has no
``flock`` (Windows) the holds are only counted: saves stay atomic, but a
second process is not stopped.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from napari_elephant.core.errors import WorkspaceError

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None

LOCK_FILE = ".lock"
_HELD: dict[Path, list[int]] = {}  # lock file → [fd, holds] in this process
_GUARD = threading.Lock()


def hold(root: str | os.PathLike) -> Callable[[], None]:
    """Take the workspace's writer lock (or one more hold of this process' lock);
    returns the function that gives this hold back.  A one-line error when another
    process holds it."""
    key = Path(root).resolve() / LOCK_FILE  # one key under any name (symlinks, '..')
    with _GUARD:
        if key in _HELD:
            _HELD[key][1] += 1
        else:
            _HELD[key] = [_acquire(key), 1]
    released = False

    def release() -> None:
        nonlocal released
        if not released:
            released = True
            _release(key)

    return release


@contextmanager
def writing(root: str | os.PathLike) -> Iterator[None]:
    """Hold the lock while a block writes."""
    release = hold(root)
    try:
        yield
    finally:
        release()


def _acquire(key: Path) -> int:
    fd = os.open(key, os.O_RDWR | os.O_CREAT, 0o644)
    if fcntl is None:
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise WorkspaceError(
            f"{key.parent} is being written by another process (pid {holder}); "
            "close it there first"
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _release(key: Path) -> None:
    with _GUARD:
        entry = _HELD.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] > 0:
            return
        del _HELD[key]
    if fcntl is not None:
        fcntl.flock(entry[0], fcntl.LOCK_UN)
    os.close(entry[0])
