"""Builders of the common edits: each reads the store and returns one action.

They hold the small rules of an edit (a deletion takes every link of its
nuclei with it; a changed nucleus is validated again) so that the graph's
editing vocabulary is one line each: build, then apply.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from napari_elephant.core.errors import GraphError
from napari_elephant.core.graph.actions import RemoveNuclei, UpdateLinks, UpdateNuclei
from napari_elephant.core.graph.model import Link, Nucleus, Status, make_nucleus, parse_status

if TYPE_CHECKING:
    from napari_elephant.core.graph.store import GraphStore

NUCLEUS_FIELDS = frozenset({"center", "cov", "radius", "status", "origin", "tags", "confidence"})


def removal(store: GraphStore, ids: Iterable[int], name: str = "delete") -> RemoveNuclei:
    """The action that deletes nuclei with all their links (rejected ones too)."""
    ids = list(dict.fromkeys(int(i) for i in ids))
    links: dict[tuple[int, int], Link] = {}
    for nid in ids:
        for lk in store.links_of(nid):
            links[lk.key] = lk
    nuclei = tuple(store.nucleus(i) for i in ids)
    return RemoveNuclei(nuclei, tuple(links.values()), name=name)


def nucleus_update(store: GraphStore, ids: Iterable[int], changes: dict[str, Any]) -> UpdateNuclei:
    """The action that changes some fields of nuclei, each checked again."""
    before = tuple(store.nucleus(int(i)) for i in ids)
    after = tuple(changed(n, changes) for n in before)
    return UpdateNuclei(before, after, name="edit " + "/".join(sorted(changes)))


def link_status_update(
    store: GraphStore, keys: Iterable[tuple[int, int]], status: Status | str
) -> UpdateLinks:
    """The action that marks links accepted, rejected or predicted."""
    before = tuple(store.link(int(p), int(c)) for p, c in keys)
    st = parse_status(status)
    after = tuple(replace(lk, status=st) for lk in before)
    return UpdateLinks(before, after, name=f"mark links {st}")


def changed(n: Nucleus, changes: dict[str, Any]) -> Nucleus:
    """Validated copy of a nucleus with some fields replaced (a radius replaces the shape)."""
    unknown = set(changes) - NUCLEUS_FIELDS
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
