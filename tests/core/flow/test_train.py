"""Flow training: crops, flow-consistent augmentation, schedule, stopping."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_elephant.core.detection.augment import Augmenter, AugmentTransform
from napari_elephant.core.flow.labels import render_flow_labels
from napari_elephant.core.flow.model import FlowUNet, make_config
from napari_elephant.core.flow.train import (
    augment_flow_crop,
    flow_schedule,
    make_flow_sample,
    phase_lr,
    sample_flow_crop,
    train_flow,
    transform_flow,
)
from napari_elephant.core.graph import make_nucleus
from napari_elephant.core.params import FlowParams
from napari_elephant.core.training.progress import StopFlag
from napari_elephant.core.units import VoxelSize

VOXEL = VoxelSize(1.0, 0.5, 0.5)
SCALE = (0.1, 0.02, 0.02)
SHAPE = (10, 48, 48)
CPU = torch.device("cpu")


def ball(center_um: np.ndarray, radius: float = 2.5) -> np.ndarray:
    grid = np.stack(np.meshgrid(*[np.arange(n) for n in SHAPE], indexing="ij"), axis=-1)
    r = np.linalg.norm(grid * VOXEL.array - center_um, axis=-1) / radius
    return (1.0 / (1.0 + np.exp((r - 1.0) * 8.0))).astype(np.float32)


def moving_ball(step_um=(1.0, 2.0, -1.5)):
    """Frames t-1, t of one ball and its (child, parent) pair."""
    parent_c = np.array([4.5, 11.0, 13.0])
    child_c = parent_c + np.asarray(step_um)
    child = make_nucleus(2, 1, child_c, radius=2.5)
    parent = make_nucleus(1, 0, parent_c, radius=2.5)
    return ball(parent_c), ball(child_c), (child, parent)


def centroid(volume: np.ndarray) -> np.ndarray:
    w = np.clip(volume - 0.3, 0, None)
    grid = np.stack(np.meshgrid(*[np.arange(n) for n in volume.shape], indexing="ij"))
    return (grid * w).reshape(3, -1).sum(axis=1) / w.sum()


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_augmented_flow_labels_follow_the_augmented_frames(seed):
    prev, curr, p = moving_ball()
    labels = render_flow_labels(SHAPE, VOXEL, [p], SCALE)
    augmenter = Augmenter(seed, contrast_range=None, scale_range=(0.7, 1.4), voxel_size=VOXEL)
    frames, flow, mask = augment_flow_crop(
        augmenter, np.stack([prev, curr]), labels, (10, 40, 40), SCALE
    )
    moved = centroid(frames[0]) - centroid(frames[1])  # backward displacement, voxels
    label = flow[:, mask].mean(axis=1) / np.asarray(SCALE)
    assert mask.any()
    assert np.allclose(label, moved, atol=0.35), (label, moved)


def test_flips_negate_the_matching_flow_components():
    field = np.zeros((3, 2, 3, 4))
    field[:, 0, 0, 0] = (1.0, 2.0, 3.0)
    tf = AugmentTransform((2, 3, 4), (2, 3, 4), np.eye(3), flips=(True, False, True))
    out = transform_flow(tf, field)
    assert out[:, 1, 0, 3].tolist() == [-1.0, 2.0, -3.0]  # moved to the flipped corner
    assert np.count_nonzero(out[0]) == 1


def test_a_crop_holds_both_frames_and_labelled_children():
    prev, curr, p = moving_ball()
    sample = make_flow_sample(1, prev, curr, [p], VOXEL, SCALE)
    frames, flow, mask = sample_flow_crop(
        np.random.default_rng(0), sample, (8, 24, 24), VOXEL, SCALE
    )
    assert frames.shape == (2, 8, 24, 24) and flow.shape == (3, 8, 24, 24)
    assert mask.any() and not np.array_equal(frames[0], frames[1])


def test_each_epoch_visits_every_timepoint_the_same_number_of_times():
    params = FlowParams(epochs=3, crops_per_timepoint=3, batch_size=2)
    steps = flow_schedule(4, params, np.random.default_rng(0))
    assert len(steps) == 3 * 6  # 12 crops per epoch in steps of 2
    counts = np.bincount(np.concatenate(steps), minlength=4)
    assert counts.tolist() == [9, 9, 9, 9]


def test_learning_rate_drops_tenfold_for_the_second_half():
    assert [phase_lr(1e-3, i, 4) for i in range(4)] == pytest.approx([1e-3, 1e-3, 1e-4, 1e-4])


def _setup():
    prev, curr, p = moving_ball()
    torch.manual_seed(0)
    model = FlowUNet(make_config(VOXEL, 4, 2, scale=SCALE))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    sample = make_flow_sample(1, prev, curr, [p], VOXEL, SCALE)
    params = FlowParams(
        epochs=5, crops_per_timepoint=2, crop_size=(8, 24, 24), augment=False, seed=0
    )
    return model, optimizer, [sample], params


def test_training_yields_progress_per_step_and_lowers_the_loss():
    model, optimizer, samples, params = _setup()
    records = []
    gen = train_flow(model, optimizer, samples, VOXEL, params, CPU)
    while True:
        try:
            records.append(next(gen))
        except StopIteration as end:
            outcome = end.value
            break
    assert [r.step for r in records] == list(range(1, 6))
    assert outcome.steps == 5 and not outcome.stopped
    assert records[-1].loss < records[0].loss


def test_stop_between_steps():
    model, optimizer, samples, params = _setup()
    stop = StopFlag()
    gen = train_flow(model, optimizer, samples, VOXEL, params, CPU, stop=stop)
    first = next(gen)
    stop.set()
    with pytest.raises(StopIteration) as end:
        next(gen)
    assert first.step == 1 and end.value.value.stopped and end.value.value.steps == 1
