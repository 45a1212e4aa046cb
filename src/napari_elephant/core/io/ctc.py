"""The Cell Tracking Challenge (CTC) format: label TIFFs per frame plus a track table.

A CTC folder holds one 16-bit label image per frame and a text file of
tracks, one ``L B E P`` line each: label, first frame, last frame, parent
label (0 for none).  CTC tracks are segments without divisions: a track ends
where its cell divides and each daughter starts a track of its own whose
parent is the mother's track.  A link that skips frames also starts a new
track (CTC labels must be present in every frame from B to E).

Writing (``res_track.txt`` + ``mask000.tif`` …, what the CTC evaluation
expects of a result) renders each nucleus' ellipsoid on the movie's voxel
grid with the label renderer of the detection code.  Where ellipsoids
overlap, the smaller one wins (the larger are painted first), so a small
nucleus pressed against a large one keeps its voxels.  A nucleus that ends
with no voxel of its own gets the voxel of its centre; one whose centre lies
outside the volume cannot be drawn and is left out (its track is cut there),
and the report lists it.  Rejected nuclei and links (ELEPHANT's false
annotations) are not exported.  TIFFs carry the voxel size as ImageJ
metadata.

Reading accepts a result folder (``res_track.txt`` + ``maskNNN.tif``), a
ground-truth ``TRA`` folder (``man_track.txt`` + ``man_trackNNN.tif``) or its
parent, and label movies without a track file (a folder of numbered TIFFs or
one 4D TIFF), which give detections only: no links are guessed from labels
that repeat across frames.  Nuclei are the ellipsoids of the labelled
regions (see :mod:`.label_images`), all accepted, origin manual; tracks are
linked frame to frame, and each track's first nucleus to the last nucleus of
its parent track.

2D movies (Z = 1): the export writes 2D (Y, X) masks, as the CTC's 2D
datasets have, and 2D label images read back as 2D nuclei (z = 0, the flat
covariance of :func:`~napari_elephant.core.ellipsoid.flat_cov`); see
:mod:`.label_images`.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
import tifffile

from napari_elephant.core.detection.labels import as_voxel_size, ellipsoid_mask
from napari_elephant.core.errors import GraphError, InvalidInputError
from napari_elephant.core.graph import Link, Nucleus, Status, TrackingGraph
from napari_elephant.core.io.atomic import swap_folder_into_place
from napari_elephant.core.io.ctc_tracks import (
    TRACK_FILES,
    CtcTrack,
    find_track_file,
    read_track_file,
    write_track_file,
)
from napari_elephant.core.io.label_images import (
    LabelMovie,
    frame_files,
    label_ellipsoids,
    open_frame_folder,
    open_movie_file,
)
from napari_elephant.core.training.progress import Progress, StopFlag, drain
from napari_elephant.core.units import VoxelSize

MAX_LABEL = 65535  # CTC label images are 16-bit
MASK_PREFIX = {"res_track.txt": "mask", "man_track.txt": "man_track"}


@dataclass(frozen=True)
class CtcExportReport:
    """What an export wrote, and the nuclei it could not draw."""

    folder: Path
    n_frames: int
    n_tracks: int
    n_nuclei: int
    dropped: tuple[int, ...] = ()

    def __str__(self) -> str:
        text = f"{self.n_nuclei} nuclei in {self.n_tracks} tracks over {self.n_frames} frames"
        if self.dropped:
            text += f"; {len(self.dropped)} nuclei outside the volume left out"
        return text


# ------------------------------------------------------------------ writing
def write_ctc(
    graph: TrackingGraph,
    folder: str | os.PathLike,
    shape_zyx: Sequence[int],
    voxel_size: VoxelSize | Sequence[float],
    overwrite: bool = False,
    n_timepoints: int | None = None,
) -> CtcExportReport:
    """Write ``graph`` as a CTC result folder; see :func:`export_ctc`."""
    report = drain(export_ctc(graph, folder, shape_zyx, voxel_size, overwrite, n_timepoints))
    assert report is not None  # only a stop flag ends the export early
    return report


def export_ctc(
    graph: TrackingGraph,
    folder: str | os.PathLike,
    shape_zyx: Sequence[int],
    voxel_size: VoxelSize | Sequence[float],
    overwrite: bool = False,
    n_timepoints: int | None = None,
    stop: StopFlag | None = None,
) -> Generator[Progress, None, CtcExportReport | None]:
    """Render the masks frame by frame (one progress record each), then the track table.

    Frames 0 .. ``n_timepoints`` − 1 (default: up to the last nucleus) are
    written into a temporary folder renamed into place at the end, so a
    failed or stopped export (which returns None) leaves nothing behind.
    """
    folder = Path(folder).absolute()  # "." has no name to put a temporary folder beside
    shape, vs = _check_shape(shape_zyx), as_voxel_size(voxel_size)
    n_frames = _n_frames(graph, n_timepoints)
    _check_target(folder, overwrite)
    tmp = folder.with_name(f".{folder.name}.writing-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    segments, dropped, start = _Segments(graph), [], time.perf_counter()
    width = max(3, len(str(n_frames - 1)))
    try:
        tmp.mkdir(parents=True)
        for t in range(n_frames):
            if stop is not None and stop.check():
                return None
            mask, missing = _render_frame(graph, t, shape, vs, segments)
            dropped += missing
            _write_mask(tmp / f"mask{t:0{width}d}.tif", mask, vs)
            elapsed = time.perf_counter() - start
            yield Progress("export CTC", t + 1, n_frames, elapsed=elapsed)
        write_track_file(tmp / "res_track.txt", segments.tracks())
        swap_folder_into_place(tmp, folder)
    except OSError as exc:
        raise InvalidInputError(f"cannot write CTC folder {folder}: {exc}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    n_nuclei = len(segments.label_of)
    return CtcExportReport(folder, n_frames, len(segments.rows), n_nuclei, tuple(dropped))


def _check_shape(shape_zyx: Sequence[int]) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in shape_zyx)
    if len(shape) != 3 or min(shape) < 1:
        raise InvalidInputError(f"CTC export needs the volume shape (z, y, x), got {shape}")
    return shape  # type: ignore[return-value]


def _n_frames(graph: TrackingGraph, n_timepoints: int | None) -> int:
    last = max(graph.timepoints(), default=-1)
    if n_timepoints is None:
        return max(last + 1, 1)
    if last >= n_timepoints:
        raise InvalidInputError(
            f"nuclei at t={last} lie beyond the movie's {n_timepoints} timepoints"
        )
    return int(n_timepoints)


def _check_target(folder: Path, overwrite: bool) -> None:
    """Replace only a CTC folder, and only when asked; never a folder of other things."""
    if not folder.exists():
        return
    if not overwrite:
        raise InvalidInputError(f"{folder} already exists; pass overwrite to replace it")
    if not folder.is_dir():
        raise InvalidInputError(f"{folder} exists and is not a folder")
    is_ctc = any((folder / name).is_file() for name in TRACK_FILES) or frame_files(folder, "mask")
    if any(folder.iterdir()) and not is_ctc:
        raise InvalidInputError(f"{folder} exists and is not a CTC folder; refusing to replace it")


def _write_mask(path: Path, mask: np.ndarray, vs: VoxelSize) -> None:
    """One frame as an ImageJ TIFF with its voxel size; a 2D movie's as a (Y, X) image."""
    if mask.shape[0] == 1:
        mask, metadata = mask[0], {"unit": "micron", "axes": "YX"}
    else:
        metadata = {"spacing": vs.z, "unit": "micron", "axes": "ZYX"}
    tifffile.imwrite(path, mask, imagej=True, resolution=(1 / vs.x, 1 / vs.y), metadata=metadata)


