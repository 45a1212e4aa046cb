"""The autosave's thread timer (a viewer without the dock's Qt timer)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from napari_elephant._napari.autosave import Autosaver, ThreadTimer
from napari_elephant.core.workspace import Workspace
from tests._napari.helpers import same_graph
from tests._napari.proofreading_helpers import point_at


def test_restarts_coalesce_into_one_call_after_the_last() -> None:
    calls: list[float] = []
    done = threading.Event()
    timer = ThreadTimer(0.15, lambda: (calls.append(time.monotonic()), done.set()))
    start = time.monotonic()
    for _ in range(5):
        timer.start()
        time.sleep(0.05)
    assert done.wait(5)
    time.sleep(0.3)
    assert len(calls) == 1 and calls[0] - start >= 0.15 + 4 * 0.05


def test_cancel_drops_the_pending_call() -> None:
    calls: list[int] = []
    timer = ThreadTimer(0.1, lambda: calls.append(1))
    timer.start()
    timer.cancel()
    time.sleep(0.3)
    assert calls == []


def test_its_thread_is_not_a_daemon_so_an_exit_waits_for_the_save() -> None:
    timer = ThreadTimer(0.05, lambda: None)
    timer.start()
    assert timer._timer is not None and not timer._timer.daemon
    timer._timer.join(5)


def test_autosave_then_reopen_restores_the_same_graph(tracks) -> None:
    viewer, session, p = tracks
    point_at(viewer, 0, 18, 18)
    p.editor.set_status("accepted")
    p.editor.add_at_cursor()
    session.selection.select([5, 8])
    p.editor.link_selected()
    reopened = Workspace.open(session.workspace.path).graph
    assert same_graph(reopened, session.graph)
    assert reopened.next_id == session.graph.next_id


def test_autosave_waits_for_the_timer_and_flushes_on_a_workspace_switch(tracks) -> None:
    _, session, p = tracks
    restarts = []
    saver: Autosaver = p.autosaver
    saver.use_timer(SimpleNamespace(start=lambda: restarts.append(1)))
    path = session.workspace.path
    session.graph.set_status([5], "rejected")
    session.graph.set_status([8], "rejected")
    assert len(restarts) == 2 and saver.pending is session.workspace
    assert Workspace.open(path).graph.nucleus(5).status == "predicted"  # not yet
    session.close()  # switching away writes what is pending
    assert Workspace.open(path).graph.nucleus(8).status == "rejected"
    assert not saver.flush()  # nothing left


def test_the_timer_save_runs_in_a_thread_and_drops_a_copy_torn_by_an_edit(tracks) -> None:
    _, session, p = tracks
    saver: Autosaver = p.autosaver
    restarts = []
    saver.use_timer(SimpleNamespace(start=lambda: restarts.append(1)))
    path = session.workspace.path
    session.graph.set_status([5], "rejected")
    saver.flush_in_background()
    assert saver.wait(timeout=30) and saver.pending is None
    assert Workspace.open(path).graph.nucleus(5).status == "rejected"
    # A graph that changes while the thread writes it is not swapped in ...
    session.graph.set_status([8], "rejected")
    real_save = Workspace.save_graph
    started, go = threading.Event(), threading.Event()

    def slow_save(ws, still_valid=None):
        started.set()
        go.wait(10)
        return real_save(ws, still_valid)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Workspace, "save_graph", slow_save)
        saver.flush_in_background()
        assert started.wait(10)
        session.graph.set_status([2], "rejected")  # the user edits meanwhile
        go.set()
        assert saver.wait(timeout=30)
    assert Workspace.open(path).graph.nucleus(8).status == "predicted"
    assert saver.pending is session.workspace  # ... and the edit queued the next save
    assert saver.flush()
    reopened = Workspace.open(path).graph
    assert reopened.nucleus(8).status == "rejected" and reopened.nucleus(2).status == "rejected"
