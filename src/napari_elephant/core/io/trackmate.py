"""TrackMate XML (Fiji's TrackMate v7 and later, and Mastodon's importer): the
format's facts, our extra features, and reading.

Positions are in physical units (``spatialunits``), ``FRAME`` is the
timepoint.  TrackMate's graph is undirected: an edge is oriented by the frames
of its spots.  A TrackMate track is a connected component, divisions included;
lone spots belong to no track.  Our own files carry the ellipsoid, status and
origin as extra numeric features (the names below), so they read back exactly;
a predicted nucleus' confidence is its ``QUALITY`` (−1, TrackMate's value for
a hand-placed spot, when it has none), and a proposed link's confidence its
edge's ``ELEPHANT_LINK_CONFIDENCE`` (absent when it has none); tag sets are
``ELEPHANT_TAG_k`` spot features (:mod:`.trackmate_tags`).
Writing, and what Fiji needs to open a file, is in :mod:`~.trackmate_write`.

What we read: every spot and every edge of ``AllTracks``, whether or not its
track is listed in ``FilteredTracks`` (a track filter hides, it does not
delete).  Without our features, a spot is a sphere of its ``RADIUS``, status
accepted (rejected when ``VISIBILITY`` = 0, i.e. filtered out in TrackMate),
origin manual, no confidence (another tool's ``QUALITY`` is its detector's
score, on another scale); links are accepted.  A file whose image has one slice
(``ImageData nslices="1"``, TrackMate's own test for a 2D image) is a 2D
movie's: its spots become 2D nuclei (z = 0, the flat covariance of
:func:`~napari_elephant.core.ellipsoid.flat_cov`).  XML is parsed with ``defusedxml``:
entity declarations (the "billion laughs") and external references are
refused.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from xml.etree.ElementTree import Element, ParseError

import numpy as np
from defusedxml import DefusedXmlException, EntitiesForbidden
from defusedxml.ElementTree import parse as safe_parse

from napari_elephant.core.detection.labels import as_voxel_size
from napari_elephant.core.errors import GraphError, InvalidInputError
from napari_elephant.core.graph import (
    COV_KEYS,
    Link,
    Nucleus,
    Origin,
    Status,
    TrackingGraph,
    six_to_cov,
)
from napari_elephant.core.graph.model import flatten_to_2d
from napari_elephant.core.graph.store import gc_paused
from napari_elephant.core.io.image_formats import um_per_unit
from napari_elephant.core.io.trackmate_tags import TagFeature, declared, tags_of
from napari_elephant.core.units import VoxelSize

COV_FEATURES = tuple(f"ELEPHANT_COV_{k.upper()}" for k in COV_KEYS)
STATUS_FEATURE = "ELEPHANT_STATUS"
LINK_CONFIDENCE_FEATURE = "ELEPHANT_LINK_CONFIDENCE"  # the linker's, on the edges it proposed
ORIGIN_FEATURE = "ELEPHANT_ORIGIN"
STATUS_CODES = {Status.PREDICTED: 0, Status.ACCEPTED: 1, Status.REJECTED: 2}
ORIGIN_CODES = {Origin.MANUAL: 0, Origin.PREDICTED: 1}


def read_trackmate(
    path: str | os.PathLike, voxel_size: VoxelSize | Sequence[float] | None = None
) -> TrackingGraph:
    """A graph from a TrackMate XML (spots → nuclei, edges → links).

    Positions in µm follow from ``spatialunits``; a file in pixels (an
    uncalibrated image) needs ``voxel_size`` (z, y, x µm per pixel).
    """
    path = Path(path)
    root, model = _model(path)
    scale = _scale(model.get("spatialunits"), voxel_size, path)
    tagged = declared(model, path)
    with gc_paused():
        nuclei = [
            _tagged(_nucleus(el, frame, scale, path), el, tagged, path)
            for frame, el in _spot_elements(model, path)
        ]
        if is_2d_file(root):
            nuclei = [flatten_to_2d(n) for n in nuclei]
        frames = {n.id: n.t for n in nuclei}
        if len(frames) != len(nuclei):
            raise InvalidInputError(f"{path}: two spots share an ID")
        links = _links(model, frames, path)
        try:
            return TrackingGraph.from_records(nuclei, links)
        except GraphError as exc:
            raise InvalidInputError(f"{path}: {exc}") from None


def _tagged(n: Nucleus, el: Element, tagged: list[TagFeature], path: Path) -> Nucleus:
    """The nucleus with the tag sets its spot's tag features give it."""
    if not tagged:
        return n
    return replace(n, tags=n.tags | tags_of(el, tagged, f"{path}, spot {n.id}"))


def is_2d_file(root: Element) -> bool:
    """Whether the file's image is 2D: one slice, as TrackMate itself decides."""
    image = root.find("Settings/ImageData")
    return image is not None and image.get("nslices", "").strip() in ("1", "1.0")


def _model(path: Path) -> tuple[Element, Element]:
    """The root and its Model, or a one-line error saying why the file is not TrackMate."""
    try:
        root = safe_parse(path).getroot()
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: no such file") from None
    except EntitiesForbidden:
        raise InvalidInputError(
            f"{path}: refused: the XML declares entities (a possible entity-expansion attack)"
        ) from None
    except DefusedXmlException as exc:
        raise InvalidInputError(f"{path}: refused unsafe XML ({type(exc).__name__})") from None
    except ParseError as exc:
        raise InvalidInputError(f"{path}: not well-formed XML ({exc})") from None
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    model = root.find("Model") if root.tag == "TrackMate" else None
    if model is None or model.find("AllSpots") is None:
        raise InvalidInputError(
            f"{path}: not a TrackMate XML file (root <{root.tag}>, expected <TrackMate> "
            "with a Model holding AllSpots)"
        )
    return root, model


