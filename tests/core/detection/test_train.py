"""Training crops and the training generator (tiny data, CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_elephant.core.detection.labels import CENTER, IGNORE
from napari_elephant.core.detection.model import DetectionUNet, UNetConfig
from napari_elephant.core.detection.train import (
    PRIOR_CROPS_PER_EPOCH,
    PRIOR_LEARNING_RATES,
    crop_start,
    make_annotation,
    sample_crop,
    take,
    train_detection,
)
from napari_elephant.core.params import DetectionParams, TrainingParams
from napari_elephant.core.synthetic import generate
from napari_elephant.core.training.progress import StopFlag, drain


@pytest.fixture(scope="module")
def annotation():
    movie = generate("tiny", seed=1)
    volume = movie.image[0].astype(np.float32)
    volume = (volume - volume.min()) / np.ptp(volume)
    nuclei = movie.graph.nuclei_at(0)[:2]
    return make_annotation(0, volume, nuclei, [], movie.voxel_size, DetectionParams())


def tiny_model() -> DetectionUNet:
    torch.manual_seed(0)
    return DetectionUNet(UNetConfig(base_channels=4, depth=2, pool_z=(False, True)))


def test_crops_slide_inside_the_volume_and_pad_only_when_too_small():
    start = crop_start(np.array([0.0, 2.0, 99.0]), (4, 8, 8), (10, 50, 100))
    assert start.tolist() == [0, 0, 92]
    small = crop_start(np.array([1.0, 1.0, 1.0]), (8, 8, 8), (4, 8, 8))
    assert small.tolist() == [-2, 0, 0]
    a = np.arange(4.0).reshape(4, 1, 1)
    padded = take(a, (-2, 0, 0), (8, 1, 1), None)
    assert padded.ravel().tolist() == [0, 0, 0, 1, 2, 3, 3, 3]  # edge values, no black slab
    assert take(a, (-2, 0, 0), (8, 1, 1), IGNORE).ravel().tolist()[:2] == [IGNORE, IGNORE]


def test_every_crop_holds_an_annotated_centre(annotation):
    rng = np.random.default_rng(0)
    for _ in range(10):
        image, labels, is_false = sample_crop(rng, annotation, (8, 24, 24), None)
        assert image.shape == labels.shape == is_false.shape == (8, 24, 24)
        assert (labels == CENTER).any()


def test_training_yields_progress_and_lowers_the_loss(annotation):
    model = tiny_model()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    params = TrainingParams(steps=25, crop_size=(8, 32, 32), seed=0, augment=False)
    records = []
    outcome = drain(
        train_detection(
            model, opt, [annotation], annotation_vs(), params, torch.device("cpu"), prior=True
        ),
        records.append,
    )
    n_prior = len(PRIOR_LEARNING_RATES) * PRIOR_CROPS_PER_EPOCH
    assert [r.step for r in records] == list(range(1, n_prior + 26))
    assert records[0].task == "prior training" and records[-1].task == "training"
    assert records[0].lr == PRIOR_LEARNING_RATES[0]
    assert records[n_prior].lr == 2e-3 and records[-1].lr == pytest.approx(2e-4)
    losses = [r.loss for r in records[n_prior:]]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    assert not outcome.stopped and outcome.steps == n_prior + 25


def test_stop_takes_effect_between_steps(annotation):
    model = tiny_model()
    opt = torch.optim.Adam(model.parameters())
    params = TrainingParams(steps=50, crop_size=(8, 16, 16), seed=0, augment=False)
    stop = StopFlag()
    gen = train_detection(
        model, opt, [annotation], annotation_vs(), params, torch.device("cpu"), stop=stop
    )
    seen = []
    outcome = drain(gen, lambda r: (seen.append(r), stop.set() if r.step == 3 else None))
    assert outcome.stopped and outcome.steps == 3 and len(seen) == 3


def annotation_vs():
    return generate("tiny", seed=1).voxel_size


def test_averaging_keeps_the_mean_of_the_second_half_of_the_round(annotation):
    """Four steps, averaged from the third: the saved weights are the mean of the
    weights after steps 3 and 4 (checked by recording them through the progress)."""
    torch.manual_seed(0)
    model = tiny_model()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    params = TrainingParams(steps=4, crop_size=(8, 16, 16), seed=0, average_weights=True)
    seen = []
    record = lambda r: seen.append([p.detach().clone() for p in model.parameters()])  # noqa: E731
    cpu = torch.device("cpu")
    drain(train_detection(model, opt, [annotation], annotation_vs(), params, cpu), record)
    want = [(a + b) / 2 for a, b in zip(seen[2], seen[3], strict=True)]
    for got, mean in zip(model.parameters(), want, strict=True):
        torch.testing.assert_close(got, mean)


def _flushed() -> bool:
    return (torch.tensor([1e-39]) * 1.0).item() == 0.0


def test_a_round_flushes_denormals_between_its_steps_and_puts_the_default_back(annotation):
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU has no flush-to-zero mode")
    model = tiny_model()
    opt = torch.optim.Adam(model.parameters())
    params = TrainingParams(steps=3, crop_size=(8, 16, 16), seed=0, augment=False)
    gen = train_detection(model, opt, [annotation], annotation_vs(), params, torch.device("cpu"))
    during = []
    drain(gen, lambda _record: during.append(_flushed()))
    assert during == [True] * 3 and not _flushed()
