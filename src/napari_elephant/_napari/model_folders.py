"""The Models tab's file operations on a workspace's model folders, without Qt.

A model is a checkpoint folder (``models/detection/``, ``models/flow/``).
Reset deletes it (the next round starts as a first one: from the pretrained model
or a new network, as ``training.initial_model`` says); "save as" copies it
anywhere; "load" checks a folder holds a checkpoint of the right kind and
swaps it in with renames, so an interrupted load leaves the old model or the
new one, never a mix; "use pretrained" loads the detection model shipped
with the package the same way.  Callers make sure no job is running meanwhile.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from napari_elephant.core.detection.engine import detection_dir
from napari_elephant.core.detection.pretrained import require_pretrained
from napari_elephant.core.errors import InvalidInputError, WorkspaceError
from napari_elephant.core.flow.engine import flow_dir
from napari_elephant.core.leftovers import present, remove_tree
from napari_elephant.core.training.checkpoint import (
    copy_checkpoint,
    has_checkpoint,
    read_checkpoint_config,
)
from napari_elephant.core.workspace import Workspace

KINDS = ("detection", "flow")


def model_folder(ws: Workspace, kind: str) -> Path:
    if kind not in KINDS:
        raise InvalidInputError(f"unknown model {kind!r} (detection or flow)")
    return detection_dir(ws) if kind == "detection" else flow_dir(ws)


def model_info(ws: Workspace, kind: str) -> str:
    """One line: not trained yet, or when it was last trained and how far."""
    folder = model_folder(ws, kind)
    if not has_checkpoint(folder):
        return "not trained yet"
    try:
        training = read_checkpoint_config(folder, kind)["training"]
    except (InvalidInputError, WorkspaceError) as error:
        return f"unreadable: {error}"
    if "pretrained" in training:
        return "the pretrained model (not trained on this movie yet)"
    parts = [f"updated {str(training.get('updated', '?')).replace('T', ' ')}"]
    if isinstance(training.get("steps"), int):
        parts.append(f"last round {training['steps']} steps")
    if isinstance(training.get("last_loss"), float):
        parts.append(f"loss {training['last_loss']:.4g}")
    return ", ".join(parts)


def reset_model(ws: Workspace, kind: str) -> bool:
    """Delete the model folder (a link to one elsewhere: the link); True when there was
    one."""
    folder = model_folder(ws, kind)
    if not present(folder):
        return False
    remove_tree(folder)
    return True


def export_model(ws: Workspace, kind: str, dest: str | Path) -> Path:
    """Copy the model folder to ``dest`` (a new or empty folder)."""
    folder = model_folder(ws, kind)
    if not has_checkpoint(folder):
        raise InvalidInputError(f"no {kind} model to save yet: train one first")
    target = Path(dest)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InvalidInputError(f"{target} exists and is not an empty folder")
    if target.exists():
        target.rmdir()
    shutil.copytree(folder, target)
    return target


def import_model(ws: Workspace, kind: str, src: str | Path) -> None:
    """Replace the workspace's model by the checkpoint in ``src`` (checked first)."""
    source = Path(src)
    read_checkpoint_config(source, kind)  # a clear error for a wrong or broken folder
    if not has_checkpoint(source):
        raise InvalidInputError(f"{source} holds no weights ({kind} model expected)")
    folder = model_folder(ws, kind)
    if source.resolve() == folder.resolve():
        return
    copy_checkpoint(source, folder)


def use_pretrained(ws: Workspace) -> None:
    """Replace the workspace's detection model by the shipped pretrained one."""
    import_model(ws, "detection", require_pretrained())
