"""The tracking graph as GEFF, the community graph exchange format (zarr): our
layout's names, recognising a GEFF, and reading and validating one.

Reading is the side that must cope with files written by other tools, so it
lives apart from :mod:`napari_elephant.core.io.geff_write`, which writes only
our own layout (described there).  Reading accepts any valid GEFF with a time
axis and 2 or 3 spatial axes, see :func:`read_geff` for how missing pieces are
filled in.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from enum import Enum
from itertools import starmap
from pathlib import Path

import numpy as np
import zarr
from geff import GeffReader
from geff_spec import Axis, GeffMetadata

from napari_elephant.core.ellipsoid import flat_cov, positive_definite
from napari_elephant.core.errors import GraphError, InvalidInputError
from napari_elephant.core.graph import LinkColumns, Nucleus, Origin, Status, TrackingGraph
from napari_elephant.core.graph.store import gc_paused

DEFAULT_RADIUS_UM = 3.0
"""Radius (µm) given to nuclei of a GEFF that has neither ellipsoids nor spheres."""

# Names in our own layout: geff_write writes them, read_geff finds them again.
COVARIANCE_PROP = "covariance3d"
COVARIANCE_2D_PROP = "covariance2d"  # the ellipse of a 2D GEFF (y, x)
CONFIDENCE_PROP = "confidence"  # the detection network's, optional (older files lack it)
EXTRA_KEY = "napari_elephant"
FORMAT_VERSION = 1
_TRIU = (np.array([0, 0, 0, 1, 1, 2]), np.array([0, 1, 2, 1, 2, 2]))
_SPATIAL = ("z", "y", "x")
# Length units of the OME-NGFF list that tracking data plausibly uses, in µm.
_LENGTH_UM = {
    "angstrom": 1e-4,
    "picometer": 1e-6,
    "nanometer": 1e-3,
    "micrometer": 1.0,
    "millimeter": 1e3,
    "centimeter": 1e4,
    "meter": 1e6,
}


def is_geff(path: str | os.PathLike) -> bool:
    """True when ``path`` is a zarr group carrying geff metadata (cheap, never raises)."""
    p = Path(path)
    if not (p / ".zattrs").is_file() and not (p / "zarr.json").is_file():
        return False
    try:
        return "geff" in zarr.open_group(str(p), mode="r").attrs
    except Exception:  # any unreadable store is simply "not a geff"
        return False


def read_geff(path: str | os.PathLike) -> TrackingGraph:
    """Load a GEFF written by us or by another tool.

    - Positions come from the axes metadata: the ``time`` axis (whole frame
      numbers) and 2 or 3 ``space`` axes.  Spatial axes named z/y/x are matched
      by name, others are taken in file order as (z,) y, x; 2D graphs get z = 0.
      Without axes metadata, properties named t, z, y, x are used.
    - Lengths become µm: an axis ``scale`` (with ``scaled_unit``) is applied,
      nanometer and other length units are converted, absent or unknown units
      (pixel included) count as µm.
    - Shape: the ``ellipsoid`` property, else the ``sphere`` property or one
      named ``radius``, else a sphere of :data:`DEFAULT_RADIUS_UM`.
    - A GEFF with 2 space axes is a 2D movie's: its nodes become 2D nuclei
      (z = 0, the flat covariance of
      :func:`~napari_elephant.core.ellipsoid.flat_cov`).
    - Missing ``status`` means accepted, missing ``origin`` means manual.
    - ``confidence`` (0–1) where present; absent, missing, NaN or out of range
      means None (files written before it existed still open).
    - Node ids are kept: the geff specification makes them integers, so no
      remapping is ever needed.  Undirected graphs are oriented forward in time.

    Anything we cannot use, or a graph that breaks our invariants (two
    lineage parents, more than two lineage children — rejected links are
    outside those limits —, a link that does not go forward in time), raises
    :class:`InvalidInputError` naming the path and the nodes.
    """
    path = Path(path)
    mem = _load(path)
    meta, props = mem["metadata"], mem["node_props"]
    ids = _node_ids(mem["node_ids"], path)
    t_axis, space, order = _find_axes(meta, props, path)
    t = _frames(props[t_axis.name]["values"], ids, path)
    scales = [_to_um(ax) for ax in space]
    centers = np.zeros((len(ids), 3))
    for col, k in enumerate(order, start=3 - len(order)):
        factor, offset = scales[k]
        centers[:, col] = np.asarray(props[space[k].name]["values"], np.float64) * factor + offset
    factors = np.array([scales[k][0] for k in order])
    cov = _covariances(meta, props, factors, order, len(ids), path)
    _check_shapes(ids, centers, cov, path)
    with gc_paused():
        nuclei = _nuclei(ids, t, centers, cov, props, path)
        links = _links(mem, ids, t, path)
    return _build(nuclei, links, _saved_next_id(meta), path)


def _load(path: Path) -> dict:
    """The arrays we need, in memory; any geff/zarr failure becomes one line."""
    if not path.exists():
        raise InvalidInputError(f"{path}: no such file or folder")
    if not is_geff(path):
        raise InvalidInputError(f"{path} is not a GEFF (no zarr group with 'geff' metadata)")
    try:
        reader = GeffReader(str(path), validate=True)
        meta = reader.metadata
        wanted = {"t", *_SPATIAL, "radius", "status", "origin", "tags", CONFIDENCE_PROP}
        wanted |= {ax.name for ax in meta.axes or ()} | {meta.ellipsoid, meta.sphere}
        reader.read_node_props([n for n in reader.node_prop_names if n in wanted])
        edge_wanted = {"status", CONFIDENCE_PROP}
        reader.read_edge_props([n for n in reader.edge_prop_names if n in edge_wanted])
        return dict(reader.build())
    except Exception as e:  # pydantic, zarr, geff and OS errors alike
        lines = str(e).strip().splitlines() or [type(e).__name__]
        raise InvalidInputError(f"{path} is not a valid GEFF: {lines[0]}") from None


def _node_ids(raw: np.ndarray, path: Path) -> np.ndarray:
    ids = np.asarray(raw)
    if ids.size and ids.max() > np.iinfo(np.int64).max:
        raise InvalidInputError(f"{path}: node ids above 2**63 are not supported")
    ids = ids.astype(np.int64)
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise InvalidInputError(f"{path}: node id {uniq[counts > 1][0]} appears twice")
    return ids


def _find_axes(meta: GeffMetadata, props: dict, path: Path) -> tuple[Axis, list[Axis], list[int]]:
    """The time axis, the spatial axes in file order, and their (z,) y, x order."""
    axes = list(meta.axes or ())
    if not axes:  # no axes metadata: fall back on conventional names
        axes = [Axis(name="t", type="time")] + [Axis(name=a, type="space") for a in _SPATIAL]
        axes = [ax for ax in axes if ax.name in props]
    # Axes without a type (allowed by the spec) are recognised by their usual names.
    times = [ax for ax in axes if ax.type == "time"] or [ax for ax in axes if ax.name == "t"]
    space = [ax for ax in axes if ax.type == "space"] or [ax for ax in axes if ax.name in _SPATIAL]
    if len(times) != 1 or len(space) not in (2, 3):
        raise InvalidInputError(
            f"{path}: need one time axis and 2 or 3 space axes, found "
            f"{len(times)} and {len(space)}"
        )
    names = [ax.name.lower() for ax in space]
    wanted = list(_SPATIAL[3 - len(space) :])
    order = [names.index(a) for a in wanted] if sorted(names) == sorted(wanted) else None
    return times[0], space, order or list(range(len(space)))


def _to_um(axis: Axis) -> tuple[float, float]:
    """(factor, offset) turning an axis' stored values into micrometres."""
    if axis.scale is not None:
        unit = _LENGTH_UM.get(str(axis.scaled_unit), 1.0)
        return axis.scale * unit, (axis.offset or 0.0) * unit
    return _LENGTH_UM.get(str(axis.unit), 1.0), 0.0


