"""HDF5 and BigDataViewer readers behind :func:`napari_elephant.core.io.image.open_image`.

Apart from the zarr and TIFF readers (:mod:`~.image_formats`, whose
:class:`~.image_formats.RawImage` they return) because an HDF5 movie may be a
BigDataViewer dataset, and finding one means walking its group layout and the
XML files beside it.  HDF5 datasets stay on disk behind dask.

Facts the readers rely on:

- plain HDF5: the voxel size is the ``element_size_um`` attribute (z, y, x),
  the axes come from ilastik ``axistags`` or HDF5 dimension labels;
- BigDataViewer HDF5: ``t{TTTTT}/s{SS}/{level}/cells`` (z, y, x) per timepoint
  and setup; ``s{SS}/resolutions`` holds downsampling factors, not a voxel size,
  so the voxel size comes from the XML next to the file
  (``ViewSetup/voxelSize/size`` in **x y z** order).  BDV writers store uint16
  as int16, so int16 cells are read back as uint16.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree.ElementTree import ParseError

import dask.array as da
import h5py
import numpy as np
from defusedxml import ElementTree

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.io.image_formats import RawImage, _keys, _known_axes, _voxel
from napari_elephant.core.units import VoxelSize

_BDV_TIMEPOINT = re.compile(r"^t(\d{5})$")
_BDV_SETUP = re.compile(r"^s\d{2,}$")
_MAX_XML_SCAN = 50


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