def _scale(
    units: str | None, voxel_size: VoxelSize | Sequence[float] | None, path: Path
) -> np.ndarray:
    """µm per file unit along (z, y, x)."""
    factor = um_per_unit(units)
    if factor is not None:
        return np.full(3, factor)
    if voxel_size is None:
        raise InvalidInputError(
            f"{path}: positions are in {units!r}, not a length; give the voxel size in µm "
            "(--voxel-size Z Y X, or Y X for a 2D movie)"
        )
    return as_voxel_size(voxel_size).array


def _spot_elements(model: Element, path: Path) -> Iterable[tuple[str | None, Element]]:
    for frame_el in model.iter("SpotsInFrame"):
        for spot in frame_el.iter("Spot"):
            yield frame_el.get("frame"), spot


def _number(el: Element, key: str, where: str, default: str | None = None) -> float:
    """A finite number from an attribute (or from ``default`` text when it is absent)."""
    text = el.get(key, default)
    if text is None:
        raise InvalidInputError(f"{where}: missing {key}")
    try:
        value = float(text)
    except ValueError:
        raise InvalidInputError(f"{where}: {key} is not a number: {text!r}") from None
    if not np.isfinite(value):
        raise InvalidInputError(f"{where}: {key} is not finite: {text!r}")
    return value


def _integer(el: Element, key: str, where: str, default: str | None = None) -> int:
    value = _number(el, key, where, default)
    if value != int(value):
        got = el.get(key, default)
        raise InvalidInputError(f"{where}: {key} must be an integer, got {got!r}")
    return int(value)


def _code(el: Element, key: str, codes: dict, where: str, default: object) -> object:
    if el.get(key) is None:
        return default
    value = _integer(el, key, where)
    for member, code in codes.items():
        if code == value:
            return member
    raise InvalidInputError(f"{where}: unknown {key} code {value}")


def _nucleus(el: Element, frame: str | None, scale: np.ndarray, path: Path) -> Nucleus:
    where = f"{path}, spot {el.get('ID', '?')}"
    nid = _integer(el, "ID", where)
    t = _integer(el, "FRAME", where, frame)  # else the frame of its SpotsInFrame
    if nid < 0 or t < 0:
        raise InvalidInputError(f"{where}: ID and FRAME must be non-negative")
    z, y, x = (_number(el, f"POSITION_{a}", where, "0" if a == "Z" else None) for a in "ZYX")
    center = np.array([z, y, x])
    if all(el.get(f) is not None for f in COV_FEATURES):
        cov = six_to_cov([_number(el, f, where) for f in COV_FEATURES]) * np.outer(scale, scale)
    else:
        radius = _number(el, "RADIUS", where)
        cov = np.diag((radius * scale) ** 2)
    if np.linalg.eigvalsh(cov).min() <= 0:
        raise InvalidInputError(f"{where}: the spot's size (RADIUS or covariance) is not positive")
    hidden = el.get("VISIBILITY") is not None and _integer(el, "VISIBILITY", where) == 0
    fallback = Status.REJECTED if hidden else Status.ACCEPTED
    status = _code(el, STATUS_FEATURE, STATUS_CODES, where, fallback)
    origin = _code(el, ORIGIN_FEATURE, ORIGIN_CODES, where, Origin.MANUAL)
    six = tuple(float(v) for v in cov[np.triu_indices(3)])
    c = tuple((center * scale).tolist())
    return Nucleus(nid, t, c, six, status, origin, confidence=_confidence(el, origin, where))  # type: ignore[arg-type]


def _confidence(el: Element, origin: object, where: str) -> float | None:
    """QUALITY as the network's confidence, for our own predicted spots only (they
    carry ``ELEPHANT_ORIGIN``); outside [0, 1] (our −1 included) it is none."""
    if origin is not Origin.PREDICTED or el.get(ORIGIN_FEATURE) is None:
        return None
    if el.get("QUALITY") is None:
        return None
    q = _number(el, "QUALITY", where)
    return q if 0.0 <= q <= 1.0 else None


def _links(model: Element, frames: dict[int, int], path: Path) -> list[Link]:
    """Every edge of AllTracks, oriented from the earlier spot to the later one."""
    links: dict[tuple[int, int], Link] = {}
    tracks = model.find("AllTracks")
    for edge in tracks.iter("Edge") if tracks is not None else ():
        where = f"{path}, edge {edge.get('SPOT_SOURCE_ID')} → {edge.get('SPOT_TARGET_ID')}"
        a = _integer(edge, "SPOT_SOURCE_ID", where)
        b = _integer(edge, "SPOT_TARGET_ID", where)
        for spot in (a, b):
            if spot not in frames:
                raise InvalidInputError(f"{where}: no spot with ID {spot}")
        if frames[a] == frames[b]:
            raise InvalidInputError(f"{where}: both spots are in frame {frames[a]}")
        parent, child = (a, b) if frames[a] < frames[b] else (b, a)
        status = _code(edge, STATUS_FEATURE, STATUS_CODES, where, Status.ACCEPTED)
        link = Link(parent, child, status, _link_confidence(edge, where))  # type: ignore[arg-type]
        links.setdefault((parent, child), link)
    return list(links.values())


def _link_confidence(edge: Element, where: str) -> float | None:
    """Our linker's confidence in an edge; None when absent or outside [0, 1]."""
    if edge.get(LINK_CONFIDENCE_FEATURE) is None:
        return None
    q = _number(edge, LINK_CONFIDENCE_FEATURE, where)
    return q if 0.0 <= q <= 1.0 else None
