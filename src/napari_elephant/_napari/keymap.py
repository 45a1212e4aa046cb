"""The proofreading keys: one registry of actions (id, title, default key,
callable), bound on the viewer and on our layers, rebindable, listed in the
help panel and in ``docs/keymap.md`` (generated from this registry).

Why on the layers too (DESIGN §9): napari asks the active layer's keymap
before the viewer's, and a Points layer owns 1–5, A, P, S, Z and Delete, so a
key bound on the viewer only would never reach us while the nuclei are
active.  A layer's own (instance) keymap comes before its class's, so ours
win on our layers; other layers keep their keys, the viewer gets ours for the
rest.

The defaults follow Mastodon's "Elephant" keymap except where napari itself
takes the key before any layer sees it (window shortcuts and menu mnemonics,
which Qt handles first) or binds it on the viewer: Alt+S is napari's screen
shot and Alt+L opens its Layers menu, so prediction and linking run on Alt+N
and Alt+K; Ctrl+E rolls the axes and Ctrl+Q quits, so fine resizing is
Ctrl+Shift+E/Q.  :func:`reserved_keys` lists what napari owns; rebinding
refuses those and the keys of our other actions.

User keys are kept in ``keymap.json`` in the user config folder
(``NAPARI_ELEPHANT_CONFIG_DIR`` overrides it), holding only the changes.
"""

from __future__ import annotations

import json
import os
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psygnal import Signal

from napari_elephant._napari.keymap_actions import ACTIONS, KeyAction, Tools
from napari_elephant.core.errors import ElephantError, InvalidInputError
from napari_elephant.core.workspace import atomic_write_text

CONFIG_ENV = "NAPARI_ELEPHANT_CONFIG_DIR"
KEYMAP_FILE = "keymap.json"
MENU_MNEMONICS = ("Alt+F", "Alt+V", "Alt+L", "Alt+P", "Alt+W", "Alt+H", "Alt+D")
"""napari's menu bar (&File, &View, &Layers, &Plugins, &Window, &Help, &Debug)."""


# Keys of napari's Points layer that delete or restyle nuclei by accident: "1"
# (delete the selected points) sits next to 2 / 3, our time steps.  Delete stays.
DISARMED_POINTS_KEYS = ("1",)


def _ignore(_layer: Any) -> None:
    """A key that does nothing on our layers."""


class KeymapError(InvalidInputError):
    """A key that cannot be bound as asked."""


def normalize(key: str) -> str:
    """napari's spelling of a key ("control-shift-z" -> "Ctrl+Shift+Z")."""
    from napari.utils.key_bindings import coerce_keybinding

    try:
        text = str(coerce_keybinding(str(key).strip()))
    except Exception:  # app-model raises several types for unparsable keys
        text = ""
    if not text or text.endswith("+"):  # unknown names come back empty
        raise KeymapError(f"{key!r} is not a key napari understands (e.g. 'Shift+E')")
    return text


def reserved_keys() -> dict[str, str]:
    """Keys napari takes before (window shortcuts, menus) or beside (viewer) ours."""
    from napari._app_model import get_app_model
    from napari.components import ViewerModel

    out = dict.fromkeys(MENU_MNEMONICS, "a napari menu")
    for kb in get_app_model().keybindings:
        out[normalize(str(kb.keybinding))] = f"napari's {kb.command_id}"
    for kb in ViewerModel.class_keymap:
        out[normalize(str(kb))] = "a napari viewer key"
    return out


# ---------------------------------------------------------------- storage
def config_path() -> Path:
    """The user's keymap file (created on the first rebinding)."""
    folder = os.environ.get(CONFIG_ENV)
    if not folder:
        from platformdirs import user_config_dir

        folder = user_config_dir("napari-elephant", appauthor=False)
    return Path(folder) / KEYMAP_FILE


def load_overrides(path: Path | None = None) -> dict[str, str]:
    """{action id: key} the user chose; unreadable files count as no changes."""
    path = path or config_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    keys = data.get("keys", {}) if isinstance(data, dict) else {}
    return {str(k): str(v) for k, v in keys.items() if isinstance(v, str)}


def save_overrides(overrides: dict[str, str], path: Path | None = None) -> None:
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"format_version": 1, "keys": dict(sorted(overrides.items()))}, indent=2)
    atomic_write_text(path, text + "\n")


# ---------------------------------------------------------------- keymap
@dataclass(frozen=True)
class KeyRow:
    """One line of the help panel and of docs/keymap.md."""

    id: str
    group: str
    title: str
    key: str
    default: str


class KeymapEvents:
    changed = Signal(str, str)  # action id, new key


