"""Workspaces: create, reopen, atomic saves, crash recovery, format versions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from napari_elephant.core import workspace as wsmod
from napari_elephant.core.errors import WorkspaceError
from napari_elephant.core.io.geff_io import read_geff
from napari_elephant.core.io.image import write_ome_zarr
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import GRAPH, SETTINGS, Workspace, is_workspace


@pytest.fixture
def movie(tmp_path) -> Path:
    data = np.arange(2 * 3 * 8 * 8, dtype=np.uint16).reshape(2, 3, 8, 8)
    return write_ome_zarr(tmp_path / "data" / "movie.ome.zarr", data, VoxelSize(2, 0.5, 0.5))


@pytest.fixture
def ws(tmp_path, movie) -> Workspace:
    ws = Workspace.create(tmp_path / "embryo.elephant", movie)
    a = ws.graph.add_nucleus(0, (2, 2, 2), radius=1.5)
    b = ws.graph.add_nucleus(1, (2, 2, 3), radius=1.5, status="predicted")
    ws.graph.add_link(a, b)
    ws.save_graph()
    return ws


def graph_state(ws: Workspace) -> tuple:
    g = ws.graph
    return sorted(g.nuclei(), key=lambda n: n.id), sorted(g.links(), key=lambda lk: lk.key)


def test_create_reads_voxel_size_and_reopens_identically(ws, movie):
    again = Workspace.open(ws.path)
    assert again.voxel_size == VoxelSize(2, 0.5, 0.5)
    assert graph_state(again) == graph_state(ws)
    assert again.open_image().data.shape == (2, 3, 8, 8)
    assert is_workspace(ws.path) and not is_workspace(movie)


def test_parameters_are_saved_and_validated(ws):
    ws.params.detection.center_ratio = 0.3
    ws.save_settings()
    assert Workspace.open(ws.path).params.detection.center_ratio == 0.3
    data = json.loads((ws.path / SETTINGS).read_text())
    data["parameters"]["detection"]["center_ratio"] = 7
    (ws.path / SETTINGS).write_text(json.dumps(data))
    with pytest.raises(WorkspaceError, match="invalid settings"):
        Workspace.open(ws.path)


def test_image_path_is_relative_so_project_folders_can_move(ws, tmp_path):
    assert not Path(ws.image.path).is_absolute()
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.move(ws.path, moved / ws.path.name)
    shutil.move(tmp_path / "data", moved / "data")
    again = Workspace.open(moved / ws.path.name)
    assert again.open_image().n_timepoints == 2


def test_missing_image_still_opens_the_graph_and_says_where(ws, tmp_path):
    shutil.rmtree(tmp_path / "data")
    again = Workspace.open(ws.path)
    assert len(again.graph) == 2
    with pytest.raises(WorkspaceError, match="missing"):
        again.open_image()


def test_image_without_voxel_size_needs_one(tmp_path):
    import zarr

    zarr.create_array(tmp_path / "plain.zarr", shape=(2, 3, 8, 8), dtype="uint16")
    with pytest.raises(WorkspaceError, match="voxel size"):
        Workspace.create(tmp_path / "a.elephant", tmp_path / "plain.zarr")
    ws = Workspace.create(tmp_path / "a.elephant", tmp_path / "plain.zarr", voxel_size=VoxelSize())
    assert ws.voxel_size == VoxelSize(1, 1, 1)


def test_create_refuses_to_overwrite(ws, movie):
    with pytest.raises(WorkspaceError, match="already holds"):
        Workspace.create(ws.path, movie)


def test_crash_while_writing_the_graph_keeps_the_old_one(ws, monkeypatch):
    before = graph_state(ws)
    ws.graph.add_nucleus(1, (5, 5, 5), radius=1)

    def die(graph, path, **kw):
        Path(path).mkdir()
        (Path(path) / "half").write_text("x")
        raise OSError("disk full")

    monkeypatch.setattr(wsmod, "write_geff", die)
    with pytest.raises(OSError):
        ws.save_graph()
    monkeypatch.undo()
    again = Workspace.open(ws.path)
    assert graph_state(again) == before
    assert not (ws.path / (GRAPH + ".tmp")).exists()


def test_crash_between_the_two_renames_recovers_the_new_graph(ws):
    ws.graph.add_nucleus(1, (5, 5, 5), radius=1)
    expected = graph_state(ws)
    final, tmp, old = wsmod._graph_paths(ws.path)
    wsmod.write_geff(ws.graph, tmp)
    wsmod._done_marker(ws.path).write_text("done")  # tmp is complete
    final.rename(old)  # ... and the process dies here
    again = Workspace.open(ws.path)
    assert graph_state(again) == expected
    assert final.exists() and not tmp.exists() and not old.exists()


def test_an_unfinished_tmp_never_replaces_the_graph(ws):
    expected = graph_state(ws)
    final, tmp, old = wsmod._graph_paths(ws.path)
    final.rename(old)
    tmp.mkdir()  # a save that died while writing, no completion mark
    (tmp / "half").write_text("x")
    assert graph_state(Workspace.open(ws.path)) == expected
    assert not tmp.exists() and not wsmod._done_marker(ws.path).exists()


def test_a_first_save_that_died_while_writing_leaves_an_empty_graph(ws):
    final, tmp, _ = wsmod._graph_paths(ws.path)
    shutil.rmtree(final)
    tmp.mkdir()
    (tmp / "half").write_text("x")
    assert len(Workspace.open(ws.path).graph) == 0  # not "the graph is damaged"


def test_crash_after_moving_old_aside_without_tmp_recovers_old(ws):
    expected = graph_state(ws)
    final, _, old = wsmod._graph_paths(ws.path)
    final.rename(old)
    assert graph_state(Workspace.open(ws.path)) == expected


def test_half_written_marker_and_settings_of_a_killed_save_are_cleared(ws):
    """A kill inside atomic_write_text leaves its temp file; the next open removes it
    (found by the kill -9 test: graph.geff.tmp.done.tmp)."""
    expected = graph_state(ws)
    marker_tmp = ws.path / (GRAPH + ".tmp.done.tmp")
    settings_tmp = ws.path / (SETTINGS + ".tmp")
    marker_tmp.write_text("the graph in")
    settings_tmp.write_text('{"half": ')
    assert graph_state(Workspace.open(ws.path)) == expected
    assert not marker_tmp.exists() and not settings_tmp.exists()


def test_corrupted_settings_give_one_line_and_touch_nothing(ws):
    (ws.path / SETTINGS).write_text("{ not json")
    listing = sorted(p.name for p in ws.path.iterdir())
    with pytest.raises(WorkspaceError, match="corrupted") as err:
        Workspace.open(ws.path)
    assert "\n" not in str(err.value)
    assert sorted(p.name for p in ws.path.iterdir()) == listing


def test_corrupted_graph_is_an_error_not_an_empty_graph(ws):
    shutil.rmtree(ws.path / GRAPH / "nodes")
    with pytest.raises(WorkspaceError, match="graph"):
        Workspace.open(ws.path)


def test_newer_format_asks_for_an_upgrade(ws):
    data = json.loads((ws.path / SETTINGS).read_text())
    data["format_version"] = wsmod.FORMAT_VERSION + 1
    (ws.path / SETTINGS).write_text(json.dumps(data))
    with pytest.raises(WorkspaceError, match="upgrade"):
        Workspace.open(ws.path)


def test_older_format_is_migrated_forward(ws, monkeypatch):
    data = json.loads((ws.path / SETTINGS).read_text())
    data["format_version"] = 0
    data["voxel"] = data.pop("voxel_size")  # what a hypothetical v0 called it
    (ws.path / SETTINGS).write_text(json.dumps(data))
    with pytest.raises(WorkspaceError, match="cannot be upgraded"):
        Workspace.open(ws.path)

    def v0_to_v1(d: dict) -> dict:
        d["voxel_size"] = d.pop("voxel")
        return d

    monkeypatch.setitem(wsmod.MIGRATIONS, 0, v0_to_v1)
    assert Workspace.open(ws.path).voxel_size == VoxelSize(2, 0.5, 0.5)


def test_not_a_workspace(tmp_path):
    with pytest.raises(WorkspaceError, match="no workspace"):
        Workspace.open(tmp_path / "nothing")
    with pytest.raises(WorkspaceError, match="not a workspace"):
        Workspace.open(tmp_path)


def test_a_save_whose_graph_went_stale_is_not_swapped_in(ws):
    ws.save_graph()
    first = next(iter(ws.graph.nuclei())).id
    ws.graph.set_status([first], "rejected")
    assert ws.save_graph(still_valid=lambda: False) is False
    assert Workspace.open(ws.path).graph.nucleus(first).status != "rejected"
    assert not any(p.name.endswith(".tmp") for p in ws.path.iterdir())
    assert ws.save_graph() is True
    assert Workspace.open(ws.path).graph.nucleus(first).status == "rejected"


def test_a_home_relative_path_is_expanded(movie, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    ws = Workspace.create("~/w.elephant", movie)
    assert ws.path == tmp_path / "home" / "w.elephant" and ws.path.is_absolute()
    assert not (tmp_path / "~").exists()
    assert Workspace.open("~/w.elephant").path.is_dir()


def test_a_graph_folder_that_is_a_symlink_is_saved_without_touching_its_target(ws, tmp_path):
    """A graph kept elsewhere through a symlink: a save puts the new graph in the
    workspace and removes only the link; what the link pointed to stays as it was."""
    import shutil

    elsewhere = tmp_path / "disk2" / "graph.geff"
    elsewhere.parent.mkdir()
    shutil.move(str(ws.path / "graph.geff"), elsewhere)
    (ws.path / "graph.geff").symlink_to(elsewhere, target_is_directory=True)
    opened = Workspace.open(ws.path)
    before = sorted(p.relative_to(elsewhere) for p in elsewhere.rglob("*"))
    n = len(opened.graph)
    opened.graph.remove_nuclei(opened.graph.ids_at(0)[:1].tolist())
    opened.save_graph()
    assert len(Workspace.open(ws.path).graph) == n - 1
    assert not (ws.path / "graph.geff").is_symlink()
    assert sorted(p.relative_to(elsewhere) for p in elsewhere.rglob("*")) == before
    assert len(read_geff(elsewhere)) == n


def test_leftovers_that_are_symlinks_are_unlinked_never_followed(ws, tmp_path):
    """An interrupted save's tmp and old folders, as links elsewhere, are tidied by
    removing the links: the folders they point to are not emptied."""
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("weeks of work")
    for name in ("graph.geff.tmp", "graph.geff.old"):
        (ws.path / name).symlink_to(outside, target_is_directory=True)
    Workspace.open(ws.path).save_graph()
    assert (outside / "keep.txt").read_text() == "weeks of work"
    assert not any((ws.path / n).exists() for n in ("graph.geff.tmp", "graph.geff.old"))
