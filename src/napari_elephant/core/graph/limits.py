"""The link limits of the tracking graph: one parent, two children, rejected links aside.

A rejected link is a human's negative example ("these two are not the same
cell").  It stays in the graph, and the linker never proposes it again, but
it is not lineage: it does not use up the child's one parent nor one of the
parent's two children.  If it did, a child whose link to a wrong parent was
rejected could never get its right parent, neither from the linker nor by
hand.  So the limits count only the *lineage* links (accepted or predicted);
rejected links are unlimited, but never two links with the same key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import networkx as nx
import numpy as np

from napari_elephant.core.errors import GraphError
from napari_elephant.core.graph.model import Link, Nucleus, Status

MAX_CHILDREN = 2
Key = tuple[int, int]


def is_lineage(status: Status) -> bool:
    """Whether a link of this status is lineage (not a rejected, negative example)."""
    return status != Status.REJECTED


def lineage_parents(g: nx.DiGraph, nid: int) -> list[int]:
    """Parents of a nucleus over lineage links (one at most in a valid graph)."""
    return [p for p, d in g._pred[nid].items() if is_lineage(d["status"])]


def lineage_children(g: nx.DiGraph, nid: int) -> list[int]:
    """Children of a nucleus over lineage links, sorted."""
    return sorted(c for c, d in g._succ[nid].items() if is_lineage(d["status"]))


def n_lineage(adjacency: dict[int, dict]) -> int:
    """How many of a nucleus' parent (or child) links are lineage: a count, no list."""
    if not adjacency:
        return 0
    return sum(d["status"] is not Status.REJECTED for d in adjacency.values())


def check_new_links(
    g: nx.DiGraph, nucleus: Callable[[int], Nucleus], links: Iterable[Link]
) -> None:
    """Refuse new links (one batch) that would break a limit, before any is added.

    Bulk loads pass 300k links through here, so it keeps to a few dict and set
    operations per link (it costs what the check before rejected links did).
    """
    succ, pred, rejected = g._succ, g._pred, Status.REJECTED
    parent_of: dict[int, int] = {}  # the lineage parent this batch gives a child
    n_new: dict[int, int] = {}  # lineage children this batch gives a parent
    rejected_keys: set[Key] = set()
    for lk in links:
        pid, cid = lk.parent, lk.child
        if nucleus(cid).t <= nucleus(pid).t:
            raise GraphError(f"link {pid} → {cid}: the child must be at a later timepoint")
        lineage = lk.status is not rejected
        key = (pid, cid)
        if cid in succ[pid] or key in rejected_keys or parent_of.get(cid) == pid:
            raise GraphError(f"link {pid} → {cid} already exists")
        if not lineage:
            rejected_keys.add(key)
            continue
        if cid in parent_of or n_lineage(pred[cid]):
            raise GraphError(f"nucleus {cid} already has a parent")
        k = n_new.get(pid, 0)
        if k + n_lineage(succ[pid]) >= MAX_CHILDREN:
            raise GraphError(f"nucleus {pid} already has {MAX_CHILDREN} children")
        parent_of[cid] = pid
        n_new[pid] = k + 1


def check_loaded_links(
    parents: np.ndarray,
    children: np.ndarray,
    t_parent: np.ndarray,
    t_child: np.ndarray,
    lineage: np.ndarray,
) -> None:
    """:func:`check_new_links` for a batch loaded into a graph with no links yet, on
    arrays: a file's 300k links are checked in milliseconds, not a second."""
    late = np.flatnonzero(t_child <= t_parent)
    if late.size:
        p, c = int(parents[late[0]]), int(children[late[0]])
        raise GraphError(f"link {p} → {c}: the child must be at a later timepoint")
    pairs, counts = np.unique(np.stack([parents, children], axis=1), axis=0, return_counts=True)
    if np.any(counts > 1):
        p, c = (int(v) for v in pairs[np.argmax(counts > 1)])
        raise GraphError(f"link {p} → {c} already exists")
    ids, counts = np.unique(children[lineage], return_counts=True)
    if np.any(counts > 1):
        raise GraphError(f"nucleus {int(ids[np.argmax(counts > 1)])} already has a parent")
    ids, counts = np.unique(parents[lineage], return_counts=True)
    if np.any(counts > MAX_CHILDREN):
        nid = int(ids[np.argmax(counts > MAX_CHILDREN)])
        raise GraphError(f"nucleus {nid} already has {MAX_CHILDREN} children")


def check_status_changes(g: nx.DiGraph, links: Iterable[Link]) -> None:
    """Refuse status changes (one batch) that would make a link lineage over a limit.

    Only a rejected link turned accepted or predicted can break a limit; the
    counts are those after the whole batch, so swapping which of two links is
    rejected in one step is allowed.
    """
    after = {lk.key: lk.status for lk in links}

    def before(p: int, c: int) -> Status:
        return g._succ[p][c]["status"]

    def status(p: int, c: int) -> Status:
        return after.get((p, c)) or before(p, c)

    promoted = [k for k, s in after.items() if is_lineage(s) and not is_lineage(before(*k))]
    for p, c in promoted:
        if sum(is_lineage(status(q, c)) for q in g._pred[c]) > 1:
            raise GraphError(
                f"link {p} → {c} cannot become {after[p, c]}: nucleus {c} already has a parent "
                "(unlink or reject that link first)"
            )
        if sum(is_lineage(status(p, d)) for d in g._succ[p]) > MAX_CHILDREN:
            raise GraphError(
                f"link {p} → {c} cannot become {after[p, c]}: nucleus {p} already has "
                f"{MAX_CHILDREN} children (unlink or reject one first)"
            )
