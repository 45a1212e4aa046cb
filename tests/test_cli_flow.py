"""train-flow on the command line: a round, and its one-line errors."""

from __future__ import annotations

import pytest

from napari_elephant.cli import main
from napari_elephant.core.flow.engine import flow_dir, has_flow_model
from napari_elephant.core.training.checkpoint import read_checkpoint_config
from napari_elephant.core.training.device import cpu_threads
from napari_elephant.core.workspace import Workspace
from tests.core.flow.helpers import make_workspace


@pytest.fixture
def ws(tmp_path) -> Workspace:
    ws = make_workspace(tmp_path)
    ws.params.flow.seed = 0  # a repeatable round
    ws.params.flow.crops_per_timepoint = 1
    ws.save_settings()
    return ws


def test_train_flow_trains_and_saves_the_model(ws, capsys):
    with cpu_threads(1):
        code = main(["train-flow", str(ws.path), "--epochs", "1", "--device", "cpu"])
    assert code == 0
    assert "model saved" in capsys.readouterr().out
    reopened = Workspace.open(ws.path)
    assert has_flow_model(reopened)
    assert read_checkpoint_config(flow_dir(reopened))["training"]["steps"] == 1


def test_timepoints_pick_the_linked_frames(ws, capsys):
    with cpu_threads(1):
        code = main(["train-flow", str(ws.path), "--epochs", "1", "--timepoints", "2:3"])
    assert code == 0
    assert read_checkpoint_config(flow_dir(ws))["training"]["timepoints"] == [2]


def test_no_accepted_links_is_one_line(ws, capsys):
    ws.graph.set_link_status([link.key for link in ws.graph.links()], "rejected")
    ws.save_graph()
    assert main(["train-flow", str(ws.path)]) == 2
    err = capsys.readouterr().err
    assert "no accepted links" in err and "Traceback" not in err
    assert not has_flow_model(ws)


def test_bad_arguments_are_refused(ws, capsys):
    assert main(["train-flow", str(ws.path), "--timepoints", "5:9"]) == 2
    assert "outside" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["train-flow", str(ws.path), "--epochs", "0"])
    assert exc.value.code == 2
    assert "positive integer" in capsys.readouterr().err


def test_link_globally_along_the_trained_flow(ws, capsys):
    with cpu_threads(1):
        assert main(["train-flow", str(ws.path), "--epochs", "1", "--device", "cpu"]) == 0
        args = ["--method", "global", "--along-flow", "--device", "cpu"]
        code = main(["link", str(ws.path), *args])
    assert code == 0 and "linked" in capsys.readouterr().out
    assert Workspace.open(ws.path).graph.n_links > 0