def _frames(values: np.ndarray, ids: np.ndarray, path: Path) -> np.ndarray:
    t = np.asarray(values)
    if t.dtype.kind == "f":
        bad = ~np.isfinite(t) | (t != np.round(t))
        if bad.any():
            i = int(np.argmax(bad))
            raise InvalidInputError(f"{path}: node {ids[i]} has a non-integer time {t[i]}")
    t = t.astype(np.int64)
    if (t < 0).any():
        i = int(np.argmax(t < 0))
        raise InvalidInputError(f"{path}: node {ids[i]} has a negative time {t[i]}")
    return t


def _covariances(
    meta: GeffMetadata, props: dict, factors: np.ndarray, order: list[int], n: int, path: Path
) -> np.ndarray:
    """(n, 3, 3) µm²: ellipsoid where given, else sphere radius, else the default."""
    cov = np.broadcast_to(np.eye(3) * DEFAULT_RADIUS_UM**2, (n, 3, 3)).copy()
    radius_name = meta.sphere or "radius"
    if radius_name in props:
        r, have = _present(props[radius_name])
        have &= np.asarray(r, np.float64) > 0
        r_um = np.asarray(r, np.float64) * float(np.prod(factors) ** (1 / len(factors)))
        cov[have] = np.eye(3) * (r_um[have] ** 2)[:, None, None]
    if meta.ellipsoid in props:
        vals, have = _present(props[meta.ellipsoid])
        vals = np.asarray(vals, np.float64)
        d = len(order)
        if vals.shape[1:] != (d, d):
            raise InvalidInputError(f"{path}: ellipsoid values must be {d}×{d} per node")
        m = vals[:, order][:, :, order] * np.outer(factors, factors)
        cov[have, 3 - d :, 3 - d :] = m[have]
    if len(order) == 2:  # a 2D graph: flat ellipsoids (a sphere stays a sphere)
        cov = flat_cov(cov[:, 1:, 1:])
    return cov


