"""The ELEPHANT flow network: a 3D U-Net with a residual encoder and a tanh output.

Architecture (paper, "Algorithm for linking"; DESIGN §5):

- input: two channels, the normalised volumes (I_{t-1}, I_t); output: three
  channels, the backward displacement (z, y, x) of what is at each voxel of
  I_t, i.e. where it was at t-1, *normalised*: output ``o`` means ``o / scale``
  voxels, with ``scale`` = (1/10, 1/80, 1/80) per voxel in the paper;
- encoder levels (and the bottleneck) are residual blocks: a 1×1×1
  convolution (no bias) of the input plus *3×3×3 conv → LeakyReLU → 3×3×3
  conv*; the sum is **halved** ("divided by two after the sum operation to
  keep the consistency of the scale of values") and goes through a
  LeakyReLU (slope 0.1); there is no normalisation layer;
- decoder levels are *3×3×3 conv → LeakyReLU* twice, after nearest
  upsampling and concatenation with the skip connection;
- a 1×1×1 head and tanh, so every output lies in (-1, 1); the head starts
  at zero (our choice), so an untrained network predicts no motion and
  flow-assisted linking falls back to plain nearest neighbour;
- pooling, padding, the internal z-last layout and the Kaiming fan-in
  initialisation are those of the detection network
  (:mod:`napari_elephant.core.detection.model`).

Channel order is (z, y, x) like everything in our data model (the original
server used (x, y, z)).  :func:`paper_flow_config` has exactly the paper's
5,928,051 parameters.  The scale is part of the config (and so of the
checkpoint): a model's outputs only mean something with the scale it was
trained with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from napari_elephant.core.detection.model import (
    UNetConfig,
    crop_to,
    internal_order,
    is_meta,
    pad_to_multiple,
    pooling_schedule,
)
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.units import VoxelSize

KIND = "flow"
PAPER_SCALE = (1.0 / 10.0, 1.0 / 80.0, 1.0 / 80.0)  # (z, y, x) output units per voxel
NEGATIVE_SLOPE = 0.1
_TO_INTERNAL = {"zyx": (0, 1, 2, 3, 4), "yxz": (0, 1, 3, 4, 2)}
_FROM_INTERNAL = {"zyx": (0, 1, 2, 3, 4), "yxz": (0, 1, 4, 2, 3)}


def check_scale(scale: Any) -> tuple[float, float, float]:
    """Three positive finite (z, y, x) factors, or a clear error."""
    try:
        values = tuple(float(v) for v in scale)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 3 or not all(np.isfinite(values)) or min(values) <= 0:
        raise InvalidInputError(
            f"flow scale must be three positive numbers (z, y, x per voxel), got {scale!r}"
        )
    return values  # type: ignore[return-value]


@dataclass(frozen=True)
class FlowConfig:
    """Architecture of a flow network plus the scale that gives its outputs meaning.

    ``unet`` carries depth, width, pooling, padding and axis order (its
    ``groups_max`` is unused: the flow network has no GroupNorm).
    """

    unet: UNetConfig
    scale: tuple[float, float, float] = PAPER_SCALE
    negative_slope: float = NEGATIVE_SLOPE

    def __post_init__(self) -> None:
        if self.unet.in_channels != 2 or self.unet.out_channels != 3:
            raise InvalidInputError(
                "a flow network maps 2 input channels to 3 outputs, got "
                f"{self.unet.in_channels} -> {self.unet.out_channels}"
            )
        object.__setattr__(self, "scale", check_scale(self.scale))
        slope = self.negative_slope
        if isinstance(slope, bool) or not isinstance(slope, int | float) or not 0 <= slope < 1:
            raise InvalidInputError(f"flow negative_slope must be in [0, 1), got {slope!r}")

    @property
    def size_multiple(self) -> tuple[int, int, int]:
        return self.unet.size_multiple

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON-able dict (the U-Net settings, the scale, the slope, kind "flow")."""
        return {
            **self.unet.to_dict(),
            "scale": list(self.scale),
            "negative_slope": self.negative_slope,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FlowConfig:
        """Inverse of :meth:`to_dict`; unknown keys and bad values are clear errors."""
        if not isinstance(data, Mapping):
            raise InvalidInputError(f"flow network settings must be a JSON object, got {data!r}")
        values = dict(data)
        scale = values.pop("scale", PAPER_SCALE)
        slope = values.pop("negative_slope", NEGATIVE_SLOPE)
        if values.get("kind", KIND) != KIND:
            raise InvalidInputError(f"not a flow network: kind {values.get('kind')!r}")
        return cls(UNetConfig.from_dict(values), scale, slope)


def make_config(
    voxel_size: VoxelSize,
    base_channels: int,
    depth: int = 4,
    scale: tuple[float, float, float] = PAPER_SCALE,
) -> FlowConfig:
    """A flow config for this voxel size (pooling keeps z while it is anisotropic)."""
    unet = UNetConfig(
        in_channels=2,
        out_channels=3,
        base_channels=base_channels,
        depth=depth,
        pool_z=pooling_schedule(voxel_size, depth),
        kind=KIND,
    )
    return FlowConfig(unet, scale)


def paper_flow_config(voxel_size: VoxelSize, scale=PAPER_SCALE) -> FlowConfig:
    """The paper's network: base 16, depth 4, 5,928,051 parameters."""
    return make_config(voxel_size, 16, 4, scale)


def default_flow_config(voxel_size: VoxelSize, scale=PAPER_SCALE) -> FlowConfig:
    """The lighter network for a CPU: the paper's depth at half its width (docs/flow.md)."""
    return make_config(voxel_size, 8, 4, scale)


PRESETS = {"default": default_flow_config, "paper": paper_flow_config}


def preset_flow_config(name: str, voxel_size: VoxelSize, scale=PAPER_SCALE) -> FlowConfig:
    """A named preset (``"default"`` or ``"paper"``) for this voxel size and scale."""
    if name not in PRESETS:
        raise InvalidInputError(
            f"unknown flow network preset {name!r} (expected one of {', '.join(PRESETS)})"
        )
    return PRESETS[name](voxel_size, scale)


class ResidualBlock(nn.Module):
    """``LeakyReLU((skip(x) + conv(LeakyReLU(conv(x)))) / 2)``: halving keeps the scale."""

    def __init__(self, in_channels: int, out_channels: int, slope: float) -> None:
        super().__init__()
        self.skip = nn.Conv3d(in_channels, out_channels, kernel_size=1, bias=False)
        self.conv1 = nn.Conv3d(in_channels, out_channels, kernel_size=3, padding=1)
        self.conv2 = nn.Conv3d(out_channels, out_channels, kernel_size=3, padding=1)
        self.act = nn.LeakyReLU(slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act((self.skip(x) + self.conv2(self.act(self.conv1(x)))) / 2)


def decoder_block(in_channels: int, out_channels: int, slope: float) -> nn.Sequential:
    """Two sets of 3×3×3 convolution → LeakyReLU."""
    return nn.Sequential(
        nn.Conv3d(in_channels, out_channels, kernel_size=3, padding=1),
        nn.LeakyReLU(slope),
        nn.Conv3d(out_channels, out_channels, kernel_size=3, padding=1),
        nn.LeakyReLU(slope),
    )


class FlowUNet(nn.Module):
    """(N, 2, Z, Y, X) frame pairs -> (N, 3, Z, Y, X) normalised backward flow in (-1, 1)."""

    def __init__(self, config: FlowConfig) -> None:
        super().__init__()
        self.config = config
        u, slope = config.unet, config.negative_slope
        ch = u.channels
        self.encoders = nn.ModuleList(
            [ResidualBlock(u.in_channels, ch[0], slope)]
            + [ResidualBlock(ch[k - 1], ch[k], slope) for k in range(1, u.depth + 1)]
        )
        self.pools = nn.ModuleList(
            nn.MaxPool3d(internal_order((2 if pz else 1, 2, 2), u.axis_order)) for pz in u.pool_z
        )
        self.decoders = nn.ModuleList(
            decoder_block(ch[k + 1] + ch[k], ch[k], slope) for k in range(u.depth)
        )
        self.head = nn.Conv3d(ch[0], u.out_channels, kernel_size=1)
        init_weights(self, slope)
        nn.init.zeros_(self.head.weight)  # a fresh network predicts no motion

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        u = self.config.unet
        size = internal_order(tuple(x.shape[2:]), u.axis_order)
        x = x.permute(_TO_INTERNAL[u.axis_order])
        x = pad_to_multiple(x, internal_order(u.size_multiple, u.axis_order), u.pad_mode)
        skips = []
        for level in range(u.depth):
            x = self.encoders[level](x)
            skips.append(x)
            x = self.pools[level](x)
        x = self.encoders[u.depth](x)
        for level in reversed(range(u.depth)):
            skip = skips[level]
            x = F.interpolate(x, size=skip.shape[2:], mode="nearest")
            x = self.decoders[level](torch.cat((skip, x), dim=1))
        out = torch.tanh(crop_to(self.head(x), size))
        return out.permute(_FROM_INTERNAL[u.axis_order]).contiguous()

    def _check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 5 or x.shape[1] != 2:
            raise InvalidInputError(
                f"the flow network expects (N, 2, Z, Y, X) input (frames t-1 and t), "
                f"got shape {tuple(x.shape)}"
            )


def init_weights(model: nn.Module, slope: float = NEGATIVE_SLOPE) -> None:
    """Kaiming fan-in (for the LeakyReLU slope) for convolutions, zero biases; a
    shell on the meta device is left alone (see the detection network's)."""
    for module in model.modules():
        if isinstance(module, nn.Conv3d) and not is_meta(module):
            nn.init.kaiming_normal_(
                module.weight, a=slope, mode="fan_in", nonlinearity="leaky_relu"
            )
            if module.bias is not None:
                nn.init.zeros_(module.bias)


def build_flow_model(config: FlowConfig) -> FlowUNet:
    """A freshly initialised flow network for ``config``."""
    return FlowUNet(config)


def to_voxels(normalised: np.ndarray | torch.Tensor, scale: tuple[float, float, float]):
    """Normalised outputs (3, ...) or (N, 3, ...) -> displacements in voxels (z, y, x)."""
    factors = 1.0 / np.asarray(check_scale(scale), dtype=np.float64)
    axis = 0 if normalised.ndim in (1, 4) else 1
    shape = [1] * normalised.ndim
    shape[axis] = 3
    if isinstance(normalised, torch.Tensor):
        f = torch.as_tensor(factors, dtype=normalised.dtype, device=normalised.device)
        return normalised * f.reshape(shape)
    return np.asarray(normalised) * factors.reshape(shape).astype(np.asarray(normalised).dtype)
