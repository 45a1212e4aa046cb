"""Everything the proofreading hands need, for one session: the editor, the
navigator, the keys (on the viewer and on each of our layers as they come),
the layer-edit bridge and the autosave.

The session owns one (:meth:`ElephantSession.start_proofreading`); the
ELEPHANT dock starts it when it opens (and gives the autosave its Qt timer),
and a workspace dropped on napari starts it from the reader, so its keys and
autosave work before any dock is opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from napari_elephant._napari.autosave import Autosaver
from napari_elephant._napari.editing import Editor
from napari_elephant._napari.keymap import Keymap
from napari_elephant._napari.keymap_actions import Tools
from napari_elephant._napari.layer_edits import LayerEdits
from napari_elephant._napari.layers import ROLE_KEY
from napari_elephant._napari.navigation import Navigator
from napari_elephant._napari.viewer_workspace import ViewerWorkspace


@dataclass
class Proofreading:
    """The proofreading machinery of one session."""

    tools: Tools
    keymap: Keymap
    layer_edits: LayerEdits
    autosaver: Autosaver

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


def start_proofreading(session: ViewerWorkspace, keymap_path: Path | None = None) -> Proofreading:
    """Build the machinery and bind the keys to the viewer and its layers."""
    tools = Tools(session, Editor(session), Navigator(session))
    p = Proofreading(
        tools,
        Keymap(tools, path=keymap_path),
        LayerEdits(session, tools.editor, tools.tell),
        Autosaver(session, tools.tell),
    )
    viewer = session.viewer
    p.keymap.bind(viewer)
    for layer in viewer.layers:
        p.bind_layer(layer)
    viewer.layers.events.inserted.connect(p._on_inserted)
    return p
