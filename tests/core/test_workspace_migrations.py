"""Format upgrades of workspace.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_elephant.core.io.image import write_ome_zarr
from napari_elephant.core.params import DetectionParams, TrainingParams
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import FORMAT_VERSION, Workspace
from napari_elephant.core.workspace_migrations import v1_to_v2


@pytest.fixture
def tiny_workspace(tmp_path) -> Workspace:
    data = np.zeros((2, 3, 8, 8), dtype=np.uint16)
    movie = write_ome_zarr(tmp_path / "movie.ome.zarr", data, VoxelSize(2, 0.5, 0.5))
    return Workspace.create(tmp_path / "w.elephant", movie)


def _v1_parameters(**detection) -> dict:
    det = {"nucleus_radius": "auto", "default_radius": 3.0, "r_min": 1.0, "r_max": 8.0}
    det |= {"d_sup": 2.0} | detection
    return {"detection": det, "training": {"crop_size": [16, 64, 64], "steps": 100}}


def test_old_fixed_sizes_become_sizes_that_follow_the_data():
    data = v1_to_v2({"format_version": 1, "parameters": _v1_parameters()})
    det, training = data["parameters"]["detection"], data["parameters"]["training"]
    assert det == {"r_min": 0.0, "r_max": "auto", "d_sup": "auto"}
    assert training["crop_size"] == "auto" and training["steps"] == 100
    DetectionParams.model_validate(det)
    TrainingParams.model_validate(training)


def test_a_users_own_values_survive_the_upgrade():
    data = v1_to_v2({"parameters": _v1_parameters(nucleus_radius=4.5, r_max=12.0, d_sup=3.0)})
    det = data["parameters"]["detection"]
    assert det["nucleus_diameter"] == 9.0 and det["r_max"] == 12.0 and det["d_sup"] == 3.0


def test_a_version_1_workspace_opens_with_the_new_defaults(tiny_workspace):
    settings = json.loads((tiny_workspace.path / "workspace.json").read_text())
    settings["format_version"] = 1
    settings["parameters"]["detection"] = _v1_parameters()["detection"]
    (tiny_workspace.path / "workspace.json").write_text(json.dumps(settings))
    ws = Workspace.open(tiny_workspace.path)
    assert ws.params.detection == DetectionParams(r_min=0.0)
    ws.save_settings()
    assert json.loads((ws.path / "workspace.json").read_text())["format_version"] == FORMAT_VERSION
