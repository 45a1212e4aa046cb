"""Flow rounds on a workspace: train → save → load → estimate, and the errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.flow import engine
from napari_elephant.core.flow.model import FlowConfig, FlowUNet, make_config
from napari_elephant.core.params import FlowParams, ParameterSets
from napari_elephant.core.training.checkpoint import read_checkpoint_config, save_checkpoint
from napari_elephant.core.training.progress import StopFlag, drain
from napari_elephant.core.workspace import SETTINGS, Workspace
from tests.core.flow.helpers import SHAPE, STEP, VOXEL, centers, make_workspace

CPU = torch.device("cpu")
TINY_SCALE = (0.1, 0.05, 0.05)
FAST = FlowParams(
    learning_rate=1e-2,
    epochs=10,
    crops_per_timepoint=2,
    crop_size=(8, 32, 32),
    augment=False,
    seed=0,
)


def seed_tiny_model(ws: Workspace) -> None:
    """A small network in the workspace, so training resumes from it (fast tests)."""
    torch.manual_seed(0)
    model = FlowUNet(make_config(VOXEL, 4, 2, scale=TINY_SCALE))
    save_checkpoint(engine.flow_dir(ws), model, model.config)


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Workspace:
    ws = make_workspace(tmp_path_factory.mktemp("flow"))
    seed_tiny_model(ws)
    drain(engine.train_flow_round(ws, CPU, FAST))
    return ws


@pytest.fixture
def ws(tmp_path) -> Workspace:
    ws = make_workspace(tmp_path)
    seed_tiny_model(ws)
    return ws


def test_train_save_load_estimate_moves_positions_toward_the_truth(trained):
    reopened = Workspace.open(trained.path)  # the model comes from disk
    assert engine.has_flow_model(reopened)
    estimate = engine.flow_estimator(reopened, CPU)
    nuclei = reopened.graph.nuclei_at(2)
    guess = estimate(2, nuclei)
    truth = centers(1)
    before = np.linalg.norm(np.array([n.center for n in nuclei]) - truth, axis=1)
    after = np.linalg.norm(guess - truth, axis=1)
    assert guess.shape == (4, 3)
    assert np.all(after < 0.5 * before), (before, after)


def test_checkpoint_records_the_scale_and_the_links(trained):
    document = read_checkpoint_config(engine.flow_dir(trained), expected_kind="flow")
    assert FlowConfig.from_dict(document["model"]).scale == pytest.approx(TINY_SCALE)
    assert document["training"]["links"] == 8 and document["training"]["timepoints"] == [1, 2]


def test_predicted_flow_is_in_micrometres_pointing_back(trained):
    flow = engine.predict_flow(trained, CPU, 1)
    assert flow.shape == (3, *SHAPE) and flow.dtype == np.float32
    inside = np.zeros(SHAPE, dtype=bool)
    for c in centers(1):  # voxel nearest each nucleus centre at t=1
        inside[tuple(np.rint(c / VOXEL.array).astype(int))] = True
    mean = flow[:, inside].mean(axis=1)
    assert np.linalg.norm(mean - (-STEP)) < 0.5 * np.linalg.norm(STEP), mean


def test_estimator_caches_the_flow_of_a_timepoint(trained, monkeypatch):
    calls = []
    real = engine.predict_normalised
    monkeypatch.setattr(
        engine, "predict_normalised", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    estimate = engine.flow_estimator(trained, CPU)
    nuclei = trained.graph.nuclei_at(2)
    first = estimate(2, nuclei)
    again = estimate(2, nuclei[:2])
    assert len(calls) == 1 and np.array_equal(first[:2], again)
    assert estimate(1, []).shape == (0, 3)


def test_flow_needs_a_previous_timepoint(trained):
    with pytest.raises(InvalidInputError, match="t-1"):
        engine.predict_flow(trained, CPU, 0)


def test_no_accepted_links_is_a_clear_error(ws):
    ws.graph.set_link_status([link.key for link in ws.graph.links()], "predicted")
    with pytest.raises(InvalidInputError, match="no accepted links"):
        drain(engine.train_flow_round(ws, CPU, FAST))


def test_no_model_is_a_clear_error(tmp_path):
    ws = make_workspace(tmp_path)
    assert not engine.has_flow_model(ws)
    with pytest.raises(InvalidInputError, match="no trained flow model"):
        engine.flow_estimator(ws, CPU)


def test_a_stopped_round_still_saves_its_steps(ws):
    stop = StopFlag()
    records = []

    def stop_after_first(record):
        records.append(record)
        stop.set()

    outcome = drain(engine.train_flow_round(ws, CPU, FAST, stop=stop), stop_after_first)
    assert outcome.stopped and outcome.steps == 1 and len(records) == 1
    assert read_checkpoint_config(engine.flow_dir(ws))["training"]["steps"] == 1


def test_resuming_keeps_the_models_scale(ws):
    other = FAST.model_copy(update={"epochs": 1, "scale": (0.2, 0.1, 0.1)})
    drain(engine.train_flow_round(ws, CPU, other))
    model, optimizer_state, fresh = engine.load_flow_model(ws, CPU)
    assert not fresh and optimizer_state is not None
    assert model.config.scale == pytest.approx(TINY_SCALE)


def test_from_scratch_builds_the_configured_network(ws):
    params = FAST.model_copy(
        update={"epochs": 1, "crops_per_timepoint": 1, "scale": (0.2, 0.1, 0.1)}
    )
    drain(engine.train_flow_round(ws, CPU, params, timepoints=[1], from_scratch=True))
    model, _, _ = engine.load_flow_model(ws, CPU)
    assert model.config.unet.base_channels == 8  # the "default" network
    assert model.config.scale == pytest.approx((0.2, 0.1, 0.1))


def test_old_workspaces_without_flow_settings_still_open(ws):
    settings = json.loads((ws.path / SETTINGS).read_text())
    del settings["parameters"]["flow"]
    (ws.path / SETTINGS).write_text(json.dumps(settings))
    assert Workspace.open(ws.path).params.flow == FlowParams()
    assert ParameterSets().flow.scale == pytest.approx((0.1, 0.0125, 0.0125))


def test_all_zero_weights_are_a_clear_error(ws):
    for bad in ({"dim_weights": (0.0, 0.0, 0.0)}, {"alpha": 0.0, "beta": 0.0, "gamma": 0.0}):
        with pytest.raises(InvalidInputError, match="must not all be 0"):
            drain(engine.train_flow_round(ws, CPU, FAST.model_copy(update=bad)))
