"""The detection U-Net: config, pooling schedule, shapes, init, parameter count, learning."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from napari_elephant.core.detection.model import (
    DetectionUNet,
    UNetConfig,
    build_model,
    count_parameters,
    default_config,
    group_count,
    paper_config,
    pooling_schedule,
    preset_config,
)
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.training.device import cpu_threads
from napari_elephant.core.units import VoxelSize

ANISO = VoxelSize(2.0, 0.5, 0.5)
PAPER_PARAMETERS = 5_887_011


def tiny(**changes) -> UNetConfig:
    settings = {"base_channels": 4, "depth": 2, "pool_z": (False, True), **changes}
    return UNetConfig(**settings)


def test_anisotropic_voxels_keep_z_until_near_isotropic():
    assert pooling_schedule(ANISO, 4) == (False, False, True, True)
    assert pooling_schedule(VoxelSize(1.0, 0.5, 0.5), 3) == (False, True, True)


def test_isotropic_voxels_pool_z_at_every_level():
    assert pooling_schedule(VoxelSize(1.0, 1.0, 1.0), 4) == (True, True, True, True)
    assert pooling_schedule(VoxelSize(1.3, 1.0, 1.0), 2) == (True, True)  # below √2


def test_presets_follow_the_voxel_size():
    assert paper_config(ANISO).pool_z == (False, False, True, True)
    assert default_config(VoxelSize()).pool_z == (True,) * default_config(VoxelSize()).depth


@pytest.mark.parametrize("shape", [(7, 33, 45), (1, 5, 9), (16, 32, 32)])
def test_any_input_size_gives_logits_of_the_same_size(shape):
    model = build_model(tiny()).eval()
    with torch.no_grad():
        out = model(torch.rand(2, 1, *shape))
    assert out.shape == (2, 3, *shape)
    assert torch.isfinite(out).all()


def test_reflect_padding_gives_the_same_size_and_falls_back_on_thin_stacks():
    model = build_model(tiny(pad_mode="reflect")).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 1, 7, 33, 45)).shape == (1, 3, 7, 33, 45)
        assert model(torch.rand(1, 1, 1, 5, 5)).shape == (1, 3, 1, 5, 5)


def test_z_last_layout_is_the_same_network_with_permuted_kernels():
    torch.manual_seed(0)
    natural = build_model(tiny(axis_order="zyx")).eval()
    z_last = build_model(tiny(axis_order="yxz")).eval()
    state = {
        key: value.permute(0, 1, 3, 4, 2) if value.ndim == 5 else value
        for key, value in natural.state_dict().items()
    }
    z_last.load_state_dict(state)
    x = torch.rand(1, 1, 6, 20, 28)
    with torch.no_grad():
        assert torch.allclose(natural(x), z_last(x), rtol=1e-4, atol=1e-4)


def test_wrong_input_shape_is_a_clear_error():
    with pytest.raises(InvalidInputError, match=r"expects \(N, 1, Z, Y, X\)"):
        build_model(tiny())(torch.rand(1, 2, 4, 8, 8))


def test_paper_config_has_the_papers_parameter_count():
    count = count_parameters(build_model(paper_config(ANISO)))
    assert abs(count - PAPER_PARAMETERS) <= 0.01 * PAPER_PARAMETERS
    assert count == PAPER_PARAMETERS  # base 16, depth 4 reproduces it exactly


def test_default_config_is_lighter_than_the_papers():
    assert count_parameters(build_model(default_config(ANISO))) < PAPER_PARAMETERS / 2


def test_presets_by_name():
    assert preset_config("paper", ANISO) == paper_config(ANISO)
    assert preset_config("default", ANISO) == default_config(ANISO)
    with pytest.raises(InvalidInputError, match="unknown network preset 'huge'"):
        preset_config("huge", ANISO)


def test_init_zero_biases_unit_groupnorm_and_group_counts():
    model = build_model(tiny())
    convs = [m for m in model.modules() if isinstance(m, nn.Conv3d)]
    norms = [m for m in model.modules() if isinstance(m, nn.GroupNorm)]
    assert all(torch.count_nonzero(c.bias) == 0 for c in convs)
    assert all(torch.all(n.weight == 1) and torch.all(n.bias == 0) for n in norms)
    assert all(n.num_groups == min(32, n.num_channels) for n in norms)
    assert {n.num_channels for n in norms} == {4, 8, 16}


def test_init_is_kaiming_fan_in():
    torch.manual_seed(0)
    conv = build_model(UNetConfig(base_channels=64, depth=1, pool_z=(True,))).encoders[1][0]
    fan_in = conv.in_channels * 27
    assert conv.weight.std().item() == pytest.approx((2.0 / fan_in) ** 0.5, rel=0.05)


def test_group_count_divides_odd_widths():
    assert group_count(256) == 32
    assert group_count(8) == 8
    assert group_count(48) == 24  # 48 is not divisible by 32


def test_config_round_trips_through_a_dict():
    config = tiny()
    data = config.to_dict()
    assert data["pool_z"] == [False, True]
    assert data["kind"] == "detection"
    assert UNetConfig.from_dict(data) == config


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"base_channels": 4, "depth": 2, "pool_z": [1, 0]}, "pool_z must be a list"),
        ({"base_channels": 4, "depth": 2, "pool_z": [True]}, "one entry per level"),
        ({"base_channels": 0}, "base_channels must be an integer >= 1"),
        ({"depth": 2.5}, "depth must be an integer"),
        ({"pad_mode": "zeros"}, "pad_mode must be one of"),
        ({"axis_order": "xyz"}, "axis_order must be one of"),
        ({"widht": 3}, "unknown network setting"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_bad_config_values_are_clear_errors(data, message):
    with pytest.raises(InvalidInputError, match=message):
        UNetConfig.from_dict(data)


def test_a_tiny_model_overfits_one_batch():
    torch.manual_seed(0)
    model = DetectionUNet(tiny())
    image = torch.rand(1, 1, 4, 16, 16)
    target = (image[:, 0] * 3).long().clamp(max=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    with cpu_threads(1):  # tiny tensors: one thread is fastest and immune to a busy machine
        for _ in range(30):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(image), target)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert all(b < a for a, b in zip(losses[::5], losses[5::5], strict=False))


class _ZReplicateConv(torch.nn.Module):
    """A 3×3×3 convolution that pads z by replicating (y, x zero-padded as usual)."""

    def __init__(self, conv: torch.nn.Conv3d, z_dim: int) -> None:
        super().__init__()
        self.conv, self.z_dim = conv, z_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = [0] * 6
        pads[2 * (4 - self.z_dim)] = pads[2 * (4 - self.z_dim) + 1] = 1
        padding = [1, 1, 1]
        padding[self.z_dim - 2] = 0
        x = torch.nn.functional.pad(x, pads, mode="replicate")
        return torch.nn.functional.conv3d(x, self.conv.weight, self.conv.bias, padding=padding)


@pytest.mark.parametrize("order", ["yxz", "zyx"])
def test_a_single_slice_is_the_network_on_an_infinitely_tall_z_constant_volume(order):
    """2D movies run the 3D weights with each kernel summed over z: exactly what the
    network gives on a z-constant volume whose z borders replicate."""
    torch.manual_seed(0)
    config = UNetConfig(base_channels=4, depth=3, pool_z=(False, True, True), axis_order=order)
    model = DetectionUNet(config).eval()
    reference = copy.deepcopy(model).with_pooling((False, False, False))
    z_dim = 2 + order.index("z")
    for block in [*reference.encoders, *reference.decoders]:
        for i, layer in enumerate(block):
            if isinstance(layer, torch.nn.Conv3d):
                block[i] = _ZReplicateConv(layer, z_dim)
    image = torch.rand(2, 1, 1, 40, 36)
    with torch.no_grad():
        flat = model(image)
        tall = reference(image.expand(2, 1, 5, 40, 36).contiguous())
    assert flat.shape == (2, 3, 1, 40, 36)
    torch.testing.assert_close(flat[:, :, 0], tall[:, :, 2], atol=1e-3, rtol=1e-3)


def test_the_pooling_schedule_follows_the_grid_without_touching_the_weights():
    model = DetectionUNet(default_config(VoxelSize(2.0, 0.5, 0.5)))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.with_pooling((True, True, True, True))
    assert model.config.pool_z == (True, True, True, True)
    assert model.config.size_multiple == (16, 16, 16)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert model(torch.rand(1, 1, 5, 20, 20)).shape == (1, 3, 5, 20, 20)


def test_a_thin_stack_pools_z_only_as_often_as_it_has_slices_to_halve():
    iso = VoxelSize(1.0, 1.0, 1.0)
    assert pooling_schedule(iso, 4) == (True, True, True, True)
    assert pooling_schedule(iso, 4, z_size=4) == (True, True, False, False)
    assert pooling_schedule(iso, 4, z_size=1) == (False, False, False, False)
    assert pooling_schedule(ANISO, 4, z_size=5) == (False, False, True, True)
    assert pooling_schedule(ANISO, 4, z_size=3) == (False, False, True, False)


def test_a_network_remembers_how_its_inputs_were_normalised():
    assert default_config(ANISO).normalization == "asinh"  # new networks
    saved = default_config(ANISO).to_dict()
    assert UNetConfig.from_dict(saved).normalization == "asinh"
    del saved["normalization"]  # a checkpoint from before the setting: the paper's minmax
    assert UNetConfig.from_dict(saved).normalization == "minmax"
    with pytest.raises(InvalidInputError, match="normalization"):
        UNetConfig.from_dict({**saved, "normalization": "gamma"})


def test_a_shell_on_the_meta_device_draws_no_weights(monkeypatch):
    # drawing values on the meta device imports torch's compiler (seconds): a shell
    # built to check a checkpoint's shapes must skip the initialisation
    def refuse(*args, **kwargs):
        raise AssertionError("initialised a meta tensor")

    monkeypatch.setattr(nn.init, "kaiming_normal_", refuse)
    with torch.device("meta"):
        shell = DetectionUNet(default_config(VoxelSize(2.0, 0.5, 0.5)))
    assert all(p.is_meta for p in shell.parameters())
