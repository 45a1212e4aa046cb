"""The flow U-Net: paper size, residual halving, tanh range, scale, config round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_elephant.core.detection.model import UNetConfig, count_parameters
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.flow.model import (
    PAPER_SCALE,
    FlowConfig,
    FlowUNet,
    ResidualBlock,
    default_flow_config,
    make_config,
    paper_flow_config,
    preset_flow_config,
    to_voxels,
)
from napari_elephant.core.units import VoxelSize

ANISO = VoxelSize(2.0, 0.5, 0.5)


def tiny() -> FlowUNet:
    torch.manual_seed(0)
    return FlowUNet(make_config(ANISO, base_channels=4, depth=2))


def test_paper_config_has_the_papers_parameter_count():
    assert count_parameters(FlowUNet(paper_flow_config(ANISO))) == 5_928_051
    assert count_parameters(FlowUNet(default_flow_config(ANISO))) < 1_500_000


def test_paper_scale_is_one_tenth_in_z_and_one_eightieth_laterally():
    assert np.allclose(PAPER_SCALE, (1 / 10, 1 / 80, 1 / 80))
    assert preset_flow_config("paper", ANISO).scale == pytest.approx(PAPER_SCALE)


@pytest.mark.parametrize("shape", [(7, 33, 45), (1, 5, 9), (8, 32, 32)])
def test_output_has_three_channels_of_the_input_size(shape):
    with torch.no_grad():
        out = tiny()(torch.rand(2, 2, *shape))
    assert out.shape == (2, 3, *shape)


def test_a_fresh_network_predicts_no_motion():
    with torch.no_grad():
        out = tiny()(torch.rand(1, 2, 8, 32, 32))
    assert torch.count_nonzero(out) == 0


def test_outputs_stay_inside_the_tanh_range():
    model = tiny()
    torch.nn.init.normal_(model.head.weight, std=50.0)
    with torch.no_grad():
        out = model(torch.rand(1, 2, 8, 32, 32))
    assert out.abs().max() <= 1.0
    assert out.abs().max() > 0.5  # large logits really reach the ends


def test_residual_block_halves_the_sum_before_the_activation():
    block = ResidualBlock(1, 1, slope=0.1)
    with torch.no_grad():
        block.skip.weight.fill_(1.0)
        for conv in (block.conv1, block.conv2):
            conv.weight.zero_()
            conv.bias.zero_()
        block.conv2.bias.fill_(0.4)  # the conv path adds a constant 0.4
    x = torch.tensor([-2.0, 1.0, 3.0]).reshape(1, 1, 1, 1, 3)
    expected = torch.nn.functional.leaky_relu((x + 0.4) / 2, 0.1)
    assert torch.allclose(block(x), expected)


def test_normalised_outputs_become_voxels_with_the_scale():
    out = np.full((3, 2, 2, 2), 0.5, dtype=np.float32)
    vox = to_voxels(out, PAPER_SCALE)
    assert vox[:, 0, 0, 0] == pytest.approx([5.0, 40.0, 40.0])
    batch = to_voxels(torch.full((1, 3, 1, 1, 1), -0.25), (0.5, 0.25, 0.125))
    assert batch.flatten().tolist() == pytest.approx([-0.5, -1.0, -2.0])


def test_config_round_trips_through_json_with_its_scale():
    config = make_config(ANISO, 4, 2, scale=(0.2, 0.05, 0.05))
    again = FlowConfig.from_dict(config.to_dict())
    assert again == config and again.scale == (0.2, 0.05, 0.05)
    assert config.to_dict()["kind"] == "flow"


def test_bad_configs_are_clear_errors():
    with pytest.raises(InvalidInputError, match="scale"):
        make_config(ANISO, 4, 2, scale=(0.1, 0.0, 0.1))
    with pytest.raises(InvalidInputError, match="not a flow network"):
        FlowConfig.from_dict({**make_config(ANISO, 4, 2).to_dict(), "kind": "detection"})
    with pytest.raises(InvalidInputError, match="2 input channels"):
        FlowConfig(UNetConfig(in_channels=1, kind="flow"))


def test_wrong_input_channels_are_a_clear_error():
    with pytest.raises(InvalidInputError, match="frames t-1 and t"):
        tiny()(torch.rand(1, 1, 8, 16, 16))
