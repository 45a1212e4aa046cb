"""The analysis read off the GUI thread: a copy torn by an edit is read again."""

from __future__ import annotations

from napari_elephant.core.analysis import reading
from napari_elephant.core.analysis.reading import read_analysis
from napari_elephant.core.analysis.tables import lineage_of
from tests.core.analysis.helpers import hand_lineage


def _editing_reader(edits: int, failure: Exception | None = None):
    """lineage_of that, on its first ``edits`` calls, sees the user edit mid-read."""
    calls = []

    def read(graph, two_d=False):
        calls.append(graph.revision)
        if len(calls) <= edits:
            graph.set_status([1], "accepted")  # the revision moves under the reader
            if failure is not None:
                raise failure
        return lineage_of(graph, two_d=two_d)

    return read, calls


def test_a_quiet_graph_is_read_once_with_every_plot_and_table():
    analysis = read_analysis(hand_lineage(), two_d=False)
    assert len(analysis.lineage) == 11  # twelve nuclei, one of them rejected
    assert set(analysis.tables) == {"nuclei", "tracks", "divisions"}
    assert len(analysis.plots) == 5


def test_a_copy_torn_by_an_edit_is_read_again(monkeypatch):
    read, calls = _editing_reader(edits=1)
    monkeypatch.setattr(reading, "lineage_of", read)
    graph = hand_lineage()
    analysis = read_analysis(graph, two_d=False)
    assert len(calls) == 2 and analysis is not None
    assert analysis.lineage.status[list(analysis.lineage.ids).index(1)] == "accepted"


def test_a_mapping_changed_under_the_reader_is_read_again(monkeypatch):
    read, calls = _editing_reader(edits=1, failure=RuntimeError("dict changed size"))
    monkeypatch.setattr(reading, "lineage_of", read)
    assert read_analysis(hand_lineage(), two_d=False) is not None and len(calls) == 2


def test_a_graph_that_never_holds_still_gives_none(monkeypatch):
    read, calls = _editing_reader(edits=10)
    monkeypatch.setattr(reading, "lineage_of", read)
    assert read_analysis(hand_lineage(), two_d=False, tries=3) is None and len(calls) == 3
