"""The shipped pretrained detection model: present, documented, useful, and
copied (never modified) when a round starts from it."""

from __future__ import annotations

import hashlib

import pytest
import torch

from napari_elephant.core.detection import engine, pretrained
from napari_elephant.core.detection.merge import merge_predictions
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.io.image import write_ome_zarr
from napari_elephant.core.metrics import detection_scores
from napari_elephant.core.params import TrainingParams
from napari_elephant.core.synthetic import generate
from napari_elephant.core.training.checkpoint import build_model_from_checkpoint
from napari_elephant.core.training.progress import drain
from napari_elephant.core.workspace import Workspace

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def movie():
    return generate("tiny", seed=7)


@pytest.fixture
def ws(tmp_path, movie) -> Workspace:
    path = write_ome_zarr(tmp_path / "m.ome.zarr", movie.image, movie.voxel_size)
    ws = Workspace.create(tmp_path / "w.elephant", path)
    ws.graph.add_nuclei(movie.graph.nuclei_at(0)[:2])
    return ws


def digest(folder) -> str:
    return hashlib.sha256((folder / "weights.pt").read_bytes()).hexdigest()


def test_the_package_ships_a_small_documented_model():
    folder = pretrained.require_pretrained()
    assert pretrained.has_pretrained()
    assert (folder / "weights.pt").stat().st_size < 4_000_000
    recipe = pretrained.pretrained_recipe()
    assert "scripts/train_pretrained.py" in recipe["recipe"]
    assert set(recipe["presets"]) >= {"default", "crowded_dim"}
    assert not {1001, 1002, 1003} & set(recipe["preset_seeds"])  # benchmark seeds held out
    first, last = recipe["micro_seeds"]
    assert first > 1003 and last >= first and recipe["timepoints_2d"] > 0  # 2D movies seen
    model = build_model_from_checkpoint(folder)
    assert next(model.parameters()).dtype == torch.float32


def test_the_pretrained_model_finds_nuclei_before_any_training(ws, movie):
    model = build_model_from_checkpoint(pretrained.require_pretrained())
    setup = engine.detection_setup(ws)
    volume = ws.open_image().timepoint(1)
    found = engine.predict_volume(model, volume, setup.grid, setup.params, CPU)
    merge_predictions(ws.graph, 1, found, setup.params.d_sup)
    scores = detection_scores(ws.graph, movie.graph, dmax=3.0, timepoints=[1])
    assert scores.f1 >= 0.8, scores


def test_a_round_from_pretrained_trains_a_copy(ws):
    before = digest(pretrained.pretrained_dir())
    params = TrainingParams(steps=2, crop_size=(8, 32, 32), seed=0)
    tasks = []
    drain(engine.train_round(ws, CPU, params, start="pretrained"), tasks.append)
    assert [r.task for r in tasks] == ["training"] * 2  # not fresh: no prior phase
    assert digest(pretrained.pretrained_dir()) == before
    model, optimizer_state, fresh = engine.load_model(ws, CPU)
    assert not fresh and optimizer_state is not None
    shipped = build_model_from_checkpoint(pretrained.pretrained_dir())
    assert model.config == shipped.config


def test_an_unknown_start_is_a_clear_error(ws):
    with pytest.raises(InvalidInputError, match="unknown start"):
        engine.load_model(ws, CPU, "yesterday")  # type: ignore[arg-type]


def test_a_missing_pretrained_model_is_a_clear_error(ws, monkeypatch, tmp_path):
    monkeypatch.setattr(pretrained, "pretrained_dir", lambda: tmp_path / "nowhere")
    with pytest.raises(InvalidInputError, match="missing from this installation"):
        drain(engine.train_round(ws, CPU, TrainingParams(steps=1), start="pretrained"))
