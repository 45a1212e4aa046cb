"""Label-image movies on disk (one TIFF per frame, or one 4D TIFF) and nuclei from them.

The Cell Tracking Challenge stores a tracking result as one 16-bit label
TIFF per frame (``mask000.tif``, ``man_track000.tif``, ...); other tools
write a single (T, Z, Y, X) label TIFF.  Both open here as a
:class:`LabelMovie` that reads one frame at a time, so a long movie is never
held in memory.  Frames are 3D (Z, Y, X) or, for a 2D movie, 2D (Y, X) as in
the CTC's 2D datasets; a single label TIFF with 3 axes is a (T, Y, X) 2D
movie unless its axes say Z and no T.

A labelled region becomes an ellipsoid through its second moments in µm:
a uniform solid ellipsoid ``(x-c)ᵀ Σ⁻¹ (x-c) ≤ 1`` has moment covariance
Σ/5, so Σ = 5 × (moment covariance), each voxel counted as the cube it
samples (the same rule as the detection post-processing, whose moment code
this reuses).  A region of a 2D frame is a solid ellipse, whose moment
covariance is Σ/4 (each pixel counted as the square it samples); it becomes a
2D nucleus (z = 0, :func:`~napari_elephant.core.ellipsoid.flat_cov`).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile
import zarr

from napari_elephant.core.detection.postprocess import SOLID_ELLIPSOID_FACTOR, component_moments
from napari_elephant.core.ellipsoid import flat_cov
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.io.image_formats import _tiff_voxel, check_tiff_pages
from napari_elephant.core.units import VoxelSize

_FRAME_FILE = re.compile(r"^(?P<prefix>.*?)(?P<t>\d+)\.tiff?$", re.IGNORECASE)
_TIFF_ERRORS = (OSError, ValueError, struct.error, tifffile.TiffFileError)
SOLID_ELLIPSE_FACTOR = 4.0  # Σ / (second moment) for a uniform solid ellipse


@dataclass(frozen=True, eq=False)
class LabelMovie:
    """Frames of a label movie, read on demand; ``voxel_size`` from the file (or None)."""

    source: Path
    frames: tuple[int, ...]
    voxel_size: VoxelSize | None
    reader: Callable[[int], np.ndarray]

    def read(self, t: int, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """Frame ``t`` as a checked (Z, Y, X) or (Y, X) array of non-negative labels."""
        try:
            labels = np.asarray(self.reader(t))
        except _TIFF_ERRORS as exc:
            raise InvalidInputError(f"{self.source}: cannot read frame {t} ({exc})") from None
        return check_labels(labels, f"{self.source}, frame {t}", shape)


def check_labels(labels: np.ndarray, where: str, shape: tuple[int, ...] | None) -> np.ndarray:
    """Refuse what is not a 2D or 3D image of non-negative integer labels (or of
    another shape than the first frame's)."""
    if labels.ndim not in (2, 3):
        raise InvalidInputError(
            f"{where}: expected a 3D (z, y, x) or 2D (y, x) label image, got {labels.shape}"
        )
    if labels.dtype.kind not in "ui":
        raise InvalidInputError(f"{where}: label images must be integer, got {labels.dtype}")
    if labels.dtype.kind == "i" and labels.size and labels.min() < 0:
        raise InvalidInputError(f"{where}: label images must not hold negative values")
    if shape is not None and labels.shape != shape:
        raise InvalidInputError(
            f"{where}: shape {labels.shape} differs from the first frame's {shape}"
        )
    return labels


def frame_files(folder: Path, prefix: str | None = None) -> dict[int, Path]:
    """``{t: file}`` of the numbered TIFFs of a folder (of one prefix, when given).

    Without a prefix the folder must hold one numbered series only, so that
    ``mask*.tif`` next to ``man_seg*.tif`` is an error, not a silent pick.
    """
    series: dict[str, dict[int, Path]] = {}
    for f in sorted(folder.iterdir()):
        m = _FRAME_FILE.match(f.name)
        if m and f.is_file():
            frames = series.setdefault(m["prefix"], {})
            t = int(m["t"])
            if t in frames:
                raise InvalidInputError(
                    f"{folder}: two files for frame {t} ({frames[t].name}, {f.name})"
                )
            frames[t] = f
    if prefix is not None:
        return series.get(prefix, {})
    if len(series) > 1:
        names = ", ".join(f"{p}*.tif" for p in sorted(series))
        raise InvalidInputError(f"{folder}: several numbered TIFF series ({names}); keep one")
    return next(iter(series.values()), {})


def open_frame_folder(folder: Path, prefix: str | None = None) -> LabelMovie:
    """The numbered label TIFFs of a folder as a movie."""
    files = frame_files(folder, prefix)
    if not files:
        pattern = f"{prefix}NNN.tif" if prefix is not None else "numbered TIFF files"
        raise InvalidInputError(f"{folder}: no label images ({pattern}) found")
    first = files[min(files)]
    return LabelMovie(
        folder, tuple(sorted(files)), _file_voxel(first), lambda t: _imread(files[t])
    )


def open_movie_file(path: Path) -> LabelMovie:
    """A single (T, Z, Y, X) or (T, Y, X) label TIFF; singleton channel axes are dropped."""
    try:
        with tifffile.TiffFile(path) as tf:
            series = tf.series[0]
            check_tiff_pages(series, path)
            axes, voxel = series.axes, _tiff_voxel(tf)
        store = zarr.open(tifffile.imread(path, aszarr=True), mode="r")
    except _TIFF_ERRORS as exc:
        raise InvalidInputError(f"{path}: cannot read as TIFF ({exc})") from None
    keep = [
        i for i, (a, n) in enumerate(zip(axes, store.shape, strict=True)) if a not in "CS" or n > 1
    ]
    kept_axes = "".join(axes[i] for i in keep)
    if len(keep) not in (3, 4) or (len(keep) == 3 and "Z" in kept_axes and "T" not in kept_axes):
        raise InvalidInputError(
            f"{path}: a label movie file must be (t, z, y, x) or, for a 2D movie, (t, y, x); "
            f"got axes {axes} {store.shape}"
        )

    def read(t: int) -> np.ndarray:
        index: list[int | slice] = [0 if i not in keep else slice(None) for i in range(store.ndim)]
        index[keep[0]] = t
        return np.asarray(store[tuple(index)])

    return LabelMovie(path, tuple(range(store.shape[keep[0]])), voxel, read)


def _imread(path: Path) -> np.ndarray:
    """One label image, its header checked before the array is allocated."""
    with tifffile.TiffFile(path) as tf:
        check_tiff_pages(tf.series[0], path)
        return tf.series[0].asarray()


def _file_voxel(path: Path) -> VoxelSize | None:
    try:
        with tifffile.TiffFile(path) as tf:
            return _tiff_voxel(tf)
    except InvalidInputError:
        return None  # unusable calibration: the caller asks for a voxel size
    except _TIFF_ERRORS as exc:
        raise InvalidInputError(f"{path}: cannot read as TIFF ({exc})") from None


def label_ellipsoids(
    labels: np.ndarray, voxel_size: VoxelSize
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels present (k,), centres (k, 3) µm, covariances (k, 3, 3) µm²), by label.

    Voxel index ``i`` sits at ``i × voxel_size`` µm, as in the renderer.  A 2D
    (Y, X) frame gives 2D nuclei (z = 0, flat covariances).
    """
    if labels.ndim == 2:
        return _label_ellipses(labels, voxel_size)
    foreground = labels > 0
    values = labels[foreground]
    present = np.unique(values)  # labels may be sparse and large (32-bit ids): no lookup table
    if present.size == 0:
        return present, np.zeros((0, 3)), np.zeros((0, 3, 3))
    compact = np.zeros(labels.shape, dtype=np.int32)
    compact[foreground] = np.searchsorted(present, values) + 1
    _counts, means, cov, _ = component_moments(compact, present.size, voxel_size, compact)
    return present, means, cov * SOLID_ELLIPSOID_FACTOR


def _label_ellipses(
    labels: np.ndarray, voxel_size: VoxelSize
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The regions of a 2D frame as 2D nuclei: solid ellipses from their (y, x) moments."""
    present, centers, cov = label_ellipsoids(labels[np.newaxis], voxel_size)
    moments_yx = cov[:, 1:, 1:] / SOLID_ELLIPSOID_FACTOR
    centers[:, 0] = 0.0
    return present, centers, flat_cov(moments_yx * SOLID_ELLIPSE_FACTOR)
