"""The generic pretrained detection model that ships with the package.

A first round from five clicks is the weakest moment of the loop: a fresh
network has to learn from them what a nucleus looks like at all.  The
shipped model (the default network, trained on fully annotated timepoints
of the synthetic presets by ``scripts/train_pretrained.py``; the recipe is
in its ``config.json``) already answers that, so training can start from
it instead of from random weights.  It lives in the installed package,
read-only; the workspace gets a copy when a round starts from it.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Any

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.training.checkpoint import has_checkpoint, read_checkpoint_config

KIND = "detection"


def pretrained_dir() -> Path:
    """The folder of the shipped checkpoint (``config.json`` + ``weights.pt``)."""
    return Path(str(files("napari_elephant") / "pretrained" / KIND))


def has_pretrained() -> bool:
    return has_checkpoint(pretrained_dir())


def require_pretrained() -> Path:
    """The shipped checkpoint's folder, or a clear error if the install lacks it."""
    folder = pretrained_dir()
    if not has_checkpoint(folder):
        raise InvalidInputError(
            f"the pretrained detection model is missing from this installation ({folder}); "
            "reinstall napari-elephant"
        )
    return folder


def pretrained_recipe() -> dict[str, Any]:
    """How the shipped model was trained (its ``config.json`` ``training`` entry)."""
    return dict(read_checkpoint_config(require_pretrained(), KIND)["training"])
