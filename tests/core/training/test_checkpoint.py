"""Checkpoints: round trips, safe loading, atomic saves and one-line errors."""

from __future__ import annotations

import json
import re

import pytest
import torch

from napari_elephant.core.detection.model import UNetConfig, build_model
from napari_elephant.core.errors import InvalidInputError, WorkspaceError
from napari_elephant.core.training import checkpoint as ckpt

CONFIG = UNetConfig(base_channels=4, depth=2, pool_z=(False, True))


class NotATensor:
    """An arbitrary object: weights_only loading must refuse to unpickle it."""


@pytest.fixture
def model():
    torch.manual_seed(0)
    return build_model(CONFIG)


@pytest.fixture
def saved(tmp_path, model):
    folder = tmp_path / "models" / "detection"
    ckpt.save_checkpoint(folder, model, CONFIG, extra={"step": 7})
    return folder


def edit_config(folder, **changes):
    path = folder / ckpt.CONFIG_FILE
    document = json.loads(path.read_text())
    document.update(changes)
    path.write_text(json.dumps(document))


def test_round_trip_gives_the_same_outputs(saved, model):
    x = torch.rand(1, 1, 5, 20, 20)
    restored = ckpt.build_model_from_checkpoint(saved)
    assert restored.config == CONFIG
    assert not restored.training
    with torch.no_grad():
        assert torch.equal(restored(x), model.eval()(x))


def test_config_json_layout(saved):
    document = json.loads((saved / "config.json").read_text())
    assert document["format_version"] == 1
    assert document["kind"] == "detection"
    assert document["model"] == CONFIG.to_dict()
    training = document["training"]
    assert training["step"] == 7 and training["has_optimizer"] is False
    assert {"created", "updated"} <= set(training)


def test_optimizer_and_extra_round_trip_for_resuming(tmp_path, model):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.rand(1, 1, 4, 8, 8)).sum().backward()
    optimizer.step()
    ckpt.save_checkpoint(tmp_path, model, CONFIG, optimizer, extra={"step": 1, "lr": 1e-3})
    state, config, opt_state, extra = ckpt.load_checkpoint(tmp_path, expected_kind="detection")
    assert config == CONFIG.to_dict()
    assert extra == {"step": 1, "lr": 1e-3}
    resumed = torch.optim.Adam(build_model(CONFIG).parameters(), lr=1e-3)
    resumed.load_state_dict(opt_state)
    assert resumed.state_dict()["state"][0]["step"] == 1
    assert set(state) == set(model.state_dict())


def test_a_save_without_optimizer_drops_the_stale_one_and_keeps_created(tmp_path, model):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    ckpt.save_checkpoint(tmp_path, model, CONFIG, optimizer)
    assert (tmp_path / ckpt.OPTIMIZER_FILE).is_file()
    edit_config(tmp_path, training={"created": "2020-01-01T00:00:00+00:00"})
    ckpt.save_checkpoint(tmp_path, model, CONFIG)
    assert not (tmp_path / ckpt.OPTIMIZER_FILE).exists()
    assert ckpt.load_checkpoint(tmp_path).optimizer_state is None
    assert ckpt.read_checkpoint_config(tmp_path)["training"]["created"].startswith("2020")


def test_any_dict_config_with_a_kind_is_stored(tmp_path):
    net = torch.nn.Linear(2, 1)
    ckpt.save_checkpoint(tmp_path, net, {"kind": "flow", "width": 2})
    assert ckpt.load_checkpoint(tmp_path, expected_kind="flow").config == {
        "kind": "flow",
        "width": 2,
    }


def test_a_failing_save_leaves_the_previous_weights_intact(saved, model, monkeypatch):
    before = ckpt.load_checkpoint(saved).model_state
    real_save = torch.save

    def save_then_fail(obj, handle):
        real_save(obj, handle)
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.torch, "save", save_then_fail)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    with pytest.raises(
        WorkspaceError, match=re.escape(f"could not save checkpoint {saved}: disk full")
    ):
        ckpt.save_checkpoint(saved, model, CONFIG, extra={"step": 8})
    monkeypatch.undo()
    after, _, _, extra = ckpt.load_checkpoint(saved)
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert extra == {"step": 7}
    assert not list(saved.glob("*.tmp"))


def test_weights_are_loaded_without_unpickling_code(saved):
    torch.save({"w": NotATensor()}, saved / ckpt.WEIGHTS_FILE)
    refused = r"weights\.pt is corrupted .*\(safe loading refused it: "
    with pytest.raises(WorkspaceError, match=refused):
        ckpt.load_checkpoint(saved)


def test_missing_folder_and_files_are_clear_errors(tmp_path, saved):
    with pytest.raises(WorkspaceError, match="the folder does not exist"):
        ckpt.load_checkpoint(tmp_path / "nowhere")
    (saved / ckpt.WEIGHTS_FILE).unlink()
    with pytest.raises(WorkspaceError, match=re.escape(f"checkpoint {saved} has no weights.pt")):
        ckpt.load_checkpoint(saved)
    (saved / ckpt.CONFIG_FILE).unlink()
    with pytest.raises(WorkspaceError, match=r"has no config\.json"):
        ckpt.load_checkpoint(saved)
    assert not ckpt.has_checkpoint(saved)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", r"config\.json is not valid JSON"),
        ("[1, 2]", "corrupt \\(not a JSON object\\)"),
        ('{"format_version": "one", "kind": "detection", "model": {}}', "format_version"),
        ('{"format_version": 1, "model": {}}', "corrupt \\(kind None\\)"),
        ('{"format_version": 1, "kind": "detection"}', "no 'model' settings"),
    ],
)
def test_corrupt_config_json_is_a_clear_error(saved, text, message):
    (saved / ckpt.CONFIG_FILE).write_text(text)
    with pytest.raises(WorkspaceError, match=message):
        ckpt.load_checkpoint(saved)


