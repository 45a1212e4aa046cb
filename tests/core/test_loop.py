"""One headless pass of the loop: train → predict → (flow) → link, stoppable, on a tiny movie."""

from __future__ import annotations

import pydantic
import pytest
import torch

from napari_elephant.core.flow.engine import has_flow_model
from napari_elephant.core.graph import Status
from napari_elephant.core.io.image import write_ome_zarr
from napari_elephant.core.loop import (
    LoopSettings,
    consecutive_accepted_links,
    link_method,
    run_pass,
    train_flow_if_ready,
    training_params,
)
from napari_elephant.core.synthetic import generate
from napari_elephant.core.training.progress import StopFlag, drain
from napari_elephant.core.workspace import Workspace

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: on a shared 2-core machine two threads spin against each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def movie():
    return generate("tiny", seed=5)


@pytest.fixture
def ws(tmp_path, movie) -> Workspace:
    """Small crops (fast steps); t=0 and t=1 annotated from the truth, with their links."""
    path = write_ome_zarr(tmp_path / "m.ome.zarr", movie.image, movie.voxel_size)
    ws = Workspace.create(tmp_path / "w.elephant", path)
    ws.params.training.crop_size = (8, 32, 32)
    ws.params.flow.crop_size = (8, 32, 32)
    truth = movie.graph
    seeds = [*truth.nuclei_at(0), *truth.nuclei_at(1)]
    ids = {n.id for n in seeds}
    links = [lk for lk in truth.links() if lk.parent in ids and lk.child in ids]
    ws.graph.add_nuclei(seeds)
    ws.graph.add_links(links)
    assert consecutive_accepted_links(ws.graph) == len(links) > 0
    return ws


def test_a_pass_trains_predicts_every_timepoint_trains_flow_and_links(ws):
    seeds = {n.id: n for n in ws.graph.nuclei()}
    human_links = {lk.key for lk in ws.graph.links()}
    settings = LoopSettings(steps=2, seed=0, flow=True, flow_epochs=1, min_flow_links=1)
    records = []
    outcome = drain(run_pass(ws, CPU, settings), records.append)

    tasks = [r.task for r in records]
    assert tasks.count("training") == 2
    predicted_ts = [r.extra["t"] for r in records if r.task == "prediction"]
    assert predicted_ts == [0, 1, 2, 3]
    assert tasks[-3:] == ["link"] * 3  # linking comes last, one step per pair
    assert outcome.trained_steps == tasks.count("training")
    assert outcome.flow_steps == tasks.count("flow training") > 0 and has_flow_model(ws)
    assert outcome.link is not None and outcome.link.steps == 3 and not outcome.stopped
    assert set(outcome.seconds) == {"train", "predict", "flow", "link"}
    # the human annotations survive the predictions and the link run
    for nid, n in seeds.items():
        assert ws.graph.nucleus(nid) == n
    accepted = {lk.key for lk in ws.graph.links() if lk.status == Status.ACCEPTED}
    assert accepted == human_links
    new = [n for n in ws.graph.nuclei() if n.id not in seeds]
    assert len(new) == outcome.predicted.added
    assert all(n.status == Status.PREDICTED for n in new)


def test_a_stopped_pass_changes_nothing(ws):
    before = len(ws.graph), ws.graph.n_links
    stop = StopFlag()
    stop.set()
    outcome = drain(run_pass(ws, CPU, LoopSettings(steps=2), stop))
    assert outcome.stopped and outcome.trained_steps == 0
    assert outcome.predicted.added == 0 and outcome.link is None
    assert (len(ws.graph), ws.graph.n_links) == before


def test_flow_waits_for_enough_accepted_links(ws):
    enough = consecutive_accepted_links(ws.graph)
    settings = LoopSettings(flow=True, min_flow_links=enough + 1)
    assert drain(train_flow_if_ready(ws, CPU, settings)) == 0
    assert drain(train_flow_if_ready(ws, CPU, LoopSettings(flow=False))) == 0
    assert not has_flow_model(ws)


def test_flow_linking_needs_a_flow_model(ws):
    ws.params.linking.method = "flow"
    assert link_method(ws, LoopSettings()) == ("nn", False)  # no model yet: plain nn
    assert link_method(ws, LoopSettings(link_method="global")) == ("global", False)


def test_training_params_override_steps_and_seed_and_are_validated(ws):
    params = training_params(ws, LoopSettings(steps=7, seed=3))
    assert (params.steps, params.seed) == (7, 3)
    assert params.crop_size == (8, 32, 32)  # the rest is the workspace's
    assert training_params(ws, LoopSettings()).steps == ws.params.training.steps
    with pytest.raises(pydantic.ValidationError):
        training_params(ws, LoopSettings(steps=0))
