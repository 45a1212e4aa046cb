"""Lazy access to 3D+t movies: Zarr, OME-Zarr, HDF5, BigDataViewer HDF5, TIFF.

Everything downstream (display, training, prediction) sees one shape,
(T, Z, Y, X), and asks for one timepoint at a time, so a movie far larger than
memory can be opened.  Opening reads metadata only; pixels are read by
:meth:`ImageSource.timepoint` (or by whoever computes the dask array).

Axis rules, in order: the ``axes`` argument; the file's axes metadata (OME-Zarr
``axes``, zarr v3 dimension names, TIFF series axes, ilastik ``axistags``);
otherwise by dimensionality: 4D = TZYX, 5D = TCZYX (the OME order).  **A 3-axis
array without axis names is ambiguous** — as often a 2D movie (TYX) as one 3D
stack (ZYX), and guessing wrong silently breaks detection — so opening one
raises :class:`AmbiguousAxesError` (one line naming both choices) until
``axes`` says which.  (TIFF series axes with letters we do not know, such as
tifffile's ``Q`` or ``I``, count as no names.)  A channel axis of size 1 is
dropped; more than one channel is refused for now.

A 2D movie is a (T, 1, Y, X) movie: ``is_2d`` says so, and its voxel size keeps
a nominal z of 1 µm whatever the file or the caller says (there is no z to
measure; the nuclei lie in the z = 0 plane).

:func:`write_ome_zarr` writes OME-NGFF **0.4 on zarr v2** (``/`` chunk keys,
Blosc-zstd like ome-zarr-py's default): it is the version the widest set of
readers accepts (ome-zarr-py, napari-ome-zarr, the Java N5/Zarr readers behind
Fiji and BigDataViewer), while NGFF 0.5 needs zarr v3 support that older
readers lack.  (Not checked here against Fiji itself.)  We read both.
"""

from __future__ import annotations

import math
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import dask.array as da
import numcodecs
import numpy as np
import zarr

from napari_elephant.core.errors import ElephantError, InvalidInputError
from napari_elephant.core.io.image_formats import RawImage, read_tiff, read_zarr
from napari_elephant.core.io.image_hdf5 import read_bdv_xml, read_hdf5
from napari_elephant.core.io.image_sniff import detect_format, not_an_image
from napari_elephant.core.units import VoxelSize

FORMATS = ("zarr", "ome-zarr", "hdf5", "bdv", "tiff")
_NAME_SUFFIXES = (".ome.zarr", ".ome.tiff", ".ome.tif", ".zarr", ".tiff", ".tif", ".hdf5")
_NAME_SUFFIXES += (".h5", ".he5", ".xml")
_ALL_AXES = "TZCYX"
_DEFAULT_AXES = {4: "TZYX", 5: "TCZYX"}  # 3 axes: ambiguous, see the module docstring
AXES_2D_MOVIE, AXES_3D_STACK = "TYX", "ZYX"
NOMINAL_Z_UM = 1.0  # the voxel z of a 2D movie (see VoxelSize.from_sequence)
# What a broken or foreign file makes the readers raise (h5py, zarr, tifffile,
# numcodecs, json); turned into one-line InvalidInputErrors at the boundary.
_READ_ERRORS = (OSError, ValueError, LookupError, TypeError, AttributeError, RuntimeError)
_READ_ERRORS += (EOFError, zlib.error, ParseError)


class AmbiguousAxesError(InvalidInputError):
    """A 3-axis image without axis names: a 2D movie (TYX) or one 3D stack (ZYX)?

    ``shape`` is the array's; callers that can ask the user (the dock, the
    napari reader) catch this, the command line shows its one line.
    """

    def __init__(self, where: str | Path, shape: tuple[int, ...]) -> None:
        self.shape = tuple(int(s) for s in shape)
        super().__init__(
            f"{where} has 3 axes {self.shape} and no axis names: say --axes "
            f"{AXES_2D_MOVIE} (a 2D movie) or --axes {AXES_3D_STACK} (one 3D stack)"
        )


