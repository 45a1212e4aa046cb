"""Snapshots for workers and the edits that forbid merging a job's results."""

from __future__ import annotations

import pytest

from napari_elephant._napari.edit_watch import (
    EditWatch,
    accepted_links_graph,
    annotated_graph,
    filter_plan,
    full_copy,
    snapshot,
)
from napari_elephant.core.graph import Status
from napari_elephant.core.linking.apply import LinkPlan
from napari_elephant.core.linking.frames import Scope
from napari_elephant.core.workspace import Workspace
from tests._napari.helpers import VOXEL, copy_graph, division_graph, same_graph


@pytest.fixture
def graph():
    return division_graph()


def test_snapshots_hold_what_each_engine_reads(graph, tmp_path) -> None:
    annotated = annotated_graph(graph)
    assert sorted(annotated.nx_graph) == [1, 2, 4, 5, 6]  # predicted 3, 7, 8 left out
    assert annotated.n_links == 0 and annotated.next_id == graph.next_id
    flow = accepted_links_graph(graph)
    assert sorted(lk.key for lk in flow.links()) == [(1, 2), (2, 3), (3, 5)]
    assert same_graph(full_copy(graph), graph)
    ws = Workspace(tmp_path, None, VOXEL, graph=graph)  # type: ignore[arg-type]
    snap = snapshot(ws, annotated)
    snap.params.training.steps = 7
    assert ws.params.training.steps == 100 and snap.graph is annotated and snap.path == ws.path


def test_accepting_or_rejecting_is_no_conflict_editing_a_prediction_is(graph) -> None:
    watch = EditWatch(graph)
    graph.set_status([3], "accepted")  # t=2
    graph.set_status([7], "rejected")  # t=0
    assert watch.conflicts == set() and watch.ids == {3, 7}
    graph.update_nucleus(8, center=(1.0, 1.0, 1.0))  # a predicted nucleus moved, t=1
    assert watch.conflicts == {1}
    graph.remove_nuclei([5])  # any deletion, t=3
    assert watch.conflicts == {1, 3}
    watch.close()
    graph.remove_nuclei([6])
    assert watch.conflicts == {1, 3}


def test_link_edits_conflict_where_a_predicted_nucleus_is_touched(graph) -> None:
    watch = EditWatch(graph)
    graph.set_link_status([(2, 4)], "accepted")  # 2 and 4 accepted: merge keeps them
    assert watch.conflicts == set()
    graph.remove_links([(7, 8)])  # 7 (t=0) and 8 (t=1) are predicted
    assert watch.conflicts == {0, 1} and {2, 4, 7, 8} <= watch.ids


def test_the_jobs_own_edits_are_not_recorded(graph) -> None:
    watch = EditWatch(graph)
    with watch.ours():
        graph.remove_nuclei([8])
    assert watch.conflicts == set() and watch.ids == set()
    graph.undo()  # an undo by the user: nucleus 8 (t=1) and its link from 7 (t=0) return
    assert watch.conflicts == {0, 1}


def test_filter_plan_leaves_touched_nuclei_alone_and_fits_the_graph() -> None:
    graph = copy_graph(division_graph())
    graph.set_link_status([(1, 2)], "predicted")
    plan = LinkPlan(
        "nn",
        Scope((0, 1, 2, 3), frozenset({(1, 2), (2, 4), (7, 8)})),
        proposed=((1, 2), (2, 4), (6, 99)),
        steps_done=3,
    )
    kept, dropped = filter_plan(graph, plan, touched={4})
    assert kept.scope.stale_links == {(1, 2)}  # (7, 8) is rejected now, (2, 4) touched
    assert kept.proposed == ((1, 2),)  # 4 touched, 99 does not exist
    assert dropped == 4 and kept.method == "nn" and kept.steps_done == 3
    assert graph.link(7, 8).status == Status.REJECTED
