"""The store of the tracking graph: nuclei and links on networkx, with events.

Topology lives in a :class:`networkx.DiGraph` (node = nucleus id, edge =
parent → child); each node carries its immutable :class:`Nucleus` record
under the ``"nucleus"`` key and each edge its :class:`Status`.  A per-timepoint
index keeps "the nuclei of t" and "the nucleus nearest to a point" fast on
lineages of hundreds of thousands of nuclei.

The store knows no actions and no history: it answers queries and offers the
six primitive writers (insert, delete, replace; nuclei and links) that the
actions of :mod:`.actions` call.  Each writer checks the invariants before it
touches anything and emits one event.  Users edit through
:class:`~napari_elephant.core.graph.graph.TrackingGraph`, which records every
action for undo; calling a writer directly bypasses the history.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import networkx as nx
import numpy as np
from psygnal import Signal
from scipy.spatial import cKDTree

from napari_elephant.core.errors import GraphError
from napari_elephant.core.graph.limits import (
    check_loaded_links,
    check_new_links,
    check_status_changes,
    lineage_children,
    lineage_parents,
)
from napari_elephant.core.graph.model import Link, LinkColumns, Nucleus, Status

_S = TypeVar("_S", bound="GraphStore")

CONFIDENCE = "confidence"  # edge data key of a link's confidence, absent when it has none


def _edge_data(lk: Link) -> dict:
    """An edge's data: its status, and its confidence when it has one."""
    data: dict = {"status": lk.status}
    if lk.confidence is not None:
        data[CONFIDENCE] = lk.confidence
    return data


def _link(parent: int, child: int, data: dict) -> Link:
    """The Link record of an edge and its data."""
    return Link(parent, child, data["status"], data.get(CONFIDENCE))


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small records.

    Building 300k nuclei and links allocates millions of containers; the
    collector's repeated full passes over them more than doubled load times.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class GraphEvents:
    """Signals the layers and the autosave listen to.

    Nucleus signals carry tuples of ids (removal carries the removed records,
    since their ids no longer resolve); link signals carry (parent, child)
    pairs.  ``changed`` fires once after each applied, undone or redone action.
    """

    nuclei_added = Signal(tuple)
    nuclei_removed = Signal(tuple)
    nuclei_updated = Signal(tuple)
    links_added = Signal(tuple)
    links_removed = Signal(tuple)
    links_updated = Signal(tuple)
    changed = Signal(object)


class _TimeIndex:
    """Ids of the nuclei at each timepoint, with cached arrays and KD-trees."""

    def __init__(self) -> None:
        self.ids: dict[int, set[int]] = {}
        self._cache: dict[int, tuple[np.ndarray, np.ndarray, cKDTree | None]] = {}

    def add(self, t: int, nid: int) -> None:
        self.ids.setdefault(t, set()).add(nid)
        self._cache.pop(t, None)

    def add_many(self, nuclei: Iterable[Nucleus]) -> None:
        """Index many nuclei at once (a load): each timepoint's cache dropped once."""
        touched = set()
        for n in nuclei:
            self.ids.setdefault(n.t, set()).add(n.id)
            touched.add(n.t)
        for t in touched:
            self._cache.pop(t, None)

    def discard(self, t: int, nid: int) -> None:
        ids = self.ids.get(t)
        if ids is not None:
            ids.discard(nid)
            if not ids:
                del self.ids[t]
        self._cache.pop(t, None)

    def touch(self, t: int) -> None:
        self._cache.pop(t, None)

    def arrays(self, t: int, g: nx.DiGraph) -> tuple[np.ndarray, np.ndarray]:
        """(ids, centres) of timepoint t, sorted by id; cached until t changes."""
        if t not in self._cache:
            ids = np.array(sorted(self.ids.get(t, ())), dtype=np.int64)
            nodes = g._node
            centers = np.array([nodes[i]["nucleus"].center for i in ids], dtype=np.float64)
            self._cache[t] = (ids, centers.reshape(-1, 3), None)
        ids, centers, _ = self._cache[t]
        return ids, centers

    def tree(self, t: int, g: nx.DiGraph) -> tuple[np.ndarray, cKDTree]:
        ids, centers = self.arrays(t, g)
        cached = self._cache[t]
        if cached[2] is None:
            self._cache[t] = (ids, centers, cKDTree(centers))
        return ids, self._cache[t][2]  # type: ignore[return-value]


