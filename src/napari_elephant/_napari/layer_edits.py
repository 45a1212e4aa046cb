"""Edits made with napari's own Points tools become graph actions.

Dragging points in select mode moves nuclei, deleting points (Delete, the
layer's delete button) deletes nuclei, the add tool adds nuclei at the
current timepoint with the default radius.  Each gesture is one undo step,
and the layers are then redrawn from the graph (one source of truth).

The session's own redraws of the layer are silent on ``layer.events.data``
(see ``layer_writes.quietly``), so every data event seen here is the user's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from napari_elephant.core.errors import ElephantError

if TYPE_CHECKING:
    from napari_elephant._napari.editing import Editor
    from napari_elephant._napari.viewer_workspace import ViewerWorkspace

MOVE_TOLERANCE_UM = 1e-6


class LayerEdits:
    """Follows the session's nuclei layer and turns user edits into actions."""

    def __init__(self, session: ViewerWorkspace, editor: Editor, tell: Any = print) -> None:
        self.session = session
        self.editor = editor
        self.tell = tell
        self.layer: Any = None
        self._removing: list[int] = []
        layers = session.viewer.layers.events
        layers.inserted.connect(self.retarget)
        layers.removed.connect(self.retarget)
        session.events.workspace_changed.connect(self.retarget)
        self.retarget()

    def retarget(self, *_: Any) -> None:
        """Listen to the session's current nuclei layer (it changes with the workspace)."""
        layer = self.session.layers.get("nuclei")
        if layer is self.layer:
            return
        if self.layer is not None:
            self.layer.events.data.disconnect(self._on_data)
        self.layer = layer
        if layer is not None:
            layer.events.data.connect(self._on_data)

    def _on_data(self, event: Any) -> None:
        if self.session.sync is None or self.session.graph is None:
            return
        action = str(getattr(event.action, "value", event.action))
        rows = _rows(event.data_indices, len(self.layer.data))
        try:
            if action == "removing":
                self._removing = self._ids(rows)
            elif action == "removed":
                self._removed()
            elif action == "added":
                self._added(rows)
            elif action == "changed":
                self._moved(rows)
        except ElephantError as exc:
            self.tell(str(exc))
            self.session.refresh()  # show the graph again, not the refused edit

    def _ids(self, rows: list[int]) -> list[int]:
        ids = np.asarray(self.layer.features["id"])
        return [int(ids[r]) for r in rows if r < len(ids)]

    def _world(self, rows: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(t, centres µm) of layer rows (the layer holds voxels)."""
        data = np.asarray(self.layer.data, dtype=np.float64)[rows]
        voxel = self.session.workspace.voxel_size
        return np.rint(data[:, 0]).astype(int), voxel.to_um(data[:, 1:4])

    def _removed(self) -> None:
        graph = self.session.graph
        ids = [i for i in self._removing if i in graph]
        self._removing = []
        if ids:
            graph.apply(graph.removal(ids, name="delete nuclei"))

    def _added(self, rows: list[int]) -> None:
        ts, centers = self._world(rows)
        with self.session.graph.batch("add nuclei"):
            ids = [
                self.editor.add(int(t), c, select=False) for t, c in zip(ts, centers, strict=True)
            ]
        self.session.selection.select(ids)

    def _moved(self, rows: list[int]) -> None:
        graph = self.session.graph
        _, centers = self._world(rows)
        moves = {}
        for nid, center in zip(self._ids(rows), centers, strict=True):
            if nid in graph and np.abs(np.subtract(graph.nucleus(nid).center, center)).max() > (
                MOVE_TOLERANCE_UM
            ):
                moves[nid] = center
        if moves:
            self.editor.move(moves)


def _rows(indices: Any, n: int) -> list[int]:
    """Row numbers of an event's data_indices (napari gives -k.. -1 for appended rows)."""
    rows = [int(i) + n if int(i) < 0 else int(i) for i in (indices or ())]
    return sorted(r for r in rows if 0 <= r < n)
