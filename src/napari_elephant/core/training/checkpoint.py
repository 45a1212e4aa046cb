"""Model checkpoints: a folder with ``config.json`` + ``weights.pt`` (+ ``optimizer.pt``).

::

    models/detection/
      config.json    {"format_version": 1, "kind": "detection",
                      "model": {architecture}, "training": {created, updated,
                      has_optimizer, step, ... whatever the trainer adds}}
      weights.pt     the state_dict (CPU tensors)
      optimizer.pt   optional optimizer state, to resume training

The architecture lives in JSON, so a checkpoint is rebuilt without
unpickling code; tensors are read with ``torch.load(weights_only=True)``.
Saves are atomic, as the graph's are: the new checkpoint is written whole
into ``NAME.tmp`` beside the folder (``config.json`` last: it marks the copy
complete), then swapped in with two renames (the old folder aside as
``NAME.old``, the new one in its place).  A crash at any moment leaves the old
checkpoint or the new one, never a mix; a reader finds whichever is whole,
and the next save finishes an interrupted swap.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import torch
from torch import nn

from napari_elephant.core.detection.model import DetectionUNet, UNetConfig
from napari_elephant.core.errors import InvalidInputError, WorkspaceError
from napari_elephant.core.leftovers import present, remove_tree

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.pt"
OPTIMIZER_FILE = "optimizer.pt"
RESERVED_TRAINING_KEYS = ("created", "updated", "has_optimizer")


class ArchitectureConfig(Protocol):
    """Any architecture config with a JSON-able ``to_dict()`` holding a ``kind``."""

    def to_dict(self) -> dict[str, Any]: ...


class LoadedCheckpoint(NamedTuple):
    """What :func:`load_checkpoint` returns (unpacks as a 4-tuple)."""

    model_state: dict[str, torch.Tensor]
    config: dict[str, Any]  # the "model" entry: architecture settings
    optimizer_state: dict[str, Any] | None
    extra: dict[str, Any]  # the trainer's own entries of "training" (step, ...)


# ----------------------------------------------------------------- saving
def save_checkpoint(
    folder: str | os.PathLike,
    model: nn.Module,
    config: ArchitectureConfig | Mapping[str, Any],
    optimizer: torch.optim.Optimizer | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``model`` (and the optimizer, to resume) into ``folder``, atomically.

    ``config`` is the architecture (a :class:`UNetConfig`, any object with
    ``to_dict()``, or a JSON-able dict, with a ``kind``); ``extra`` is
    JSON-able trainer state (step count, learning rate, ...) stored in
    ``config.json`` under ``training``.  A save without an optimizer removes
    a stale ``optimizer.pt``.
    """
    folder = Path(folder)
    model_dict = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    kind = model_dict.get("kind")
    if not isinstance(kind, str) or not kind:
        raise InvalidInputError(f"checkpoint {folder}: the model config needs a 'kind' name")
    document = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "model": model_dict,
        "training": _training_record(folder, extra, optimizer is not None),
    }
    text = _to_json(document, folder)
    state = {key: value.detach().to("cpu") for key, value in model.state_dict().items()}
    staged = {WEIGHTS_FILE: state}
    if optimizer is not None:
        staged[OPTIMIZER_FILE] = optimizer.state_dict()
    _write_atomically(folder, staged, text)
    return folder


def _training_record(
    folder: Path, extra: Mapping[str, Any] | None, has_optimizer: bool
) -> dict[str, Any]:
    extra = dict(extra or {})
    clash = sorted(set(extra) & set(RESERVED_TRAINING_KEYS))
    if clash:
        raise InvalidInputError(
            f"checkpoint {folder}: training entries {clash} are reserved for the checkpoint"
        )
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    created = _previous_created(folder) or now
    return {"created": created, "updated": now, "has_optimizer": has_optimizer, **extra}