class Keymap:
    """The keys of one session: bound on its viewer and layers, rebindable."""

    def __init__(
        self, tools: Tools, actions: tuple[KeyAction, ...] = ACTIONS, path: Path | None = None
    ) -> None:
        self.tools = tools
        self.actions = {a.id: a for a in actions}
        self.path = path
        self.events = KeymapEvents()
        self._keys = {a.id: normalize(a.key) for a in actions}
        self._targets: list[weakref.ref] = []
        self._handlers = {a.id: _handler(a, tools) for a in actions}
        self._apply_overrides(load_overrides(path))

    def _apply_overrides(self, overrides: dict[str, str]) -> None:
        for action_id, key in overrides.items():
            try:
                self._check(action_id, key)
            except KeymapError:
                continue  # a stale or clashing entry: keep the default
            self._keys[action_id] = normalize(key)

    # ------------------------------------------------------- queries
    def key(self, action_id: str) -> str:
        return self._keys[action_id]

    def rows(self) -> list[KeyRow]:
        """Every action with its current and default key, in registry order."""
        return [
            KeyRow(a.id, a.group, a.title, self._keys[a.id], normalize(a.key))
            for a in self.actions.values()
        ]

    def overrides(self) -> dict[str, str]:
        return {i: k for i, k in self._keys.items() if k != normalize(self.actions[i].key)}

    def run_key(self, key: str) -> bool:
        """Run the action bound to ``key`` as a press on the viewer would (held
        gestures excepted: they need the viewer's cursor); False when none is."""
        try:
            key = normalize(key)
        except KeymapError:
            return False
        for action_id, bound in self._keys.items():
            if bound == key and not self.actions[action_id].hold:
                self._handlers[action_id](None)
                return True
        return False

    # ------------------------------------------------------- binding
    def bind(self, target: Any) -> None:
        """Bind every action on a viewer or a layer (again: no harm)."""
        if not any(ref() is target for ref in self._targets):
            self._targets.append(weakref.ref(target))
        for action_id, key in self._keys.items():
            target.bind_key(key, self._handlers[action_id], overwrite=True)
        if hasattr(target, "selected_data"):  # a Points layer: its own keys
            for key in DISARMED_POINTS_KEYS:
                if key not in self._keys.values():
                    target.bind_key(key, _ignore, overwrite=True)

    def _live_targets(self) -> Iterator[Any]:
        self._targets = [ref for ref in self._targets if ref() is not None]
        return (ref() for ref in self._targets)

    def _check(self, action_id: str, key: str) -> str:
        if action_id not in self.actions:
            raise KeymapError(f"no action {action_id!r}")
        key = normalize(key)
        owner = reserved_keys().get(key)
        if owner is not None:
            raise KeymapError(f"{key} belongs to {owner}; pick another key")
        clash = [i for i, k in self._keys.items() if k == key and i != action_id]
        if clash:
            raise KeymapError(f"{key} is already {self.actions[clash[0]].title!r}")
        return key

    def rebind(self, action_id: str, key: str, save: bool = True) -> None:
        """Give an action a new key everywhere it is bound (and remember it)."""
        key = self._check(action_id, key)
        old = self._keys[action_id]
        handler = self._handlers[action_id]
        for target in self._live_targets():
            if target.keymap.get(_binding(old)) is handler:
                target.bind_key(old, None)
            target.bind_key(key, handler, overwrite=True)
        self._keys[action_id] = key
        if save:
            save_overrides(self.overrides(), self.path)
        self.events.changed.emit(action_id, key)

    def reset(self, action_id: str | None = None) -> None:
        """Back to the default key of one action, or of all."""
        ids = [action_id] if action_id is not None else list(self.actions)
        for i in ids:
            if self._keys[i] != normalize(self.actions[i].key):
                self.rebind(i, self.actions[i].key, save=False)
        save_overrides(self.overrides(), self.path)


def _binding(key: str) -> Any:
    from napari.utils.key_bindings import coerce_keybinding

    return coerce_keybinding(key)


def _handler(action: KeyAction, tools: Tools) -> Callable[[Any], Any]:
    """The function napari calls with the layer or viewer; a held action is a
    generator (napari runs it up to ``yield`` on press, the rest on release)."""
    if action.hold:

        def held(_target: Any) -> Iterator[None]:
            try:
                yield from action.run(tools)
            except ElephantError as exc:
                tools.tell(str(exc))

        return held

    def pressed(_target: Any) -> None:
        try:
            action.run(tools)
        except ElephantError as exc:
            tools.tell(str(exc))

    return pressed


# ------------------------------------------------------------------ docs
DOC_INTRO = """\
# Keyboard

Every proofreading action has a key.  The keys work on the viewer and on the
workspace's layers (the nuclei layer included, although napari's Points layer
uses some of these keys for itself).  Change a key in the ELEPHANT dock's
*Keys* tab; your keys are kept in `keymap.json` in the user configuration
folder (`NAPARI_ELEPHANT_CONFIG_DIR` overrides the folder).

Commands act on the selected nuclei, or on the nucleus under the mouse when
nothing is selected.  Held keys: press **L** on a nucleus, release it on
another one in the next timepoint (or any later one you step to while
holding) to link them; **Shift+L** steps back instead.  Press **A** on a
nucleus and release it elsewhere to add a linked copy in the next timepoint;
a tap on empty space adds a nucleus there.  napari's own tools on the
nuclei layer edit the graph too: dragging points (select mode) moves nuclei,
Delete removes the selected nuclei, the add tool adds nuclei.  Every edit is
one undo step and is saved to the workspace a moment later.

A division is a nucleus with two children.  *Mark division* tags the current
nucleus `division` (found again by *Next division* until both daughters are
linked) and links a selected nucleus without a parent at a later timepoint as
its daughter; *Unmark division* removes the tag and the link to a selected
daughter.

The defaults are those of Mastodon's "Elephant" keymap, except where napari
itself owns a key: Alt+S (screenshot) and Alt+L (the Layers menu) became
Alt+N and Alt+K; Ctrl+E (roll axes) and Ctrl+Q (quit) became Ctrl+Shift+E
and Ctrl+Shift+Q.

This file is generated from the registry in
`src/napari_elephant/_napari/keymap_actions.py`
(`python -m napari_elephant._napari.keymap > docs/keymap.md`); a test checks it.
"""


def keymap_markdown(actions: tuple[KeyAction, ...] = ACTIONS) -> str:
    """docs/keymap.md: the intro, then one table per group of actions."""
    lines = [DOC_INTRO]
    for group in dict.fromkeys(a.group for a in actions):
        lines += [f"## {group}", "", "| Key | Action | Id |", "|---|---|---|"]
        lines += [
            f"| `{normalize(a.key)}` | {a.title} | `{a.id}` |" for a in actions if a.group == group
        ]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(keymap_markdown(), end="")
