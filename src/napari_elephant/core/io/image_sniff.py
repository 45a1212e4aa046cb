"""Which image format a path holds, from its name and first bytes (no pixel read).

Cheap enough for napari's reader, which asks for every path dropped on the
viewer; :func:`not_an_image` says what a path we refuse is instead.
"""

from __future__ import annotations

from pathlib import Path

import h5py

from napari_elephant.core.io.image_formats import zarr_attrs
from napari_elephant.core.io.image_hdf5 import is_bdv_h5, is_bdv_xml

_H5_SUFFIXES = {".h5", ".hdf5", ".he5"}
_TIFF_SUFFIXES = {".tif", ".tiff"}


def detect_format(path: str | Path) -> str | None:
    """The image format of ``path`` from its name and first bytes, or None.

    Cheap enough for a napari reader deciding whether to claim a path.  Our
    workspaces (``*.elephant``) and GEFF graphs are zarr-like but not images.
    """
    p = Path(path)
    try:
        if p.is_dir():
            return _detect_dir(p)
        if not p.is_file():
            return None
        suffix = p.suffix.lower()
        if suffix in _TIFF_SUFFIXES:
            return "tiff"
        if suffix in _H5_SUFFIXES:
            return "bdv" if _h5_is_bdv(p) else "hdf5"
        if suffix == ".xml" and is_bdv_xml(p):
            return "bdv"
    except OSError:
        return None
    return None


def _detect_dir(p: Path) -> str | None:
    if p.suffix.lower() == ".elephant" or (p / "workspace.json").is_file():
        return None
    try:
        attrs = zarr_attrs(p)
    except (ValueError, TypeError):  # broken metadata: claim it; open_image will say so
        return "zarr"
    if attrs is None or "geff" in attrs:
        return None
    ome = attrs.get("ome")
    if "multiscales" in attrs or (isinstance(ome, dict) and "multiscales" in ome):
        return "ome-zarr"
    return "zarr"


def _h5_is_bdv(p: Path) -> bool:
    try:
        with h5py.File(p, "r") as f:
            return is_bdv_h5(f)
    except OSError:  # not readable: still ours to report when opened
        return False


def not_an_image(p: Path) -> str:
    if p.is_dir() and (p.suffix.lower() == ".elephant" or (p / "workspace.json").is_file()):
        return f"{p} is a napari-elephant workspace, not an image"
    if p.is_dir() and "geff" in (zarr_attrs(p) or {}):
        return f"{p} is a GEFF tracking graph, not an image"
    return f"not a recognised image (Zarr, OME-Zarr, HDF5, BigDataViewer, TIFF): {p}"