def _previous_created(folder: Path) -> str | None:
    try:
        previous = json.loads((_readable(folder) / CONFIG_FILE).read_text(encoding="utf-8"))
        created = previous["training"]["created"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return created if isinstance(created, str) else None


def _to_json(document: dict[str, Any], folder: Path) -> str:
    try:
        return json.dumps(document, indent=2, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidInputError(
            f"checkpoint {folder}: config or training state is not JSON-able ({error})"
        ) from None


def _write_atomically(folder: Path, staged: dict[str, Any], config_text: str) -> None:
    """Write the checkpoint into ``NAME.tmp``, then swap it in with two renames."""

    def write(tmp: Path) -> None:
        for name, obj in staged.items():
            with open(tmp / name, "wb") as handle:
                torch.save(obj, handle)
                handle.flush()
                os.fsync(handle.fileno())
        with open(tmp / CONFIG_FILE, "w", encoding="utf-8") as handle:  # last: complete
            handle.write(config_text)
            handle.flush()
            os.fsync(handle.fileno())

    _swap_in(folder, write)


def copy_checkpoint(source: str | os.PathLike, folder: str | os.PathLike) -> None:
    """Put a copy of the checkpoint in ``source`` in place of ``folder``'s, atomically
    (importing a model, or the pretrained one)."""
    source, folder = _readable(Path(source)), Path(folder)

    def write(tmp: Path) -> None:
        for name in (WEIGHTS_FILE, OPTIMIZER_FILE, CONFIG_FILE):  # config.json last
            if (source / name).is_file():
                shutil.copyfile(source / name, tmp / name)

    _swap_in(folder, write)


def _swap_in(folder: Path, write: Callable[[Path], None]) -> None:
    """Let ``write`` fill ``NAME.tmp``, then swap it in: the old folder aside as
    ``NAME.old``, the new one in its place, the old one removed."""
    tmp, old = _beside(folder, ".tmp"), _beside(folder, ".old")
    _settle(folder)
    try:
        remove_tree(tmp)
        tmp.mkdir(parents=True)
        write(tmp)
    except OSError as error:
        shutil.rmtree(tmp, ignore_errors=True)
        raise WorkspaceError(f"could not save checkpoint {folder}: {error}") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if present(folder):
        folder.rename(old)
    tmp.rename(folder)
    remove_tree(old)


def _beside(folder: Path, suffix: str) -> Path:
    return folder.with_name(folder.name + suffix)


def _complete(folder: Path) -> bool:
    return (folder / CONFIG_FILE).is_file() and (folder / WEIGHTS_FILE).is_file()


def _settle(folder: Path) -> None:
    """Finish a swap a crash interrupted (the writer does this, under its lock): the
    folder is missing only between the two renames, when tmp is whole.  Leftovers that
    are links are unlinked, never followed (:mod:`napari_elephant.core.leftovers`)."""
    tmp, old = _beside(folder, ".tmp"), _beside(folder, ".old")
    if not present(folder):
        if _complete(tmp):
            tmp.rename(folder)
        elif present(old):
            old.rename(folder)
    if present(folder):
        remove_tree(old)


def _readable(folder: Path) -> Path:
    """Where a reader finds the whole checkpoint: the folder, or, in the instant (or
    after a crash) between a save's two renames, the new copy or the old one."""
    if folder.exists():
        return folder
    for other in (_beside(folder, ".tmp"), _beside(folder, ".old")):
        if _complete(other):
            return other
    return folder


# ---------------------------------------------------------------- loading
def has_checkpoint(folder: str | os.PathLike) -> bool:
    """True when ``folder`` holds a config.json and weights.pt (not checked further)."""
    return _complete(_readable(Path(folder)))


def read_checkpoint_config(
    folder: str | os.PathLike, expected_kind: str | None = None
) -> dict[str, Any]:
    """The validated ``config.json`` of a checkpoint (no tensors are read)."""
    folder = Path(folder)
    source = _readable(folder)
    if not source.is_dir():
        raise WorkspaceError(f"no checkpoint at {folder}: the folder does not exist")
    path = source / CONFIG_FILE
    if not path.is_file():
        raise WorkspaceError(f"checkpoint {folder} has no {CONFIG_FILE}")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise WorkspaceError(f"checkpoint {folder}: cannot read {CONFIG_FILE} ({error})") from None
    except json.JSONDecodeError as error:
        raise WorkspaceError(
            f"checkpoint {folder}: {CONFIG_FILE} is not valid JSON "
            f"({error.msg} at line {error.lineno})"
        ) from None
    _check_document(document, folder, expected_kind)
    return document


def _check_document(document: Any, folder: Path, expected_kind: str | None) -> None:
    def corrupt(what: str) -> WorkspaceError:
        return WorkspaceError(f"checkpoint {folder}: {CONFIG_FILE} is corrupt ({what})")

    if not isinstance(document, dict):
        raise corrupt("not a JSON object")
    version = document.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise corrupt(f"format_version {version!r}")
    if version > FORMAT_VERSION:
        raise WorkspaceError(
            f"checkpoint {folder} has format version {version}, newer than this "
            f"napari-elephant reads ({FORMAT_VERSION}); update napari-elephant"
        )
    kind = document.get("kind")
    if not isinstance(kind, str) or not kind:
        raise corrupt(f"kind {kind!r}")
    if not isinstance(document.get("model"), dict):
        raise corrupt("no 'model' settings")
    if not isinstance(document.setdefault("training", {}), dict):
        raise corrupt("'training' is not an object")
    if expected_kind is not None and kind != expected_kind:
        raise InvalidInputError(
            f"checkpoint {folder} holds a {kind} model, not a {expected_kind} model"
        )


def load_checkpoint(
    folder: str | os.PathLike,
    map_location: str | torch.device = "cpu",
    expected_kind: str | None = None,
    with_optimizer: bool = True,
) -> LoadedCheckpoint:
    """Read a checkpoint: (model_state, model config dict, optimizer_state | None, extra).

    Tensors are loaded with ``weights_only=True`` (no code is unpickled).
    ``extra`` is what the trainer passed to :func:`save_checkpoint`.
    """
    folder = Path(folder)
    source = _readable(folder)
    document = read_checkpoint_config(folder, expected_kind)
    state = _load_tensors(source, WEIGHTS_FILE, map_location)
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise WorkspaceError(f"checkpoint {folder}: {WEIGHTS_FILE} is not a state_dict of tensors")
    optimizer_state = None
    if with_optimizer and (source / OPTIMIZER_FILE).is_file():
        optimizer_state = _load_tensors(source, OPTIMIZER_FILE, map_location)
    training = document["training"]
    extra = {k: v for k, v in training.items() if k not in RESERVED_TRAINING_KEYS}
    return LoadedCheckpoint(state, document["model"], optimizer_state, extra)


def _load_tensors(folder: Path, name: str, map_location: str | torch.device) -> dict[str, Any]:
    path = folder / name
    if not path.is_file():
        raise WorkspaceError(f"checkpoint {folder} has no {name}")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch raises many kinds for a damaged file
        raise WorkspaceError(
            f"checkpoint {folder}: {name} is corrupted or not a plain PyTorch state file "
            f"({_load_failure(error)})"
        ) from None
    if not isinstance(obj, dict):
        raise WorkspaceError(f"checkpoint {folder}: {name} does not hold a state dict")
    return obj


def _load_failure(error: Exception) -> str:
    """The informative sentence of torch's (long, multi-line) load error."""
    if isinstance(error, EOFError):
        return "the file is empty or truncated"
    text = str(error)
    marker = "WeightsUnpickler error:"
    if marker in text:
        return "safe loading refused it: " + _first_sentence(text.split(marker, 1)[1])
    return _first_sentence(text) or type(error).__name__


def _first_sentence(text: str) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line.split(". ")[0].rstrip(".")[:160]


def load_weights(model: nn.Module, state: Mapping[str, torch.Tensor], folder: Any) -> None:
    """Load ``state`` into ``model``; a mismatch is one clear line naming ``folder``."""
    problems = _mismatches(model.state_dict(), state)
    try:
        if not problems:
            model.load_state_dict(state)
    except RuntimeError as error:
        problems.append(str(error).strip().splitlines()[0][:160])
    if problems:
        raise InvalidInputError(
            f"checkpoint {folder} does not match the model architecture ({'; '.join(problems)})"
        )


def _mismatches(expected: Mapping[str, torch.Tensor], state: Mapping[str, Any]) -> list[str]:
    """Missing, unexpected and resized entries of a state dict, one phrase per kind."""
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    resized = [
        f"{key} {tuple(state[key].shape)} != {tuple(value.shape)}"
        for key, value in expected.items()
        if key in state and state[key].shape != value.shape
    ]
    return [
        f"{len(items)} {label}, e.g. {items[0]}"
        for items, label in (
            (missing, "missing"),
            (unexpected, "unexpected"),
            (resized, "resized"),
        )
        if items
    ]


def build_checked(
    build: Callable[[], nn.Module], state: Mapping[str, torch.Tensor], folder: Any
) -> nn.Module:
    """The network a checkpoint's ``config.json`` describes, with its weights.

    The network is first built on the meta device (shapes, no memory) and compared
    with the weights, so a config that claims a network far larger than its weights
    (a damaged or hostile file) is one line, not gigabytes allocated.
    """
    try:
        with torch.device("meta"):
            shell = build()
    except (ValueError, TypeError, RuntimeError, OverflowError) as error:
        first = str(error).strip().splitlines()[0][:160] if str(error).strip() else ""
        raise InvalidInputError(
            f"checkpoint {folder}: its network settings build no network ({first})"
        ) from None
    problems = _mismatches(shell.state_dict(), state)
    if problems:
        raise InvalidInputError(
            f"checkpoint {folder} does not match the model architecture ({'; '.join(problems)})"
        )
    model = build()
    load_weights(model, state, folder)
    return model


def build_model_from_checkpoint(
    folder: str | os.PathLike, device: str | torch.device = "cpu"
) -> DetectionUNet:
    """The detection network saved in ``folder``, on ``device``, in eval mode."""
    folder = Path(folder)
    loaded = load_checkpoint(folder, device, expected_kind="detection", with_optimizer=False)
    return detection_model(loaded, folder).to(device).eval()


def detection_model(loaded: LoadedCheckpoint, folder: Any) -> DetectionUNet:
    """The detection network a loaded checkpoint describes, with its weights."""
    try:
        config = UNetConfig.from_dict(loaded.config)
    except InvalidInputError as error:
        raise InvalidInputError(f"checkpoint {folder}: {error}") from None
    return build_checked(lambda: DetectionUNet(config), loaded.model_state, folder)