class _Segments:
    """Cuts the lineage into CTC tracks as the frames are rendered, in time order."""

    def __init__(self, graph: TrackingGraph) -> None:
        self.graph = graph
        self.label_of: dict[int, int] = {}  # nucleus id -> track label
        self.rows: list[list[int]] = []  # [B, E, P] of track label i + 1

    def assign(self, n: Nucleus) -> int:
        """The track label of a drawn nucleus: its parent's, or a new track."""
        p = self._parent(n.id)
        continues = (
            p is not None and n.t - self.graph.nucleus(p).t == 1 and self._n_children(p) == 1
        )
        if continues:
            label = self.label_of[p]  # type: ignore[index]
            self.rows[label - 1][1] = n.t
        else:
            label = len(self.rows) + 1
            if label > MAX_LABEL:
                raise InvalidInputError(f"more than {MAX_LABEL} CTC tracks: 16-bit labels run out")
            self.rows.append([n.t, n.t, 0 if p is None else self.label_of[p]])
        self.label_of[n.id] = label
        return label

    def _parent(self, nid: int) -> int | None:
        """The exported parent over a lineage link (rejected links are not), if drawn."""
        p = self.graph.parent(nid)
        return p if p in self.label_of else None

    def _n_children(self, p: int) -> int:
        """Lineage children that are drawn (not rejected nuclei)."""
        g = self.graph
        return sum(g.nucleus(c).status != Status.REJECTED for c in g.children(p))

    def tracks(self) -> list[CtcTrack]:
        return [CtcTrack(i + 1, b, e, p) for i, (b, e, p) in enumerate(self.rows)]


