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


def test_one_pass_over_the_graph_tallies_every_timepoint_as_one_at_a_time() -> None:
    from napari_elephant._napari.status_counts import all_tallies, timepoint_tally
    from napari_elephant.core.graph import Link
    from napari_elephant.core.synthetic import generate

    graph = generate("tiny", seed=3).graph
    graph.set_status(graph.ids_at(2)[:2].tolist(), "rejected")
    parent, child = graph.ids_at(0)[0], graph.ids_at(1)[-1]
    if not graph.has_link(int(parent), int(child)):
        graph.add_links([Link(int(parent), int(child), "rejected")])
    tallies = all_tallies(graph)
    assert set(tallies) == set(graph.timepoints())
    for t, tally in tallies.items():
        assert (tally == timepoint_tally(graph, t)).all()
    assert tallies[2][0, 2] >= 2 and tallies[0][1].sum() == sum(
        len(graph.nx_graph._succ[n]) for n in graph.ids_at(0).tolist()
    )
