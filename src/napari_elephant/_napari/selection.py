"""The selected nuclei of one session, shared by every view (layers, lineage, docks).

Selection is view state, not data: it is not undoable and not saved.  Views
listen to ``events.changed`` and never select through each other, so a click
in the lineage, a click in the viewer and a navigation key all end up here.
"""

from __future__ import annotations

from collections.abc import Iterable

from psygnal import Signal


class SelectionEvents:
    """``changed(ids: frozenset[int], current: int | None)``."""

    changed = Signal(object, object)


class Selection:
    """A set of nucleus ids plus the ``current`` one (the last picked: the one keys act on)."""

    def __init__(self) -> None:
        self._ids: frozenset[int] = frozenset()
        self._current: int | None = None
        self.events = SelectionEvents()

    @property
    def ids(self) -> frozenset[int]:
        return self._ids

    @property
    def current(self) -> int | None:
        return self._current

    def __contains__(self, nucleus_id: object) -> bool:
        return nucleus_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def select(self, ids: Iterable[int], current: int | None = None, add: bool = False) -> None:
        """Select ``ids`` (added to the selection when ``add``); ``current`` defaults to the
        last of ``ids``."""
        new = [int(i) for i in ids]
        chosen = frozenset(new) | (self._ids if add else frozenset())
        if current is None:
            current = new[-1] if new else (self._current if add else None)
        if current is not None and current not in chosen:
            chosen = chosen | {int(current)}
        self._set(chosen, current)

    def select_one(self, nucleus_id: int | None) -> None:
        """Make ``nucleus_id`` the only selected nucleus (None clears)."""
        if nucleus_id is None:
            self.clear()
        else:
            self._set(frozenset({int(nucleus_id)}), int(nucleus_id))

    def toggle(self, nucleus_id: int) -> None:
        """Shift-click: add or remove one nucleus."""
        if nucleus_id in self._ids:
            rest = self._ids - {nucleus_id}
            current = self._current if self._current != nucleus_id else next(iter(rest), None)
            self._set(rest, current)
        else:
            self._set(self._ids | {int(nucleus_id)}, int(nucleus_id))

    def discard(self, ids: Iterable[int]) -> None:
        """Forget removed nuclei (called when the graph deletes them)."""
        gone = frozenset(int(i) for i in ids) & self._ids
        if gone:
            rest = self._ids - gone
            current = self._current if self._current not in gone else next(iter(rest), None)
            self._set(rest, current)

    def clear(self) -> None:
        self._set(frozenset(), None)

    def _set(self, ids: frozenset[int], current: int | None) -> None:
        if ids == self._ids and current == self._current:
            return
        self._ids, self._current = ids, current
        self.events.changed.emit(ids, current)
