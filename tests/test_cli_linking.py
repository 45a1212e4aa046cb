"""The link command: links a workspace's nuclei, saves, and reports bad input in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_elephant.cli import main
from napari_elephant.core.graph import Status, TrackingGraph
from napari_elephant.core.io.image import write_ome_zarr
from napari_elephant.core.synthetic import ground_truth
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import Workspace


@pytest.fixture
def workspace(tmp_path) -> tuple[Path, TrackingGraph]:
    """A workspace holding the true nuclei of the tiny preset, unlinked, as predictions."""
    truth = ground_truth("tiny", seed=1)
    movie = write_ome_zarr(
        tmp_path / "movie.ome.zarr", np.zeros((4, 8, 48, 48), np.uint16), VoxelSize(2, 0.5, 0.5)
    )
    graph = TrackingGraph.from_records(n.with_(status=Status.PREDICTED) for n in truth.nuclei())
    ws = Workspace.create(tmp_path / "w.elephant", movie, graph=graph)
    return ws.path, truth


def test_link_links_and_saves(workspace, capsys):
    path, truth = workspace
    assert main(["link", str(path)]) == 0
    assert "links added" in capsys.readouterr().out
    graph = Workspace.open(path).graph
    assert {lk.key for lk in graph.links()} == {lk.key for lk in truth.links()}
    assert {lk.status for lk in graph.links()} == {Status.PREDICTED}


def test_link_a_range_with_the_global_method(workspace):
    path, truth = workspace
    assert main(["link", str(path), "--method", "global", "--timepoints", "0:2"]) == 0
    graph = Workspace.open(path).graph
    expected = {lk.key for lk in truth.links() if truth.nucleus(lk.child).t == 1}
    assert {lk.key for lk in graph.links()} == expected


def test_flow_without_a_trained_model_is_one_line(workspace, capsys):
    pytest.importorskip("napari_elephant.core.flow.engine")
    path, _ = workspace
    assert main(["link", str(path), "--method", "flow", "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "flow model" in err
    assert Workspace.open(path).graph.n_links == 0


def test_bad_timepoints_are_one_line(workspace, capsys):
    path, _ = workspace
    assert main(["link", str(path), "--timepoints", "3:99"]) == 2
    assert "timepoints" in capsys.readouterr().err


def test_global_along_the_flow_needs_a_flow_model(workspace, capsys):
    path, _ = workspace
    assert main(["link", str(path), "--method", "global", "--along-flow"]) == 2
    assert "flow model" in capsys.readouterr().err
    ws = Workspace.open(path)
    ws.params.linking.along_flow = True
    ws.save_settings()
    assert main(["link", str(path), "--method", "global", "--no-along-flow"]) == 0
