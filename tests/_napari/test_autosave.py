"""The autosave's thread timer (a viewer without the dock's Qt timer)."""

from __future__ import annotations

import threading
import time

from napari_elephant._napari.autosave import ThreadTimer


def test_restarts_coalesce_into_one_call_after_the_last() -> None:
    calls: list[float] = []
    done = threading.Event()
    timer = ThreadTimer(0.15, lambda: (calls.append(time.monotonic()), done.set()))
    start = time.monotonic()
    for _ in range(5):
        timer.restart()
        time.sleep(0.05)
    assert done.wait(5)
    time.sleep(0.3)
    assert len(calls) == 1 and calls[0] - start >= 0.15 + 4 * 0.05


def test_cancel_drops_the_pending_call() -> None:
    calls: list[int] = []
    timer = ThreadTimer(0.1, lambda: calls.append(1))
    timer.restart()
    timer.cancel()
    time.sleep(0.3)
    assert calls == []


def test_its_thread_is_not_a_daemon_so_an_exit_waits_for_the_save() -> None:
    timer = ThreadTimer(0.05, lambda: None)
    timer.restart()
    assert timer._timer is not None and not timer._timer.daemon
    timer._timer.join(5)
