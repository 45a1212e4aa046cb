"""Format readers behind :func:`napari_elephant.core.io.image.open_image`.

Each reader returns a :class:`RawImage`: a lazy dask array in the file's own
axis order, the axes when the file says them, and the voxel size when the file
has one.  Putting the result in (T, Z, Y, X) order is the caller's job, so the
axis rules live in one place.  Nothing here reads pixels: h5py datasets and
TIFF pages stay on disk behind dask until a timepoint is asked for.

Facts the readers rely on:

- OME-Zarr (NGFF 0.4 on zarr v2, 0.5 on zarr v3 under the ``ome`` key): level 0
  of ``multiscales[0]``; voxel size = the level's ``scale`` times the optional
  multiscale-wide ``scale``; a scale without unit is taken as µm.
- BigDataViewer HDF5: ``t{TTTTT}/s{SS}/{level}/cells`` (z, y, x) per timepoint
  and setup; ``s{SS}/resolutions`` holds downsampling factors, not a voxel size,
  so the voxel size comes from the XML next to the file
  (``ViewSetup/voxelSize/size`` in **x y z** order).  BDV writers store uint16
  as int16, so int16 cells are read back as uint16.
- ImageJ TIFF: lateral size from XResolution/YResolution (pixels per unit),
  depth from the ``spacing`` entry, unit from ``unit``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import ParseError

import dask.array as da
import h5py
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
_BDV_TIMEPOINT = re.compile(r"^t(\d{5})$")
_BDV_SETUP = re.compile(r"^s\d{2,}$")
_MAX_XML_SCAN = 50


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


# --------------------------------------------------------------------- HDF5


def _lazy_h5(dataset: h5py.Dataset) -> da.Array:
    """Dask over an open h5py dataset: one plane or volume (or less) per chunk."""
    chunks = (1,) + ("auto",) * (dataset.ndim - 1)
    return da.from_array(dataset, chunks=chunks, lock=True, name=False, asarray=True)


def _h5_axes(dataset: h5py.Dataset) -> str | None:
    """Axes from ilastik ``axistags`` or HDF5 dimension labels, if present."""
    tags = dataset.attrs.get("axistags")
    if tags is not None:
        names = [a.get("key") for a in json.loads(tags).get("axes", [])]
    else:
        names = [d.label for d in dataset.dims]
    return _known_axes(names, dataset.ndim)


def read_hdf5(path: Path, dataset: str | None) -> RawImage:
    """A dataset of an HDF5 file, or a BigDataViewer HDF5 movie."""
    f = h5py.File(path, "r")
    try:
        if is_bdv_h5(f) and not (dataset and isinstance(f.get(dataset), h5py.Dataset)):
            return read_bdv(f, path, dataset, _find_bdv_xml(path))
        key = dataset if dataset is not None else _only_h5_dataset(f, path)
        node = f.get(key)
        if not isinstance(node, h5py.Dataset):
            raise InvalidInputError(f"no dataset '{key}' in {path} (has: {_keys(_h5_all(f))})")
        size = node.attrs.get("element_size_um")
        voxel = None if size is None else _voxel(list(size)[-3:])
        return RawImage(_lazy_h5(node), _h5_axes(node), voxel, "hdf5", key, f)
    except BaseException:
        f.close()
        raise


def _h5_all(f: h5py.File) -> list[str]:
    names: list[str] = []
    f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
    return names


def _only_h5_dataset(f: h5py.File, path: Path) -> str:
    names = _h5_all(f)
    images = [n for n in names if 3 <= f[n].ndim <= 5]
    if len(images) == 1:
        return images[0]
    if not images:
        raise InvalidInputError(f"no 3D+t dataset in {path} (datasets: {_keys(names)})")
    raise InvalidInputError(
        f"{path} holds several datasets ({_keys(images)}); choose one as the dataset"
    )


def is_bdv_h5(f: h5py.File) -> bool:
    """BigDataViewer layout: a first timepoint group and setup groups."""
    keys = list(f)
    return any(map(_BDV_TIMEPOINT.match, keys)) and any(map(_BDV_SETUP.match, keys))


def _bdv_setup(f: h5py.File, path: Path, dataset: str | None) -> str:
    setups = sorted(k for k in f if _BDV_SETUP.match(k))
    if dataset is None:
        if len(setups) > 1:
            raise InvalidInputError(
                f"{path} holds several BigDataViewer setups ({_keys(setups)}); choose one"
            )
        return setups[0]
    name = f"s{int(dataset):02d}" if dataset.isdigit() else dataset
    if name not in setups:
        raise InvalidInputError(f"no setup '{dataset}' in {path} (has: {_keys(setups)})")
    return name


def read_bdv(f: h5py.File, path: Path, dataset: str | None, xml: Path | None) -> RawImage:
    """Stack the full-resolution ``cells`` of every timepoint of one setup."""
    setup = _bdv_setup(f, path, dataset)
    times = sorted(
        (int(m.group(1)), k) for k in f if (m := _BDV_TIMEPOINT.match(k)) and setup in f[k]
    )
    if not times:
        raise InvalidInputError(f"no timepoint holds setup {setup} in {path}")
    frames = [_lazy_h5(f[f"{key}/{setup}/0/cells"]) for _, key in times]
    stack = da.stack(frames)
    if stack.dtype == np.int16:  # BDV's HDF5 stores unsigned 16 bit as int16
        stack = stack.map_blocks(lambda b: b.view(np.uint16), dtype=np.uint16)
    voxel = _bdv_voxel(xml, int(setup[1:])) if xml is not None else None
    return RawImage(stack, "TZYX", voxel, "bdv", setup, f)


def _bdv_loader_file(xml: Path) -> Path | None:
    """The HDF5 file a BDV XML points to, or None when it is not BDV HDF5."""
    root = ElementTree.parse(xml).getroot()
    node = root.find("SequenceDescription/ImageLoader/hdf5")
    if root.tag != "SpimData" or node is None or not node.text:
        return None
    target = Path(node.text.strip())
    if node.get("type", "relative") == "relative":
        target = xml.parent / target
    return target


def _find_bdv_xml(h5: Path) -> Path | None:
    """The BDV XML describing ``h5``: same stem first, then any sibling."""
    same = h5.with_suffix(".xml")
    candidates = [same, *sorted(p for p in h5.parent.glob("*.xml") if p != same)]
    for xml in candidates[:_MAX_XML_SCAN]:
        try:
            target = _bdv_loader_file(xml) if xml.is_file() and is_bdv_xml(xml) else None
        except (OSError, ValueError, ParseError):  # a foreign XML is not ours to report
            continue
        if target is not None and target.name == h5.name:
            return xml
    return None


def _bdv_voxel(xml: Path, setup: int) -> VoxelSize | None:
    for vs in ElementTree.parse(xml).getroot().iter("ViewSetup"):
        if (vs.findtext("id") or "").strip() == str(setup):
            size = vs.findtext("voxelSize/size")
            if not size:
                return None
            x, y, z = (float(v) for v in size.split())
            return _voxel((z, y, x), vs.findtext("voxelSize/unit"))
    return None


def read_bdv_xml(xml: Path, dataset: str | None) -> RawImage:
    """Open a BigDataViewer dataset from its XML (as Fiji does)."""
    target = _bdv_loader_file(xml)
    if target is None:
        raise InvalidInputError(f"{xml} is not a BigDataViewer HDF5 dataset")
    if not target.is_file():
        raise InvalidInputError(f"the HDF5 file named in {xml} is missing: {target}")
    f = h5py.File(target, "r")
    try:
        return read_bdv(f, target, dataset, xml)
    except BaseException:
        f.close()
        raise


def is_bdv_xml(path: Path) -> bool:
    """Cheap sniff: does the XML start like a SpimData document?"""
    with open(path, "rb") as fh:
        return b"<SpimData" in fh.read(4096)


# --------------------------------------------------------------------- TIFF


def read_tiff(path: Path, dataset: str | None) -> RawImage:
    """A TIFF series through tifffile's zarr store: pages are read on demand."""
    tf = tifffile.TiffFile(path)
    try:
        index = int(dataset) if dataset is not None and dataset.isdigit() else 0
        if dataset is not None and (not dataset.isdigit() or index >= len(tf.series)):
            raise InvalidInputError(f"no series '{dataset}' in {path} (has {len(tf.series)})")
        series = tf.series[index]
        array = da.from_zarr(zarr.open(series.aszarr(level=0), mode="r"))
        axes = _known_axes(series.axes.replace("S", "C"), array.ndim)
        return RawImage(array, axes, _tiff_voxel(tf), "tiff", dataset, tf)
    except BaseException:
        tf.close()
        raise


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
