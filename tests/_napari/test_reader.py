"""The reader claims movies, workspaces and graphs, declines the rest, reads into one
µm world (voxel coordinates at the image's scale for workspaces)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from napari_elephant._napari.layers import GRAPH_KEY, ROLE_KEY, WORKSPACE_KEY
from napari_elephant._napari.reader import (
    get_reader,
    is_graph_csv,
    read_graph_file,
    read_image,
    read_workspace,
)
from napari_elephant.core.errors import ElephantError
from napari_elephant.core.io.csv_io import write_csv
from napari_elephant.core.io.geff_write import write_geff
from napari_elephant.core.workspace import Workspace
from tests._napari.helpers import (
    VOXEL,
    copy_graph,
    division_graph,
    same_graph,
    tiny_movie,
    write_h5,
    write_tiff,
    write_workspace,
    write_zarr,
)


@pytest.mark.parametrize(
    ("writer", "name", "reader"),
    [
        (write_zarr, "movie.ome.zarr", read_image),
        (write_tiff, "movie.tif", read_image),
        (write_h5, "movie.h5", read_image),
        (lambda p: write_geff(division_graph(), p), "graph.geff", read_graph_file),
        (lambda p: write_csv(division_graph(), p), "graph.csv", read_graph_file),
    ],
)
def test_get_reader_claims_our_formats(tmp_path: Path, writer, name, reader) -> None:
    path = tmp_path / name
    writer(path)
    assert get_reader(str(path)) is reader
    assert get_reader([str(path)]) is reader


def test_get_reader_claims_a_workspace(tmp_path: Path) -> None:
    assert get_reader(str(write_workspace(tmp_path))) is read_workspace


def test_get_reader_declines_what_is_not_ours(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    other_csv = tmp_path / "table.csv"
    other_csv.write_text("a,b\n1,2\n")
    empty_dir = tmp_path / "empty.zarr"
    empty_dir.mkdir()
    for path in (text, other_csv, empty_dir, tmp_path / "missing.tif"):
        assert get_reader(str(path)) is None, path
    assert get_reader([str(text), str(other_csv)]) is None
    assert not is_graph_csv(text)


def test_image_reader_gives_one_lazy_layer_in_um(tmp_path: Path) -> None:
    path = write_zarr(tmp_path / "movie.ome.zarr")
    [(data, kwargs, kind)] = read_image(str(path))
    assert kind == "image"
    assert data.shape == (4, 8, 48, 48)
    assert hasattr(data, "dask")  # lazy
    assert kwargs["scale"] == (1.0, 2.0, 0.5, 0.5)
    assert kwargs["metadata"]["source_path"] == str(path)


def test_image_without_voxel_size_is_flagged(tmp_path: Path) -> None:
    [(_, kwargs, _)] = read_image(str(write_tiff(tmp_path / "movie.tif")))
    assert kwargs["scale"] == (1.0, 1.0, 1.0, 1.0)
    assert kwargs["metadata"]["voxel_size_missing"] is True


def test_workspace_reader_gives_image_nuclei_outlines_tracks_tied_to_the_workspace(
    tmp_path: Path,
) -> None:
    graph = copy_graph(tiny_movie().graph)
    hidden = int(graph.ids_at(0)[0])
    graph.set_status([hidden], "rejected")
    path = write_workspace(tmp_path, graph)
    layers = read_workspace(str(path))
    assert [kind for *_, kind in layers] == ["image", "points", "vectors", "tracks"]
    workspaces = {id(kw["metadata"][WORKSPACE_KEY]) for _, kw, _ in layers}
    assert len(workspaces) == 1
    ws = layers[0][1]["metadata"][WORKSPACE_KEY]
    assert isinstance(ws, Workspace) and ws.path == path
    roles = [kw["metadata"][ROLE_KEY] for _, kw, _ in layers]
    assert roles == ["image", "nuclei", "outlines", "tracks"]
    for _, kw, _ in layers:  # one world: voxel coordinates at the image's scale
        assert tuple(kw["scale"]) == (1.0, *VOXEL.as_tuple())
    points, kw, _ = layers[1]
    assert kw["metadata"][GRAPH_KEY] is ws.graph
    # the first timepoint only, rejected nuclei (negative examples) hidden
    shown = sorted(set(ws.graph.ids_at(0).tolist()) - {hidden})
    assert sorted(kw["features"]["id"].tolist()) == shown
    for row, nid in zip(points, kw["features"]["id"], strict=True):
        n = ws.graph.nucleus(int(nid))
        np.testing.assert_allclose(row, (0, *VOXEL.to_voxels(n.center)))
    assert len(layers[2][0]) == 0  # the session draws the outlines of the current plane


def test_workspace_reader_starts_no_session_without_a_viewer(tmp_path: Path, monkeypatch) -> None:
    import napari
    import napari.viewer  # loaded, so the reader asks napari for its viewer

    from napari_elephant._napari import session

    monkeypatch.setattr(napari, "current_viewer", lambda: None)
    before = len(session._SESSIONS)
    layers = read_workspace(str(write_workspace(tmp_path)))
    assert len(layers) == 4
    assert len(session._SESSIONS) == before


def test_graph_reader_reads_geff_and_csv(tmp_path: Path) -> None:
    write_geff(division_graph(), tmp_path / "g.geff")
    write_csv(division_graph(), tmp_path / "g.csv")
    for name in ("g.geff", "g.csv"):
        layers = read_graph_file(str(tmp_path / name))
        assert [kind for *_, kind in layers] == ["points", "tracks"]
        assert layers[0][1]["name"] == "g nuclei"
        graph = layers[0][1]["metadata"][GRAPH_KEY]
        assert same_graph(graph, division_graph(), csv=name.endswith("csv"))


def test_a_broken_workspace_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.elephant"
    path.mkdir()
    (path / "workspace.json").write_text("{not json")
    assert get_reader(str(path)) is read_workspace
    with pytest.raises(ElephantError, match="corrupted"):
        read_workspace(str(path))


def test_the_reader_loads_no_torch() -> None:
    """napari imports the reader on every file dropped on it: torch (seconds to load)
    waits until a network is needed."""
    import subprocess
    import sys

    from tests.process import child_env

    code = "import sys, napari_elephant._napari.reader; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=child_env(), check=True)  # fmt: skip
    assert out.stdout.strip() == "False"
