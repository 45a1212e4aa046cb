"""Fuzzed Cell Tracking Challenge folders and label TIFFs (issue 16, item 3): the track
table's cells replaced by NaN, negative, huge or non-numbers, rows dropped, duplicated
or made their own parent; mask files cut short, replaced by noise, by floats, by
another shape, or removed.  Each reads as a valid graph or ends in one line."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from napari_elephant.core.errors import ElephantError
from napari_elephant.core.io.ctc import read_ctc, write_ctc
from napari_elephant.core.units import VoxelSize
from tests.core.analysis.helpers import hand_lineage
from tests.process import fuzz_examples

FUZZ = settings(
    max_examples=fuzz_examples(80), deadline=None, suppress_health_check=list(HealthCheck)
)
NASTY = st.sampled_from(
    ["", "nan", "-1", "0", "1e309", "99999999999999999999", "abc", "1.5", "-0", "\x00", "é"]
)
VOXEL = VoxelSize(2.0, 1.0, 1.0)


def one_line(error: BaseException) -> None:
    assert isinstance(error, ElephantError), f"{type(error).__name__}: {error}"
    assert str(error) and "\n" not in str(error).strip()


@pytest.fixture(scope="module")
def good_ctc(tmp_path_factory):
    graph = hand_lineage()
    graph.remove_nuclei([11, 12])  # rejected: not exported
    folder = tmp_path_factory.mktemp("ctc") / "01_RES"
    write_ctc(graph, folder, (10, 24, 40), VOXEL)
    return folder


def _mutate_table(path, data) -> None:
    rows = [line.split() for line in path.read_text().splitlines()]
    for _ in range(data.draw(st.integers(1, 3))):
        kind = data.draw(st.sampled_from(["cell", "drop", "duplicate", "self-parent", "cut"]))
        r = data.draw(st.integers(0, max(0, len(rows) - 1)))
        if not rows:
            break
        if kind == "cell" and rows[r]:
            rows[r][data.draw(st.integers(0, len(rows[r]) - 1))] = data.draw(NASTY)
        elif kind == "drop":
            rows.pop(r)
        elif kind == "duplicate":
            rows.insert(r, list(rows[r]))
        elif kind == "self-parent" and len(rows[r]) == 4:
            rows[r][3] = rows[r][0]
        elif kind == "cut":
            rows[r] = rows[r][: data.draw(st.integers(0, len(rows[r])))]
    path.write_text("\n".join(" ".join(r) for r in rows))


def _mutate_mask(path, data) -> None:
    kind = data.draw(st.sampled_from(["cut", "noise", "float", "shape", "remove", "negative"]))
    if kind == "cut":
        raw = path.read_bytes()
        path.write_bytes(raw[: data.draw(st.integers(0, len(raw) - 1))])
    elif kind == "remove":
        path.unlink()
    else:
        labels = tifffile.imread(path)
        rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
        if kind == "noise":
            labels = rng.integers(0, 6, labels.shape).astype(labels.dtype)
        elif kind == "float":
            labels = labels.astype(np.float32) + 0.5
        elif kind == "shape":
            labels = labels[:, : data.draw(st.integers(1, labels.shape[1]))]
        else:
            labels = -labels.astype(np.int32)
        tifffile.imwrite(path, labels)


@FUZZ
@given(data=st.data())
def test_a_mutated_ctc_folder_reads_or_says_why_in_one_line(good_ctc, tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("fz") / "01_RES"
    shutil.copytree(good_ctc, folder)
    masks = sorted(folder.glob("mask*.tif"))
    if data.draw(st.booleans()):
        _mutate_table(folder / "res_track.txt", data)
    if data.draw(st.booleans()):
        _mutate_mask(data.draw(st.sampled_from(masks)), data)
    try:
        graph = read_ctc(folder, VOXEL)
    except Exception as error:
        one_line(error)
        return
    for link in graph.links():  # what reads is a valid graph
        assert graph.nucleus(link.parent).t < graph.nucleus(link.child).t


@settings(FUZZ, max_examples=fuzz_examples(40))
@given(data=st.data())
def test_a_mutated_label_tiff_movie_reads_or_says_why(good_ctc, tmp_path_factory, data):
    movie = np.stack([tifffile.imread(p) for p in sorted(good_ctc.glob("mask*.tif"))])
    path = tmp_path_factory.mktemp("tif") / "labels.tif"
    tifffile.imwrite(path, movie)
    _mutate_mask(path, data)
    try:
        graph = read_ctc(path, VOXEL)
    except Exception as error:
        one_line(error)
        return
    assert len(graph) >= 0


def test_a_label_image_whose_header_claims_2_to_the_64_pixels_is_one_line(good_ctc, tmp_path):
    import resource

    from tests.core.test_io_image import _claim_size

    folder = tmp_path / "01_RES"
    shutil.copytree(good_ctc, folder)
    mask = sorted(folder.glob("mask*.tif"))[1]
    _claim_size(mask, 2**32 - 1, 2**32 - 1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ElephantError) as caught:
        read_ctc(folder, VOXEL)
    one_line(caught.value)
    assert "damaged" in str(caught.value)
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024 < 50


@pytest.mark.parametrize("keep", [2, 4])
def test_a_mask_cut_inside_its_header_is_one_line(good_ctc, tmp_path, keep) -> None:
    """Found by the fuzzer: a TIFF cut to a few bytes raised struct.error."""
    folder = tmp_path / "01_RES"
    shutil.copytree(good_ctc, folder)
    mask = sorted(folder.glob("mask*.tif"))[0]
    mask.write_bytes(mask.read_bytes()[:keep])
    with pytest.raises(ElephantError) as caught:
        read_ctc(folder, VOXEL)
    one_line(caught.value)
