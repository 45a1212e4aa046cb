"""The tracking graph: the store, its actions and their history, on top of each other.

Arrows run one way: :mod:`.store` (nuclei, links, time index, events and the
primitive writers) knows nothing of :mod:`.actions`; an action acts on the
store; :mod:`.history` keeps applied actions; :mod:`.edits` builds the common
actions from the store.  :class:`TrackingGraph` joins them: every edit it
offers is one action, applied and recorded, so that it can be undone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from napari_elephant.core.graph.actions import (
    Action,
    AddLinks,
    AddNuclei,
    Compound,
    RemoveLinks,
    RemoveNuclei,
)
from napari_elephant.core.graph.edits import link_status_update, nucleus_update, removal
from napari_elephant.core.graph.history import ActionHistory
from napari_elephant.core.graph.model import (
    Link,
    Nucleus,
    Origin,
    Status,
    make_nucleus,
    parse_status,
)
from napari_elephant.core.graph.store import GraphStore


class TrackingGraph(GraphStore):
    """The store with undo: edit through :meth:`apply` or the vocabulary below.

    Bulk loads (:meth:`from_records`) build the store directly and leave no
    history; everything after goes through actions.
    """

    def __init__(self) -> None:
        super().__init__()
        self.history = ActionHistory()
        self._batch: list[Action] | None = None

    # ----------------------------------------------------- apply / undo
    def apply(self, action: Action) -> Action:
        """Apply an action and record it for undo (or into the open batch)."""
        action.apply(self)
        if self._batch is not None:
            self._batch.append(action)
        else:
            self.history.push(action)
            self.events.changed.emit(action)
        return action

    def undo(self) -> Action | None:
        """Undo the last action; returns it, or None when there is nothing to undo."""
        action = self.history.pop_undo()
        if action is not None:
            action.inverse().apply(self)
            self.events.changed.emit(action)
        return action

    def redo(self) -> Action | None:
        action = self.history.pop_redo()
        if action is not None:
            action.apply(self)
            self.events.changed.emit(action)
        return action

    @contextmanager
    def batch(self, name: str = "edit") -> Iterator[None]:
        """Group the actions applied inside into one undo step.

        On an exception the actions already applied are rolled back, so a
        failed bulk edit (say a prediction merge) leaves the graph untouched.
        """
        if self._batch is not None:  # nested: the outer batch collects
            yield
            return
        self._batch = collected = []
        try:
            yield
        except BaseException:
            self._batch = None
            Compound(tuple(collected)).inverse().apply(self)
            raise
        self._batch = None
        if collected:
            self.history.push(Compound(tuple(collected), name=name))
            self.events.changed.emit(collected[-1])

    # ------------------------------------------------ editing vocabulary
    def add_nucleus(
        self,
        t: int,
        center: Iterable[float],
        cov: Any = None,
        radius: float | None = None,
        status: Status | str = Status.ACCEPTED,
        origin: Origin | str = Origin.MANUAL,
        tags: Iterable[str] = (),
        id: int | None = None,
        confidence: float | None = None,
    ) -> int:
        """Add one nucleus (covariance or radius in µm); returns its id."""
        nid = self.new_id() if id is None else int(id)
        n = make_nucleus(nid, t, center, cov, radius, status, origin, tags, confidence)
        self.apply(AddNuclei((n,), name="add nucleus"))
        return nid

    def add_nuclei(self, nuclei: Iterable[Nucleus], name: str = "add nuclei") -> None:
        self.apply(AddNuclei(tuple(nuclei), name=name))

    def removal(self, ids: Iterable[int], name: str = "delete") -> RemoveNuclei:
        """The action that deletes nuclei with all their links."""
        return removal(self, ids, name)

    def remove_nuclei(self, ids: Iterable[int]) -> None:
        self.apply(removal(self, ids))

    def update_nucleus(self, nid: int, **changes: Any) -> None:
        """Change centre, cov (3×3 or six values), status, origin, tags or confidence."""
        self.update_nuclei([nid], **changes)

    def update_nuclei(self, ids: Iterable[int], **changes: Any) -> None:
        self.apply(nucleus_update(self, ids, changes))

    def set_status(self, ids: Iterable[int], status: Status | str) -> None:
        """Accept, reject or reset nuclei (one undo step)."""
        self.update_nuclei(ids, status=parse_status(status))

    def add_link(self, parent: int, child: int, status: Status | str = Status.ACCEPTED) -> None:
        self.apply(AddLinks((Link(int(parent), int(child), parse_status(status)),)))

    def add_links(self, links: Iterable[Link], name: str = "link") -> None:
        self.apply(AddLinks(tuple(links), name=name))

    def remove_links(self, keys: Iterable[tuple[int, int]]) -> None:
        self.apply(RemoveLinks(tuple(self.link(int(p), int(c)) for p, c in keys)))

    def set_link_status(self, keys: Iterable[tuple[int, int]], status: Status | str) -> None:
        self.apply(link_status_update(self, keys, status))
