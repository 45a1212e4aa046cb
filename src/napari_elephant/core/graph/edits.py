"""Convenience edits: each builds one action and applies it (undoable)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_elephant.core.errors import GraphError
from napari_elephant.core.graph.actions import (
    AddLinks,
    AddNuclei,
    RemoveLinks,
    RemoveNuclei,
    UpdateLinks,
    UpdateNuclei,
)
from napari_elephant.core.graph.model import (
    Link,
    Nucleus,
    Origin,
    Status,
    make_nucleus,
    parse_status,
)

if TYPE_CHECKING:
    from napari_elephant.core.graph.graph import TrackingGraph


class GraphEditsMixin:
    """The editing vocabulary of :class:`TrackingGraph` (add, move, link, …)."""

    def add_nucleus(
        self: TrackingGraph,
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

    def add_nuclei(
        self: TrackingGraph, nuclei: Iterable[Nucleus], name: str = "add nuclei"
    ) -> None:
        self.apply(AddNuclei(tuple(nuclei), name=name))

    def removal(self: TrackingGraph, ids: Iterable[int], name: str = "delete") -> RemoveNuclei:
        """The action that deletes nuclei with all their links."""
        ids = list(dict.fromkeys(int(i) for i in ids))
        links: dict[tuple[int, int], Link] = {}
        for nid in ids:
            for lk in self.links_of(nid):
                links[lk.key] = lk
        nuclei = tuple(self.nucleus(i) for i in ids)
        return RemoveNuclei(nuclei, tuple(links.values()), name=name)

    def remove_nuclei(self: TrackingGraph, ids: Iterable[int]) -> None:
        self.apply(self.removal(ids))

    def update_nucleus(self: TrackingGraph, nid: int, **changes: Any) -> None:
        """Change centre, cov (3×3 or six values), status, origin, tags or confidence."""
        self.update_nuclei([nid], **changes)

    def update_nuclei(self: TrackingGraph, ids: Iterable[int], **changes: Any) -> None:
        before = tuple(self.nucleus(int(i)) for i in ids)
        after = tuple(_changed(n, changes) for n in before)
        self.apply(UpdateNuclei(before, after, name="edit " + "/".join(sorted(changes))))

    def set_status(self: TrackingGraph, ids: Iterable[int], status: Status | str) -> None:
        """Accept, reject or reset nuclei (one undo step)."""
        self.update_nuclei(ids, status=parse_status(status))

    def add_link(
        self: TrackingGraph, parent: int, child: int, status: Status | str = Status.ACCEPTED
    ) -> None:
        self.apply(AddLinks((Link(int(parent), int(child), parse_status(status)),)))

    def add_links(self: TrackingGraph, links: Iterable[Link], name: str = "link") -> None:
        self.apply(AddLinks(tuple(links), name=name))

    def remove_links(self: TrackingGraph, keys: Iterable[tuple[int, int]]) -> None:
        links = tuple(self.link(int(p), int(c)) for p, c in keys)
        self.apply(RemoveLinks(links))

    def set_link_status(
        self: TrackingGraph, keys: Iterable[tuple[int, int]], status: Status | str
    ) -> None:
        before = tuple(self.link(int(p), int(c)) for p, c in keys)
        st = parse_status(status)
        after = tuple(replace(lk, status=st) for lk in before)
        self.apply(UpdateLinks(before, after, name=f"mark links {st}"))


def _changed(n: Nucleus, changes: dict[str, Any]) -> Nucleus:
    """Validated copy of a nucleus with some fields replaced."""
    unknown = set(changes) - {"center", "cov", "radius", "status", "origin", "tags", "confidence"}
    if unknown:
        raise GraphError(f"cannot change {', '.join(sorted(unknown))} of a nucleus")
    cov = changes.get("cov", None if "radius" in changes else n.cov)
    if cov is not None:
        cov = np.asarray(cov, dtype=np.float64)
    return make_nucleus(
        n.id,
        n.t,
        changes.get("center", n.center),
        cov,
        changes.get("radius"),
        changes.get("status", n.status),
        changes.get("origin", n.origin),
        changes.get("tags", n.tags),
        changes.get("confidence", n.confidence),
    )
