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
- edge prop ``status`` (str);
- ``extra["napari_elephant"] = {"format_version": 1, "next_id": ...}`` so that
  ids of deleted nuclei are never handed out again after a reload.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from geff.core_io import write_arrays
from geff_spec import Axis, DisplayHint, GeffMetadata, PropMetadata

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Nucleus, TrackingGraph, six_to_cov
from napari_elephant.core.io.atomic import swap_folder_into_place
from napari_elephant.core.io.geff_io import (
    _SPATIAL,
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
) -> None:
    """Write the graph as a GEFF folder (zarr format 2 by default, like geff).

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
        _write_store(graph, tmp, zarr_format)
        swap_folder_into_place(tmp, path)
    except OSError as e:
        raise InvalidInputError(f"cannot write GEFF {path}: {e}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _write_store(graph: TrackingGraph, store: Path, zarr_format: int) -> None:
    nuclei = list(graph.nuclei())
    links = list(graph.links())
    node_ids = np.array([n.id for n in nuclei], dtype=np.int64)
    if node_ids.size and node_ids.min() < 0:
        raise InvalidInputError("GEFF cannot store negative nucleus ids")
    edge_ids = np.array([(lk.parent, lk.child) for lk in links], dtype=np.uint64).reshape(-1, 2)
    edge_props = {"status": _prop(np.array([lk.status.value for lk in links], dtype=str))}
    node_props = _node_props(nuclei)
    write_arrays(
        str(store),
        node_ids.astype(np.uint64),
        node_props,
        edge_ids,
        edge_props,
        _metadata(graph, with_tags="tags" in node_props),
        zarr_format=zarr_format,  # type: ignore[arg-type]
        structure_validation=False,  # we built it; validation would re-read every array
    )


def _prop(values: np.ndarray) -> dict:
    return {"values": values, "missing": None}


def _node_props(nuclei: list[Nucleus]) -> dict[str, dict]:
    """Column arrays of the nuclei, built in one pass over the records."""
    n = len(nuclei)
    centers = np.array([nu.center for nu in nuclei], dtype=np.float64).reshape(n, 3)
    six = np.array([nu.cov for nu in nuclei], dtype=np.float64).reshape(n, 6)
    props = {
        "t": _prop(np.array([nu.t for nu in nuclei], dtype=np.int64)),
        **{axis: _prop(centers[:, i].copy()) for i, axis in enumerate(_SPATIAL)},
        COVARIANCE_PROP: _prop(six_to_cov(six)),
        "status": _prop(np.array([nu.status.value for nu in nuclei], dtype=str)),
        "origin": _prop(np.array([nu.origin.value for nu in nuclei], dtype=str)),
    }
    if any(nu.tags for nu in nuclei):
        props["tags"] = _prop(np.array([",".join(sorted(nu.tags)) for nu in nuclei], dtype=str))
    return props


def _metadata(graph: TrackingGraph, with_tags: bool) -> GeffMetadata:
    axes = [Axis(name="t", type="time", unit="frame")]
    axes += [Axis(name=a, type="space", unit="micrometer") for a in _SPATIAL]
    described = {
        COVARIANCE_PROP: ("float64", "micrometer**2", "ellipsoid covariance (z, y, x)"),
        "status": ("str", None, "predicted, accepted or rejected"),
        "origin": ("str", None, "manual or predicted"),
    }
    if with_tags:
        described["tags"] = ("str", None, "tags joined by commas")
    props = {
        name: PropMetadata(identifier=name, dtype=dtype, unit=unit, description=text)
        for name, (dtype, unit, text) in described.items()
    }
    return GeffMetadata(
        directed=True,
        axes=axes,
        node_props_metadata=props,
        edge_props_metadata={},
        ellipsoid=COVARIANCE_PROP,
        display_hints=DisplayHint(
            display_horizontal="x", display_vertical="y", display_depth="z", display_time="t"
        ),
        extra={EXTRA_KEY: {"format_version": FORMAT_VERSION, "next_id": graph.next_id}},
    )
