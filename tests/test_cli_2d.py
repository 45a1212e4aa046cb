"""2D+t movies on the command line: the axis question, the pixel size, 2D exports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_elephant.cli import main
from napari_elephant.core.ellipsoid import flat_cov
from napari_elephant.core.graph import Link, TrackingGraph, make_nucleus
from napari_elephant.core.workspace import Workspace


@pytest.fixture
def flat_tif(tmp_path: Path) -> Path:
    """A 3-axis TIFF without axis names (tifffile's 'QYX'), like a CTC 2D movie."""
    path = tmp_path / "flat.tif"
    tifffile.imwrite(path, np.zeros((3, 20, 24), np.uint16), photometric="minisblack")
    return path


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("napari-elephant: error: ") and "\n" not in err
    return err


def test_init_asks_for_the_axes_of_3_unnamed_axes(flat_tif, tmp_path, capsys):
    assert main(["init", str(tmp_path / "a.elephant"), "--image", str(flat_tif)]) == 2
    err = error_line(capsys)
    assert "(3, 20, 24)" in err and "--axes TYX" in err and "--axes ZYX" in err
    assert not (tmp_path / "a.elephant").exists()


def test_init_makes_a_2d_movie_from_the_pixel_size(flat_tif, tmp_path, capsys):
    ws_path = tmp_path / "a.elephant"
    argv = ["init", str(ws_path), "--image", str(flat_tif), "--axes", "TYX"]
    assert main([*argv, "--voxel-size", "0.645", "0.645"]) == 0
    assert "3 timepoints of 20×24 pixels (a 2D movie)" in capsys.readouterr().out
    settings = json.loads((ws_path / "workspace.json").read_text())
    assert settings["voxel_size"] == [1.0, 0.645, 0.645]  # z: the nominal 1 µm
    assert settings["image"]["axes"] == "TYX"
    assert Workspace.open(ws_path).open_image().data.shape == (3, 1, 20, 24)


@pytest.mark.parametrize(
    ("axes", "voxel", "expected"),
    [
        ("TYX", ["1", "0.5", "0.5"], "pixel size Y X of a 2D movie"),
        ("ZYX", ["0.5", "0.5"], "Z Y X of a 3D movie"),
        ("TYX", [], "(y x µm)"),
    ],
    ids=["2d-three-numbers", "3d-two-numbers", "2d-none"],
)
def test_voxel_size_numbers_fit_the_movie(flat_tif, tmp_path, capsys, axes, voxel, expected):
    argv = ["init", str(tmp_path / "a.elephant"), "--image", str(flat_tif), "--axes", axes]
    assert main([*argv, *(["--voxel-size", *voxel] if voxel else [])]) == 2
    assert expected in error_line(capsys)


def test_2d_workspace_exports_and_imports_2d_files(flat_tif, tmp_path, capsys):
    ws_path = tmp_path / "a.elephant"
    argv = ["init", str(ws_path), "--image", str(flat_tif), "--axes", "TYX"]
    assert main([*argv, "--voxel-size", "0.5", "0.5"]) == 0
    ws = Workspace.open(ws_path)
    cov = flat_cov(np.array([[4.0, 0.5], [0.5, 2.0]]))
    nuclei = [make_nucleus(i + 1, i, (0.0, 4.0 + i, 5.0), cov) for i in range(3)]
    ws.graph = TrackingGraph.from_records(nuclei, [Link(1, 2), Link(2, 3)])
    ws.save()
    assert main(["export", str(ws_path), str(tmp_path / "01_RES")]) == 0
    assert tifffile.imread(tmp_path / "01_RES" / "mask001.tif").shape == (20, 24)
    assert main(["export", str(ws_path), str(tmp_path / "g.geff")]) == 0
    meta = json.loads((tmp_path / "g.geff" / ".zattrs").read_text())["geff"]
    assert [ax["name"] for ax in meta["axes"]] == ["t", "y", "x"]
    other = tmp_path / "b.elephant"
    assert main([*argv[:1], str(other), *argv[2:], "--voxel-size", "0.5", "0.5"]) == 0
    assert main(["import", str(other), str(tmp_path / "01_RES"), "--voxel-size", "1", "1"]) == 0
    back = Workspace.open(other).graph
    assert len(back) == 3 and back.n_links == 2
    assert {n.center[0] for n in back.nuclei()} == {0.0}


def test_nuclei_imported_into_a_2d_movie_are_brought_into_its_plane(tmp_path, capsys):
    movie = tmp_path / "hela.tif"
    tifffile.imwrite(movie, np.zeros((2, 40, 40), np.uint16))
    ws_path = tmp_path / "w.elephant"
    assert main(["init", str(ws_path), "--image", str(movie), "--axes", "TYX",
                 "--voxel-size", "0.5", "0.5"]) == 0  # fmt: skip
    csv = tmp_path / "n.csv"
    csv.write_text(
        "id,t,z,y,x,cov_zz,cov_zy,cov_zx,cov_yy,cov_yx,cov_xx,parent_id,status\n"
        "1,0,0.3,5,6,0.25,0,0,16,0,9,,accepted\n"  # a token z radius, off the plane
    )
    assert main(["import", str(ws_path), str(csv)]) == 0
    assert "1 nuclei brought into the 2D movie's plane" in capsys.readouterr().out
    (n,) = Workspace.open(ws_path).graph.nuclei()
    assert n.center[0] == 0.0 and n.cov_matrix[0, 0] == pytest.approx(12.0)
    assert n.radius == pytest.approx(np.sqrt(12.0))  # the ellipse's geometric-mean radius
