"""The lineage's live arrays equal a fresh read of the graph after any edit."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from napari_elephant.core.errors import ElephantError
from napari_elephant.core.graph import Link, Status, TrackingGraph, make_nucleus
from napari_elephant.core.lineage_arrays import LiveArrays
from napari_elephant.core.lineage_layout import graph_arrays


def same(a, b) -> bool:
    """Equal arrays; links compared as sets of (parent, child, status)."""
    nuclei = all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("ids", "t", "status"))
    return nuclei and _links(a) == _links(b)


def _links(arrays) -> list[tuple[int, int, int]]:
    columns = (arrays.link_parent, arrays.link_child, arrays.link_status)
    return sorted(zip(*(c.tolist() for c in columns), strict=True))


EDITS = st.lists(
    st.tuples(st.sampled_from(["add", "remove", "status", "link", "unlink", "mark", "undo"]),
              st.integers(0, 10**6)),
    min_size=1, max_size=25,
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(edits=EDITS)
def test_live_arrays_follow_every_edit_and_undo(edits) -> None:
    graph = TrackingGraph()
    graph.add_nuclei([make_nucleus(i, (i - 1) % 4, (0, i, 0), radius=1.0) for i in range(1, 9)])
    graph.add_links([Link(i, i + 1) for i in (1, 2, 3, 5, 6, 7)])  # two tracks of four
    live = LiveArrays(graph)
    for kind, r in edits:
        ids = sorted(graph.nx_graph.nodes)
        try:
            if kind == "add":
                graph.add_nucleus(r % 5, (0.0, float(r % 13), 0.0), radius=1.0)
            elif kind == "remove" and ids:
                graph.remove_nuclei([ids[r % len(ids)]])
            elif kind == "status" and ids:
                graph.set_status([ids[r % len(ids)]], list(Status)[r % 3])
            elif kind == "link" and len(ids) > 1:
                a, b = ids[r % len(ids)], ids[(r // 7) % len(ids)]
                graph.add_links([Link(a, b, list(Status)[r % 3])])
            elif kind in ("unlink", "mark") and graph.n_links:
                key = sorted(lk.key for lk in graph.links())[r % graph.n_links]
                if kind == "unlink":
                    graph.remove_links([key])
                else:
                    graph.set_link_status([key], list(Status)[r % 3])
            elif kind == "undo":
                graph.undo()
        except ElephantError:
            pass  # refused: nothing changed
        assert same(live.arrays, graph_arrays(graph))
    assert live.reads == 1  # never had to read the graph again
    live.close()
