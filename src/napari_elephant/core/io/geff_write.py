"""Writing the tracking graph as GEFF, kept apart from reading: a save only ever
writes our own layout, and must never leave a half-written graph behind.

What we write (geff 1.3 array API, zarr format 2 by default, as geff does):

- ``nodes/ids`` (uint64) and ``edges/ids`` (parent, child), a directed graph;
- node props ``t`` (int64, axis type ``time``, unit ``frame``) and ``z``, ``y``,
  ``x`` (float64, axis type ``space``, unit ``micrometer``);
- ``covariance3d``: the ellipsoid, values of shape (N, 3, 3) in µm², axes in
  the order of the spatial axes (z, y, x), named by the metadata field
  ``ellipsoid`` as the geff specification asks;
- ``status`` and ``origin`` (str) and, when any nucleus has tags, ``tags``
  (str, the sorted tags joined by commas: geff stores no lists of strings);
- node prop ``confidence`` (float64, the detection network's confidence in
  [0, 1]) when some nucleus has one; nuclei without one are marked in geff's
  ``missing`` mask and hold NaN, so a tool that ignores the mask sees no number;
- edge prop ``status`` (str) and, when any link has one, ``confidence``
  (float64, the linker's confidence in a link it proposed, missing where a
  link has none);
- ``extra["napari_elephant"] = {"format_version": 1, "next_id": ...}`` so that
  ids of deleted nuclei are never handed out again after a reload.

A 2D movie's graph can be written as a 2D GEFF (``two_d=True``, what the
export of a 2D workspace does): axes ``t``, ``y``, ``x`` only and the ellipse
``covariance2d`` of shape (N, 2, 2) over (y, x); z and the flat ellipsoid's z
variance are dropped (they follow from the ellipse, see
:func:`~napari_elephant.core.ellipsoid.flat_cov`).  The workspace itself always
saves the 3D layout, which reads back exactly.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from geff.core_io import write_arrays
from geff_spec import Axis, DisplayHint, GeffMetadata, PropMetadata

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Link, Nucleus, TrackingGraph, six_to_cov
from napari_elephant.core.io.atomic import swap_folder_into_place
from napari_elephant.core.io.geff_io import (
    _SPATIAL,
    CONFIDENCE_PROP,
    COVARIANCE_2D_PROP,
    COVARIANCE_PROP,
    EXTRA_KEY,
    FORMAT_VERSION,
    is_geff,
)


def write_geff(
    graph: TrackingGraph,
    path: str | os.PathLike,
    *,
    zarr_format: int = 2,
    overwrite: bool = False,
    two_d: bool = False,
) -> None:
    """Write the graph as a GEFF folder (zarr format 2 by default, like geff);
    ``two_d`` writes the y, x axes of a 2D movie only.

    The new store is written next to ``path`` and renamed into place, so an
    interrupted save never leaves a half-written graph behind.  With
    ``zarr_format=3`` zarr-python warns that our fixed-width string arrays
    have no stable v3 specification yet; format 2 has none of that.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise InvalidInputError(f"{path} already exists; pass overwrite=True to replace it")
    if path.exists() and not is_geff(path):
        raise InvalidInputError(f"{path} exists and is not a GEFF; refusing to replace it")
    tmp = path.with_name(f".{path.name}.writing-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _write_store(graph, tmp, zarr_format, two_d)
        swap_folder_into_place(tmp, path)
    except OSError as e:
        raise InvalidInputError(f"cannot write GEFF {path}: {e}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_store(graph: TrackingGraph, store: Path, zarr_format: int, two_d: bool) -> None:
    nuclei = list(graph.nuclei())
    links = list(graph.links())
    node_ids = np.array([n.id for n in nuclei], dtype=np.int64)
    if node_ids.size and node_ids.min() < 0:
        raise InvalidInputError("GEFF cannot store negative nucleus ids")
    edge_ids = np.array([(lk.parent, lk.child) for lk in links], dtype=np.uint64).reshape(-1, 2)
    edge_props = {"status": _prop(np.array([lk.status.value for lk in links], dtype=str))}
    if any(lk.confidence is not None for lk in links):
        edge_props[CONFIDENCE_PROP] = _confidences(links)
    node_props = _node_props(nuclei, two_d)
    write_arrays(
        str(store),
        node_ids.astype(np.uint64),
        node_props,
        edge_ids,
        edge_props,
        _metadata(graph, set(node_props), two_d=two_d, link_confidence=len(edge_props) > 1),
        zarr_format=zarr_format,  # type: ignore[arg-type]
        structure_validation=False,  # we built it; validation would re-read every array
    )


def _prop(values: np.ndarray) -> dict:
    return {"values": values, "missing": None}


def _node_props(nuclei: list[Nucleus], two_d: bool = False) -> dict[str, dict]:
    """Column arrays of the nuclei, built in one pass over the records."""
    n = len(nuclei)
    centers = np.array([nu.center for nu in nuclei], dtype=np.float64).reshape(n, 3)
    cov = six_to_cov(np.array([nu.cov for nu in nuclei], dtype=np.float64).reshape(n, 6))
    first = 1 if two_d else 0  # a 2D GEFF leaves z out
    props = {
        "t": _prop(np.array([nu.t for nu in nuclei], dtype=np.int64)),
        **{axis: _prop(centers[:, i].copy()) for i, axis in enumerate(_SPATIAL) if i >= first},
        _cov_name(two_d): _prop(np.ascontiguousarray(cov[:, first:, first:])),
        "status": _prop(np.array([nu.status.value for nu in nuclei], dtype=str)),
        "origin": _prop(np.array([nu.origin.value for nu in nuclei], dtype=str)),
    }
    if any(nu.tags for nu in nuclei):
        props["tags"] = _prop(np.array([",".join(sorted(nu.tags)) for nu in nuclei], dtype=str))
    if any(nu.confidence is not None for nu in nuclei):
        props[CONFIDENCE_PROP] = _confidences(nuclei)
    return props


def _confidences(records: list[Nucleus] | list[Link]) -> dict:
    """Confidence values, NaN and flagged missing where a nucleus or link has none."""
    values = np.array(
        [np.nan if r.confidence is None else r.confidence for r in records], dtype=np.float64
    )
    missing = np.isnan(values)
    return {"values": values, "missing": missing if missing.any() else None}


def _described(described: dict[str, tuple]) -> dict[str, PropMetadata]:
    return {
        name: PropMetadata(identifier=name, dtype=dtype, unit=unit, description=text)
        for name, (dtype, unit, text) in described.items()
    }


def _cov_name(two_d: bool) -> str:
    return COVARIANCE_2D_PROP if two_d else COVARIANCE_PROP


def _metadata(
    graph: TrackingGraph, written: set[str], two_d: bool = False, link_confidence: bool = False
) -> GeffMetadata:
    spatial = _SPATIAL[1:] if two_d else _SPATIAL
    axes = [Axis(name="t", type="time", unit="frame")]
    axes += [Axis(name=a, type="space", unit="micrometer") for a in spatial]
    shape = "ellipse covariance (y, x)" if two_d else "ellipsoid covariance (z, y, x)"
    described = {
        _cov_name(two_d): ("float64", "micrometer**2", shape),
        "status": ("str", None, "predicted, accepted or rejected"),
        "origin": ("str", None, "manual or predicted"),
    }
    if "tags" in written:
        described["tags"] = ("str", None, "tags joined by commas")
    if CONFIDENCE_PROP in written:
        described[CONFIDENCE_PROP] = ("float64", None, "detection network's confidence, 0-1")
    props = _described(described)
    edge_described = {"status": ("str", None, "predicted, accepted or rejected")}
    if link_confidence:
        edge_described[CONFIDENCE_PROP] = ("float64", None, "linker's confidence, 0-1")
    return GeffMetadata(
        directed=True,
        axes=axes,
        node_props_metadata=props,
        edge_props_metadata=_described(edge_described),
        ellipsoid=_cov_name(two_d),
        display_hints=DisplayHint(
            display_horizontal="x",
            display_vertical="y",
            display_depth=None if two_d else "z",
            display_time="t",
        ),
        extra={EXTRA_KEY: {"format_version": FORMAT_VERSION, "next_id": graph.next_id}},
    )