@dataclass(frozen=True, eq=False)
class ImageSource:
    """An opened movie: a lazy (T, Z, Y, X) dask array plus where it came from.

    ``eq=False``: comparing two sources would compare dask arrays element-wise.
    """

    data: da.Array
    voxel_size: VoxelSize | None
    path: str
    dataset: str | None
    format: str
    name: str
    axes: str = "TZYX"  # the file's axes as interpreted; reopen with open_image(..., axes=)
    _handle: Any = field(default=None, repr=False)

    @property
    def n_timepoints(self) -> int:
        return int(self.data.shape[0])

    @property
    def shape_zyx(self) -> tuple[int, int, int]:
        z, y, x = (int(s) for s in self.data.shape[1:])
        return (z, y, x)

    @property
    def is_2d(self) -> bool:
        """A 2D movie: one z plane per timepoint."""
        return self.shape_zyx[0] == 1

    def timepoint(self, t: int, normalized: bool = True) -> np.ndarray:
        """One (Z, Y, X) volume as float32, read from disk now; min-max normalised."""
        t = int(t)
        if not 0 <= t < self.n_timepoints:
            raise InvalidInputError(
                f"timepoint {t} is outside 0..{self.n_timepoints - 1} of {self.path}"
            )
        _check_fits_in_memory(self.data.shape[1:], self.path)
        try:
            volume = np.asarray(self.data[t].compute(), dtype=np.float32)
        except _READ_ERRORS as exc:
            raise InvalidInputError(
                f"cannot read timepoint {t} of {self.path}: {_one_line(exc)}"
            ) from exc
        return normalize(volume) if normalized else volume

    def close(self) -> None:
        """Release the open file (HDF5, TIFF); the data cannot be read after."""
        if self._handle is not None:
            self._handle.close()


def open_image(
    path: str | Path,
    dataset: str | None = None,
    voxel_size: VoxelSize | Sequence[float] | None = None,
    axes: str | None = None,
) -> ImageSource:
    """Open a movie lazily as (T, Z, Y, X); ``voxel_size`` (z, y, x µm) beats metadata.

    ``axes`` beats the file's axis names, and is needed for a 3-axis file that
    has none (:class:`AmbiguousAxesError` otherwise).
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise InvalidInputError(f"image not found: {p}")
    override = _as_voxel_size(voxel_size)
    fmt = detect_format(p)
    if fmt is None:
        raise InvalidInputError(not_an_image(p))
    raw = _read(p, fmt, dataset)
    try:
        used = _resolve_axes(axes if axes is not None else raw.axes, raw.array.shape, p)
        data = to_tzyx(raw.array, used, p)
    except BaseException:
        if raw.handle is not None:
            raw.handle.close()
        raise
    voxel = override if override is not None else raw.voxel_size
    return ImageSource(
        data=data,
        voxel_size=_nominal_z(voxel) if data.shape[1] == 1 else voxel,
        path=str(p),
        dataset=raw.dataset,
        format=raw.format,
        name=_display_name(p),
        axes=used,
        _handle=raw.handle,
    )


def physical_memory() -> int | None:
    """This machine's memory in bytes, or None where the OS does not say (Windows)."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def _check_fits_in_memory(shape_zyx: Sequence[int], path: str) -> None:
    """Refuse, before allocating, a timepoint that cannot fit in memory as float32: a
    damaged or hostile header can claim 10^12 voxels in a file of a few kB."""
    need, have = 4 * math.prod(int(n) for n in shape_zyx), physical_memory()
    if have is not None and need > have:
        raise InvalidInputError(
            f"a timepoint of {path} would take {need / 2**30:,.0f} GiB, more than this "
            f"machine's {have / 2**30:,.0f} GiB: is the file's header right?"
        )


def _read(p: Path, fmt: str, dataset: str | None) -> RawImage:
    """Dispatch to the format reader; library errors become one-line errors."""
    if fmt == "bdv" and p.suffix.lower() == ".xml":
        reader = read_bdv_xml
    else:
        reader = {"zarr": read_zarr, "ome-zarr": read_zarr, "tiff": read_tiff}.get(fmt, read_hdf5)
    try:
        return reader(p, dataset)
    except ElephantError as exc:
        if str(p) in str(exc):
            raise
        raise type(exc)(f"{p}: {exc}") from exc  # e.g. a negative spacing in the metadata
    except _READ_ERRORS as exc:
        raise InvalidInputError(f"cannot read {p} as {fmt}: {_one_line(exc)}") from exc


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _as_voxel_size(value: VoxelSize | Sequence[float] | None) -> VoxelSize | None:
    if value is None or isinstance(value, VoxelSize):
        return value
    return VoxelSize.from_sequence(value)


def _nominal_z(voxel: VoxelSize | None) -> VoxelSize | None:
    """A 2D movie's voxel size: its y, x with the nominal z (there is no z to measure)."""
    if voxel is None or voxel.z == NOMINAL_Z_UM:
        return voxel
    return VoxelSize(NOMINAL_Z_UM, voxel.y, voxel.x)


def _display_name(p: Path) -> str:
    name = p.name
    for suffix in _NAME_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


# ------------------------------------------------------------------- axes


