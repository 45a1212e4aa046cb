"""The Analysis dock: plots and sortable tables of the lineage, jumps and saving."""

from __future__ import annotations

import pytest
from qtpy.QtCore import Qt

from napari_elephant._napari.session import session_for
from napari_elephant._qt import analysis_dock
from napari_elephant._qt.analysis_dock import AnalysisDock
from tests._napari.helpers import tiny_movie, write_workspace


@pytest.fixture
def dock(make_napari_viewer, qtbot, tmp_path) -> AnalysisDock:
    viewer = make_napari_viewer()
    session_for(viewer).open_workspace(write_workspace(tmp_path))
    widget = AnalysisDock(viewer)
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: not widget.reading, timeout=10_000)
    return widget


def test_every_plot_is_offered_and_drawn(dock) -> None:
    assert dock.plot_choice.count() == 5
    for i in range(5):
        dock.plot_choice.setCurrentIndex(i)
        assert dock.canvas.figure.axes[0].get_title() == dock.plots[i].title
    truth = tiny_movie().graph
    assert dock.status.text() == f"{len(truth)} nuclei · 1 divisions"


def test_the_table_sorts_numbers_as_numbers_and_a_double_click_jumps(dock) -> None:
    dock.table_choice.setCurrentText("nuclei")
    proxy = dock.proxy
    assert proxy.rowCount() == len(tiny_movie().graph)
    names = proxy.sourceModel().names
    t_col = names.index("t")
    dock.view.sortByColumn(t_col, Qt.SortOrder.DescendingOrder)
    assert int(proxy.index(0, t_col).data()) == 3
    id_col = names.index("id")
    nid = int(proxy.index(0, id_col).data())
    dock.jump(proxy.index(0, id_col))
    session = dock.session
    assert session.selection.current == nid
    viewer = session.viewer
    assert round(viewer.dims.point[0]) == session.graph.nucleus(nid).t


def test_tracks_jump_to_their_first_nucleus(dock) -> None:
    dock.table_choice.setCurrentText("divisions")
    assert dock.proxy.rowCount() == 1
    dock.jump(dock.proxy.index(0, 0))
    mother = int(dock.proxy.index(0, 0).data())
    assert dock.session.selection.current == mother


def test_refresh_follows_edits_and_save_writes_the_files(
    dock, qtbot, tmp_path, monkeypatch
) -> None:
    graph = dock.session.graph
    graph.remove_nuclei(graph.ids_at(3).tolist())
    dock.refresh()
    qtbot.waitUntil(lambda: not dock.reading, timeout=10_000)
    assert dock.proxy.rowCount() == len(graph) and "divisions" in dock.status.text()
    out = tmp_path / "analysis"
    out.mkdir()
    monkeypatch.setattr(
        analysis_dock.QFileDialog, "getExistingDirectory", lambda *a, **k: str(out)
    )
    dock.save()
    assert len(list(out.glob("*.csv"))) == 8 and len(list(out.glob("*.png"))) == 5
    assert dock.status.text().startswith("13 files written")


def test_edits_refresh_the_dock_a_moment_later(dock, qtbot) -> None:
    from napari_elephant._qt.analysis_dock import AUTO_REFRESH_MS

    graph = dock.session.graph
    before = dock.proxy.rowCount()
    graph.remove_nuclei(graph.ids_at(3).tolist()[:1])
    qtbot.waitUntil(lambda: dock.proxy.rowCount() == before - 1, timeout=5 * AUTO_REFRESH_MS)


def test_the_graph_is_read_off_the_gui_thread_and_again_after_a_refresh_meanwhile(
    dock, qtbot, monkeypatch
) -> None:
    import threading

    from napari_elephant.core.analysis import reading

    threads, real = [], reading.lineage_of

    def spy(graph, two_d=False):
        threads.append(threading.current_thread())
        return real(graph, two_d=two_d)

    monkeypatch.setattr(reading, "lineage_of", spy)
    graph = dock.session.graph
    dock.refresh()
    assert dock.reading and dock.status.text() == "reading the lineage…"
    graph.remove_nuclei(graph.ids_at(3).tolist())
    dock.refresh()  # while the first read runs: it is read again once that ends
    qtbot.waitUntil(lambda: len(threads) >= 2 and not dock.reading, timeout=10_000)
    assert threading.main_thread() not in threads
    assert dock.proxy.rowCount() == len(graph)
