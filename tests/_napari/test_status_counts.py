"""The counters: nuclei and links per status, now and in total."""

from __future__ import annotations

from napari_elephant._napari.session import session_for
from napari_elephant._napari.status_counts import count_statuses


def test_counts_now_and_in_total(make_napari_viewer, workspace) -> None:
    viewer = make_napari_viewer()
    session = session_for(viewer)
    graph = session.open_workspace(workspace).graph
    graph.set_status(graph.ids_at(1)[:2], "rejected")
    viewer.dims.set_point(0, 1)
    counts = session.status_counts()
    assert counts.t == 1
    assert counts.nuclei_at_t["rejected"] == 2
    assert counts == count_statuses(graph, 1)
    assert session.counts()["rejected"] == 2