def _present(prop: dict) -> tuple[np.ndarray, np.ndarray]:
    """Values and a mask of the nodes that have them."""
    values = np.asarray(prop["values"])
    missing = prop.get("missing")
    have = np.ones(len(values), bool) if missing is None else ~np.asarray(missing, bool)
    return values, have


def _check_shapes(ids: np.ndarray, centers: np.ndarray, cov: np.ndarray, path: Path) -> None:
    ok = np.isfinite(centers).all(axis=1) & np.isfinite(cov).all(axis=(1, 2))
    if ok.all():
        sym = (cov + cov.transpose(0, 2, 1)) / 2
        ok = positive_definite(sym)
    if not ok.all():
        i = int(np.argmin(ok))
        raise InvalidInputError(
            f"{path}: node {ids[i]} has a non-finite position or a covariance that is not "
            "positive definite"
        )


def _nuclei(
    ids: np.ndarray, t: np.ndarray, centers: np.ndarray, cov: np.ndarray, props: dict, path: Path
) -> list[Nucleus]:
    """Nucleus records straight from validated columns (no per-record checks)."""

    def where(i: int) -> str:
        return f"node {ids[i]}"

    status = _enum_column(props.get("status"), Status, Status.ACCEPTED, len(ids), where, path)
    origin = _enum_column(props.get("origin"), Origin, Origin.MANUAL, len(ids), where, path)
    tags = _tags(props.get("tags"), len(ids))
    confidence = _confidences(props.get(CONFIDENCE_PROP), len(ids))
    six = cov[:, _TRIU[0], _TRIU[1]]
    columns = (ids.tolist(), t.tolist(), _tuples(centers), _tuples(six), status, origin, tags)
    return list(starmap(Nucleus, zip(*columns, confidence, strict=True)))


def _confidences(prop: dict | None, n: int) -> list[float | None]:
    """A confidence per node or edge, None where it is absent or not a number in [0, 1]
    (another tool's property of that name need not be ours: it is dropped, not refused)."""
    if prop is None:
        return [None] * n
    values, have = _present(prop)
    if values.ndim != 1 or values.dtype.kind not in "fiu":
        return [None] * n
    q = values.astype(np.float64)
    with np.errstate(invalid="ignore"):
        have &= np.isfinite(q) & (q >= 0.0) & (q <= 1.0)
    return [float(v) if h else None for v, h in zip(q.tolist(), have.tolist(), strict=True)]


def _tuples(a: np.ndarray) -> list[tuple[float, ...]]:
    """Rows of a 2D array as tuples of Python floats (zip builds them in C)."""
    return list(zip(*a.T.tolist(), strict=True)) if len(a) else []


def _strings(prop: dict) -> tuple[np.ndarray, np.ndarray]:
    values, have = _present(prop)
    if values.dtype == object:  # a string stored as a variable-length array of characters
        values = np.array(["".join(map(str, np.ravel(v))) for v in values], dtype=str)
    return values.astype(str), have