def test_a_future_format_version_is_refused(saved):
    edit_config(saved, format_version=2)
    with pytest.raises(WorkspaceError, match="format version 2, newer than"):
        ckpt.load_checkpoint(saved)


def test_the_wrong_kind_is_refused(saved):
    with pytest.raises(InvalidInputError, match="holds a detection model, not a flow model"):
        ckpt.load_checkpoint(saved, expected_kind="flow")


@pytest.mark.parametrize("payload", [b"", b"garbage, not a zip", None])
def test_corrupted_weights_are_a_clear_error(saved, payload):
    path = saved / ckpt.WEIGHTS_FILE
    path.write_bytes(path.read_bytes()[:100] if payload is None else payload)
    with pytest.raises(
        WorkspaceError, match=re.escape(f"checkpoint {saved}: weights.pt is corrupted")
    ):
        ckpt.load_checkpoint(saved)


def test_weights_that_are_not_a_state_dict_are_refused(saved):
    torch.save([1, 2], saved / ckpt.WEIGHTS_FILE)
    with pytest.raises(WorkspaceError, match="does not hold a state dict"):
        ckpt.load_checkpoint(saved)


def test_weights_of_another_architecture_are_a_clear_error(saved):
    edit_config(saved, model={**CONFIG.to_dict(), "base_channels": 8})
    with pytest.raises(InvalidInputError, match="does not match the model architecture"):
        ckpt.build_model_from_checkpoint(saved)
    edit_config(saved, model={**CONFIG.to_dict(), "depth": 1, "pool_z": [True]})
    with pytest.raises(InvalidInputError, match=r"\d+ unexpected, e.g. "):
        ckpt.build_model_from_checkpoint(saved)


def test_bad_architecture_settings_name_the_folder(saved):
    edit_config(saved, model={**CONFIG.to_dict(), "colour": "red"})
    with pytest.raises(
        InvalidInputError, match=re.escape(f"checkpoint {saved}: unknown network setting")
    ):
        ckpt.build_model_from_checkpoint(saved)


def test_bad_training_state_is_refused_before_writing(tmp_path, model):
    with pytest.raises(InvalidInputError, match="reserved"):
        ckpt.save_checkpoint(tmp_path, model, CONFIG, extra={"created": "now"})
    with pytest.raises(InvalidInputError, match="not JSON-able"):
        ckpt.save_checkpoint(tmp_path, model, CONFIG, extra={"when": object()})
    with pytest.raises(InvalidInputError, match="needs a 'kind'"):
        ckpt.save_checkpoint(tmp_path, model, {"width": 2})
    assert not list(tmp_path.iterdir())


def _crash_between_the_renames(folder, model) -> None:
    """What a kill between a save's two renames leaves: the old folder aside, the
    new one whole beside it, nothing in place."""
    staged = folder.with_name(folder.name + "-new")
    ckpt.save_checkpoint(staged, model, CONFIG, extra={"step": 9})
    folder.rename(folder.with_name(folder.name + ".old"))
    staged.rename(folder.with_name(folder.name + ".tmp"))


def test_a_save_killed_between_its_renames_is_read_whole_and_settled_by_the_next(saved, model):
    _crash_between_the_renames(saved, model)
    assert ckpt.has_checkpoint(saved)
    assert ckpt.load_checkpoint(saved).extra["step"] == 9  # the new copy, whole
    ckpt.save_checkpoint(saved, model, CONFIG, extra={"step": 10})
    assert ckpt.load_checkpoint(saved).extra["step"] == 10
    assert sorted(p.name for p in saved.parent.iterdir()) == ["detection"]


@pytest.mark.parametrize("leftover", [".tmp", ".old"])
def test_leftovers_of_a_killed_save_never_hide_the_checkpoint(saved, model, leftover):
    """Killed while writing the new copy (an unfinished .tmp) or after the swap (the
    old copy still aside): the folder in place is read, the next save tidies up."""
    other = saved.with_name(saved.name + leftover)
    other.mkdir()
    (other / ckpt.WEIGHTS_FILE).write_bytes(b"half a file")
    assert ckpt.load_checkpoint(saved).extra["step"] == 7
    ckpt.save_checkpoint(saved, model, CONFIG, extra={"step": 8})
    assert not other.exists() and ckpt.load_checkpoint(saved).extra["step"] == 8


@pytest.mark.parametrize("leftover", [".tmp", ".old"])
def test_leftovers_that_are_symlinks_are_unlinked_never_followed(saved, model, tmp_path, leftover):
    """As for the graph: a leftover that is a link elsewhere is removed as a link, the
    folder it points to keeps its files, and the save goes through."""
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("weeks of work")
    saved.with_name(saved.name + leftover).symlink_to(outside, target_is_directory=True)
    ckpt.save_checkpoint(saved, model, CONFIG, extra={"step": 8})
    assert ckpt.load_checkpoint(saved).extra["step"] == 8
    assert (outside / "keep.txt").read_text() == "weeks of work"
    assert sorted(p.name for p in saved.parent.iterdir()) == ["detection"]
