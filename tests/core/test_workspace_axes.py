"""A workspace remembers how its movie's axes were read, and old ones keep their reading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import zarr

from napari_elephant.core.errors import WorkspaceError
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import Workspace


@pytest.fixture
def flat_zarr(tmp_path: Path) -> Path:
    path = tmp_path / "flat.zarr"
    zarr.save_array(str(path), np.zeros((5, 8, 8), np.uint16))  # 3 axes, no names
    return path


def test_create_stores_the_axes_it_read(flat_zarr, tmp_path) -> None:
    ws = Workspace.create(tmp_path / "a.elephant", flat_zarr, voxel_size=(0.5, 0.5), axes="tyx")
    settings = json.loads((ws.path / "workspace.json").read_text())
    assert settings["image"]["axes"] == "TYX"
    assert Workspace.open(ws.path).open_image().data.shape == (5, 1, 8, 8)


def test_a_2d_movie_without_voxel_size_is_asked_for_y_and_x(flat_zarr, tmp_path) -> None:
    with pytest.raises(WorkspaceError, match=r"\(y x µm\), e.g. --voxel-size 0.5 0.5"):
        Workspace.create(tmp_path / "a.elephant", flat_zarr, axes="TYX")


def test_a_workspace_made_before_the_axis_question_keeps_one_stack(flat_zarr, tmp_path) -> None:
    ws = Workspace.create(
        tmp_path / "a.elephant", flat_zarr, voxel_size=VoxelSize(2, 1, 1), axes="ZYX"
    )
    settings_file = ws.path / "workspace.json"
    settings = json.loads(settings_file.read_text())
    settings["image"]["axes"] = None  # as written when 3 unnamed axes meant ZYX
    settings_file.write_text(json.dumps(settings))
    old = Workspace.open(ws.path)
    assert old.open_image().data.shape == (1, 5, 8, 8)
    assert old.image.axes == "ZYX"  # the next settings save writes it down
