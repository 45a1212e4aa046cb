"""Everything the proofreading hands need, set up once per viewer: the editor,
the navigator, the keys (on the viewer and on each of our layers as they
come), the layer-edit bridge and the autosave.

The ELEPHANT dock calls :func:`proofreading_for` when it opens (and gives the
autosave its Qt timer); a workspace dropped on napari calls
:func:`proofreading_with_autosave` from the reader, so its keys and autosave
work before any dock is opened.  Calling either again returns the same object.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from napari_elephant._napari.autosave import AUTOSAVE_DELAY_S, Autosaver, ThreadTimer
from napari_elephant._napari.editing import Editor
from napari_elephant._napari.keymap import Keymap
from napari_elephant._napari.keymap_actions import Tools
from napari_elephant._napari.layer_edits import LayerEdits
from napari_elephant._napari.layers import ROLE_KEY
from napari_elephant._napari.navigation import Navigator
from napari_elephant._napari.session import session_for

if TYPE_CHECKING:
    import napari

_INSTALLED: weakref.WeakKeyDictionary[Any, Proofreading] = weakref.WeakKeyDictionary()


@dataclass
class Proofreading:
    """The proofreading machinery of one viewer."""

    tools: Tools
    keymap: Keymap
    layer_edits: LayerEdits
    autosaver: Autosaver

    @property
    def session(self) -> Any:
        return self.tools.session

    @property
    def editor(self) -> Editor:
        return self.tools.editor

    @property
    def navigator(self) -> Navigator:
        return self.tools.navigator

    def bind_layer(self, layer: Any) -> None:
        """Our layers get the keys too (the active layer's keymap wins in napari)."""
        if layer.metadata.get(ROLE_KEY) is not None:
            self.keymap.bind(layer)

    def _on_inserted(self, event: Any) -> None:
        self.bind_layer(event.value)


def proofreading_for(viewer: napari.Viewer, keymap_path: Path | None = None) -> Proofreading:
    """The viewer's proofreading machinery, set up on first use."""
    found = _INSTALLED.get(viewer)
    if found is not None:
        return found
    session = session_for(viewer)
    tools = Tools(session, Editor(session), Navigator(session))
    p = Proofreading(
        tools,
        Keymap(tools, path=keymap_path),
        LayerEdits(session, tools.editor, tools.tell),
        Autosaver(session, tools.tell),
    )
    p.keymap.bind(viewer)
    for layer in viewer.layers:
        p.bind_layer(layer)
    viewer.layers.events.inserted.connect(p._on_inserted)
    _INSTALLED[viewer] = p
    return p


def proofreading_with_autosave(viewer: napari.Viewer) -> Proofreading:
    """:func:`proofreading_for`, the autosave waiting on a thread timer until the dock
    gives it a Qt one."""
    p = proofreading_for(viewer)
    saver = p.autosaver
    if not saver.has_timer:
        saver.use_timer(ThreadTimer(AUTOSAVE_DELAY_S, saver.flush_here).restart)
    return p
