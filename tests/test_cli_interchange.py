"""``import`` / ``export`` with CTC and TrackMate XML from the command line."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_elephant.cli import main
from napari_elephant.core.io.csv_io import load_csv
from napari_elephant.core.workspace import Workspace


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    assert main(["sample", str(out), "--preset", "tiny", "--seed", "4"]) == 0
    return out


@pytest.fixture
def workspace(sample_dir, tmp_path) -> Path:
    """A workspace holding the ground truth of the sample movie."""
    ws = tmp_path / "w.elephant"
    assert main(["init", str(ws), "--image", str(sample_dir / "movie.ome.zarr")]) == 0
    assert main(["import", str(ws), str(sample_dir / "truth.csv")]) == 0
    return ws


def empty_workspace(sample_dir: Path, path: Path, *voxel: str) -> Path:
    args = ["--voxel-size", *voxel] if voxel else []
    assert main(["init", str(path), "--image", str(sample_dir / "movie.ome.zarr"), *args]) == 0
    return path


def divisions(ws: Path) -> int:
    g = Workspace.open(ws).graph
    return sum(len(g.children(n.id)) == 2 for n in g.nuclei())


def test_ctc_export_then_import_keeps_the_lineage(sample_dir, workspace, tmp_path, capsys):
    out = tmp_path / "01_RES"
    assert main(["export", str(workspace), str(out)]) == 0  # format from the name
    assert "ctc" in capsys.readouterr().out
    assert (out / "res_track.txt").is_file() and len(list(out.glob("mask*.tif"))) == 4
    other = empty_workspace(sample_dir, tmp_path / "other.elephant")
    assert main(["import", str(other), str(out)]) == 0
    truth = load_csv(sample_dir / "truth.csv")
    g = Workspace.open(other).graph
    assert len(g) == len(truth) and g.n_links == truth.n_links
    assert divisions(other) == divisions(workspace) > 0


def test_ctc_import_adds_nuclei_under_fresh_ids(workspace, tmp_path, capsys):
    out = tmp_path / "01_RES"
    assert main(["export", str(workspace), str(out), "--format", "ctc"]) == 0
    before = Workspace.open(workspace).graph
    assert main(["import", str(workspace), str(out)]) == 0
    assert f"{len(before)} nuclei added, 0 updated" in capsys.readouterr().out
    assert len(Workspace.open(workspace).graph) == 2 * len(before)


def test_ctc_import_uses_the_voxel_size_option_for_bare_masks(sample_dir, workspace, tmp_path):
    out = tmp_path / "01_RES"
    assert main(["export", str(workspace), str(out)]) == 0
    bare = tmp_path / "bare"
    shutil.copytree(out, bare)
    for mask in bare.glob("*.tif"):  # the masks lose their calibration
        tifffile.imwrite(mask, tifffile.imread(mask), photometric="minisblack")
    # a movie of (4, 1, 1) µm voxels, so that the masks' nuclei lie inside it
    other = empty_workspace(sample_dir, tmp_path / "o.elephant", "4", "1", "1")
    assert main(["import", str(other), str(bare), "--voxel-size", "4", "1", "1"]) == 0
    doubled = Workspace.open(other).graph
    truth = Workspace.open(workspace).graph
    ratio = np.mean([n.center for n in doubled.nuclei()], axis=0) / np.mean(
        [n.center for n in truth.nuclei()], axis=0
    )
    assert ratio == pytest.approx([2.0, 2.0, 2.0], rel=0.05)  # (4, 1, 1) µm, not (2, .5, .5)


def test_trackmate_export_then_import_is_exact(sample_dir, workspace, tmp_path):
    out = tmp_path / "session.xml"
    assert main(["export", str(workspace), str(out)]) == 0
    other = empty_workspace(sample_dir, tmp_path / "other.elephant")
    assert main(["import", str(other), str(out)]) == 0
    a, b = Workspace.open(workspace).graph, Workspace.open(other).graph
    assert sorted(a.nuclei(), key=lambda n: n.id) == sorted(b.nuclei(), key=lambda n: n.id)
    assert set(a.links()) == set(b.links())


def test_export_refuses_to_overwrite_and_ctc_needs_the_movie(workspace, tmp_path, capsys):
    out = tmp_path / "s.xml"
    assert main(["export", str(workspace), str(out)]) == 0
    assert main(["export", str(workspace), str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["export", str(workspace), str(out), "--overwrite"]) == 0
    ws = Workspace.open(workspace)
    moved = ws.image_path().with_name("moved.ome.zarr")
    ws.image_path().rename(moved)
    try:
        assert main(["export", str(workspace), str(tmp_path / "x_RES")]) == 2
        assert "missing" in capsys.readouterr().err
        assert main(["export", str(workspace), str(tmp_path / "y.xml")]) == 0  # no image needed
    finally:
        moved.rename(ws.image_path())


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("bad.xml", "<TrackMate><Model", "not well-formed"),
        ("bad_RES", "1 0 3\n", "expected 4 numbers"),
        ("lol.xml", '<!DOCTYPE x [<!ENTITY a "b">]><TrackMate>&a;</TrackMate>', "entities"),
    ],
    ids=["xml", "ctc-track-line", "entity"],
)
def test_bad_files_give_one_line_and_exit_2(workspace, tmp_path, capsys, name, content, expected):
    path = tmp_path / name
    if name.endswith("_RES"):
        path.mkdir()
        (path / "res_track.txt").write_text(content)
        tifffile.imwrite(path / "mask000.tif", np.zeros((2, 4, 4), np.uint16))
    else:
        path.write_text(content)
    before = len(Workspace.open(workspace).graph)
    assert main(["import", str(workspace), str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("napari-elephant: error: ") and expected in err and "\n" not in err
    assert len(Workspace.open(workspace).graph) == before
