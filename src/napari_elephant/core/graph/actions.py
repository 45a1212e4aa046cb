"""Graph edits as values with an inverse, so that every edit can be undone.

An action holds all the data it needs (the removed nuclei, the old values) so
that ``action.inverse()`` rebuilds the previous state exactly.  An action acts
on the store's primitive writers and knows nothing of the history: the graph
(:meth:`TrackingGraph.apply`) applies it and records it for undo.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from napari_elephant.core.graph.model import Link, Nucleus

if TYPE_CHECKING:
    from napari_elephant.core.graph.store import GraphStore


class Action(Protocol):
    """An edit of the graph that knows how to undo itself."""

    name: str

    def apply(self, store: GraphStore) -> None: ...

    def inverse(self) -> Action: ...


@dataclass(frozen=True)
class AddNuclei:
    """Add nuclei, then links among them or to existing nuclei."""

    nuclei: tuple[Nucleus, ...]
    links: tuple[Link, ...] = ()
    name: str = "add nuclei"

    def apply(self, store: GraphStore) -> None:
        store.insert_nuclei(self.nuclei)
        store.insert_links(self.links)

    def inverse(self) -> RemoveNuclei:
        return RemoveNuclei(self.nuclei, self.links, name=f"undo {self.name}")


@dataclass(frozen=True)
class RemoveNuclei:
    """Remove nuclei together with every link that touches them.

    Build it with :func:`.edits.removal` so that ``links`` holds all
    the links that go with the nuclei; the inverse restores them.
    """

    nuclei: tuple[Nucleus, ...]
    links: tuple[Link, ...] = ()
    name: str = "delete nuclei"

    def apply(self, store: GraphStore) -> None:
        store.delete_links(tuple(lk.key for lk in self.links))
        store.delete_nuclei(tuple(n.id for n in self.nuclei))

    def inverse(self) -> AddNuclei:
        return AddNuclei(self.nuclei, self.links, name=f"undo {self.name}")


@dataclass(frozen=True)
class UpdateNuclei:
    """Replace the values of existing nuclei (move, resize, status, tags)."""

    before: tuple[Nucleus, ...]
    after: tuple[Nucleus, ...]
    name: str = "edit nuclei"

    def apply(self, store: GraphStore) -> None:
        store.replace_nuclei(self.after)

    def inverse(self) -> UpdateNuclei:
        return UpdateNuclei(self.after, self.before, name=f"undo {self.name}")


@dataclass(frozen=True)
class AddLinks:
    """Link parents to children."""

    links: tuple[Link, ...]
    name: str = "link"

    def apply(self, store: GraphStore) -> None:
        store.insert_links(self.links)

    def inverse(self) -> RemoveLinks:
        return RemoveLinks(self.links, name=f"undo {self.name}")


@dataclass(frozen=True)
class RemoveLinks:
    """Remove links (the nuclei stay)."""

    links: tuple[Link, ...]
    name: str = "unlink"

    def apply(self, store: GraphStore) -> None:
        store.delete_links(tuple(lk.key for lk in self.links))

    def inverse(self) -> AddLinks:
        return AddLinks(self.links, name=f"undo {self.name}")


@dataclass(frozen=True)
class UpdateLinks:
    """Change the status of existing links."""

    before: tuple[Link, ...]
    after: tuple[Link, ...]
    name: str = "edit links"

    def apply(self, store: GraphStore) -> None:
        store.replace_links(self.after)

    def inverse(self) -> UpdateLinks:
        return UpdateLinks(self.after, self.before, name=f"undo {self.name}")


@dataclass(frozen=True)
class Compound:
    """Several actions applied in order as one undoable step."""

    actions: tuple[Action, ...]
    name: str = "edit"

    def apply(self, store: GraphStore) -> None:
        """Apply in order; when one fails, undo the ones already applied."""
        done: list[Action] = []
        try:
            for action in self.actions:
                action.apply(store)
                done.append(action)
        except BaseException:
            for action in reversed(done):
                action.inverse().apply(store)
            raise

    def inverse(self) -> Compound:
        undo = tuple(a.inverse() for a in reversed(self.actions))
        return Compound(undo, name=f"undo {self.name}")
