"""Format readers behind :func:`napari_elephant.core.io.image.open_image`.

Each reader returns a :class:`RawImage`: a lazy dask array in the file's own
axis order, the axes when the file says them, and the voxel size when the file
has one.  Putting the result in (T, Z, Y, X) order is the caller's job, so the
axis rules live in one place.  Nothing here reads pixels: zarr chunks and
TIFF pages stay on disk behind dask until a timepoint is asked for.  The HDF5
and BigDataViewer readers, which share :class:`RawImage` and the unit helpers,
are in :mod:`~.image_hdf5`.

Facts the readers rely on:

- OME-Zarr (NGFF 0.4 on zarr v2, 0.5 on zarr v3 under the ``ome`` key): level 0
  of ``multiscales[0]``; voxel size = the level's ``scale`` times the optional
  multiscale-wide ``scale``; a scale without unit is taken as µm.
- ImageJ TIFF: lateral size from XResolution/YResolution (pixels per unit),
  depth from the ``spacing`` entry, unit from ``unit``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import tifffile
import zarr
from defusedxml import ElementTree

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.units import VoxelSize

# µm per unit; names seen in OME-NGFF, ImageJ, OME-XML and BDV files.
_UM_PER_UNIT = {
    "micrometer": 1.0, "micron": 1.0, "microns": 1.0, "um": 1.0, "µm": 1.0, "μm": 1.0,
    "\\u00b5m": 1.0, "nanometer": 1e-3, "nm": 1e-3, "millimeter": 1e3, "mm": 1e3,
    "centimeter": 1e4, "cm": 1e4, "meter": 1e6, "m": 1e6, "angstrom": 1e-4, "å": 1e-4,
}  # fmt: skip


@dataclass(frozen=True, eq=False)
class RawImage:
    """A lazily opened array before it is put in (T, Z, Y, X) order."""

    array: da.Array
    axes: str | None
    voxel_size: VoxelSize | None
    format: str
    dataset: str | None = None
    handle: Any = None  # something with close(): an open h5py.File or TiffFile


def um_per_unit(unit: Any) -> float | None:
    """Micrometres in one ``unit``; None for an unknown unit such as 'pixel'."""
    if unit is None:
        return 1.0
    return _UM_PER_UNIT.get(str(unit).strip().lower())


def _voxel(zyx: Any, unit: Any = "micrometer") -> VoxelSize | None:
    """VoxelSize from (z, y, x) in ``unit``; None when the unit is unknown."""
    factor = um_per_unit(unit)
    if factor is None:
        return None
    return VoxelSize.from_sequence([float(v) * factor for v in zyx])


def _known_axes(names: Any, ndim: int) -> str | None:
    """Axis letters from metadata, or None when they are not TZCYX letters."""
    axes = "".join(str(n) for n in names).upper()
    return axes if len(axes) == ndim and set(axes) <= set("TZCYX") else None


def _keys(names: Any) -> str:
    return ", ".join(sorted(names)) or "none"


# --------------------------------------------------------------------- zarr


def zarr_attrs(path: Path) -> dict | None:
    """The attributes of a zarr directory (v2 or v3) without opening arrays."""
    v3 = path / "zarr.json"
    if v3.is_file():
        return dict(json.loads(v3.read_text()).get("attributes", {}))
    for name in (".zattrs", ".zgroup", ".zarray"):
        if (path / name).is_file():
            attrs = path / ".zattrs"
            return dict(json.loads(attrs.read_text())) if attrs.is_file() else {}
    return None


def _multiscales(attrs: dict) -> list | None:
    ome = attrs.get("ome")
    if isinstance(ome, dict) and "multiscales" in ome:
        return ome["multiscales"]
    return attrs.get("multiscales")


def read_zarr(path: Path, dataset: str | None) -> RawImage:
    """A plain zarr array, a group holding one image array, or OME-Zarr."""
    root = zarr.open(str(path), mode="r")
    if dataset is None:
        return _read_zarr_node(root, path, None)
    if isinstance(root, zarr.Group):
        ms = _multiscales(dict(root.attrs))
        if ms and dataset in _level_paths(ms[0]):
            return _read_ome(root, ms[0], dataset)
        if dataset in root:
            return _read_zarr_node(root[dataset], path, dataset)
        names = [n for n, _ in root.members()]
    else:
        names = []
    raise InvalidInputError(f"no dataset '{dataset}' in {path} (has: {_keys(names)})")


def _read_zarr_node(node: Any, path: Path, dataset: str | None) -> RawImage:
    if isinstance(node, zarr.Array):
        return _plain_zarr(node, dataset)
    if "geff" in node.attrs:
        raise InvalidInputError(f"{path} is a GEFF tracking graph, not an image")
    ms = _multiscales(dict(node.attrs))
    if ms:
        return replace(_read_ome(node, ms[0], None), dataset=dataset)
    return _only_zarr_array(node, path, dataset)


def _plain_zarr(array: zarr.Array, dataset: str | None) -> RawImage:
    dims = array.metadata.dimension_names if array.metadata.zarr_format == 3 else None
    axes = _known_axes(dims, array.ndim) if dims and all(dims) else None
    return RawImage(da.from_zarr(array), axes, None, "zarr", dataset)


def _only_zarr_array(group: zarr.Group, path: Path, prefix: str | None) -> RawImage:
    """The group's single array of 3 to 5 dimensions; several is ambiguous."""
    found = [
        (f"{prefix}/{n}" if prefix else n, m)
        for n, m in group.members(max_depth=None)
        if isinstance(m, zarr.Array)
    ]
    images = [(n, a) for n, a in found if 3 <= a.ndim <= 5]
    if len(images) == 1:
        return _plain_zarr(images[0][1], images[0][0])
    if not images:
        raise InvalidInputError(f"no 3D+t array in {path} (arrays: {_keys(n for n, _ in found)})")
    names = _keys(n for n, _ in images)
    raise InvalidInputError(f"{path} holds several arrays ({names}); choose one as the dataset")