class GraphStore:
    """Nuclei (ellipsoids in µm at integer timepoints) and parent → child links.

    Invariants: ids are unique and never reused; a link goes from an earlier
    to a strictly later timepoint; a nucleus has at most one parent and at most
    two children over lineage links (accepted or predicted).  Rejected links
    are negative examples: kept, but outside those limits (:mod:`.limits`).
    """

    def __init__(self) -> None:
        self._g = nx.DiGraph()
        self._time = _TimeIndex()
        self._next_id = 1
        self._revision = 0  # counts primitive mutations: 'has it changed since?'
        self.events = GraphEvents()

    @classmethod
    def from_records(
        cls: type[_S], nuclei: Iterable[Nucleus], links: Iterable[Link] = (), next_id: int = 1
    ) -> _S:
        """Build a graph in bulk (loading a file): checked, but no undo history.

        ``next_id`` keeps ids of nuclei deleted before a save out of circulation.
        """
        return cls.from_columns(nuclei, LinkColumns.of(links), next_id)

    @classmethod
    def from_columns(
        cls: type[_S], nuclei: Iterable[Nucleus], links: LinkColumns, next_id: int = 1
    ) -> _S:
        """:meth:`from_records` with the links as columns: a file reader's 300k links
        go in without a :class:`Link` record each."""
        graph = cls()
        with gc_paused():
            graph.insert_nuclei(tuple(nuclei))
            graph._load_links(links)
        graph._next_id = max(graph._next_id, int(next_id))
        return graph

    # ----------------------------------------------------------- queries
    def __len__(self) -> int:
        return self._g.number_of_nodes()

    def __contains__(self, nid: object) -> bool:
        return nid in self._g

    @property
    def n_links(self) -> int:
        return self._g.number_of_edges()

    @property
    def nx_graph(self) -> nx.DiGraph:
        """The underlying networkx graph (read it; edit through actions only)."""
        return self._g

    def nucleus(self, nid: int) -> Nucleus:
        try:
            return self._g._node[nid]["nucleus"]
        except KeyError:
            raise GraphError(f"no nucleus with id {nid}") from None

    def nuclei(self, ids: Iterable[int] | None = None) -> Iterator[Nucleus]:
        """All nuclei (or the given ones) as records."""
        nodes = self._g._node
        keys = nodes if ids is None else ids
        return (nodes[i]["nucleus"] for i in keys)

    def timepoints(self) -> list[int]:
        """Sorted timepoints that hold at least one nucleus."""
        return sorted(self._time.ids)

    def ids_at(self, t: int) -> np.ndarray:
        """Ids of the nuclei at timepoint t, sorted."""
        return self._time.arrays(t, self._g)[0]

    def centers_at(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, centres (n, 3) µm) of timepoint t."""
        return self._time.arrays(t, self._g)

    def nuclei_at(self, t: int) -> list[Nucleus]:
        return list(self.nuclei(self.ids_at(t).tolist()))

    def nearest(self, t: int, point: Iterable[float], max_distance: float = np.inf) -> int | None:
        """Id of the nucleus of timepoint t nearest to a point (µm), or None."""
        ids, tree = self._time.tree(t, self._g)
        if len(ids) == 0:
            return None
        dist, idx = tree.query(np.asarray(list(point), dtype=np.float64), k=1)
        return int(ids[idx]) if dist <= max_distance else None

    def within(self, t: int, point: Iterable[float], radius: float) -> np.ndarray:
        """Ids of the nuclei of timepoint t whose centre lies within radius µm."""
        ids, tree = self._time.tree(t, self._g)
        if len(ids) == 0:
            return ids
        hits = tree.query_ball_point(np.asarray(list(point), dtype=np.float64), radius)
        return ids[np.sort(np.asarray(hits, dtype=np.int64))]

    def parent(self, nid: int) -> int | None:
        """The lineage parent (over an accepted or predicted link), or None.

        A rejected link is no lineage: a nucleus whose only parent link is
        rejected has no parent (see :meth:`parent_links` for every link).
        """
        parents = lineage_parents(self._g, nid)
        return parents[0] if parents else None

    def children(self, nid: int) -> list[int]:
        """The lineage children (over accepted or predicted links), sorted."""
        return lineage_children(self._g, nid)

    def parent_links(self, nid: int) -> list[Link]:
        """Every link to a parent, rejected ones included (any number of those)."""
        return [_link(p, nid, d) for p, d in self._g._pred[nid].items()]

    def child_links(self, nid: int) -> list[Link]:
        """Every link to a child, rejected ones included, by child id."""
        return [_link(nid, c, d) for c, d in sorted(self._g._succ[nid].items())]

    def link(self, parent: int, child: int) -> Link:
        try:
            return _link(parent, child, self._g._succ[parent][child])
        except KeyError:
            raise GraphError(f"no link {parent} → {child}") from None

    def has_link(self, parent: int, child: int) -> bool:
        return self._g.has_edge(parent, child)

    def links(self) -> Iterator[Link]:
        return (_link(p, c, d) for p, c, d in self._g.edges(data=True))

    def links_of(self, nid: int) -> list[Link]:
        """Every link that touches a nucleus (to its parents and children), rejected included."""
        return self.parent_links(nid) + self.child_links(nid)

    @property
    def revision(self) -> int:
        """A number that grows with every change (edits, undo, redo, bulk loads): a
        reader in another thread compares it before and after to know its copy is whole."""
        return self._revision

    @property
    def next_id(self) -> int:
        """The id the next new nucleus will get (saved so ids are never reused)."""
        return self._next_id

    def new_id(self) -> int:
        """Reserve a fresh id (never reused, even after deletion)."""
        nid = self._next_id
        self._next_id += 1
        return nid

    # ------------------------------------- primitive writers (no undo)
    def insert_nuclei(self, nuclei: tuple[Nucleus, ...]) -> None:
        """Add nuclei whose ids are new; ``next_id`` moves past them."""
        self._revision += 1
        ids = [n.id for n in nuclei]
        if len(set(ids)) != len(ids) or any(i in self._g for i in ids):
            raise GraphError("a nucleus with this id already exists")
        node, succ, pred = self._g._node, self._g._succ, self._g._pred
        for n in nuclei:  # what DiGraph.add_node writes, at a third of its cost
            node[n.id], succ[n.id], pred[n.id] = {"nucleus": n}, {}, {}
        nx._clear_cache(self._g)
        self._time.add_many(nuclei)
        if ids:
            self._next_id = max(self._next_id, max(ids) + 1)
            self.events.nuclei_added.emit(tuple(ids))

    def delete_nuclei(self, ids: tuple[int, ...]) -> None:
        """Remove nuclei that have no links left (delete their links first)."""
        self._revision += 1
        removed = tuple(self.nucleus(i) for i in ids)
        for n in removed:
            if self._g.degree(n.id):
                raise GraphError(f"nucleus {n.id} still has links; remove them first")
        for n in removed:
            self._g.remove_node(n.id)
            self._time.discard(n.t, n.id)
        if removed:
            self.events.nuclei_removed.emit(removed)

    def replace_nuclei(self, nuclei: tuple[Nucleus, ...]) -> None:
        """Put new records in place of existing nuclei of the same id and timepoint."""
        self._revision += 1
        for n in nuclei:
            if self.nucleus(n.id).t != n.t:
                raise GraphError(f"nucleus {n.id} cannot change timepoint")
        for n in nuclei:
            self._g._node[n.id]["nucleus"] = n
            self._time.touch(n.t)
        if nuclei:
            self.events.nuclei_updated.emit(tuple(n.id for n in nuclei))

    def insert_links(self, links: tuple[Link, ...]) -> None:
        """Add links between existing nuclei, within the one-parent, two-children limits."""
        self._revision += 1
        check_new_links(self._g, self.nucleus, links)  # refuse before touching anything
        self._g.add_edges_from((lk.parent, lk.child, _edge_data(lk)) for lk in links)
        if links:
            self.events.links_added.emit(tuple(lk.key for lk in links))

    def _load_links(self, links: LinkColumns) -> None:
        """:meth:`insert_links` for :meth:`from_columns`' new graph, which has no links
        yet: the limits checked on arrays, the adjacency written as
        DiGraph.add_edges_from would (2.2 -> 0.6 s at 300k links)."""
        self._revision += 1
        node, succ, pred = self._g._node, self._g._succ, self._g._pred
        parents, children = links.parents.tolist(), links.children.tolist()
        missing = set(parents).union(children).difference(node)
        if missing:
            raise GraphError(f"no nucleus with id {min(missing)}")
        t_parent, t_child = links.t_parent, links.t_child
        if t_parent is None or t_child is None:
            t_parent = np.asarray([node[p]["nucleus"].t for p in parents])  # any int: a file's
            t_child = np.asarray([node[c]["nucleus"].t for c in children])
        rejected = Status.REJECTED
        lineage = np.fromiter((s is not rejected for s in links.statuses), bool, len(links))
        check_loaded_links(links.parents, links.children, t_parent, t_child, lineage)
        columns = zip(parents, children, links.statuses, links.confidences, strict=True)
        for p, c, status, q in columns:
            data = {"status": status} if q is None else {"status": status, CONFIDENCE: q}
            succ[p][c] = pred[c][p] = data
        nx._clear_cache(self._g)
        if parents:
            self.events.links_added.emit(tuple(zip(parents, children, strict=True)))

    def delete_links(self, keys: tuple[tuple[int, int], ...]) -> None:
        """Remove existing links (the nuclei stay)."""
        self._revision += 1
        for p, c in keys:
            self.link(p, c)  # raises when absent
        self._g.remove_edges_from(keys)
        if keys:
            self.events.links_removed.emit(keys)

    def replace_links(self, links: tuple[Link, ...]) -> None:
        """Change existing links' status, within the limits."""
        self._revision += 1
        for lk in links:
            self.link(lk.parent, lk.child)
        check_status_changes(self._g, links)
        for lk in links:
            self._g._succ[lk.parent][lk.child]["status"] = lk.status
        if links:
            self.events.links_updated.emit(tuple(lk.key for lk in links))
