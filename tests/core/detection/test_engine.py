"""Detection rounds on a workspace: train → save → load → predict, and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_elephant.core.detection import engine
from napari_elephant.core.detection.merge import merge_predictions
from napari_elephant.core.detection.model import DetectionUNet, UNetConfig
from napari_elephant.core.ellipsoid import median_lateral_radius
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.io.image import write_ome_zarr
from napari_elephant.core.metrics import detection_scores
from napari_elephant.core.params import TrainingParams
from napari_elephant.core.synthetic import generate
from napari_elephant.core.training.checkpoint import save_checkpoint
from napari_elephant.core.training.device import configure_precision
from napari_elephant.core.training.progress import StopFlag, drain
from napari_elephant.core.workspace import Workspace

CPU = torch.device("cpu")
# The prior phase makes 40 steps on 3 annotations of the tiny movie reliable (the
# pipeline is under test here, not the defaults: benchmarks/detection_accuracy.py).
FAST = TrainingParams(steps=40, crop_size=(8, 32, 32), seed=0, prior=True)


@pytest.fixture(scope="module")
def movie():
    return generate("tiny", seed=5)


@pytest.fixture
def ws(tmp_path, movie) -> Workspace:
    path = write_ome_zarr(tmp_path / "m.ome.zarr", movie.image, movie.voxel_size)
    ws = Workspace.create(tmp_path / "w.elephant", path)
    ws.graph.add_nuclei(movie.graph.nuclei_at(0)[:3])
    return ws


@pytest.fixture(scope="module")
def trained(tmp_path_factory, movie) -> Workspace:
    """One training round shared by the prediction tests (it is the slow part)."""
    tmp = tmp_path_factory.mktemp("trained")
    path = write_ome_zarr(tmp / "m.ome.zarr", movie.image, movie.voxel_size)
    ws = Workspace.create(tmp / "w.elephant", path)
    ws.graph.add_nuclei(movie.graph.nuclei_at(0)[:3])
    torch.manual_seed(0)
    drain(engine.train_round(ws, CPU, FAST, timepoints=[0]))
    return ws


def test_parse_timepoints():
    assert engine.parse_timepoints(None, 4) == [0, 1, 2, 3]
    assert engine.parse_timepoints("1:3", 4) == [1, 2]
    assert engine.parse_timepoints("2:", 4) == [2, 3]
    assert engine.parse_timepoints("3", 4) == [3]
    for bad in ("a:b", "2:9", "3:1"):
        with pytest.raises(InvalidInputError, match="timepoints"):
            engine.parse_timepoints(bad, 4)


def test_train_save_load_predict_finds_the_nuclei(trained, movie):
    reopened = Workspace.open(trained.path)  # the model comes from disk
    for record in engine.predict_round(reopened, CPU):
        t, found = record.extra["t"], record.extra["ellipsoids"]
        merge_predictions(reopened.graph, t, found, engine.prediction_params(reopened).d_sup)
    scores = detection_scores(reopened.graph, movie.graph, dmax=3.0)
    assert scores.f1 >= 0.8, scores


def test_training_resumes_from_the_saved_model(trained):
    records = []
    drain(
        engine.train_round(trained, CPU, FAST.model_copy(update={"steps": 3}), [0]), records.append
    )
    assert len(records) == 3  # no prior phase: the network was not fresh
    assert all(r.task == "training" for r in records)


def test_prior_phase_runs_on_a_fresh_network_only_when_asked(trained):
    tasks = []
    few = FAST.model_copy(update={"steps": 2, "prior": TrainingParams().prior})
    drain(engine.train_round(trained, CPU, few, [0], start="scratch"), tasks.append)
    assert [r.task for r in tasks] == ["training"] * 2  # the default: no prior phase
    tasks.clear()
    with_prior = few.model_copy(update={"prior": True})
    drain(engine.train_round(trained, CPU, with_prior, [0], start="scratch"), tasks.append)
    assert [r.task for r in tasks].count("prior training") == 9 and len(tasks) == 11


def test_no_annotations_is_a_clear_error(ws):
    ws.graph.set_status(ws.graph.ids_at(0), "predicted")
    with pytest.raises(InvalidInputError, match="no annotations"):
        drain(engine.train_round(ws, CPU, FAST))


def test_annotation_outside_the_image_is_a_clear_error(ws):
    ws.graph.add_nucleus(0, (1.0, 500.0, 2.0), radius=2)
    with pytest.raises(InvalidInputError, match="outside the image"):
        drain(engine.train_round(ws, CPU, FAST))


def test_incompatible_checkpoint_is_a_clear_error(ws):
    small = DetectionUNet(UNetConfig(base_channels=4, depth=2, pool_z=(False, True)))
    other = UNetConfig(base_channels=8, depth=2, pool_z=(False, True))
    save_checkpoint(engine.detection_dir(ws), small, other)
    with pytest.raises(InvalidInputError, match="does not match"):
        drain(engine.train_round(ws, CPU, FAST))


def test_predict_needs_a_model(ws):
    with pytest.raises(InvalidInputError, match="train one first"):
        next(engine.predict_round(ws, CPU))


def test_a_stopped_round_keeps_what_it_learned(ws):
    stop = StopFlag()
    gen = engine.train_round(ws, CPU, FAST, stop=stop)
    outcome = drain(gen, lambda r: stop.set() if r.step == 2 else None)
    assert outcome.stopped and outcome.steps == 2
    assert (engine.detection_dir(ws) / "weights.pt").is_file()


def test_distributed_prediction_matches_in_process(trained):
    from napari_elephant.core.detection.distributed import predict_distributed

    tps = [0, 1, 2]
    # float32 here and on the workers: bf16 sums (a CPU with AVX-512 BF16 predicts
    # in it) differ with the thread count by a few hundredths of a µm
    trained.params.device.precision = "float32"
    configure_precision("float32")
    try:
        local = {
            r.extra["t"]: r.extra["ellipsoids"] for r in engine.predict_round(trained, CPU, tps)
        }
        spread = {
            r.extra["t"]: r.extra["ellipsoids"]
            for r in predict_distributed(trained, tps, "local", per_task=2)
        }
    finally:
        configure_precision("auto")
        trained.params.device.precision = "auto"
    assert sorted(spread) == tps
    for t in tps:
        a = np.array(sorted(tuple(e.center) for e in local[t]))
        b = np.array(sorted(tuple(e.center) for e in spread[t]))
        np.testing.assert_allclose(a, b, atol=1e-3)


def test_prediction_params_resolve_every_size_from_the_accepted_nuclei(ws):
    radius = median_lateral_radius(ws.graph.nuclei())
    params = engine.prediction_params(ws)
    assert params.nucleus_diameter == pytest.approx(2 * radius)
    assert params.r_min == pytest.approx(0.5 * radius)
    assert params.d_sup == pytest.approx(2 / 3 * radius)
    assert params.r_max == pytest.approx(2.5 * radius)
    ws.params.detection.nucleus_diameter = 3.0  # a number the user typed wins
    ws.params.detection.min_radius_fraction = 0.0
    ws.params.detection.d_sup = 1.25
    params = engine.prediction_params(ws)
    assert (params.nucleus_diameter, params.r_min, params.d_sup) == (3.0, 0.0, 1.25)


def test_without_accepted_nuclei_the_size_comes_from_the_image(ws, movie):
    ws.graph.set_status(ws.graph.ids_at(0), "predicted")
    size = engine.workspace_nucleus_size(ws)
    truth = median_lateral_radius(movie.graph.nuclei())
    assert size.source == "image"
    assert 0.7 * truth < size.radius_um < 1.2 * truth


def test_the_network_grid_follows_the_nucleus_size(ws):
    setup = engine.detection_setup(ws)
    assert setup.grid.identity  # the synthetic nuclei are at the reference size already
    ws.params.detection.nucleus_diameter = 24.0  # 4x larger nuclei: a 4x coarser grid
    setup = engine.detection_setup(ws)
    lateral = setup.grid.voxel_size.y / ws.voxel_size.y
    assert 3.5 < lateral < 4.5
    assert setup.grid.shape[1] < ws.open_image().shape_zyx[1] / 3.5


def test_a_round_holds_the_unlabelled_voxels_only_of_a_network_trained_here(trained, monkeypatch):
    seen = {}
    real = engine._train

    def spy(model, *args, held=None, **kwargs):
        seen["held"] = held
        if held is not None:  # a frozen copy of the network as the round starts
            seen["same"] = all(
                torch.equal(a, b)
                for a, b in zip(
                    held.state_dict().values(), model.state_dict().values(), strict=True
                )
            )
            seen["frozen"] = not any(p.requires_grad for p in held.parameters())
        return (yield from real(model, *args, held=held, **kwargs))

    monkeypatch.setattr(engine, "_train", spy)
    two = FAST.model_copy(update={"steps": 2})
    drain(engine.train_round(trained, CPU, two, [0]))
    assert seen["held"] is not None and seen["same"] and seen["frozen"]
    drain(engine.train_round(trained, CPU, two, [0], start="scratch"))
    assert seen["held"] is None  # a new network has to adapt everywhere
    drain(engine.train_round(trained, CPU, two.model_copy(update={"hold_unlabelled": 0.0}), [0]))
    assert seen["held"] is None


def _weights(ws: Workspace) -> dict[str, torch.Tensor]:
    model, _, _ = engine.load_model(ws, CPU)
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_a_round_from_the_pretrained_model_keeps_its_first_level_unless_asked(trained):
    three = FAST.model_copy(update={"steps": 3, "hold_unlabelled": 0.0})
    cases = [("pretrained", False, False), ("pretrained", True, True), ("current", False, True)]
    for start, tune_first, first_moves in cases:
        before = _weights(trained) if start == "current" else _pretrained_weights(trained)
        params = three.model_copy(update={"fine_tune_first_level": tune_first})
        drain(engine.train_round(trained, CPU, params, [0], start=start))
        after = _weights(trained)
        moved = {k for k in before if not torch.equal(before[k], after[k])}
        first = {k for k in before if k.startswith("encoders.0.")}
        assert bool(moved & first) is first_moves, (start, tune_first)
        assert moved - first  # the rest of the network learns either way


def _pretrained_weights(ws: Workspace) -> dict[str, torch.Tensor]:
    model, _, _ = engine.load_model(ws, CPU, start="pretrained")
    return {k: v.clone() for k, v in model.state_dict().items()}