def _enum_column(
    prop: dict | None,
    kind: type[Enum],
    default: Enum,
    n: int,
    where: Callable[[int], str],
    path: Path,
) -> list:
    """A Status/Origin per node or edge, the default where the property is missing."""
    if prop is None:
        return [default] * n
    values, have = _strings(prop)
    values = np.where(have, values, default.value)
    uniq, inverse = np.unique(values, return_inverse=True)
    lookup = {e.value: e for e in kind}
    members = np.empty(len(uniq), dtype=object)
    for k, v in enumerate(uniq.tolist()):
        members[k] = lookup.get(v.strip().lower())
        if members[k] is None:
            raise InvalidInputError(
                f"{path}: {where(int(np.argmax(inverse == k)))} has unknown "
                f"{kind.__name__.lower()} {v!r} (expected one of {', '.join(lookup)})"
            )
    return members[inverse.ravel()].tolist()


def _tags(prop: dict | None, n: int) -> list[frozenset[str]]:
    if prop is None:
        return [frozenset()] * n
    values, have = _strings(prop)
    return [
        frozenset(t for t in v.split(",") if t) if h else frozenset()
        for v, h in zip(values, have.tolist(), strict=True)
    ]


def _links(mem: dict, ids: np.ndarray, t: np.ndarray, path: Path) -> LinkColumns:
    """Links oriented parent → child, checked against our invariants."""
    edges = np.asarray(mem["edge_ids"]).astype(np.int64).reshape(-1, 2)
    sorter = np.argsort(ids)
    pos = sorter[np.searchsorted(ids, edges, sorter=sorter).clip(0, max(len(ids) - 1, 0))]
    known = (ids[pos] == edges) if len(ids) else np.zeros_like(edges, bool)
    if not known.all():
        p, c = edges[int(np.argmin(known.all(axis=1)))]
        raise InvalidInputError(f"{path}: link {p} → {c} refers to a node that does not exist")
    tp, tc = t[pos[:, 0]], t[pos[:, 1]]
    if not mem["metadata"].directed:
        flip = tp > tc
        edges[flip] = edges[flip][:, ::-1]
        tp, tc = np.minimum(tp, tc), np.maximum(tp, tc)
    if (tc <= tp).any():
        i = int(np.argmax(tc <= tp))
        raise InvalidInputError(
            f"{path}: link {edges[i, 0]} → {edges[i, 1]} does not go forward in time "
            f"(t {tp[i]} → {tc[i]})"
        )

    def where(i: int) -> str:
        return f"link {edges[i, 0]} → {edges[i, 1]}"

    prop = mem["edge_props"].get("status")
    status = _enum_column(prop, Status, Status.ACCEPTED, len(edges), where, path)
    lineage = np.fromiter((s != Status.REJECTED for s in status), bool, count=len(edges))
    _check_degrees(edges[lineage], path)
    confidence = _confidences(mem["edge_props"].get(CONFIDENCE_PROP), len(edges))
    return LinkColumns(edges[:, 0].copy(), edges[:, 1].copy(), status, confidence, tp, tc)


def _check_degrees(edges: np.ndarray, path: Path) -> None:
    """One parent and two children at most over the lineage (not rejected) links."""
    children, n_parents = np.unique(edges[:, 1], return_counts=True)
    if (n_parents > 1).any():
        raise InvalidInputError(f"{path}: nucleus {children[n_parents > 1][0]} has two parents")
    parents, n_children = np.unique(edges[:, 0], return_counts=True)
    if (n_children > 2).any():
        raise InvalidInputError(
            f"{path}: nucleus {parents[n_children > 2][0]} has more than two children"
        )


def _build(nuclei: list[Nucleus], links: LinkColumns, next_id: int, path: Path) -> TrackingGraph:
    try:
        return TrackingGraph.from_columns(nuclei, links, next_id)
    except GraphError as e:
        raise InvalidInputError(f"{path}: {e}") from None


def _saved_next_id(meta: GeffMetadata) -> int:
    """Our saved id counter, so ids of nuclei deleted before the save stay retired."""
    ours = meta.extra.get(EXTRA_KEY)
    if isinstance(ours, dict) and isinstance(ours.get("next_id"), int):
        return ours["next_id"]
    return 1
