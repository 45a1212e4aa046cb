"""Random augmentation of training crops (image + labels), in numpy.

One random :class:`AugmentTransform` is drawn per crop and applied to the
image (linear interpolation) and to its label volumes (nearest neighbour, so
labels stay in the label set).  Scaling and rotation resample an input crop
that is *larger* than the requested output and keep the centre, so the
output is filled with real data; :meth:`Augmenter.required_input_shape` says
how large the input must be.  A smaller input still works: voxels sampled
outside it get the nearest image value and the label IGNORE.

Choices (the paper names the augmentations but not their exact form):

* flips: each axis (z, y, x) flipped with probability 1/2;
* scaling: one factor ``s`` per crop, log-uniform in ``scale_range`` (so 0.5
  and 2 are equally likely), applied to y and x only (``s`` > 1 magnifies).
  z is never rescaled: training crops are thin in z (often 8-16 slices) and
  the network's z pooling depends on the voxel anisotropy;
* rotation: about the z axis by an angle uniform in [0, 360°), in physical
  space (correct for y ≠ x voxel sizes when ``voxel_size`` is given);
* contrast: ``y' = m + f (y − m)`` with ``m`` the crop's mean intensity and
  ``f`` uniform in ``contrast_range`` (f < 1 lowers the contrast, mimicking
  dim or blurred nuclei), clipped to [0, 1].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from napari_elephant.core.detection.labels import IGNORE
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.units import VoxelSize

_MARGIN = 2  # extra input voxels per lateral axis for interpolation and rounding


@dataclass(frozen=True)
class AugmentTransform:
    """One drawn augmentation: where each output voxel samples the input, and more.

    ``matrix`` maps an output voxel offset from the output centre to an input
    voxel offset from the input centre (z row and column are the identity).
    """

    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    matrix: np.ndarray
    flips: tuple[bool, bool, bool] = (False, False, False)
    contrast: float = 1.0

    @property
    def is_crop(self) -> bool:
        """True when resampling reduces to a plain centre crop."""
        return bool(np.allclose(self.matrix, np.eye(3)))

    def _offset(self) -> np.ndarray:
        out = np.asarray(self.out_shape, dtype=np.float64)
        start = (np.asarray(self.in_shape) - np.asarray(self.out_shape)) // 2
        c_out = (out - 1.0) / 2.0
        return c_out + start - self.matrix @ c_out

    def resample(self, volume: np.ndarray, order: int, cval: float, mode: str) -> np.ndarray:
        """Sample ``volume`` on the output grid, then apply the flips."""
        if self.is_crop and np.all(np.asarray(self.in_shape) >= self.out_shape):
            start = (np.asarray(self.in_shape) - np.asarray(self.out_shape)) // 2
            out = volume[
                tuple(slice(a, a + n) for a, n in zip(start, self.out_shape, strict=True))
            ]
        else:
            out = ndimage.affine_transform(
                volume,
                self.matrix,
                offset=self._offset(),
                output_shape=self.out_shape,
                order=order,
                mode=mode,
                cval=cval,
            )
        axes = tuple(i for i, f in enumerate(self.flips) if f)
        if axes:
            out = np.flip(out, axis=axes)
        return np.ascontiguousarray(out)

    def apply_image(self, image: np.ndarray) -> np.ndarray:
        """Resample (linear), flip and change the contrast of a [0, 1] image."""
        out = self.resample(np.asarray(image, dtype=np.float32), 1, 0.0, "nearest")
        if self.contrast != 1.0 and out.size:
            mean = out.mean(dtype=np.float64)
            out = (mean + self.contrast * (out - mean)).astype(np.float32)
            np.clip(out, 0.0, 1.0, out=out)
        return out

    def apply_labels(self, labels: np.ndarray) -> np.ndarray:
        """Resample (nearest) and flip a label volume; outside the input -> IGNORE."""
        return self.resample(np.asarray(labels, dtype=np.int64), 0, IGNORE, "constant")

    def apply_mask(self, mask: np.ndarray) -> np.ndarray:
        """Resample (nearest) and flip a boolean volume; outside the input -> False."""
        out = self.resample(np.asarray(mask, dtype=np.uint8), 0, 0, "constant")
        return out.astype(bool)


def _shape3(shape: Sequence[int], what: str) -> tuple[int, int, int]:
    vals = tuple(int(s) for s in shape)
    if len(vals) != 3 or min(vals) < 1:
        raise InvalidInputError(f"{what} must be 3 positive sizes (z, y, x), got {vals}")
    return vals  # type: ignore[return-value]


class Augmenter:
    """Draws and applies random flips, lateral scaling, rotation and contrast.

    Deterministic given ``rng`` (a ``numpy.random.Generator`` or a seed).
    ``scale_range`` / ``contrast_range`` = None (or (1, 1)) disable them.
    """

    def __init__(
        self,
        rng: np.random.Generator | int | None = None,
        flips: bool = True,
        scale_range: tuple[float, float] | None = (0.5, 2.0),
        contrast_range: tuple[float, float] | None = (0.5, 1.0),
        rotation: bool = True,
        voxel_size: VoxelSize | None = None,
    ) -> None:
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        self.flips = flips
        self.scale_range = _check_range(scale_range, "scale range", positive=True)
        self.contrast_range = _check_range(contrast_range, "contrast range", positive=False)
        self.rotation = rotation
        self.voxel_size = voxel_size or VoxelSize()

    def required_input_shape(self, out_shape: Sequence[int]) -> tuple[int, int, int]:
        """Smallest input crop that fills ``out_shape`` for every possible draw.

        z stays the same; y and x grow by 1/min(scale), and with rotation to
        cover the output's (physical) diagonal at any angle, plus 2 voxels.
        """
        nz, ny, nx = _shape3(out_shape, "output shape")
        s_min = min(1.0, self.scale_range[0]) if self.scale_range else 1.0
        if not self.rotation and s_min >= 1.0:
            return nz, ny, nx
        vy, vx = self.voxel_size.y, self.voxel_size.x
        hy, hx = (ny - 1) / 2 * vy, (nx - 1) / 2 * vx  # half extents in µm
        if self.rotation:
            hy = hx = math.hypot(hy, hx)
        need_y = 2 * math.ceil(hy / (s_min * vy)) + 1 + _MARGIN
        need_x = 2 * math.ceil(hx / (s_min * vx)) + 1 + _MARGIN
        return nz, max(ny, need_y), max(nx, need_x)

    def draw(self, in_shape: Sequence[int], out_shape: Sequence[int]) -> AugmentTransform:
        """Draw one random transform from an input crop shape to an output shape."""
        flips = tuple(bool(f) for f in self.rng.random(3) < 0.5) if self.flips else (False,) * 3
        scale = 1.0
        if self.scale_range:
            lo, hi = (math.log(v) for v in self.scale_range)
            scale = math.exp(self.rng.uniform(lo, hi))
        angle = self.rng.uniform(0.0, 2.0 * math.pi) if self.rotation else 0.0
        contrast = self.rng.uniform(*self.contrast_range) if self.contrast_range else 1.0
        return AugmentTransform(
            in_shape=_shape3(in_shape, "input shape"),
            out_shape=_shape3(out_shape, "output shape"),
            matrix=self._matrix(scale, angle),
            flips=flips,  # type: ignore[arg-type]
            contrast=float(contrast),
        )

    def _matrix(self, scale: float, angle: float) -> np.ndarray:
        """Output offset -> input offset (voxels): S⁻¹ R S / scale in the (y, x) plane."""
        c, s = math.cos(angle), math.sin(angle)
        size = np.array([self.voxel_size.y, self.voxel_size.x])
        lateral = (np.array([[c, -s], [s, c]]) * size[None, :]) / size[:, None] / scale
        m = np.eye(3)
        m[1:, 1:] = lateral
        return m

    def augment(
        self,
        image: np.ndarray,
        labels: np.ndarray | None,
        is_false: np.ndarray | None,
        out_shape: Sequence[int],
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """Augment an image crop and its labels jointly; returns ``out_shape`` volumes."""
        for name, vol in (("labels", labels), ("is_false", is_false)):
            if vol is not None and np.shape(vol) != np.shape(image):
                raise InvalidInputError(
                    f"{name} shape {np.shape(vol)} does not match image shape {np.shape(image)}"
                )
        t = self.draw(np.shape(image), out_shape)
        out_labels = None if labels is None else t.apply_labels(labels)
        out_false = None if is_false is None else t.apply_mask(is_false)
        return t.apply_image(image), out_labels, out_false


def _check_range(
    values: tuple[float, float] | None, what: str, positive: bool
) -> tuple[float, float] | None:
    """Validate a (low, high) range; None or (1, 1) means 'off'."""
    if values is None:
        return None
    lo, hi = (float(v) for v in values)
    if not (lo <= hi) or (positive and lo <= 0) or (not positive and lo < 0):
        bound = "0 <" if positive else "0 <="
        raise InvalidInputError(
            f"{what} must be (low, high) with {bound} low <= high, got {values}"
        )
    return None if lo == hi == 1.0 else (lo, hi)
