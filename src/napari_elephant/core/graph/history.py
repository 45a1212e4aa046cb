"""Undo/redo stacks of applied actions."""

from __future__ import annotations

from napari_elephant.core.graph.actions import Action


class ActionHistory:
    """Two stacks: applied actions (undo) and undone actions (redo).

    A new action clears the redo stack, as in every editor.  ``limit`` bounds
    memory for day-long proofreading sessions; the oldest steps are dropped.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._undo: list[Action] = []
        self._redo: list[Action] = []

    def push(self, action: Action) -> None:
        self._undo.append(action)
        if len(self._undo) > self.limit:
            del self._undo[0]
        self._redo.clear()

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def pop_undo(self) -> Action | None:
        """The action to undo; the caller applies its inverse."""
        if not self._undo:
            return None
        action = self._undo.pop()
        self._redo.append(action)
        return action

    def pop_redo(self) -> Action | None:
        """The action to redo; the caller applies it again."""
        if not self._redo:
            return None
        action = self._redo.pop()
        self._undo.append(action)
        return action

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()

    def __len__(self) -> int:
        return len(self._undo)
