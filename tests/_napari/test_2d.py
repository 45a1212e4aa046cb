"""2D+t movies in napari: the reader's guess, workspaces made from it, and the layers of
a (T, 1, Y, X) workspace (points, full ellipse outlines, tracks, no z slider)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_elephant._napari.layers import AXES_GUESS_KEY
from napari_elephant._napari.reader import read_image
from napari_elephant._napari.session import session_for
from napari_elephant._napari.viewer_workspace import layer_needs_axes
from napari_elephant.core.ellipsoid import flat_cov
from napari_elephant.core.graph import Link, TrackingGraph, make_nucleus
from napari_elephant.core.io.image import write_ome_zarr
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import Workspace

PIXEL = VoxelSize.from_sequence([0.5, 0.5])  # (1, 0.5, 0.5): a 2D movie's voxel size
ELLIPSE = np.array([[4.0, 1.0], [1.0, 2.0]])  # (y, x) covariance, µm²


def flat_tif(path: Path) -> Path:
    """A 3-axis TIFF without axis names (5 frames of 16 × 20)."""
    data = np.arange(5 * 16 * 20, dtype=np.uint16).reshape(5, 16, 20)
    tifffile.imwrite(path, data, photometric="minisblack")
    return path


def workspace_2d(root: Path) -> Path:
    """A (3, 1, 32, 40) movie and one lineage 1 → 2 → 3 of tilted 2D ellipses."""
    movie = write_ome_zarr(root / "m.ome.zarr", np.zeros((3, 1, 32, 40), np.uint16), PIXEL)
    nuclei = [make_nucleus(i + 1, i, (0.0, 6.0 + i, 8.0), flat_cov(ELLIPSE)) for i in range(3)]
    graph = TrackingGraph.from_records(nuclei, [Link(1, 2), Link(2, 3)])
    return Workspace.create(root / "flat.elephant", movie, graph=graph).path


def test_reader_shows_3_unnamed_axes_as_a_movie_and_marks_the_guess(tmp_path) -> None:
    [(data, kwargs, kind)] = read_image(str(flat_tif(tmp_path / "f.tif")))
    assert kind == "image" and data.shape == (5, 16, 20)  # as napari shows a 3D array
    assert kwargs["axis_labels"] == ("t", "y", "x") and len(kwargs["scale"]) == 3
    meta = kwargs["metadata"]
    assert meta["axes"] is None and meta[AXES_GUESS_KEY] == "TYX"
    np.testing.assert_array_equal(np.asarray(data[2]), tifffile.imread(tmp_path / "f.tif")[2])


@pytest.mark.parametrize(("axes", "shape"), [("TYX", (5, 1, 16, 20)), ("ZYX", (1, 5, 16, 20))])
def test_workspace_from_a_guessed_layer_follows_the_answer(
    make_napari_viewer, tmp_path, axes, shape
) -> None:
    viewer = make_napari_viewer()
    [layer] = viewer.open(str(flat_tif(tmp_path / "f.tif")), plugin="napari-elephant")
    assert layer_needs_axes(layer)
    session = session_for(viewer)
    voxel = PIXEL if axes == "TYX" else VoxelSize(2.0, 0.5, 0.5)
    ws = session.create_workspace(tmp_path / "w.elephant", layer, voxel, axes=axes)
    assert Workspace.open(ws.path).open_image().data.shape == shape
    assert ws.voxel_size == voxel and ws.image.axes == axes
    assert layer not in viewer.layers  # the workspace's (T, Z, Y, X) movie replaced it
    assert session.layers["image"].data.shape == shape


def test_in_memory_3d_layer_as_a_2d_movie(make_napari_viewer, tmp_path) -> None:
    viewer = make_napari_viewer()
    layer = viewer.add_image(np.zeros((4, 16, 20), np.uint16), name="raw")
    ws = session_for(viewer).create_workspace(tmp_path / "w.elephant", layer, PIXEL, axes="TYX")
    assert ws.open_image().data.shape == (4, 1, 16, 20)
    assert ws.voxel_size.as_tuple() == (1.0, 0.5, 0.5)


def test_2d_workspace_layers(make_napari_viewer, tmp_path) -> None:
    viewer = make_napari_viewer()
    session = session_for(viewer)
    session.open_workspace(workspace_2d(tmp_path))
    assert viewer.dims.nsteps[1] == 1  # one z plane ...
    sliders = viewer.window._qt_viewer.dims._displayed_sliders
    assert sliders == [True, False, False, False]  # ... so napari shows the time slider only
    nuclei = session.layers["nuclei"]
    np.testing.assert_allclose(nuclei.data, [[0.0, 0.0, 12.0, 16.0]])  # (t, z, y, x) voxels
    cuts = session.sync.cuts
    assert len(cuts) == 1
    np.testing.assert_allclose(cuts.matrix[0], ELLIPSE)  # the z = 0 plane: the full ellipse
    assert session.layers["outlines"].data.shape[0] > 0
    np.testing.assert_array_equal(session.layers["tracks"].data[:, 2], 0.0)  # z column
    viewer.dims.set_current_step(0, 2)
    np.testing.assert_allclose(session.layers["nuclei"].data, [[2.0, 0.0, 16.0, 16.0]])
    assert session.nucleus_at((2, 0.0, 8.0, 8.0)) == 3  # a click inside the ellipse
