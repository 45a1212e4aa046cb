"""The ELEPHANT detection network: a 3D U-Net with three output classes.

Architecture (paper, "Algorithm for detection"; DESIGN §5):

- each level is two sets of *3×3×3 convolution → ReLU → GroupNorm*, the
  order the paper names ("repeated sets of 3D convolution, ReLU activation
  and Group Normalization"); the number of channels doubles at each level;
- max pooling halves y and x at every level and z only once the voxel is
  near-isotropic (:func:`pooling_schedule`), so anisotropic stacks keep
  their few z slices in the upper levels;
- the decoder upsamples by nearest-neighbour interpolation to the size of
  the skip connection, concatenates it, and runs the same blocks;
- a final 1×1×1 convolution gives raw logits for (background, centre,
  periphery); probabilities are a softmax over the channel axis;
- Kaiming fan-in initialisation, zero biases, GroupNorm weights 1 and
  biases 0; a GroupNorm has ``min(32, channels)`` groups.

The network accepts any input size: ``forward`` pads the volume (replicate
or reflect) to a multiple of the pooling factors and crops the logits back,
so training crops and prediction tiles never have to be sized for it.

Inputs and outputs are (N, C, Z, Y, X), but by default the network works
internally with z as the *last* spatial axis (``axis_order="yxz"``).  The
maths is the same (3×3×3 kernels, pools and upsampling are permuted with
the data); the reason is speed on a CPU: PyTorch picks its fast oneDNN
convolution only when ``N·C·D·H > 20480`` (``use_mkldnn`` in ATen's
Convolution.cpp), so with a 16-slice z axis first, a single 16×96×96
training crop sends every layer with fewer than 14 channels, forward and
backward, to the slow im2col path.  With z last, ``D·H = Y·X`` and every
layer from 3 channels up is fast: a training step of the default network
takes 0.58 s instead of 1.37 s on one core (docs/detection.md).  The order
is stored in the config, so weights are never read in the wrong layout.

:func:`paper_config` (base 16, depth 4) has exactly the paper's 5,887,011
parameters; :func:`default_config` is a lighter network for interactive
rounds on a CPU (see ``docs/detection.md``, "Network size").
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.intensity import NORMALIZATIONS
from napari_elephant.core.units import VoxelSize

PAD_MODES = ("replicate", "reflect")
AXIS_ORDERS = ("yxz", "zyx")
# keep z while pooling it would leave the voxel further from cubic (in log scale)
# than not pooling it: anisotropy r > sqrt(2), the midpoint of 1 and 2 in log scale.
ANISOTROPY_KEEP_Z = math.sqrt(2.0)
# (N, C, Z, Y, X) <-> the network's internal axis order, and back
_TO_INTERNAL = {"zyx": (0, 1, 2, 3, 4), "yxz": (0, 1, 3, 4, 2)}
_FROM_INTERNAL = {"zyx": (0, 1, 2, 3, 4), "yxz": (0, 1, 4, 2, 3)}
_INT_FIELDS = ("in_channels", "out_channels", "base_channels", "depth", "groups_max")


@dataclass(frozen=True)
class UNetConfig:
    """Architecture of a U-Net; everything needed to rebuild it from ``config.json``.

    ``pool_z[i]`` says whether the i-th max pool halves z (otherwise it pools
    (1, 2, 2)); it has ``depth`` entries.  ``axis_order`` is the internal
    spatial layout (``"yxz"``: z last, fast on CPUs; ``"zyx"``: the natural
    order, as in the original ELEPHANT weights).
    """

    in_channels: int = 1
    out_channels: int = 3
    base_channels: int = 16
    depth: int = 4
    pool_z: tuple[bool, ...] = (True, True, True, True)
    groups_max: int = 32
    pad_mode: str = "replicate"
    axis_order: str = "yxz"
    kind: str = "detection"
    # the intensity normalisation its inputs had in training (core/intensity.py); a
    # checkpoint written before the setting existed was trained on minmax
    normalization: str = "minmax"

    def __post_init__(self) -> None:
        for name in _INT_FIELDS:
            value = getattr(self, name)
            lowest = 0 if name == "depth" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
                raise InvalidInputError(
                    f"network setting {name} must be an integer >= {lowest}, got {value!r}"
                )
        pool_z = tuple(self.pool_z) if isinstance(self.pool_z, (list, tuple)) else None
        if pool_z is None or not all(isinstance(v, bool) for v in pool_z):
            raise InvalidInputError(
                f"network setting pool_z must be a list of true/false, got {self.pool_z!r}"
            )
        if len(pool_z) != self.depth:
            raise InvalidInputError(
                f"network setting pool_z needs one entry per level ({self.depth}), "
                f"got {len(pool_z)}"
            )
        object.__setattr__(self, "pool_z", pool_z)
        if self.pad_mode not in PAD_MODES:
            raise InvalidInputError(
                f"network setting pad_mode must be one of {', '.join(PAD_MODES)}, "
                f"got {self.pad_mode!r}"
            )
        if self.axis_order not in AXIS_ORDERS:
            raise InvalidInputError(
                f"network setting axis_order must be one of {', '.join(AXIS_ORDERS)}, "
                f"got {self.axis_order!r}"
            )
        if not isinstance(self.kind, str) or not self.kind:
            raise InvalidInputError(f"network setting kind must be a name, got {self.kind!r}")
        if self.normalization not in NORMALIZATIONS:
            raise InvalidInputError(
                f"network setting normalization must be one of {', '.join(NORMALIZATIONS)}, "
                f"got {self.normalization!r}"
            )

    @property
    def channels(self) -> tuple[int, ...]:
        """Channels of each level, top (full resolution) to bottleneck."""
        return tuple(self.base_channels * 2**level for level in range(self.depth + 1))

    @property
    def size_multiple(self) -> tuple[int, int, int]:
        """(z, y, x) multiple the input is padded to inside ``forward``."""
        return (2 ** sum(self.pool_z), 2**self.depth, 2**self.depth)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (``pool_z`` as a list) for ``config.json``."""
        out = asdict(self)
        out["pool_z"] = list(self.pool_z)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UNetConfig:
        """Inverse of :meth:`to_dict`; unknown keys and bad values are clear errors."""
        if not isinstance(data, Mapping):
            raise InvalidInputError(f"network settings must be a JSON object, got {data!r}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInputError(
                f"unknown network setting(s) {', '.join(map(repr, unknown))} "
                f"(known: {', '.join(sorted(known))})"
            )
        values = dict(data)
        if isinstance(values.get("pool_z"), list):
            values["pool_z"] = tuple(values["pool_z"])
        return cls(**values)


