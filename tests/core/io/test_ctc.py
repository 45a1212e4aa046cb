"""CTC export/import: lineage kept exactly, nuclei within a voxel, clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Link, Status, TrackingGraph
from napari_elephant.core.io.ctc import export_ctc, import_ctc, read_ctc, write_ctc
from napari_elephant.core.synthetic import generate
from napari_elephant.core.training.progress import StopFlag
from napari_elephant.core.units import VoxelSize

VOXEL = VoxelSize(2.0, 0.5, 0.5)
SHAPE = (8, 40, 40)


def match(original: TrackingGraph, imported: TrackingGraph) -> dict[int, int]:
    """Imported id -> original id of the nearest nucleus at the same timepoint (one-to-one)."""
    mapping = {}
    for n in imported.nuclei():
        ids, centers = original.centers_at(n.t)
        mapping[n.id] = int(ids[np.argmin(np.linalg.norm(centers - n.center, axis=1))])
    assert len(set(mapping.values())) == len(mapping)
    return mapping


def lineage(graph: TrackingGraph, mapping: dict[int, int] | None = None) -> set:
    m = mapping or {n.id: n.id for n in graph.nuclei()}
    return {(m[lk.parent], m[lk.child]) for lk in graph.links()}


def track_lines(folder: Path) -> list[list[int]]:
    return [
        [int(v) for v in line.split()]
        for line in (folder / "res_track.txt").read_text().splitlines()
    ]


@pytest.mark.parametrize("seed", [3, 4])
def test_round_trip_keeps_lineage_and_centres_within_a_voxel(tmp_path, seed):
    movie = generate("tiny", seed)
    truth = movie.graph
    report = write_ctc(truth, tmp_path / "01_RES", movie.image.shape[1:], movie.voxel_size)
    assert report.dropped == () and report.n_nuclei == len(truth)
    back = read_ctc(tmp_path / "01_RES")  # the voxel size comes from the TIFF metadata
    assert len(back) == len(truth)
    mapping = match(truth, back)
    assert lineage(back, mapping) == lineage(truth)
    divisions = [n for n in back.nuclei() if len(back.children(n.id)) == 2]
    assert len(divisions) == sum(len(truth.children(n.id)) == 2 for n in truth.nuclei()) > 0
    for n in back.nuclei():
        old = truth.nucleus(mapping[n.id])
        assert np.all(np.abs(np.subtract(n.center, old.center)) < movie.voxel_size.array)
        assert n.radius == pytest.approx(old.radius, rel=0.1)
        assert n.status == Status.ACCEPTED


def hand_graph() -> TrackingGraph:
    """A mother dividing at t=1, one daughter linked over a gap (t=2 -> t=4)."""
    g = TrackingGraph()
    m0 = g.add_nucleus(0, (8.0, 10.0, 10.0), radius=2.0)
    m1 = g.add_nucleus(1, (8.0, 10.0, 10.5), radius=2.0)
    a = g.add_nucleus(2, (8.0, 6.0, 10.0), radius=1.5)
    b = g.add_nucleus(2, (8.0, 14.0, 10.0), radius=1.5)
    b4 = g.add_nucleus(4, (8.0, 15.0, 10.0), radius=1.5)
    g.add_links([Link(m0, m1), Link(m1, a), Link(m1, b), Link(b, b4)])
    return g


def test_tracks_end_at_divisions_and_gaps(tmp_path):
    report = write_ctc(hand_graph(), tmp_path / "r", SHAPE, VOXEL)
    assert track_lines(tmp_path / "r") == [[1, 0, 1, 0], [2, 2, 2, 1], [3, 2, 2, 1], [4, 4, 4, 3]]
    assert report.n_tracks == 4 and report.n_frames == 5
    masks = sorted(p.name for p in (tmp_path / "r").glob("*.tif"))
    assert masks == [f"mask{t:03d}.tif" for t in range(5)]
    frame = tifffile.imread(tmp_path / "r" / "mask002.tif")
    assert frame.dtype == np.uint16 and frame.shape == SHAPE
    assert set(np.unique(frame)) == {0, 2, 3}
    assert read_ctc(tmp_path / "r").n_links == 4  # the gap link comes back as a link


def test_n_timepoints_writes_empty_frames_and_refuses_too_few(tmp_path):
    write_ctc(hand_graph(), tmp_path / "r", SHAPE, VOXEL, n_timepoints=7)
    assert not tifffile.imread(tmp_path / "r" / "mask006.tif").any()
    with pytest.raises(InvalidInputError, match="beyond"):
        write_ctc(hand_graph(), tmp_path / "s", SHAPE, VOXEL, n_timepoints=3)


def test_smaller_ellipsoid_wins_and_hidden_or_outside_nuclei_are_handled(tmp_path):
    g = TrackingGraph()
    big = g.add_nucleus(0, (8.0, 10.0, 10.0), radius=4.0)
    small = g.add_nucleus(0, (8.0, 12.0, 10.0), radius=1.5)
    tiny = g.add_nucleus(0, (8.0, 8.2, 8.2), radius=0.1)  # between voxel centres
    outside = g.add_nucleus(0, (8.0, 10.0, -30.0), radius=1.0)
    report = write_ctc(g, tmp_path / "r", SHAPE, VOXEL)
    assert report.dropped == (outside,)
    frame = tifffile.imread(tmp_path / "r" / "mask000.tif")
    labels = dict(zip((big, small, tiny), (1, 2, 3), strict=True))  # painted/labelled by id
    centre = tuple(np.round(VOXEL.to_voxels(g.nucleus(small).center)).astype(int))
    assert frame[centre] == labels[small]  # inside the big one, the small one keeps its voxels
    assert (frame == labels[tiny]).sum() == 1
    assert len(read_ctc(tmp_path / "r")) == 3


def test_rejected_nuclei_and_links_are_not_exported(tmp_path):
    g = hand_graph()
    m1 = g.ids_at(1)[0]
    a, b = g.ids_at(2)
    g.set_status([a], "rejected")  # the division becomes a plain continuation to b
    g.set_link_status([(b, g.ids_at(4)[0])], "rejected")
    write_ctc(g, tmp_path / "r", SHAPE, VOXEL)
    assert track_lines(tmp_path / "r") == [[1, 0, 2, 0], [2, 4, 4, 0]]
    assert g.has_link(m1, b)


def test_a_rejected_parent_link_beside_the_lineage_one_is_not_exported(tmp_path):
    g = hand_graph()
    m0, b4 = g.ids_at(0)[0], g.ids_at(4)[0]
    g.add_link(m0, b4, "rejected")  # a second, rejected, parent link of b4
    write_ctc(g, tmp_path / "r", SHAPE, VOXEL)
    assert track_lines(tmp_path / "r") == [[1, 0, 1, 0], [2, 2, 2, 1], [3, 2, 2, 1], [4, 4, 4, 3]]


def test_stop_flag_leaves_nothing_behind(tmp_path):
    stop = StopFlag()
    steps = export_ctc(hand_graph(), tmp_path / "r", SHAPE, VOXEL, stop=stop)
    next(steps)
    stop.set()
    with pytest.raises(StopIteration) as end:
        next(steps)
    assert end.value.value is None
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_a_ctc_folder_only(tmp_path):
    write_ctc(hand_graph(), tmp_path / "r", SHAPE, VOXEL)
    with pytest.raises(InvalidInputError, match="exists"):
        write_ctc(hand_graph(), tmp_path / "r", SHAPE, VOXEL)
    write_ctc(hand_graph(), tmp_path / "r", SHAPE, VOXEL, overwrite=True)
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "thesis.txt").write_text("precious")
    with pytest.raises(InvalidInputError, match="not a CTC folder"):
        write_ctc(hand_graph(), tmp_path / "notes", SHAPE, VOXEL, overwrite=True)
    assert (tmp_path / "notes" / "thesis.txt").exists()


# ------------------------------------------------------------------ reading
def write_frames(folder: Path, frames: list[np.ndarray], prefix: str = "mask") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for t, frame in enumerate(frames):
        tifffile.imwrite(folder / f"{prefix}{t:03d}.tif", frame, photometric="minisblack")


def blob(
    value: int, center: tuple[int, int, int], shape=(6, 20, 20), dtype=np.uint16
) -> np.ndarray:
    out = np.zeros(shape, dtype=dtype)
    z, y, x = center
    out[z - 1 : z + 2, y - 2 : y + 3, x - 2 : x + 3] = value
    return out


def test_ground_truth_tra_layout_and_voxel_size_argument(tmp_path):
    frames = [blob(1, (2, 5, 5)), blob(1, (2, 6, 5)), blob(2, (2, 6, 5)) + blob(3, (3, 14, 14))]
    write_frames(tmp_path / "01_GT" / "TRA", frames, prefix="man_track")
    (tmp_path / "01_GT" / "TRA" / "man_track.txt").write_text("1 0 1 0\n2 2 2 1\n3 2 2 1\n")
    with pytest.raises(InvalidInputError, match="--voxel-size"):
        read_ctc(tmp_path / "01_GT")
    g = read_ctc(tmp_path / "01_GT", voxel_size=(2.0, 0.5, 0.5))
    assert len(g) == 4 and g.n_links == 3
    mother = g.ids_at(1)[0]
    assert len(g.children(mother)) == 2
    centre = g.nucleus(g.ids_at(0)[0]).center
    assert centre == pytest.approx((4.0, 2.5, 2.5))  # voxel (2, 5, 5) at 2 / 0.5 / 0.5 µm


def test_label_movie_without_track_file_gives_detections_only(tmp_path):
    frames = [blob(7, (2, 5, 5)), blob(7, (2, 6, 5))]  # the same label in both frames
    write_frames(tmp_path / "labels", frames, prefix="seg_")
    g = read_ctc(tmp_path / "labels", voxel_size=VOXEL)
    assert len(g) == 2 and g.n_links == 0
    movie = tmp_path / "movie.tif"
    tifffile.imwrite(movie, np.stack(frames), imagej=True, metadata={"axes": "TZYX"})
    g = read_ctc(movie, voxel_size=VOXEL)
    assert sorted(n.t for n in g.nuclei()) == [0, 1] and g.n_links == 0


def test_import_yields_progress_and_can_stop(tmp_path):
    write_ctc(hand_graph(), tmp_path / "r", SHAPE, VOXEL)
    records = list(import_ctc(tmp_path / "r"))
    assert [r.step for r in records] == [1, 2, 3, 4, 5] and records[-1].total == 5
    stop = StopFlag()
    stop.set()
    with pytest.raises(StopIteration) as end:
        next(import_ctc(tmp_path / "r", stop=stop))
    assert end.value.value is None


@pytest.mark.parametrize(
    ("track_text", "frames", "expected"),
    [
        ("1 0 1 0\n2 x 1 0\n", None, "line 2: not integers"),
        ("1 0 1\n", None, "line 1: expected 4 numbers"),
        ("1 0 1 0\n1 0 1 0\n", None, "listed twice"),
        ("1 0 1 0\n2 1 1 1\n", None, "before its parent"),
        ("1 0 0 0\n2 1 1 1\n3 1 1 1\n4 1 1 1\n", None, "more than two daughters"),
        ("1 0 1 0\n2 0 1 9\n", None, "parent track 9"),
        ("1 0 1 0\n5 0 1 0\n", None, "track 5 (frames 0-1) has no voxels"),
        ("2 0 1 0\n", None, "label 1 at frame 0 is not in the track file"),
        ("1 0 0 0\n", None, "outside its track's frames 0-0"),
        ("1 0 1 0\n", [blob(1, (2, 5, 5)), blob(1, (2, 5, 5), shape=(6, 20, 21))], "differs"),
        ("1 0 1 0\n", [blob(1, (2, 5, 5), dtype=np.float32)] * 2, "must be integer"),
        ("1 0 1 0\n", [np.ones((2, 2, 5, 5), np.uint16)] * 2, "or 2D (y, x) label image"),
    ],
    ids=[
        "word", "three", "twice", "parent-late", "daughters", "no-parent", "absent-label",
        "unknown-label", "outside", "shapes", "float", "4d",
    ],
)  # fmt: skip
def test_malformed_folders_give_one_line_errors(tmp_path, track_text, frames, expected):
    write_frames(tmp_path / "r", frames or [blob(1, (2, 5, 5)), blob(1, (2, 6, 5))])
    (tmp_path / "r" / "res_track.txt").write_text(track_text)
    with pytest.raises(InvalidInputError, match=re.escape(expected)) as err:
        read_ctc(tmp_path / "r", voxel_size=VOXEL)
    assert "\n" not in str(err.value)


def test_missing_or_empty_inputs_are_clear(tmp_path):
    with pytest.raises(InvalidInputError, match="no such file or folder"):
        read_ctc(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="no label images"):
        read_ctc(tmp_path / "empty", voxel_size=VOXEL)
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(InvalidInputError, match="label TIFF movie"):
        read_ctc(tmp_path / "notes.txt")


def test_sparse_32bit_labels_and_a_label_missing_inside_its_track(tmp_path):
    big = 3_000_000_000
    frames = [blob(big, (2, 5, 5), dtype=np.uint32), np.zeros((6, 20, 20), np.uint32)]
    frames.append(blob(big, (2, 7, 5), dtype=np.uint32))
    write_frames(tmp_path / "r", frames)
    (tmp_path / "r" / "res_track.txt").write_text(f"{big} 0 2 0\n")
    g = read_ctc(tmp_path / "r", voxel_size=VOXEL)
    first, last = g.ids_at(0)[0], g.ids_at(2)[0]
    assert len(g) == 2 and g.children(first) == [last]  # linked across the empty frame
