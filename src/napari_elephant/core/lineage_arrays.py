"""The graph's columns for the lineage layout, kept in step with its events.

Reading 300k nuclei records into arrays takes ~0.6 s, ten times the layout
itself; after an edit only a handful of rows change.  :class:`LiveArrays`
reads the graph once and then applies each event to its arrays (vectorised,
a few milliseconds at 300k), so re-laying the trees after an edit costs the
layout alone.  Any doubt (an event it cannot place) reads the graph again.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from napari_elephant.core.graph.graph import TrackingGraph
from napari_elephant.core.graph.model import STATUS_CODE
from napari_elephant.core.lineage_layout import graph_arrays

_SIGNALS = ("nuclei_added", "nuclei_removed", "nuclei_updated", "links_added",
            "links_removed", "links_updated")  # fmt: skip


class LiveArrays:
    """``arrays``: what :func:`graph_arrays` would read now, without reading it."""

    def __init__(self, graph: TrackingGraph) -> None:
        self.graph = graph
        self.arrays = graph_arrays(graph)
        self.reads = 1  # how often the whole graph was read (tests, benchmarks)
        for name in _SIGNALS:
            getattr(graph.events, name).connect(getattr(self, f"_on_{name}"))

    def close(self) -> None:
        for name in _SIGNALS:
            getattr(self.graph.events, name).disconnect(getattr(self, f"_on_{name}"))

    def reread(self) -> None:
        self.arrays = graph_arrays(self.graph)
        self.reads += 1

    # ------------------------------------------------------------ nuclei
    def _on_nuclei_added(self, ids: tuple[int, ...]) -> None:
        a, new = self.arrays, np.array(ids, dtype=np.int64)
        t, status = self._columns(new)
        ids_all = np.concatenate([a.ids, new])
        order = np.argsort(ids_all, kind="stable")  # new ids come last: nearly sorted
        t_all, s_all = np.concatenate([a.t, t]), np.concatenate([a.status, status])
        self.arrays = replace(a, ids=ids_all[order], t=t_all[order], status=s_all[order])

    def _on_nuclei_removed(self, records: tuple) -> None:
        a = self.arrays
        keep = ~np.isin(a.ids, np.array([n.id for n in records], dtype=np.int64))
        self.arrays = replace(a, ids=a.ids[keep], t=a.t[keep], status=a.status[keep])

    def _on_nuclei_updated(self, ids: tuple[int, ...]) -> None:
        a, changed = self.arrays, np.array(ids, dtype=np.int64)
        rows = np.minimum(np.searchsorted(a.ids, changed), max(len(a.ids) - 1, 0))
        if len(a.ids) == 0 or np.any(a.ids[rows] != changed):  # not where it should be
            return self.reread()
        status = a.status.copy()
        status[rows] = self._columns(changed)[1]
        self.arrays = replace(a, status=status)
        return None

    def _columns(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        nuclei = list(self.graph.nuclei(ids.tolist()))
        t = np.array([n.t for n in nuclei], dtype=np.int64)
        return t, np.array([STATUS_CODE[n.status] for n in nuclei], dtype=np.int8)

    # ------------------------------------------------------------- links
    def _on_links_added(self, keys: tuple[tuple[int, int], ...]) -> None:
        a, (p, c) = self.arrays, _pairs(keys)
        s = np.array([STATUS_CODE[self.graph.link(*k).status] for k in keys], dtype=np.int8)
        self.arrays = replace(
            a,
            link_parent=np.concatenate([a.link_parent, p]),
            link_child=np.concatenate([a.link_child, c]),
            link_status=np.concatenate([a.link_status, s]),
        )

    def _on_links_removed(self, keys: tuple[tuple[int, int], ...]) -> None:
        a = self.arrays
        keep = ~np.isin(_pair_keys(a.link_parent, a.link_child), _pair_keys(*_pairs(keys)))
        self.arrays = replace(
            a,
            link_parent=a.link_parent[keep],
            link_child=a.link_child[keep],
            link_status=a.link_status[keep],
        )

    def _on_links_updated(self, keys: tuple[tuple[int, int], ...]) -> None:
        a = self.arrays
        rows = np.flatnonzero(
            np.isin(_pair_keys(a.link_parent, a.link_child), _pair_keys(*_pairs(keys)))
        )
        status = a.link_status.copy()
        for r in rows.tolist():
            status[r] = STATUS_CODE[
                self.graph.link(int(a.link_parent[r]), int(a.link_child[r])).status
            ]
        self.arrays = replace(a, link_status=status)


def _pairs(keys: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    pairs = np.array(keys, dtype=np.int64).reshape(-1, 2)
    return pairs[:, 0], pairs[:, 1]


def _pair_keys(parent: np.ndarray, child: np.ndarray) -> np.ndarray:
    """One comparable value per (parent, child): a complex number (ids < 2^53)."""
    return parent.astype(np.float64) + 1j * child.astype(np.float64)