def pooling_schedule(
    voxel_size: VoxelSize, depth: int, z_size: int | None = None
) -> tuple[bool, ...]:
    """Per level, whether the max pool halves z (True) or keeps it (False).

    Rule: y and x are halved at every level.  z is kept while the current
    voxel is still anisotropic, i.e. while (z spacing) / (lateral spacing,
    doubled at each level) > √2 ≈ 1.41 — the point past which keeping z
    brings the voxel closer to a cube (in log scale) than pooling it.  For
    (2, 0.5, 0.5) µm the ratio goes 4, 2, 1, 1: z is kept twice, then
    pooled.  Isotropic voxels pool z at every level.  With ``z_size`` (a thin
    stack's slices) z is pooled at most log2(z_size) times: past that the
    input would only be padded in z to be pooled away.
    """
    lateral = (voxel_size.y + voxel_size.x) / 2.0
    z = voxel_size.z
    schedule = []
    for _ in range(depth):
        keep = z / lateral > ANISOTROPY_KEEP_Z
        schedule.append(not keep)
        lateral *= 2.0
        if not keep:
            z *= 2.0
    return tuple(schedule) if z_size is None else _limit_z_pools(schedule, z_size)


def _limit_z_pools(schedule: list[bool], z_size: int) -> tuple[bool, ...]:
    """The first log2(z_size) z pools of ``schedule`` kept, the later ones dropped."""
    room = int(math.log2(max(int(z_size), 1)))
    out = []
    for pool in schedule:
        out.append(pool and room > 0)
        room -= int(out[-1])
    return tuple(out)


def paper_config(voxel_size: VoxelSize) -> UNetConfig:
    """The paper's network: base 16, depth 4, 5,887,011 parameters for 3 classes."""
    return UNetConfig(
        base_channels=16, depth=4, pool_z=pooling_schedule(voxel_size, 4), normalization="asinh"
    )