def _level_paths(multiscale: dict) -> list[str]:
    return [str(d["path"]) for d in multiscale.get("datasets", [])]


def _read_ome(root: zarr.Group, multiscale: dict, level: str | None) -> RawImage:
    """One level (default: the finest) of an OME-NGFF multiscale image."""
    paths = _level_paths(multiscale)
    path = level if level is not None else paths[0]
    array = root[path]
    axes_meta = multiscale.get("axes")
    if axes_meta is None:  # NGFF 0.1/0.2: always tczyx
        axes_meta = list("tczyx")[-array.ndim :]
    names = [a["name"] if isinstance(a, dict) else str(a) for a in axes_meta]
    axes = "".join(_ngff_letter(a) for a in axes_meta)
    voxel = _ome_voxel(multiscale, paths.index(path), axes_meta, names)
    return RawImage(da.from_zarr(array), axes, voxel, "ome-zarr", level)


def _ngff_letter(axis: Any) -> str:
    """'t', 'time' (type time) -> 'T'; 'c' or type channel -> 'C'; else the name."""
    if not isinstance(axis, dict):
        return str(axis).upper()
    name, kind = str(axis.get("name", "")), axis.get("type")
    if len(name) != 1 and kind in ("time", "channel"):
        return kind[0].upper()
    return name.upper()


def _ome_scale(transforms: Any) -> np.ndarray | None:
    for tr in transforms or []:
        if tr.get("type") == "scale" and "scale" in tr:
            return np.asarray(tr["scale"], dtype=np.float64)
    return None


def _ome_voxel(multiscale: dict, index: int, axes_meta: list, names: list) -> VoxelSize | None:
    """Voxel size (z, y, x) in µm from the scale transforms of one level."""
    scale = _ome_scale(multiscale["datasets"][index].get("coordinateTransformations"))
    if scale is None:
        return None
    outer = _ome_scale(multiscale.get("coordinateTransformations"))
    if outer is not None:
        scale = scale * outer
    values = []
    for axis in "zyx":
        if axis not in names:
            values.append(1.0)
            continue
        i = names.index(axis)
        unit = axes_meta[i].get("unit") if isinstance(axes_meta[i], dict) else None
        factor = um_per_unit(unit)
        if factor is None:
            return None
        values.append(float(scale[i]) * factor)
    return VoxelSize(*values)


# --------------------------------------------------------------------- TIFF


def read_tiff(path: Path, dataset: str | None) -> RawImage:
    """A TIFF series through tifffile's zarr store: pages are read on demand."""
    tf = tifffile.TiffFile(path)
    try:
        index = int(dataset) if dataset is not None and dataset.isdigit() else 0
        if dataset is not None and (not dataset.isdigit() or index >= len(tf.series)):
            raise InvalidInputError(f"no series '{dataset}' in {path} (has {len(tf.series)})")
        series = tf.series[index]
        check_tiff_pages(series, path)
        array = da.from_zarr(zarr.open(series.aszarr(level=0), mode="r"))
        axes = _known_axes(series.axes.replace("S", "C"), array.ndim)
        return RawImage(array, axes, _tiff_voxel(tf), "tiff", dataset, tf)
    except BaseException:
        tf.close()
        raise


def check_tiff_pages(series: Any, path: Path) -> None:
    """Refuse a page whose size is not backed by its data segments, before any array is
    built: a damaged or hostile header can claim 2^32 rows in a file of a few kB (the
    strips of such a claim alone would fill the memory)."""
    page = series.keyframe
    implied, listed = math.prod(page.chunked), len(page.dataoffsets)
    if listed < implied:
        raise InvalidInputError(
            f"{path}: its header claims {page.shape} pixels a page, which {listed} data "
            f"segment{'s' * (listed != 1)} cannot hold ({implied:,} needed); the file is damaged"
        )


def _tiff_voxel(tf: tifffile.TiffFile) -> VoxelSize | None:
    if tf.is_ome and tf.ome_metadata:
        return _ome_xml_voxel(tf.ome_metadata)
    meta = tf.imagej_metadata
    if not meta or "unit" not in meta:
        return None
    tags = tf.pages.first.tags
    res = [tags[k].value for k in ("YResolution", "XResolution") if k in tags]
    if len(res) != 2 or not all(r[0] > 0 and r[1] > 0 for r in res):
        return None
    y, x = (r[1] / r[0] for r in res)  # pixels per unit -> units per pixel
    return _voxel((float(meta.get("spacing", 1.0)), y, x), meta["unit"])


def _ome_xml_voxel(xml: str) -> VoxelSize | None:
    """PhysicalSize{X,Y,Z} of the first image of an OME-TIFF (default unit µm)."""
    for el in ElementTree.fromstring(xml).iter():
        if el.tag.endswith("}Pixels") or el.tag == "Pixels":
            if el.get("PhysicalSizeX") is None:
                return None
            values = []
            for axis in "ZYX":
                factor = um_per_unit(el.get(f"PhysicalSize{axis}Unit", "µm"))
                if factor is None:
                    return None
                values.append(float(el.get(f"PhysicalSize{axis}", 1.0)) * factor)
            return VoxelSize(*values)
    return None
