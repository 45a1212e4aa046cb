"""Drag and drop: every format opens through napari with our plugin, in µm."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from napari.layers import Image, Points, Tracks

from napari_elephant._napari import sample_data
from napari_elephant._napari.layers import GRAPH_KEY
from napari_elephant.core.io.csv_io import write_csv
from napari_elephant.core.io.geff_io import read_geff, write_geff
from tests._napari.helpers import (
    division_graph,
    same_graph,
    write_h5,
    write_tiff,
    write_workspace,
    write_zarr,
)

PLUGIN = "napari-elephant"


@pytest.mark.parametrize(
    ("writer", "name", "scale", "missing"),
    [
        (write_zarr, "movie.ome.zarr", (1, 2, 0.5, 0.5), False),
        (write_h5, "movie.h5", (1, 2, 0.5, 0.5), False),
        (write_tiff, "movie.tif", (1, 1, 1, 1), True),
    ],
)
def test_movies_open_as_one_image_in_um(
    make_napari_viewer, tmp_path: Path, writer, name, scale, missing
) -> None:
    viewer = make_napari_viewer()
    path = writer(tmp_path / name)
    [layer] = viewer.open(str(path), plugin=PLUGIN)
    assert isinstance(layer, Image)
    assert layer.data.shape == (4, 8, 48, 48)
    np.testing.assert_allclose(layer.scale, scale)
    assert layer.metadata["voxel_size_missing"] is missing
    lo, hi = layer.contrast_limits
    assert lo < hi


def test_workspace_opens_as_image_nuclei_tracks(make_napari_viewer, tmp_path: Path) -> None:
    viewer = make_napari_viewer()
    layers = viewer.open(str(write_workspace(tmp_path)), plugin=PLUGIN)
    assert [type(layer) for layer in layers] == [Image, Points, Tracks]
    image, points, tracks = layers
    graph = points.metadata[GRAPH_KEY]
    assert tracks.metadata[GRAPH_KEY] is graph
    np.testing.assert_allclose(image.scale, (1, 2, 0.5, 0.5))
    np.testing.assert_allclose(points.scale, (1, 1, 1, 1))  # data already in µm
    nid = int(points.features["id"][0])
    n = graph.nucleus(nid)
    np.testing.assert_allclose(points.data[0], (n.t, *n.center))
    np.testing.assert_allclose(points.border_color[0], (0, 1, 1, 1))  # accepted = cyan
    np.testing.assert_allclose(points.face_color[0], (0, 1, 1, 0.2))  # faint fill
    np.testing.assert_allclose(points.size[0], 2 * n.radius)


@pytest.mark.parametrize("name", ["graph.geff", "graph.csv"])
def test_graph_files_open_as_nuclei_and_tracks(make_napari_viewer, tmp_path, name) -> None:
    viewer = make_napari_viewer()
    path = tmp_path / name
    (write_geff if name.endswith("geff") else write_csv)(division_graph(), path)
    points, tracks = viewer.open(str(path), plugin=PLUGIN)
    assert isinstance(points, Points) and isinstance(tracks, Tracks)
    assert len(points.data) == 8
    assert len(tracks.graph) == 2  # both daughters point to their mother's track


def test_sample_data_opens_three_layers(make_napari_viewer, monkeypatch) -> None:
    monkeypatch.setattr(sample_data, "SAMPLE_PRESET", "tiny")
    viewer = make_napari_viewer()
    viewer.open_sample(PLUGIN, "sample_movie")
    assert [type(layer) for layer in viewer.layers] == [Image, Points, Tracks]
    np.testing.assert_allclose(viewer.layers[0].scale, (1, 2, 0.5, 0.5))


def test_save_layer_writes_the_graph(make_napari_viewer, tmp_path: Path) -> None:
    viewer = make_napari_viewer()
    points, tracks = viewer.open(str(_geff(tmp_path)), plugin=PLUGIN)
    viewer.layers.selection = {tracks}
    out = tmp_path / "saved.geff"
    viewer.layers.save(str(out), selected=True, plugin=PLUGIN)
    assert same_graph(read_geff(out), division_graph())
    viewer.layers.selection = {points, tracks}
    out2 = tmp_path / "both.geff"
    viewer.layers.save(str(out2), selected=True, plugin=PLUGIN)
    assert same_graph(read_geff(out2), division_graph())


def _geff(tmp_path: Path) -> Path:
    path = tmp_path / "in.geff"
    write_geff(division_graph(), path)
    return path