def default_config(voxel_size: VoxelSize) -> UNetConfig:
    """The lighter network for interactive rounds on a CPU (docs/detection.md).

    Base 8, depth 4 (1,472,979 parameters): the paper's depth (and so its
    receptive field, which matters for telling dim nuclei from background in
    crowded movies) at half the width.  Measured on one core of a 2-core
    Xeon: 0.53 s per 16×96×96 training step and 0.47 s to predict a
    16×192×192 timepoint, against 0.90 s and 1.18 s for the paper's network.
    """
    return UNetConfig(
        base_channels=8, depth=4, pool_z=pooling_schedule(voxel_size, 4), normalization="asinh"
    )


PRESETS = {"default": default_config, "paper": paper_config}


def preset_config(name: str, voxel_size: VoxelSize) -> UNetConfig:
    """A named preset (``"default"`` or ``"paper"``) for this voxel size."""
    if name not in PRESETS:
        raise InvalidInputError(
            f"unknown network preset {name!r} (expected one of {', '.join(PRESETS)})"
        )
    return PRESETS[name](voxel_size)


def internal_order(zyx: tuple[int, int, int], order: str) -> tuple[int, int, int]:
    """Reorder a (z, y, x) triple into the network's internal spatial order."""
    z, y, x = zyx
    return (z, y, x) if order == "zyx" else (y, x, z)


def group_count(channels: int, groups_max: int = 32) -> int:
    """GroupNorm groups: ``min(groups_max, channels)``, lowered to a divisor if needed.

    For the paper's power-of-two widths this is exactly ``min(32, C)``; for
    other widths (e.g. 48) it is the largest divisor of C not above 32.
    """
    groups = min(groups_max, channels)
    while channels % groups:
        groups -= 1
    return groups


