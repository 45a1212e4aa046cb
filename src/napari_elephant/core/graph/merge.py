"""Merge nuclei and links from a file into a graph, as one undoable action."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from napari_elephant.core.errors import GraphError
from napari_elephant.core.graph.actions import (
    Action,
    AddLinks,
    AddNuclei,
    UpdateLinks,
    UpdateNuclei,
)
from napari_elephant.core.graph.graph import TrackingGraph
from napari_elephant.core.graph.model import Link, Nucleus, flatten_to_2d


@dataclass(frozen=True)
class MergeReport:
    """What an import changed, for the one-line message the user sees."""

    added: int = 0
    updated: int = 0
    links_added: int = 0
    links_updated: int = 0

    def __str__(self) -> str:
        return (
            f"{self.added} nuclei added, {self.updated} updated, "
            f"{self.links_added} links added, {self.links_updated} updated"
        )


def merge_into(
    graph: TrackingGraph, nuclei: Iterable[Nucleus], links: Iterable[Link], name: str = "import"
) -> MergeReport:
    """Add new nuclei, update the ones whose id exists, then add or update links.

    A nucleus keeps its timepoint (an id at another t is an error, not a move);
    a lineage link to a child that already has another lineage parent is refused
    by the graph (rejected links are outside that limit).
    Everything lands as one action, so one undo takes the whole import back.
    """
    nuclei, links = list(nuclei), list(links)
    new = [n for n in nuclei if n.id not in graph]
    old = [n for n in nuclei if n.id in graph]
    for n in old:
        if graph.nucleus(n.id).t != n.t:
            raise GraphError(f"nucleus {n.id} exists at t={graph.nucleus(n.id).t}, not t={n.t}")
    changed = [n for n in old if graph.nucleus(n.id) != n]
    fresh = [lk for lk in links if not graph.has_link(lk.parent, lk.child)]
    restatus = [lk for lk in links if graph.has_link(lk.parent, lk.child)]
    restatus = [lk for lk in restatus if graph.link(lk.parent, lk.child).status != lk.status]
    actions: list[Action] = []
    if new:
        actions.append(AddNuclei(tuple(new)))
    if changed:
        before = tuple(graph.nucleus(n.id) for n in changed)
        actions.append(UpdateNuclei(before, tuple(changed)))
    if restatus:  # before the new links: a link the file rejects frees its child's parent
        before_links = tuple(graph.link(lk.parent, lk.child) for lk in restatus)
        actions.append(UpdateLinks(before_links, tuple(restatus)))
    if fresh:
        actions.append(AddLinks(tuple(fresh)))
    with graph.batch(name):
        for action in actions:
            graph.apply(action)
    return MergeReport(len(new), len(changed), len(fresh), len(restatus))


def flatten_all(graph: TrackingGraph, name: str = "flatten to 2D") -> int:
    """Bring every nucleus into a 2D movie's plane (:func:`flatten_to_2d`) as one
    undoable step; the number changed.  A file written for 3D (or by hand) may
    give 2D nuclei a z or a token z radius."""
    before = [n for n in graph.nuclei() if flatten_to_2d(n) is not n]
    if before:
        after = tuple(flatten_to_2d(n) for n in before)
        graph.apply(UpdateNuclei(tuple(before), after, name=name))
    return len(before)
