"""Tiled flow prediction, µm fields and the positions at t-1."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.flow.model import FlowUNet, make_config
from napari_elephant.core.flow.predict import (
    flow_to_um,
    mean_flow_inside,
    predict_normalised,
    previous_positions,
)
from napari_elephant.core.graph import make_nucleus
from napari_elephant.core.units import VoxelSize

VOXEL = VoxelSize(2.0, 0.5, 0.5)
SCALE = (0.1, 0.05, 0.05)
CPU = torch.device("cpu")


def constant_model(value=(0.2, -0.1, 0.4)) -> FlowUNet:
    """A network whose output is the same vector everywhere (head bias only)."""
    model = FlowUNet(make_config(VOXEL, 4, 2, scale=SCALE))
    with torch.no_grad():
        model.head.bias.copy_(torch.atanh(torch.tensor(value)))
    return model


def test_tiles_blend_into_the_networks_output():
    frames = np.random.default_rng(0).random((2, 6, 40, 56), dtype=np.float32)
    out = predict_normalised(
        constant_model(), *frames, CPU, tile_shape=(4, 24, 24), overlap=(2, 8, 8)
    )
    assert out.shape == (3, 6, 40, 56) and out.dtype == np.float32
    assert np.allclose(out, np.array([0.2, -0.1, 0.4])[:, None, None, None], atol=1e-5)


def test_untiled_prediction_matches_a_direct_forward_pass():
    torch.manual_seed(0)
    model = FlowUNet(make_config(VOXEL, 4, 2, scale=SCALE))
    torch.nn.init.normal_(model.head.weight, std=0.5)
    frames = np.random.default_rng(1).random((2, 4, 16, 16), dtype=np.float32)
    with torch.no_grad():
        direct = model(torch.from_numpy(frames[None]))[0].numpy()
    assert np.allclose(predict_normalised(model, *frames, CPU), direct, atol=1e-5)


def test_frames_of_different_shapes_are_refused():
    with pytest.raises(InvalidInputError, match="two"):
        predict_normalised(constant_model(), np.zeros((4, 8, 8)), np.zeros((4, 8, 9)), CPU)


def test_normalised_flow_becomes_micrometres():
    um = flow_to_um(np.full((3, 1, 1, 1), 0.5, dtype=np.float32), SCALE, VOXEL)
    # 0.5 / (0.1, 0.05, 0.05) = (5, 10, 10) voxels of (2, 0.5, 0.5) µm
    assert um[:, 0, 0, 0] == pytest.approx([10.0, 5.0, 5.0])


def test_position_at_t_minus_1_is_the_centre_plus_the_mean_flow_inside():
    flow = np.zeros((3, 8, 32, 32), dtype=np.float32)
    flow[1, :, :16] = 2.0  # y flow 2 µm in the upper half (y < 8 µm), 0 below
    inside_upper = make_nucleus(1, 1, (6.0, 3.0, 8.0), radius=2.0)
    straddling = make_nucleus(2, 1, (6.0, 7.75, 8.0), radius=2.0)  # half its voxels move
    est = previous_positions(flow, VOXEL, [inside_upper, straddling])
    assert est[0] == pytest.approx([6.0, 5.0, 8.0])
    assert est[1, 1] - 7.75 == pytest.approx(1.0, abs=0.15)


def test_a_nucleus_between_voxel_centres_takes_the_nearest_voxels_flow():
    flow = np.zeros((3, 4, 8, 8), dtype=np.float32)
    flow[2, 1, 2, 3] = -1.5
    tiny = make_nucleus(1, 1, (2.0 + 0.3, 1.0 + 0.1, 1.5 - 0.1), radius=0.05)
    assert mean_flow_inside(flow, VOXEL, tiny) == pytest.approx([0.0, 0.0, -1.5])