def _render_frame(
    graph: TrackingGraph, t: int, shape: tuple[int, int, int], vs: VoxelSize, segments: _Segments
) -> tuple[np.ndarray, list[int]]:
    """The uint16 mask of frame t and the ids of the nuclei that could not be drawn."""
    nuclei = [n for n in graph.nuclei_at(t) if n.status != Status.REJECTED]
    index = _paint_indices(nuclei, shape, vs)
    present = np.bincount(index.ravel(), minlength=len(nuclei) + 1)[1:] > 0
    lut = np.zeros(len(nuclei) + 1, dtype=np.uint16)
    for i, n in enumerate(nuclei):
        if present[i]:
            lut[i + 1] = segments.assign(n)
    return lut[index], [n.id for n, ok in zip(nuclei, present, strict=True) if not ok]


def _paint_indices(nuclei: list[Nucleus], shape: tuple[int, ...], vs: VoxelSize) -> np.ndarray:
    """Index (i + 1) of the nucleus owning each voxel; smaller ellipsoids painted last win."""
    index = np.zeros(shape, dtype=np.int32)
    volume = [np.linalg.det(n.cov_matrix) for n in nuclei]
    order = sorted(range(len(nuclei)), key=lambda i: (-volume[i], nuclei[i].id))
    for i in order:
        slices, inside = ellipsoid_mask(shape, vs, nuclei[i].center, nuclei[i].cov)
        index[slices][inside] = i + 1
    owned = np.bincount(index.ravel(), minlength=len(nuclei) + 1)
    for i in order:  # too small or covered: keep at least the centre voxel
        voxel = np.round(vs.to_voxels(nuclei[i].center)).astype(np.int64)
        inside_volume = bool(np.all((voxel >= 0) & (voxel < np.asarray(shape))))
        if owned[i + 1] == 0 and inside_volume:
            index[tuple(voxel)] = i + 1
    return index


# ------------------------------------------------------------------ reading
def read_ctc(
    path: str | os.PathLike, voxel_size: VoxelSize | Sequence[float] | None = None
) -> TrackingGraph:
    """A graph from a CTC folder or a label movie; see :func:`import_ctc`."""
    graph = drain(import_ctc(path, voxel_size))
    assert graph is not None
    return graph


