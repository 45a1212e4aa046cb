"""The order in which a user checks the nuclei and divisions of one timepoint.

"Next to check" puts the doubtful predictions first.  A predicted nucleus
is as doubtful as the least sure of the network's confidence in it and the
linker's confidence in its predicted link to a parent, so a weak blob and a
nucleus whose parent was a close call both come early.  A division is as
doubtful as the least sure of its predicted daughter links (a validated
link is sure).  Those without any confidence (manual nuclei, links a person
drew, files that do not carry it) come after those with one; ties go by
id, so the order is the same on every call.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from napari_elephant.core.graph.limits import is_lineage
from napari_elephant.core.graph.model import Nucleus, Status

if TYPE_CHECKING:
    from napari_elephant.core.graph.graph import TrackingGraph

Doubt = tuple[bool, float, int]


def doubt_key(nucleus: Nucleus, link: float | None = None) -> Doubt:
    """Sort key: with a confidence first, then the lowest confidence ascending, then id."""
    known = [q for q in (nucleus.confidence, link) if q is not None]
    return (not known, min(known, default=0.0), nucleus.id)


def check_order(nuclei: Iterable[Nucleus], graph: TrackingGraph | None = None) -> list[int]:
    """Ids of the nuclei, least confident first, those without a confidence last.

    With the ``graph``, a nucleus' predicted link to its parent counts too.
    """
    nuclei = list(nuclei)
    links = [None if graph is None else parent_link_confidence(graph, n.id) for n in nuclei]
    keys = [doubt_key(n, q) for n, q in zip(nuclei, links, strict=True)]
    return [k[2] for k in sorted(keys)]


def parent_link_confidence(
    graph: TrackingGraph, nid: int, predicted_only: bool = True
) -> float | None:
    """The linker's confidence in the lineage link to ``nid``'s parent (by default
    only while it is predicted: a validated link is no longer in doubt)."""
    for data in graph.nx_graph._pred[nid].values():
        if is_lineage(data["status"]):
            if predicted_only and data["status"] != Status.PREDICTED:
                return None
            return data.get("confidence")
    return None


def division_doubt(graph: TrackingGraph, nid: int) -> float | None:
    """The least confidence of a division's predicted daughter links; None when it has
    none (every daughter link validated, or drawn by a person)."""
    qs = [
        d.get("confidence")
        for d in graph.nx_graph._succ[nid].values()
        if d["status"] == Status.PREDICTED
    ]
    qs = [q for q in qs if q is not None]
    return min(qs) if qs else None


def division_order(graph: TrackingGraph, ids: Iterable[int]) -> list[int]:
    """Ids, the least sure divisions first, the rest (no confidence) by id."""
    keys = []
    for i in ids:
        q = division_doubt(graph, int(i))
        keys.append((q is None, 0.0 if q is None else q, int(i)))
    return [k[2] for k in sorted(keys)]
