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
