"""Writing TrackMate XML that Fiji's "Load a TrackMate file" opens.

Apart from reading (:mod:`~.trackmate`, which also names our extra features)
because a writer has one reader to satisfy, Fiji's loader, and a reader has
anyone's files to cope with.

What Fiji's reader needs (``TmXmlReader``): a ``TrackMate`` root with a
``version`` ≥ 2.1; in ``Model`` the ``FeatureDeclarations``, ``AllSpots``
(``SpotsInFrame`` > ``Spot``), ``AllTracks`` (``Track`` > ``Edge``) and
``FilteredTracks``; a ``Settings`` element whose ``ImageData``,
``InitialSpotFilter``, ``SpotFilterCollection`` and ``TrackFilterCollection``
must be present (their absence crashes the loader).  Every spot attribute but
``ID`` and ``name`` is read as a number, and so is every track attribute but
``name``.

What we write: positions in µm, ``RADIUS`` = the radius of the sphere of
equal volume (TrackMate draws 3D spots as spheres), ``QUALITY`` = the
detection network's confidence (0–1; −1 without one, as TrackMate gives a
spot placed by hand), and
``VISIBILITY`` = 0 for rejected nuclei so that Fiji hides ELEPHANT's false
annotations.  The ellipsoid, status and origin travel as extra, declared
numeric features (``ELEPHANT_COV_ZZ`` … in µm², ``ELEPHANT_STATUS``,
``ELEPHANT_ORIGIN``; links carry ``ELEPHANT_STATUS`` and, where the linker
proposed them, ``ELEPHANT_LINK_CONFIDENCE``), so our own files read
back exactly; free-text tags are lost, tag sets kept (one integer feature
each, :mod:`.trackmate_tags`).  A detector and tracker of type "manual" are
declared, so Fiji opens the file in its editing state.

A 2D movie (a shape with Z = 1) is written as TrackMate writes its 2D
images: ``nslices="1"``, ``zstart = zend = 0``, ``voxeldepth`` the nominal
1 µm, every ``POSITION_Z`` 0 and ``RADIUS`` the geometric mean of the
ellipse's semi-axes (the nuclei are written as :func:`flatten_to_2d` makes
them, so the covariance features hold the flat ellipsoid).  Without a shape the
image gets the nuclei's extent and at least two slices, so that a 3D graph is
never taken for a 2D one when read back.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from xml.etree.ElementTree import Element, ElementTree, SubElement, indent

import networkx as nx
import numpy as np

from napari_elephant.core.detection.labels import as_voxel_size
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import COV_KEYS, Link, Nucleus, Status, TrackingGraph
from napari_elephant.core.graph.model import flatten_to_2d
from napari_elephant.core.io.trackmate import (
    COV_FEATURES,
    LINK_CONFIDENCE_FEATURE,
    ORIGIN_CODES,
    ORIGIN_FEATURE,
    STATUS_CODES,
    STATUS_FEATURE,
)
from napari_elephant.core.io.trackmate_tags import TagFeature, declaration, tag_features
from napari_elephant.core.units import VoxelSize

TRACKMATE_VERSION = "7.14.0"
MAX_ID = 2**31 - 1  # TrackMate ids are Java ints
NO_QUALITY = -1.0  # TrackMate's QUALITY of a spot placed by hand: no detector score

# (feature, name, short name, dimension, is integer), as TrackMate declares them
_Feature = tuple[str, str, str, str, bool]
SPOT_FEATURES: tuple[_Feature, ...] = (
    ("QUALITY", "Quality", "Quality", "QUALITY", False),
    ("POSITION_X", "X", "X", "POSITION", False),
    ("POSITION_Y", "Y", "Y", "POSITION", False),
    ("POSITION_Z", "Z", "Z", "POSITION", False),
    ("POSITION_T", "T", "T", "TIME", False),
    ("FRAME", "Frame", "Frame", "NONE", True),
    ("RADIUS", "Radius", "R", "LENGTH", False),
    ("VISIBILITY", "Visibility", "Visibility", "NONE", True),
    *(
        (f, f"Covariance {k}", f"Cov {k}", "AREA", False)
        for f, k in zip(COV_FEATURES, COV_KEYS, strict=True)
    ),
    (STATUS_FEATURE, "ELEPHANT status", "Status", "NONE", True),
    (ORIGIN_FEATURE, "ELEPHANT origin", "Origin", "NONE", True),
)
EDGE_FEATURES: tuple[_Feature, ...] = (
    ("SPOT_SOURCE_ID", "Source spot ID", "Source ID", "NONE", True),
    ("SPOT_TARGET_ID", "Target spot ID", "Target ID", "NONE", True),
    ("LINK_COST", "Edge cost", "Cost", "COST", False),
    (STATUS_FEATURE, "ELEPHANT status", "Status", "NONE", True),
    (LINK_CONFIDENCE_FEATURE, "ELEPHANT link confidence", "Link confidence", "NONE", False),
)
TRACK_FEATURES: tuple[_Feature, ...] = (
    ("TRACK_INDEX", "Track index", "Index", "NONE", True),
    ("TRACK_ID", "Track ID", "ID", "NONE", True),
    ("NUMBER_SPOTS", "Number of spots in track", "N spots", "NONE", True),
    ("NUMBER_SPLITS", "Number of split events", "N splits", "NONE", True),
    ("TRACK_START", "Track start", "Track start", "TIME", False),
    ("TRACK_STOP", "Track stop", "Track stop", "TIME", False),
)


def write_trackmate(
    graph: TrackingGraph,
    path: str | os.PathLike,
    voxel_size: VoxelSize | Sequence[float],
    shape_tzyx: Sequence[int] | None = None,
    image_path: str | os.PathLike | None = None,
) -> None:
    """Write a TrackMate XML that Fiji's "Load a TrackMate file" opens.

    ``voxel_size`` and ``shape_tzyx`` describe the movie for TrackMate's
    image settings (the shape defaults to the nuclei's extent);
    ``image_path`` is the movie Fiji should open with it (a TIFF), if any.
    The file is written next to ``path`` and renamed into place.
    """
    path, vs = Path(path), as_voxel_size(voxel_size)
    nuclei = sorted(graph.nuclei(), key=lambda n: (n.t, n.id))
    if nuclei and (min(n.id for n in nuclei) < 0 or max(n.id for n in nuclei) > MAX_ID):
        raise InvalidInputError(f"TrackMate stores spot ids as 0 … {MAX_ID}")
    shape = _shape(nuclei, vs, shape_tzyx)
    if shape_tzyx is not None and shape[1] == 1:  # a 2D movie
        nuclei = [flatten_to_2d(n) for n in nuclei]
    root = Element("TrackMate", version=TRACKMATE_VERSION)
    model = SubElement(root, "Model", spatialunits="µm", timeunits="frame")
    tagged = tag_features(nuclei)
    _declare(SubElement(model, "FeatureDeclarations"), tagged)
    _spots(SubElement(model, "AllSpots", nspots=str(len(nuclei))), nuclei, tagged)
    track_ids = _tracks(SubElement(model, "AllTracks"), graph)
    filtered = SubElement(model, "FilteredTracks")
    for tid in track_ids:
        SubElement(filtered, "TrackID", TRACK_ID=str(tid))
    _settings(SubElement(root, "Settings"), shape, vs, image_path, nuclei)
    SubElement(root, "GUIState", state="ConfigureViews")
    indent(root)
    _write_atomic(ElementTree(root), path)


def _shape(
    nuclei: list[Nucleus], vs: VoxelSize, shape_tzyx: Sequence[int] | None
) -> tuple[int, int, int, int]:
    if shape_tzyx is not None:
        t, z, y, x = (int(s) for s in shape_tzyx)
        return t, z, y, x
    if not nuclei:
        return 1, 2, 1, 1
    far = np.max(vs.to_voxels(np.array([n.center for n in nuclei])), axis=0)
    z, y, x = (int(np.ceil(v)) + 1 for v in np.maximum(far, 0))
    return max(n.t for n in nuclei) + 1, max(z, 2), y, x  # one slice would mean 2D


def _declare(declarations: Element, tagged: list[TagFeature]) -> None:
    groups = {"SpotFeatures": SPOT_FEATURES, "EdgeFeatures": EDGE_FEATURES}
    for tag, features in {**groups, "TrackFeatures": TRACK_FEATURES}.items():
        group = SubElement(declarations, tag)
        for feature, name, short, dimension, is_int in features:
            attrs = {"feature": feature, "name": name, "shortname": short, "dimension": dimension}
            SubElement(group, "Feature", attrs, isint=str(is_int).lower())
        if tag == "SpotFeatures":
            for f in tagged:
                SubElement(group, "Feature", declaration(f))


def _spots(all_spots: Element, nuclei: list[Nucleus], tagged: list[TagFeature]) -> None:
    frame_el: Element | None = None
    for n in nuclei:
        if frame_el is None or frame_el.get("frame") != str(n.t):
            frame_el = SubElement(all_spots, "SpotsInFrame", frame=str(n.t))
        z, y, x = n.center
        attrs = {
            "ID": str(n.id),
            "name": f"ID{n.id}",
            "QUALITY": repr(NO_QUALITY if n.confidence is None else float(n.confidence)),
            "POSITION_X": repr(x),
            "POSITION_Y": repr(y),
            "POSITION_Z": repr(z),
            "POSITION_T": repr(float(n.t)),
            "FRAME": str(n.t),
            "RADIUS": repr(n.radius),
            "VISIBILITY": "0" if n.status == Status.REJECTED else "1",
            STATUS_FEATURE: str(STATUS_CODES[n.status]),
            ORIGIN_FEATURE: str(ORIGIN_CODES[n.origin]),
        }
        attrs.update((f, repr(float(v))) for f, v in zip(COV_FEATURES, n.cov, strict=True))
        attrs.update((f.feature, f.code(n)) for f in tagged)
        SubElement(frame_el, "Spot", attrs)


def _tracks(all_tracks: Element, graph: TrackingGraph) -> list[int]:
    """One ``Track`` per connected component with links; returns the track ids.

    Every link is written with its status, rejected ones too (so our files read
    back exactly); the splits count lineage children only.
    """
    components = [c for c in nx.weakly_connected_components(graph.nx_graph) if len(c) > 1]
    components.sort(key=lambda c: min(c))
    for tid, ids in enumerate(components):
        times = [graph.nucleus(i).t for i in ids]
        splits = sum(len(graph.children(i)) > 1 for i in ids)
        track = SubElement(
            all_tracks,
            "Track",
            name=f"Track_{tid}",
            TRACK_INDEX=str(tid),
            TRACK_ID=str(tid),
            NUMBER_SPOTS=str(len(ids)),
            NUMBER_SPLITS=str(splits),
            TRACK_START=repr(float(min(times))),
            TRACK_STOP=repr(float(max(times))),
        )
        for i in sorted(ids):
            for link in graph.child_links(i):  # rejected ones too: they read back
                SubElement(track, "Edge", _edge(i, link))
    return list(range(len(components)))


def _edge(source: int, link: Link) -> dict[str, str]:
    """An edge's attributes: its spots, no cost, our status and link confidence."""
    attrs = {
        "SPOT_SOURCE_ID": str(source),
        "SPOT_TARGET_ID": str(link.child),
        "LINK_COST": "-1.0",
        STATUS_FEATURE: str(STATUS_CODES[link.status]),
    }
    if link.confidence is not None:
        attrs[LINK_CONFIDENCE_FEATURE] = repr(float(link.confidence))
    return attrs


def _settings(
    settings: Element,
    shape: tuple[int, int, int, int],
    vs: VoxelSize,
    image_path: str | os.PathLike | None,
    nuclei: list[Nucleus],
) -> None:
    t, z, y, x = shape
    image = Path(image_path).resolve() if image_path is not None else None
    SubElement(
        settings,
        "ImageData",
        filename=image.name if image else "",
        folder=str(image.parent) + os.sep if image else "",
        width=str(x),
        height=str(y),
        nslices=str(z),
        nframes=str(t),
        pixelwidth=repr(vs.x),
        pixelheight=repr(vs.y),
        voxeldepth=repr(vs.z),
        timeinterval="1.0",
    )
    ends = {"xend": x - 1, "yend": y - 1, "zend": z - 1, "tend": t - 1}
    starts = {"xstart": 0, "ystart": 0, "zstart": 0, "tstart": 0}
    SubElement(settings, "BasicSettings", {k: str(v) for k, v in {**starts, **ends}.items()})
    radius = float(np.median([n.radius for n in nuclei])) if nuclei else 1.0
    SubElement(settings, "DetectorSettings", DETECTOR_NAME="MANUAL_DETECTOR", RADIUS=repr(radius))
    SubElement(settings, "InitialSpotFilter", feature="QUALITY", value="0.0", isabove="true")
    SubElement(settings, "SpotFilterCollection")
    SubElement(settings, "TrackerSettings", TRACKER_NAME="MANUAL_TRACKER")
    SubElement(settings, "TrackFilterCollection")
    analyzers = SubElement(settings, "AnalyzerCollection")
    for tag in ("SpotAnalyzers", "EdgeAnalyzers", "TrackAnalyzers"):
        SubElement(analyzers, tag)


def _write_atomic(tree: ElementTree, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.writing-{os.getpid()}")
    try:
        tree.write(tmp, encoding="UTF-8", xml_declaration=True)
        os.replace(tmp, path)
    except OSError as exc:
        raise InvalidInputError(
            f"cannot write TrackMate XML {path}: {exc.strerror or exc}"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