class ConvBlock(nn.Sequential):
    """Two sets of 3×3×3 convolution → ReLU → GroupNorm."""

    def __init__(self, in_channels: int, out_channels: int, groups_max: int = 32) -> None:
        groups = group_count(out_channels, groups_max)
        super().__init__(
            nn.Conv3d(in_channels, out_channels, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.GroupNorm(groups, out_channels),
            nn.Conv3d(out_channels, out_channels, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.GroupNorm(groups, out_channels),
        )


class DetectionUNet(nn.Module):
    """3D U-Net mapping (N, in_channels, Z, Y, X) to logits (N, out_channels, Z, Y, X)."""

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        self.config = config
        ch, g = config.channels, config.groups_max
        self.encoders = nn.ModuleList(
            [ConvBlock(config.in_channels, ch[0], g)]
            + [ConvBlock(ch[k - 1], ch[k], g) for k in range(1, config.depth + 1)]
        )
        self.pools = nn.ModuleList(
            nn.MaxPool3d(internal_order((2 if pz else 1, 2, 2), config.axis_order))
            for pz in config.pool_z
        )
        self.decoders = nn.ModuleList(
            ConvBlock(ch[k + 1] + ch[k], ch[k], g) for k in range(config.depth)
        )
        self.head = nn.Conv3d(ch[0], config.out_channels, kernel_size=1)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_input(x)
        if x.shape[2] == 1:
            return self._forward_flat(x[:, :, 0])[:, :, None]
        order = self.config.axis_order
        size = internal_order(tuple(x.shape[2:]), order)
        x = x.permute(_TO_INTERNAL[order])
        x = pad_to_multiple(
            x, internal_order(self.config.size_multiple, order), self.config.pad_mode
        )
        skips = []
        for level in range(self.config.depth):
            x = self.encoders[level](x)
            skips.append(x)
            x = self.pools[level](x)
        x = self.encoders[self.config.depth](x)
        for level in reversed(range(self.config.depth)):
            skip = skips[level]
            x = F.interpolate(x, size=skip.shape[2:], mode="nearest")
            x = self.decoders[level](torch.cat((skip, x), dim=1))
        return crop_to(self.head(x), size).permute(_FROM_INTERNAL[order]).contiguous()

    def _forward_flat(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, Y, X) -> logits (N, classes, Y, X): the same network on a 2D image.

        A single slice is read as an infinitely tall, z-constant volume: each
        3×3×3 kernel then acts as its sum over z (what replicate padding in z
        would give), pools and upsampling leave z alone.  So one set of
        weights serves 2D and 3D movies, and 2D costs a third of a slice.
        """
        z_axis = 2 + self.config.axis_order.index("z")
        size = x.shape[2:]
        x = pad_to_multiple(x, (2**self.config.depth,) * 2, self.config.pad_mode)
        skips = []
        for level in range(self.config.depth):
            x = _block_flat(self.encoders[level], x, z_axis)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = _block_flat(self.encoders[self.config.depth], x, z_axis)
        for level in reversed(range(self.config.depth)):
            skip = skips[level]
            x = F.interpolate(x, size=skip.shape[2:], mode="nearest")
            x = _block_flat(self.decoders[level], torch.cat((skip, x), dim=1), z_axis)
        head = self.head.weight.flatten(2).sum(2)[:, :, None, None]
        x = F.conv2d(x, head, self.head.bias)
        y0, x0 = ((have - want) // 2 for have, want in zip(x.shape[2:], size, strict=True))
        return x[:, :, y0 : y0 + size[0], x0 : x0 + size[1]]

    def with_pooling(self, pool_z: tuple[bool, ...]) -> DetectionUNet:
        """This network with another z-pooling schedule (pools hold no weights): the
        schedule follows the grid a movie is resampled to."""
        pool_z = tuple(bool(v) for v in pool_z)
        if pool_z != self.config.pool_z:
            self.config = replace(self.config, pool_z=pool_z)
            self.pools = nn.ModuleList(
                nn.MaxPool3d(internal_order((2 if pz else 1, 2, 2), self.config.axis_order))
                for pz in pool_z
            )
        return self

    def _check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 5 or x.shape[1] != self.config.in_channels:
            raise InvalidInputError(
                f"the detection network expects (N, {self.config.in_channels}, Z, Y, X) "
                f"input, got shape {tuple(x.shape)}"
            )


def _block_flat(block: nn.Sequential, x: torch.Tensor, z_axis: int) -> torch.Tensor:
    """Run a :class:`ConvBlock` on (N, C, Y, X) with each 3D kernel summed over z."""
    for layer in block:
        if isinstance(layer, nn.Conv3d):
            x = F.conv2d(x, layer.weight.sum(z_axis), layer.bias, padding=1)
        else:
            x = layer(x)
    return x


def init_weights(model: nn.Module) -> None:
    """Kaiming fan-in for convolutions, zero biases, GroupNorm weight 1 / bias 0.

    A network built on the meta device (a shell to check a checkpoint's shapes)
    has no values to draw: drawing them there imports torch's compiler (2.5 s).
    """
    for module in model.modules():
        if is_meta(module):
            continue
        if isinstance(module, nn.Conv3d):
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.GroupNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


def is_meta(module: nn.Module) -> bool:
    """Whether ``module``'s own weights live on the meta device (shapes only)."""
    weight = getattr(module, "weight", None)
    return isinstance(weight, torch.Tensor) and weight.is_meta


def pad_to_multiple(x: torch.Tensor, multiple: tuple[int, ...], mode: str) -> torch.Tensor:
    """Pad the spatial axes of (N, C, D, H, W) (or (N, C, H, W)) at both ends to multiples.

    ``reflect`` needs each pad to be smaller than the axis; otherwise
    ``replicate`` is used (a 1-slice stack has nothing to reflect).
    """
    pads: list[int] = []
    for size, m in zip(reversed(x.shape[2:]), reversed(multiple), strict=True):
        total = -size % m
        pads += [total // 2, total - total // 2]
    if not any(pads):
        return x
    sizes = list(reversed(x.shape[2:]))
    if mode == "reflect" and any(p >= sizes[i // 2] for i, p in enumerate(pads)):
        mode = "replicate"
    return F.pad(x, pads, mode=mode)


def crop_to(x: torch.Tensor, size: torch.Size | tuple[int, ...]) -> torch.Tensor:
    """Centre crop of (N, C, D, H, W) to spatial ``size`` (undoes :func:`pad_to_multiple`)."""
    starts = [(have - want) // 2 for have, want in zip(x.shape[2:], size, strict=True)]
    (z0, y0, x0), (nz, ny, nx) = starts, size
    return x[:, :, z0 : z0 + nz, y0 : y0 + ny, x0 : x0 + nx]


def build_model(config: UNetConfig) -> DetectionUNet:
    """A freshly initialised detection network for ``config``."""
    return DetectionUNet(config)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
