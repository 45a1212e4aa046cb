"""kill -9 at random moments (issue 16, item 2): a process saving a workspace (or
importing into it) over and over is killed with SIGKILL; the workspace then opens
and holds at least everything the process had reported saved."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from napari_elephant.core.workspace import Workspace
from tests._napari.helpers import write_workspace
from tests.process import child_env

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SAVER = """
import sys
from napari_elephant.core.workspace import Workspace
ws = Workspace.open(sys.argv[1])
n = 0
while True:
    for _ in range(int(sys.argv[2])):
        n += 1
        ws.graph.add_nucleus(3, (10.0, 1.0 + n % 40, 2.0 + n // 40), radius=1.0)
    ws.save_graph()
    print(len(ws.graph), flush=True)
"""


def saves_until_killed(path: Path, batch: int, delay: float) -> int:
    """Start a saver, kill it ``delay`` s after its first save; the last count it
    reported saved."""
    child = subprocess.Popen(
        [sys.executable, "-c", SAVER, str(path), str(batch)],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    first = child.stdout.readline()  # the first save is done
    assert first, "the saver died before its first save"
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    rest = child.stdout.read().split()
    child.wait(timeout=30)
    return int(([first.strip(), *rest])[-1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_save_killed_at_any_moment_loses_nothing_saved(tmp_path, seed) -> None:
    path = write_workspace(tmp_path)
    base = len(Workspace.open(path).graph)
    rng = np.random.default_rng(seed)
    for _ in range(2):
        reported = saves_until_killed(path, batch=int(rng.integers(1, 200)),
                                      delay=float(rng.uniform(0.0, 0.8)))  # fmt: skip
        ws = Workspace.open(path)  # recovers a save cut short
        assert len(ws.graph) >= reported  # everything reported saved, maybe one save more
        names = sorted(p.name for p in path.iterdir())
        assert not [n for n in names if n.endswith((".tmp", ".old", ".done"))]
        assert len(ws.graph.nuclei_at(3)) >= reported - base


def test_an_import_killed_at_any_moment_leaves_the_old_graph_or_the_new(tmp_path) -> None:
    from napari_elephant.core.io.csv_io import write_csv

    path = write_workspace(tmp_path)
    before = len(Workspace.open(path).graph)
    extra = Workspace.open(path).graph
    extra.remove_nuclei(list(extra.nx_graph.nodes))
    for n in range(3000):  # a file big enough for the import to take a while
        extra.add_nucleus(3, (10.0, 1.0 + n % 60, 2.0 + n // 60), radius=1.0)
    write_csv(extra, tmp_path / "more.csv")
    rng = np.random.default_rng(0)
    for _ in range(2):
        _killed(["import", str(path), str(tmp_path / "more.csv")], float(rng.uniform(1.0, 4.0)))
        n = len(Workspace.open(path).graph)
        assert n in (before, before + 3000), n  # all or nothing
        before = n


def _killed(args: list[str], delay: float) -> None:
    """Run ``napari-elephant ARGS`` and SIGKILL it after ``delay`` s."""
    child = subprocess.Popen(
        [sys.executable, "-m", "napari_elephant", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=child_env(),
    )  # fmt: skip
    time.sleep(delay)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)


@pytest.fixture
def trained(tmp_path) -> Path:
    """A tiny workspace with small training settings and one finished round."""
    from napari_elephant.core.params import TrainingParams

    path = write_workspace(tmp_path)
    ws = Workspace.open(path)
    ws.params.training = TrainingParams(steps=2, crop_size=(8, 32, 32), seed=0)
    ws.save_settings()
    done = subprocess.run(
        [sys.executable, "-m", "napari_elephant", "train-detection", str(path)],
        capture_output=True, text=True, timeout=300,
        env=child_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return path


def _model_loads(path: Path) -> None:
    from napari_elephant.core.detection.engine import detection_dir
    from napari_elephant.core.training.checkpoint import build_model_from_checkpoint

    build_model_from_checkpoint(detection_dir(Workspace.open(path)))


def test_a_training_round_killed_at_any_moment_leaves_a_model_that_loads(trained) -> None:
    graph = sorted(lk.key for lk in Workspace.open(trained).graph.links())
    rng = np.random.default_rng(1)
    for delay in rng.uniform(2.0, 9.0, 3):  # torch loads, trains, writes the checkpoint
        _killed(["train-detection", str(trained), "--steps", "60"], float(delay))
        _model_loads(trained)  # the old model or the new one, never a torn one
        assert sorted(lk.key for lk in Workspace.open(trained).graph.links()) == graph


def test_a_prediction_killed_at_any_moment_keeps_every_annotation(trained) -> None:
    """A prediction saves once, at its end: killed before, the graph is the one saved;
    killed after, it holds the predictions beside every accepted nucleus, unchanged."""
    from napari_elephant.core.graph import Status

    accepted = [n for n in Workspace.open(trained).graph.nuclei() if n.status == Status.ACCEPTED]
    assert accepted
    rng = np.random.default_rng(2)
    for delay in rng.uniform(2.0, 8.0, 2):
        _killed(["predict", str(trained)], float(delay))
        ws = Workspace.open(trained)
        assert all(ws.graph.nucleus(n.id) == n for n in accepted)
        _model_loads(trained)
