"""What a worker reads, and which of its results a user edit made meanwhile forbids.

Workers never read the live graph (the user edits it on the GUI thread while
they run): each job gets a *snapshot*, a copy of just what its engine reads,
taken on the GUI thread when the job starts.  While it runs, an
:class:`EditWatch` records the user's edits, so that results computed from
the snapshot never undo them:

- predictions: a timepoint whose merge could undo an edit is not merged
  (reported; predict it again).  That is one where, during the job, a
  nucleus was deleted, a nucleus was added or changed and is ``predicted``
  after the edit (moved, resized, set back to predicted), or a link of a
  predicted nucleus changed — the merge replaces predicted nuclei with their
  links.  Accepting or rejecting is safe: the merge keeps human decisions
  and drops new predictions within ``d_sup`` of them.
- link plans: every nucleus touched during planning (and the ends of every
  link touched) is left alone: the plan's links, replacements and gap
  bridges that involve one are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace

from napari_elephant.core.graph import Link, Nucleus, Status, TrackingGraph
from napari_elephant.core.linking.apply import LinkPlan
from napari_elephant.core.linking.frames import Scope
from napari_elephant.core.workspace import Workspace

_NUCLEI = ("nuclei_added", "nuclei_updated")
_LINKS = ("links_added", "links_removed", "links_updated")


# ------------------------------------------------------------ snapshots
def annotated_graph(graph: TrackingGraph) -> TrackingGraph:
    """The accepted and rejected nuclei (what detection training reads), no links."""
    keep = [n for n in graph.nuclei() if n.status != Status.PREDICTED]
    return TrackingGraph.from_records(keep, (), graph.next_id)


def accepted_links_graph(graph: TrackingGraph) -> TrackingGraph:
    """The accepted links and their nuclei (what flow training reads)."""
    links = [lk for lk in graph.links() if lk.status == Status.ACCEPTED]
    ids = sorted({i for lk in links for i in lk.key})
    return TrackingGraph.from_records(graph.nuclei(ids), links, graph.next_id)


def full_copy(graph: TrackingGraph) -> TrackingGraph:
    """Every nucleus and link (what the linker reads); ids and next id kept."""
    return TrackingGraph.from_records(graph.nuclei(), graph.links(), graph.next_id)


def snapshot(ws: Workspace, graph: TrackingGraph | None = None) -> Workspace:
    """A workspace for a worker: the same folder and image, frozen parameters and
    the given graph copy (an empty graph when the job reads none)."""
    return replace(ws, params=ws.params.model_copy(deep=True), graph=graph or TrackingGraph())


# ----------------------------------------------------------- the watch
class EditWatch:
    """Records the user's edits to a graph while a job runs (not the job's own)."""

    def __init__(self, graph: TrackingGraph) -> None:
        self.graph = graph
        self.ids: set[int] = set()  # every nucleus touched, link ends included
        self.conflicts: set[int] = set()  # timepoints a prediction merge must skip
        self._ours = False
        ev = graph.events
        for name in _NUCLEI:
            getattr(ev, name).connect(self._on_nuclei)
        ev.nuclei_removed.connect(self._on_removed)
        for name in _LINKS:
            getattr(ev, name).connect(self._on_links)

    def close(self) -> None:
        ev = self.graph.events
        for name in _NUCLEI:
            getattr(ev, name).disconnect(self._on_nuclei)
        ev.nuclei_removed.disconnect(self._on_removed)
        for name in _LINKS:
            getattr(ev, name).disconnect(self._on_links)

    @contextmanager
    def ours(self) -> Iterator[None]:
        """Edits made inside are the job's own (a merge, a plan being applied)."""
        self._ours = True
        try:
            yield
        finally:
            self._ours = False

    def _present(self, ids: Iterable[int]) -> list[Nucleus]:
        graph = self.graph
        return [graph.nucleus(i) for i in ids if i in graph]

    def _on_nuclei(self, ids: tuple[int, ...]) -> None:
        if self._ours:
            return
        self.ids.update(ids)
        self.conflicts.update(n.t for n in self._present(ids) if n.status == Status.PREDICTED)

    def _on_removed(self, records: tuple[Nucleus, ...]) -> None:
        if self._ours:
            return
        self.ids.update(n.id for n in records)
        self.conflicts.update(n.t for n in records)

    def _on_links(self, keys: tuple[tuple[int, int], ...]) -> None:
        if self._ours:
            return
        ends = {i for key in keys for i in key}
        self.ids.update(ends)
        self.conflicts.update(n.t for n in self._present(ends) if n.status == Status.PREDICTED)


# ------------------------------------------------------- plan filtering
def filter_plan(graph: TrackingGraph, plan: LinkPlan, touched: set[int]) -> tuple[LinkPlan, int]:
    """The part of a plan (made on a snapshot) that leaves the touched nuclei alone
    and still fits the graph; returns it and how many items were dropped."""

    def free(*ids: int) -> bool:
        return all(i in graph and i not in touched for i in ids)

    def stale(key: tuple[int, int]) -> bool:
        return free(*key) and graph.has_link(*key) and graph.link(*key).status == Status.PREDICTED

    links = frozenset(k for k in plan.scope.stale_links if stale(k))
    nuclei = frozenset(
        i for i in plan.scope.stale_nuclei if free(i) and _all_predicted(graph.links_of(i))
    )
    proposed = tuple(k for k in plan.proposed if free(*k))
    gaps = tuple(g for g in plan.gaps if free(g.source, g.target))
    kept = len(links) + len(nuclei) + len(proposed) + len(gaps)
    total = (
        len(plan.scope.stale_links) + len(plan.scope.stale_nuclei)
        + len(plan.proposed) + len(plan.gaps)
    )  # fmt: skip
    scope = Scope(plan.scope.timepoints, links, nuclei)
    return replace(plan, scope=scope, proposed=proposed, gaps=gaps), total - kept


def _all_predicted(links: list[Link]) -> bool:
    return all(lk.status == Status.PREDICTED for lk in links)
