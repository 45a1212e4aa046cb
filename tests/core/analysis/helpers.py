"""A hand-built lineage whose tables are known by heart.

    t:  0    1     2    3    4    5
        1 →  2 ┬→  3 →  5 →  6 ┬→ 7
               │                └→ 8
               └→  4 →  9
        10 → 11 (rejected nucleus)
        10 ⇢ 12 (rejected link)

Every nucleus moves 3 µm along x per timepoint (daughters too), radius 2 µm.
"""

from __future__ import annotations

from napari_elephant.core.graph import Link, Status, TrackingGraph, make_nucleus

T = {1: 0, 2: 1, 3: 2, 4: 2, 5: 3, 6: 4, 7: 5, 8: 5, 9: 3, 10: 0, 11: 1, 12: 1}
ROW = {1: 0, 2: 0, 3: 0, 4: 10, 5: 0, 6: 0, 7: 0, 8: 10, 9: 10, 10: 40, 11: 40, 12: 50}
LINKS = [(1, 2), (2, 3), (2, 4), (3, 5), (5, 6), (6, 7), (6, 8), (4, 9), (10, 11)]


def hand_lineage() -> TrackingGraph:
    graph = TrackingGraph()
    graph.add_nuclei(
        [
            make_nucleus(i, t, (5.0, float(ROW[i]), 3.0 * t), radius=2.0, confidence=0.5)
            for i, t in T.items()
        ]
    )
    graph.add_links([Link(p, c, confidence=0.9) for p, c in LINKS])
    graph.add_links([Link(10, 12, Status.REJECTED)])
    graph.set_status([11], Status.REJECTED)
    return graph