def _resolve_axes(axes: str | None, shape: tuple[int, ...], where: str | Path) -> str:
    """Validated upper-case axes for ``shape``; by dimensionality when unknown,
    except that 3 unnamed axes are ambiguous (:class:`AmbiguousAxesError`)."""
    shape = tuple(int(s) for s in shape)
    if not 3 <= len(shape) <= 5:
        raise InvalidInputError(f"not a 3D+t movie: {where} has shape {shape}")
    if axes is None and len(shape) == 3:
        raise AmbiguousAxesError(where, shape)
    axes = (axes if axes is not None else _DEFAULT_AXES[len(shape)]).upper()
    ok = (
        len(axes) == len(shape)
        and len(set(axes)) == len(axes)
        and set(axes) <= set(_ALL_AXES)
        and "Y" in axes
        and "X" in axes
    )
    if not ok:
        raise InvalidInputError(
            f"axes '{axes}' do not fit {where} with shape {shape} "
            f"(use letters from {_ALL_AXES}, one per dimension, e.g. 'TZYX')"
        )
    return axes


def to_tzyx(array: da.Array, axes: str | None, where: str | Path = "the image") -> da.Array:
    """Reorder ``array`` to (T, Z, Y, X): squeeze a size-1 channel, add missing T/Z."""
    shape = tuple(int(s) for s in array.shape)
    axes = _resolve_axes(axes, shape, where)
    if "C" in axes:
        c = axes.index("C")
        if shape[c] != 1:
            raise InvalidInputError(
                f"{where} has {shape[c]} channels (axes {axes}); channels are not supported yet"
            )
        array, axes = array[(slice(None),) * c + (0,)], axes.replace("C", "")
    if len(axes) < 3:
        raise InvalidInputError(f"not a 3D+t movie: {where} has axes {axes} only")
    for missing in "TZ":
        if missing not in axes:
            array, axes = array[None], missing + axes
    return array.transpose([axes.index(a) for a in "TZYX"])


# -------------------------------------------------------------- intensity


def normalize(volume: Any, low: float = 0.0, high: float = 100.0) -> np.ndarray:
    """Map one timepoint to float32 [0, 1]: ``low``/``high`` percentiles -> 0/1.

    ELEPHANT normalises each timepoint by its own min and max (the default);
    percentiles other than 0/100 make it robust to hot pixels (values are
    clipped).  A constant volume becomes zeros.
    """
    if not 0.0 <= low < high <= 100.0:
        raise InvalidInputError(f"normalisation needs 0 <= low < high <= 100, got {low}, {high}")
    out = np.array(volume, dtype=np.float32, copy=True)
    if out.size == 0:
        return out
    if low == 0.0 and high == 100.0:
        lo, hi = float(out.min()), float(out.max())
    else:
        lo, hi = (float(v) for v in np.percentile(out, [low, high]))
    span = hi - lo
    if not np.isfinite(span) or span <= 0:
        return np.zeros_like(out)
    out -= lo
    out /= span
    return np.clip(out, 0.0, 1.0, out=out)


# ----------------------------------------------------------------- writing


def write_ome_zarr(
    path: str | Path,
    array_tzyx: Any,
    voxel_size: VoxelSize | Sequence[float],
    chunks: Sequence[int] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a (T, Z, Y, X) movie as single-scale OME-Zarr (NGFF 0.4, zarr v2).

    Written one timepoint at a time, so a dask array never has to fit in memory.
    Chunks default to one timepoint each, the unit every reader here loads.
    """
    p = Path(path).expanduser()
    if getattr(array_tzyx, "ndim", None) != 4:
        raise InvalidInputError(f"write_ome_zarr needs a (T, Z, Y, X) array for {p}")
    if p.exists() and not overwrite:
        raise InvalidInputError(f"will not overwrite existing {p}")
    vs = _as_voxel_size(voxel_size)
    if vs is None:
        raise InvalidInputError(f"write_ome_zarr needs the voxel size (z, y, x µm) for {p}")
    shape = tuple(int(s) for s in array_tzyx.shape)
    root = zarr.open_group(str(p), mode="w", zarr_format=2)
    level = root.create_array(
        "0",
        shape=shape,
        dtype=array_tzyx.dtype,
        chunks=tuple(chunks) if chunks is not None else (1, *shape[1:]),
        compressors=numcodecs.Blosc(cname="zstd", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE),
        chunk_key_encoding={"name": "v2", "separator": "/"},
    )
    for t in range(shape[0]):
        level[t] = np.asarray(array_tzyx[t])
    root.attrs["multiscales"] = [_ngff_multiscale(p, vs)]
    return p


def _ngff_multiscale(p: Path, vs: VoxelSize) -> dict:
    axes = [{"name": "t", "type": "time"}]
    axes += [{"name": a, "type": "space", "unit": "micrometer"} for a in "zyx"]
    scale = [1.0, *vs.as_tuple()]
    return {
        "version": "0.4",
        "name": _display_name(p),
        "axes": axes,
        "datasets": [
            {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": scale}]}
        ],
    }
