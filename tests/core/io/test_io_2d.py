"""2D movies in every exchange format: 2D files out, 2D nuclei (z = 0, flat) back in."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree.ElementTree import parse

import numpy as np
import pytest
import tifffile
import zarr

from napari_elephant.core.ellipsoid import flat_cov
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Link, TrackingGraph, make_nucleus
from napari_elephant.core.graph.model import six_to_cov
from napari_elephant.core.io.csv_io import import_csv, load_csv
from napari_elephant.core.io.formats import read_graph, write_graph
from napari_elephant.core.io.label_images import label_ellipsoids
from napari_elephant.core.units import VoxelSize

VOXEL = VoxelSize.from_sequence([0.5, 0.25])  # a 2D movie: y, x only (z nominal 1 µm)
SHAPE = (3, 1, 40, 48)  # (T, Z = 1, Y, X)


def ellipse(a: float, b: float, theta: float) -> np.ndarray:
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return rot @ np.diag([a * a, b * b]) @ rot.T


def graph_2d() -> TrackingGraph:
    """1 → 2 → {3, 4}; 5 alone, predicted; tilted ellipses in the z = 0 plane."""
    spec = [  # id, t, y, x (µm), semi-axes a, b (µm), angle
        (1, 0, 6.0, 4.0, 2.5, 1.5, 0.3), (2, 1, 7.0, 5.0, 2.5, 1.5, 0.5),
        (3, 2, 5.0, 4.0, 1.8, 1.2, 0.0), (4, 2, 12.0, 7.0, 2.0, 1.0, 1.0),
        (5, 0, 14.0, 9.0, 1.5, 1.5, 0.0),
    ]  # fmt: skip
    nuclei = [
        make_nucleus(i, t, (0.0, y, x), flat_cov(ellipse(a, b, th)))
        for i, t, y, x, a, b, th in spec
    ]
    nuclei[4] = make_nucleus(5, 0, (0.0, 14.0, 9.0), radius=1.5, status="predicted")
    return TrackingGraph.from_records(nuclei, [Link(1, 2), Link(2, 3), Link(2, 4)])


def assert_2d(graph: TrackingGraph) -> None:
    """Every nucleus follows the 2D convention."""
    for n in graph.nuclei():
        cov = six_to_cov(n.cov)
        assert n.center[0] == 0.0 and cov[0, 1] == cov[0, 2] == 0.0
        assert cov[0, 0] == pytest.approx(np.sqrt(np.linalg.det(cov[1:, 1:])))


def assert_same(a: TrackingGraph, b: TrackingGraph) -> None:
    assert sorted(n.id for n in a.nuclei()) == sorted(n.id for n in b.nuclei())
    for n in a.nuclei():
        m = b.nucleus(n.id)
        assert (m.t, m.status) == (n.t, n.status)
        np.testing.assert_allclose(m.center, n.center, atol=1e-12)
        np.testing.assert_allclose(m.cov, n.cov, rtol=1e-12, atol=1e-12)
    assert {lk.key for lk in a.links()} == {lk.key for lk in b.links()}


def test_ctc_export_writes_2d_masks_and_reads_back_2d_nuclei(tmp_path: Path) -> None:
    graph = graph_2d()
    write_graph(graph, tmp_path / "01_RES", "ctc", VOXEL, SHAPE)
    mask = tifffile.imread(tmp_path / "01_RES" / "mask000.tif")
    assert mask.shape == (40, 48) and mask.dtype == np.uint16  # (Y, X), as CTC's 2D sets
    assert sorted(p.name for p in (tmp_path / "01_RES").iterdir())[-1] == "res_track.txt"
    back = read_graph(tmp_path / "01_RES", "ctc")  # the pixel size is in the TIFFs
    assert_2d(back)
    assert len(back) == len(graph) and back.n_links == 3
    for n in back.nuclei():
        ids, centers = graph.centers_at(n.t)
        old = graph.nucleus(int(ids[np.argmin(np.linalg.norm(centers - n.center, axis=1))]))
        assert np.all(np.abs(np.subtract(n.center, old.center)) < VOXEL.array)
        assert n.radius == pytest.approx(old.radius, rel=0.15)


def test_2d_label_regions_become_ellipses_of_their_size() -> None:
    yy, xx = np.mgrid[:60, :60]
    labels = ((yy - 30) ** 2 / 20.0**2 + (xx - 25) ** 2 / 10.0**2 <= 1).astype(np.uint16)
    present, centers, covs = label_ellipsoids(labels, VoxelSize(1.0, 1.0, 1.0))
    assert present.tolist() == [1]
    np.testing.assert_allclose(centers[0], (0.0, 30.0, 25.0), atol=1e-9)
    semi = np.sqrt(np.linalg.eigvalsh(covs[0][1:, 1:]))
    np.testing.assert_allclose(semi, (10.0, 20.0), rtol=0.03)  # Σ = 4 × moments, not 5×
    assert covs[0][0, 0] == pytest.approx(np.prod(semi))


def test_ctc_label_movie_file_of_3_axes_is_a_2d_movie(tmp_path: Path) -> None:
    frames = np.zeros((2, 20, 20), np.uint16)
    frames[:, 5:10, 5:12] = 1
    tifffile.imwrite(tmp_path / "labels.tif", frames, imagej=True, metadata={"axes": "TYX"})
    back = read_graph(tmp_path / "labels.tif", "ctc", VOXEL)
    assert_2d(back)
    assert sorted(n.t for n in back.nuclei()) == [0, 1]


def test_trackmate_2d_file_has_one_slice_and_reads_back_exactly(tmp_path: Path) -> None:
    graph = graph_2d()
    write_graph(graph, tmp_path / "t.xml", "trackmate", VOXEL, SHAPE)
    root = parse(tmp_path / "t.xml").getroot()
    image = root.find("Settings/ImageData")
    assert (image.get("nslices"), image.get("voxeldepth")) == ("1", "1.0")
    assert root.find("Settings/BasicSettings").get("zend") == "0"
    spots = list(root.iter("Spot"))
    assert {s.get("POSITION_Z") for s in spots} == {"0.0"}
    radius = {int(s.get("ID")): float(s.get("RADIUS")) for s in spots}
    a, b = 1.8, 1.2
    assert radius[3] == pytest.approx(np.sqrt(a * b))  # mean of the ellipse's semi-axes
    back = read_graph(tmp_path / "t.xml", "trackmate")
    assert_2d(back)
    assert_same(graph, back)


def test_trackmate_2d_file_from_another_tool_gives_2d_nuclei(tmp_path: Path) -> None:
    graph = graph_2d()
    write_graph(graph, tmp_path / "t.xml", "trackmate", VOXEL, SHAPE)
    tree = parse(tmp_path / "t.xml")
    for spot in tree.getroot().iter("Spot"):  # a plain TrackMate spot: a disk of RADIUS
        for key in [k for k in spot.attrib if k.startswith("ELEPHANT_COV")]:
            del spot.attrib[key]
    tree.write(tmp_path / "plain.xml")
    back = read_graph(tmp_path / "plain.xml", "trackmate")
    assert_2d(back)
    assert back.nucleus(3).radius == pytest.approx(graph.nucleus(3).radius)


def test_a_3d_graph_written_without_a_shape_stays_3d(tmp_path: Path) -> None:
    n = make_nucleus(1, 0, (0.2, 3.0, 3.0), np.diag([4.0, 1.0, 1.0]))
    write_graph(TrackingGraph.from_records([n], []), tmp_path / "t.xml", "trackmate", VOXEL)
    assert parse(tmp_path / "t.xml").getroot().find("Settings/ImageData").get("nslices") != "1"
    assert read_graph(tmp_path / "t.xml", "trackmate").nucleus(1) == n


def test_geff_2d_has_y_x_axes_and_reads_back_exactly(tmp_path: Path) -> None:
    graph = graph_2d()
    write_graph(graph, tmp_path / "g.geff", "geff", VOXEL, SHAPE)
    meta = json.loads((tmp_path / "g.geff" / ".zattrs").read_text())["geff"]
    assert [ax["name"] for ax in meta["axes"]] == ["t", "y", "x"]
    cov = zarr.open_array(
        str(tmp_path / "g.geff" / "nodes" / "props" / meta["ellipsoid"] / "values")
    )
    assert cov.shape == (len(graph), 2, 2)
    back = read_graph(tmp_path / "g.geff", "geff")
    assert_2d(back)
    assert_same(graph, back)


def test_geff_of_a_3d_movie_keeps_z(tmp_path: Path) -> None:
    write_graph(graph_2d(), tmp_path / "g.geff", "geff", VOXEL, (3, 4, 40, 48))
    meta = json.loads((tmp_path / "g.geff" / ".zattrs").read_text())["geff"]
    assert [ax["name"] for ax in meta["axes"]] == ["t", "z", "y", "x"]


def test_csv_without_z_gives_2d_nuclei(tmp_path: Path) -> None:
    graph = graph_2d()
    rows = ["id,t,y,x,cov_yy,cov_yx,cov_xx,parent_id,status"]
    for n in sorted(graph.nuclei(), key=lambda n: n.id):
        cov = six_to_cov(n.cov).tolist()
        parent = graph.parent(n.id)
        rows.append(
            f"{n.id},{n.t},{n.center[1]!r},{n.center[2]!r},{cov[1][1]!r},{cov[1][2]!r},"
            f"{cov[2][2]!r},{'' if parent is None else parent},{n.status.value}"
        )
    (tmp_path / "flat.csv").write_text("\n".join(rows) + "\n")
    back = load_csv(tmp_path / "flat.csv")
    assert_2d(back)
    assert_same(graph, back)
    merged = TrackingGraph()
    assert import_csv(merged, tmp_path / "flat.csv").added == len(graph)
    assert_same(graph, merged)


def test_csv_without_z_takes_a_radius_and_checks_the_ellipse(tmp_path: Path) -> None:
    (tmp_path / "r.csv").write_text("id,t,y,x,radius\n1,0,2.0,3.0,1.5\n")
    n = load_csv(tmp_path / "r.csv").nucleus(1)
    assert n.center == (0.0, 2.0, 3.0) and n.radius == pytest.approx(1.5)
    (tmp_path / "bad.csv").write_text("id,t,y,x,cov_yy,cov_yx,cov_xx\n1,0,2,3,1,2,1\n")
    with pytest.raises(InvalidInputError, match="row 2: covariance is not positive definite"):
        load_csv(tmp_path / "bad.csv")


def test_csv_export_of_a_2d_graph_keeps_every_column(tmp_path: Path) -> None:
    graph = graph_2d()
    write_graph(graph, tmp_path / "g.csv", "csv", VOXEL, SHAPE)
    header = (tmp_path / "g.csv").read_text().splitlines()[0]
    assert header.startswith("id,t,z,y,x,cov_zz")
    assert_same(graph, load_csv(tmp_path / "g.csv"))
