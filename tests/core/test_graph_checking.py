"""The order of "next to check": the doubtful predictions first."""

from __future__ import annotations

from napari_elephant.core.graph import make_nucleus
from napari_elephant.core.graph.checking import check_order


def nucleus(nid: int, confidence: float | None):
    return make_nucleus(nid, 0, (0, 0, nid), radius=1, confidence=confidence)


def test_least_confident_first_and_those_without_confidence_last():
    nuclei = [nucleus(1, 0.9), nucleus(2, None), nucleus(3, 0.1), nucleus(4, 0.5)]
    assert check_order(nuclei) == [3, 4, 1, 2]


def test_ties_go_by_id_whatever_the_input_order():
    nuclei = [nucleus(7, None), nucleus(5, 0.5), nucleus(2, None), nucleus(3, 0.5)]
    assert check_order(nuclei) == [3, 5, 2, 7]
    assert check_order(reversed(nuclei)) == [3, 5, 2, 7]


def linked_graph():
    """Parents 1–3 at t = 0; 1 divides into 11 (link 0.9) and 12 (0.3), 2 → 21 (0.2),
    3 divides into 31 and 32 over links a person drew (no confidence)."""
    from napari_elephant.core.graph import Link, Status, TrackingGraph

    ids0, ids1 = [1, 2, 3], [11, 12, 21, 31, 32]
    nuclei = [make_nucleus(i, 0, (0, 0, 10 * i), radius=1, confidence=0.8) for i in ids0]
    nuclei += [make_nucleus(i, 1, (0, 0, i), radius=1, confidence=0.8) for i in ids1]
    links = [
        Link(1, 11, Status.PREDICTED, 0.9),
        Link(1, 12, Status.PREDICTED, 0.3),
        Link(2, 21, Status.PREDICTED, 0.2),
        Link(3, 31),
        Link(3, 32),
    ]
    return TrackingGraph.from_records(nuclei, links)


def test_a_close_call_of_the_linker_makes_a_nucleus_doubtful():
    graph = linked_graph()
    nuclei = graph.nuclei(graph.ids_at(1).tolist())
    assert check_order(nuclei, graph) == [21, 12, 11, 31, 32]  # min(0.8, link)
    graph.set_link_status([(2, 21)], "accepted")  # validated: no longer in doubt
    assert check_order(graph.nuclei(graph.ids_at(1).tolist()), graph)[:2] == [12, 11]


def test_the_least_sure_division_comes_first():
    from napari_elephant.core.graph.checking import division_doubt, division_order

    graph = linked_graph()
    assert division_doubt(graph, 1) == 0.3 and division_doubt(graph, 3) is None
    assert division_order(graph, [3, 2, 1]) == [2, 1, 3]