def import_ctc(
    path: str | os.PathLike,
    voxel_size: VoxelSize | Sequence[float] | None = None,
    stop: StopFlag | None = None,
) -> Generator[Progress, None, TrackingGraph | None]:
    """Read the masks frame by frame (one progress record each) into nuclei and links.

    The voxel size comes from the TIFF's ImageJ / OME metadata when it has
    one, else from ``voxel_size``; with neither the import stops with an
    error asking for it.  Returns None when stopped.
    """
    path = Path(path)
    track_file, movie = _open(path)
    tracks = read_track_file(track_file) if track_file is not None else None
    vs = _voxel_size(movie, voxel_size)
    builder, start = _Builder(tracks, movie.source), time.perf_counter()
    shape = None
    for k, t in enumerate(movie.frames):
        if stop is not None and stop.check():
            return None
        labels = movie.read(t, shape)
        shape = labels.shape
        builder.add_frame(t, *label_ellipsoids(labels, vs))
        yield Progress("import CTC", k + 1, len(movie.frames), elapsed=time.perf_counter() - start)
    return builder.graph()


def _open(path: Path) -> tuple[Path | None, LabelMovie]:
    """(track file or None, label movie) of a CTC folder, a TRA folder's parent or a TIFF."""
    if not path.exists():
        raise InvalidInputError(f"{path}: no such file or folder")
    if path.is_file():
        if path.suffix.lower() not in (".tif", ".tiff"):
            raise InvalidInputError(f"{path}: expected a CTC folder or a label TIFF movie")
        return None, open_movie_file(path)
    track_file = find_track_file(path)
    if track_file is None:
        return None, open_frame_folder(path)
    return track_file, open_frame_folder(track_file.parent, MASK_PREFIX[track_file.name])


def _voxel_size(movie: LabelMovie, given: VoxelSize | Sequence[float] | None) -> VoxelSize:
    if movie.voxel_size is not None:
        return movie.voxel_size
    if given is not None:
        return as_voxel_size(given)
    raise InvalidInputError(
        f"{movie.source}: the label images carry no voxel size; give it in µm "
        "(--voxel-size Z Y X, or Y X for a 2D movie)"
    )


class _Builder:
    """Nuclei per (track, frame) as frames arrive; links once all are in."""

    def __init__(self, tracks: dict[int, CtcTrack] | None, source: Path) -> None:
        self.tracks, self.source = tracks, source
        self.nuclei: list[Nucleus] = []
        self.by_track: dict[int, list[int]] = {}  # label -> nucleus ids in time order

    def add_frame(self, t: int, labels: np.ndarray, centers: np.ndarray, covs: np.ndarray) -> None:
        for label, center, cov in zip(labels.tolist(), centers, covs, strict=True):
            self._check_label(t, label)
            nid = len(self.nuclei) + 1
            six = (cov[0, 0], cov[0, 1], cov[0, 2], cov[1, 1], cov[1, 2], cov[2, 2])
            self.nuclei.append(
                Nucleus(nid, t, tuple(map(float, center)), tuple(map(float, six)))  # type: ignore[arg-type]
            )
            self.by_track.setdefault(label, []).append(nid)

    def _check_label(self, t: int, label: int) -> None:
        if self.tracks is None:
            return
        track = self.tracks.get(label)
        if track is None:
            raise InvalidInputError(
                f"{self.source}: label {label} at frame {t} is not in the track file"
            )
        if not track.begin <= t <= track.end:
            raise InvalidInputError(
                f"{self.source}: label {label} at frame {t} lies outside its track's "
                f"frames {track.begin}-{track.end}"
            )

    def graph(self) -> TrackingGraph:
        links = self._links() if self.tracks is not None else []
        try:
            return TrackingGraph.from_records(self.nuclei, links)
        except GraphError as exc:
            raise InvalidInputError(f"{self.source}: {exc}") from None

    def _links(self) -> list[Link]:
        assert self.tracks is not None
        for label, track in self.tracks.items():
            if not self.by_track.get(label):
                raise InvalidInputError(
                    f"{self.source}: track {label} (frames {track.begin}-{track.end}) "
                    "has no voxels in the label images"
                )
        links: list[Link] = []
        for label, track in self.tracks.items():
            ids = self.by_track[label]
            links += [Link(a, b) for a, b in pairwise(ids)]
            if track.parent:
                links.append(Link(self.by_track[track.parent][-1], ids[0]))
        return links
