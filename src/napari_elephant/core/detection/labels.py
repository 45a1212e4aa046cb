"""Training labels for the detection network, rendered from annotated ellipsoids.

ELEPHANT learns from sparse annotations: each voxel of a label volume is
*nucleus centre*, *nucleus periphery*, *background* or unlabelled (ignored by
the loss).  Accepted nuclei give centre (the ellipsoid shrunk by
``center_ratio``) and periphery (the rest); rejected nuclei (false
predictions) give background flagged as *false* so the loss can weight the
model's mistakes (``wf``) above the rest (``wt``); dim voxels of the
normalised image give background.  Ellipsoids live in micrometres and are
rasterised on (possibly anisotropic) voxel centres, inside their bounding
boxes only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_elephant.core.ellipsoid import quadratic_form
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph.model import Status, six_to_cov
from napari_elephant.core.units import VoxelSize

BACKGROUND = 0
CENTER = 1
PERIPHERY = 2
IGNORE = -1
N_CLASSES = 3

Ellipsoid = tuple[np.ndarray, np.ndarray]  # (centre (3,) µm, covariance (3, 3) µm²)


@dataclass(frozen=True)
class LabelVolume:
    """Class labels (int64, IGNORE = unlabelled) and the 'false annotation' mask."""

    labels: np.ndarray
    is_false: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return self.labels.shape


def as_voxel_size(voxel_size: VoxelSize | Sequence[float]) -> VoxelSize:
    """Accept a VoxelSize or a (z, y, x) sequence."""
    if isinstance(voxel_size, VoxelSize):
        return voxel_size
    return VoxelSize.from_sequence(voxel_size)


def as_ellipsoid(item: Any) -> Ellipsoid:
    """A ``Nucleus`` (or anything with ``center`` and ``cov``) or a (centre, cov) pair.

    The covariance may be a 3×3 matrix or the six upper-triangle values.
    """
    if hasattr(item, "center") and hasattr(item, "cov"):
        center, cov = item.center, item.cov
    else:
        center, cov = item
    c = np.asarray(center, dtype=np.float64).reshape(3)
    m = np.asarray(cov, dtype=np.float64)
    m = six_to_cov(m) if m.shape == (6,) else m.reshape(3, 3)
    if not (np.all(np.isfinite(c)) and np.all(np.isfinite(m))):
        raise InvalidInputError(f"ellipsoid at {c.tolist()} has non-finite values")
    if np.linalg.eigvalsh(m).min() <= 0:
        raise InvalidInputError(f"ellipsoid at {c.tolist()}: covariance is not positive definite")
    return c, m


def annotations_from_nuclei(nuclei: Iterable[Any]) -> tuple[list[Any], list[Any]]:
    """Split nuclei into true (accepted) and false (rejected) annotations.

    Predicted, not yet validated nuclei are not annotations and are left out.
    """
    true, false = [], []
    for n in nuclei:
        if n.status == Status.ACCEPTED:
            true.append(n)
        elif n.status == Status.REJECTED:
            false.append(n)
    return true, false


def _bbox_slices(
    shape: Sequence[int], vs: VoxelSize, center: np.ndarray, cov: np.ndarray, origin: np.ndarray
) -> tuple[slice, ...]:
    """Voxel slices that hold every voxel centre of the ellipsoid (one voxel of slack)."""
    half = np.sqrt(np.diag(cov))
    lo = np.floor(vs.to_voxels(center - half - origin)).astype(np.int64)
    hi = np.ceil(vs.to_voxels(center + half - origin)).astype(np.int64) + 1
    lo = np.clip(lo, 0, shape)
    hi = np.clip(hi, lo, shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))


def _axis_um(vs: VoxelSize, axis: int, sl: slice) -> np.ndarray:
    """Positions (µm, relative to voxel 0) of the voxel centres of ``sl`` along ``axis``."""
    idx = np.zeros((sl.stop - sl.start, 3))
    idx[:, axis] = np.arange(sl.start, sl.stop)
    return vs.to_um(idx)[:, axis]


def ellipsoid_mask(
    shape: Sequence[int],
    voxel_size: VoxelSize | Sequence[float],
    center_um: Sequence[float] | np.ndarray,
    cov_um2: np.ndarray | Sequence[float],
    origin_um: Sequence[float] = (0.0, 0.0, 0.0),
) -> tuple[tuple[slice, ...], np.ndarray]:
    """Voxels of a (z, y, x) volume whose centres lie in the ellipsoid.

    Voxel index ``i`` sits at ``origin_um + i × voxel_size``.  Returns the
    bounding-box slices (clipped to the volume) and a boolean mask of that box,
    so ``volume[slices][mask] = value`` paints the ellipsoid; an ellipsoid
    entirely outside gives empty slices and an empty mask.
    """
    vs = as_voxel_size(voxel_size)
    center, cov = as_ellipsoid((center_um, cov_um2))
    origin = np.asarray(origin_um, dtype=np.float64).reshape(3)
    slices = _bbox_slices(shape, vs, center, cov, origin)
    axes = [_axis_um(vs, k, s) + origin[k] - center[k] for k, s in enumerate(slices)]
    dz, dy, dx = np.ix_(*axes)
    q = quadratic_form(cov, dz, dy, dx)
    return slices, q <= 1.0


def _paint(
    target: np.ndarray,
    flags: np.ndarray,
    ellipsoids: Iterable[Ellipsoid],
    value: int,
    flag: bool,
    paint_args: tuple[Sequence[int], VoxelSize, np.ndarray],
) -> None:
    """Write ``value`` (and ``flag`` into ``flags``) on every voxel of each ellipsoid."""
    shape, vs, origin = paint_args
    for center, cov in ellipsoids:
        slices, mask = ellipsoid_mask(shape, vs, center, cov, origin)
        if mask.any():
            target[slices][mask] = value
            flags[slices][mask] = flag


def _intensity_background(
    shape: tuple[int, int, int], image: np.ndarray | None, threshold: float
) -> np.ndarray:
    """Voxels that count as background from their normalised intensity."""
    if threshold >= 1.0:
        return np.ones(shape, dtype=bool)
    if threshold <= 0.0:
        return np.zeros(shape, dtype=bool)
    if image is None:
        raise InvalidInputError(
            f"background threshold {threshold} needs the normalised image to render labels"
        )
    img = np.asarray(image)
    if img.shape != shape:
        raise InvalidInputError(f"image shape {img.shape} does not match label shape {shape}")
    return img < threshold


def render_labels(
    shape_zyx: Sequence[int],
    voxel_size: VoxelSize | Sequence[float],
    true_nuclei: Iterable[Any],
    false_nuclei: Iterable[Any] = (),
    image: np.ndarray | None = None,
    center_ratio: float = 0.4,
    background_threshold: float = 0.1,
    origin_um: Sequence[float] = (0.0, 0.0, 0.0),
) -> LabelVolume:
    """Render ELEPHANT's training labels for one (crop of a) timepoint.

    Precedence, lowest first: IGNORE < intensity background (image below
    ``background_threshold``; 0 = none, ≥ 1 = every unannotated voxel) <
    false nuclei (background, ``is_false``) < periphery of true nuclei <
    centres of true nuclei (the ellipsoid with radii × ``center_ratio``).
    So a true nucleus wins over an overlapping false one, and a centre wins
    over a neighbour's periphery.
    """
    if not 0.0 < center_ratio <= 1.0:
        raise InvalidInputError(f"center ratio must be in (0, 1], got {center_ratio}")
    shape = tuple(int(s) for s in shape_zyx)
    if len(shape) != 3 or min(shape) < 0:
        raise InvalidInputError(f"label shape must be 3 sizes (z, y, x), got {shape}")
    paint_args = (shape, as_voxel_size(voxel_size), np.asarray(origin_um, dtype=np.float64))
    labels = np.full(shape, IGNORE, dtype=np.int64)
    is_false = np.zeros(shape, dtype=bool)
    labels[_intensity_background(shape, image, background_threshold)] = BACKGROUND
    falses = [as_ellipsoid(n) for n in false_nuclei]
    trues = [as_ellipsoid(n) for n in true_nuclei]
    cores = [(c, m * center_ratio**2) for c, m in trues]
    _paint(labels, is_false, falses, BACKGROUND, True, paint_args)
    _paint(labels, is_false, trues, PERIPHERY, False, paint_args)
    _paint(labels, is_false, cores, CENTER, False, paint_args)
    return LabelVolume(labels=labels, is_false=is_false)
