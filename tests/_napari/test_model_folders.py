"""The Models tab's folder operations: info, reset, save as, load."""

from __future__ import annotations

import pytest
import torch

from napari_elephant._napari import model_folders as mf
from napari_elephant.core.errors import ElephantError, InvalidInputError
from napari_elephant.core.training.checkpoint import has_checkpoint, save_checkpoint
from napari_elephant.core.workspace import Workspace
from tests._napari.helpers import write_workspace


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return Workspace.open(write_workspace(tmp_path))


def fake_model(folder, kind: str = "detection", steps: int = 5):
    return save_checkpoint(
        folder, torch.nn.Linear(2, 1), {"kind": kind, "width": 2}, None, {"steps": steps}
    )


def test_info_save_as_load_and_reset(ws, tmp_path) -> None:
    assert mf.model_info(ws, "detection") == "not trained yet"
    fake_model(mf.model_folder(ws, "detection"))
    assert "last round 5 steps" in mf.model_info(ws, "detection")
    saved = mf.export_model(ws, "detection", tmp_path / "kept")
    assert has_checkpoint(saved)
    fake_model(tmp_path / "other", steps=9)
    mf.import_model(ws, "detection", tmp_path / "other")
    assert "last round 9 steps" in mf.model_info(ws, "detection")
    assert not (ws.models_dir / "detection.old").exists()
    assert mf.reset_model(ws, "detection")
    assert mf.model_info(ws, "detection") == "not trained yet"
    assert not mf.reset_model(ws, "detection")


def test_wrong_folders_are_refused_with_a_reason(ws, tmp_path) -> None:
    with pytest.raises(InvalidInputError, match="no detection model to save"):
        mf.export_model(ws, "detection", tmp_path / "x")
    fake_model(tmp_path / "flowmodel", kind="flow")
    with pytest.raises(InvalidInputError, match="holds a flow model, not a detection model"):
        mf.import_model(ws, "detection", tmp_path / "flowmodel")
    with pytest.raises(ElephantError, match="does not exist"):
        mf.import_model(ws, "flow", tmp_path / "nowhere")
    mf.import_model(ws, "flow", tmp_path / "flowmodel")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "file").write_text("x")
    with pytest.raises(InvalidInputError, match="not an empty folder"):
        mf.export_model(ws, "flow", tmp_path / "full")
    with pytest.raises(InvalidInputError, match="unknown model"):
        mf.model_folder(ws, "tracks")


def test_use_pretrained_copies_the_shipped_model(ws) -> None:
    from napari_elephant.core.detection.pretrained import pretrained_dir

    mf.use_pretrained(ws)
    folder = mf.model_folder(ws, "detection")
    assert has_checkpoint(folder) and folder != pretrained_dir()
    assert mf.model_info(ws, "detection").startswith("the pretrained model")


def test_reset_of_a_model_kept_elsewhere_removes_the_link_not_the_model(ws, tmp_path) -> None:
    shared = fake_model(tmp_path / "shared" / "detection")
    folder = mf.model_folder(ws, "detection")
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.symlink_to(shared, target_is_directory=True)
    assert "last round 5 steps" in mf.model_info(ws, "detection")
    assert mf.reset_model(ws, "detection")
    assert mf.model_info(ws, "detection") == "not trained yet"
    assert has_checkpoint(shared)  # the model the link pointed to is whole
