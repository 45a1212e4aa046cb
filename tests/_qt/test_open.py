"""Drag and drop: every format opens through napari with our plugin, in µm."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from napari.layers import Image, Points, Tracks, Vectors

from napari_elephant._napari import sample_data, session
from napari_elephant._napari.layers import GRAPH_KEY, WORKSPACE_KEY
from napari_elephant._napari.session import session_for
from napari_elephant.core.io.csv_io import write_csv
from napari_elephant.core.io.geff_io import read_geff
from napari_elephant.core.io.geff_write import write_geff
from tests._napari.helpers import (
    VOXEL,
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


def test_workspace_opens_as_image_nuclei_outlines_tracks(make_napari_viewer, tmp_path) -> None:
    viewer = make_napari_viewer()
    layers = viewer.open(str(write_workspace(tmp_path)), plugin=PLUGIN)
    assert [type(layer) for layer in layers] == [Image, Points, Vectors, Tracks]
    points, tracks = layers[1], layers[3]
    graph = points.metadata[GRAPH_KEY]
    assert tracks.metadata[GRAPH_KEY] is graph
    for layer in layers:  # one µm world: voxel coordinates at the image's voxel size
        np.testing.assert_allclose(layer.scale, (1, 2, 0.5, 0.5))
    t = viewer.dims.current_step[0]  # the session shows the timepoint the dims are at
    assert sorted(points.features["id"].tolist()) == graph.ids_at(t).tolist()
    n = graph.nucleus(int(points.features["id"][0]))
    np.testing.assert_allclose(points.data[0], (t, *(np.array(n.center) / VOXEL.array)))
    np.testing.assert_allclose(points.border_color[0], (0, 1, 1, 1))  # accepted = cyan
    np.testing.assert_allclose(points.face_color[0], (0, 1, 1, 0.2))  # faint fill
    np.testing.assert_allclose(points.size[0], 2 * n.radius / VOXEL.x)  # in x voxels


def test_a_dropped_workspace_is_live_before_any_dock(make_napari_viewer, tmp_path) -> None:
    viewer = make_napari_viewer()
    assert session._SESSIONS.get(viewer) is None
    layers = viewer.open(str(write_workspace(tmp_path)), plugin=PLUGIN)
    live = session._SESSIONS.get(viewer)  # started by the reader, before any dock
    assert live is not None and live is session_for(viewer)
    _, points, outlines, _ = layers
    assert live.workspace is points.metadata[WORKSPACE_KEY]
    assert live.layers == dict(zip(("image", "nuclei", "outlines", "tracks"), layers, strict=True))
    t = 2 if viewer.dims.current_step[0] != 2 else 3
    n = live.graph.nucleus(int(live.graph.ids_at(t)[0]))
    viewer.dims.set_point((0, 1), (t, n.center[0]))  # a time step, a plane through n
    assert sorted(points.features["id"].tolist()) == live.graph.ids_at(t).tolist()
    assert len(outlines.data) > 0  # its outline is drawn, and a click there picks it
    assert live.nucleus_at((t, *n.center)) == n.id


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
    for layer in viewer.layers:  # z steps by one image plane, not by 1 µm
        np.testing.assert_allclose(layer.scale, (1, 2, 0.5, 0.5))


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
