"""One writer per workspace (issue 16, item 2): a second process that writes gets a
one-line error, never a corrupted folder; the lock dies with its holder."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from napari_elephant.cli import main
from napari_elephant.core.errors import WorkspaceError
from napari_elephant.core.workspace import Workspace
from tests._napari.helpers import write_workspace
from tests.process import child_env

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX flock")

HOLDER = """
import sys, time
from napari_elephant.core.workspace import Workspace
ws = Workspace.open(sys.argv[1])
ws.hold_for_writing()
print("held", flush=True)
time.sleep(120)
"""


@pytest.fixture
def held(tmp_path):
    """A workspace another process holds for writing (killed afterwards)."""
    path = write_workspace(tmp_path)
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    assert child.stdout.readline().strip() == "held"
    yield path, child
    child.kill()
    child.wait(timeout=30)


def test_a_second_writer_gets_one_line_naming_the_holder(held, capsys) -> None:
    path, child = held
    ws = Workspace.open(path)  # reading is fine
    before = sorted(p.name for p in path.iterdir())
    with pytest.raises(WorkspaceError, match=f"written by another process \\(pid {child.pid}\\)"):
        ws.hold_for_writing()
    ws.graph.remove_nuclei(ws.graph.ids_at(0)[:1].tolist())
    with pytest.raises(WorkspaceError) as error:
        ws.save_graph()
    assert "\n" not in str(error.value)
    assert main(["link", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "being written by another process" in err and "\n" not in err
    assert sorted(p.name for p in path.iterdir()) == before  # nothing touched


def test_the_lock_dies_with_its_holder(held) -> None:
    path, child = held
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    ws = Workspace.open(path)
    ws.hold_for_writing()
    ws.save_graph()
    ws.release()


def test_one_process_may_hold_it_many_times(tmp_path) -> None:
    path = write_workspace(tmp_path)
    a, b = Workspace.open(path), Workspace.open(path)
    a.hold_for_writing()
    b.hold_for_writing()
    a.save_graph()
    a.release()
    b.save_graph()
    b.release()


def test_without_flock_saves_still_work(tmp_path, monkeypatch) -> None:
    from napari_elephant.core import workspace_lock

    monkeypatch.setattr(workspace_lock, "fcntl", None)  # Windows has no flock
    path = write_workspace(tmp_path)
    ws = Workspace.open(path)
    ws.hold_for_writing()
    ws.graph.remove_nuclei(ws.graph.ids_at(0)[:1].tolist())
    ws.save_graph()
    ws.release()
    assert len(Workspace.open(path).graph) == len(ws.graph)


def _other_names(path):
    """The same workspace through a symlink and through a path with '..'."""
    link = path.parent / "link.elephant"
    link.symlink_to(path, target_is_directory=True)
    dotted = path.parent / "sub" / ".." / path.name
    (path.parent / "sub").mkdir()
    return link, dotted


def test_one_workspace_under_other_names_is_one_writer_in_a_process(tmp_path) -> None:
    """Found while testing symlinks: the lock was keyed by the path as written, so a
    process that held a workspace refused itself when it came back through a symlink."""
    path = write_workspace(tmp_path)
    link, dotted = _other_names(path)
    ws = [Workspace.open(p) for p in (path, link, dotted)]
    for w in ws:
        w.hold_for_writing()
    for w in ws:
        w.save_graph()
        w.release()
    assert not (link / "graph.geff.tmp").exists()


def test_another_process_is_refused_under_any_name(held) -> None:
    path, child = held
    for other in _other_names(path):
        with pytest.raises(WorkspaceError, match=f"pid {child.pid}"):
            Workspace.open(other).hold_for_writing()
