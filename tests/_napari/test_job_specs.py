"""The loop's jobs on a workspace, headless: train, predict, link, live rounds, and
what a user edit made during a job does to its results."""

from __future__ import annotations

import pytest

from napari_elephant._napari.job_specs import SessionJobs
from napari_elephant._napari.jobs import JobRunner, run_inline
from napari_elephant.core.detection.engine import detection_dir
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Status
from napari_elephant.core.training.checkpoint import read_checkpoint_config
from napari_elephant.core.workspace import Workspace
from tests._napari.helpers import tiny_movie, write_workspace
from tests._napari.job_helpers import BareSession, prediction


def test_training_saves_the_model_and_reports(ws, told) -> None:
    jobs = SessionJobs(BareSession(ws), JobRunner(run_inline, notify=told.append))
    assert jobs.train()
    record = jobs.runner.records[-1]
    assert told == [] and record.status == "done", record.summary
    steps = read_checkpoint_config(detection_dir(ws))["training"]["steps"]
    assert steps in (3, 12) and record.summary.startswith(f"{steps} steps in")  # 12: prior
    assert record.params["steps"] == 3 and record.params["timepoints"] == "all"
    assert len(ws.graph) == 4  # training writes nothing into the graph


def test_a_cancelled_round_keeps_what_it_trained(jobs, manual, ws) -> None:
    ws.params.training.steps = 50
    jobs.train([0])
    manual.step()
    manual.step()
    jobs.abort()
    manual.finish()
    record = jobs.runner.records[-1]
    assert record.status == "stopped" and "stopped; model saved" in record.summary
    assert read_checkpoint_config(detection_dir(ws))["training"]["steps"] == 2


def test_predictions_merge_per_timepoint_except_where_the_user_edited(jobs, manual, ws):
    graph = ws.graph
    old = graph.add_nucleus(1, (5.0, 5.0, 5.0), radius=2.5, status="predicted")
    mine = graph.add_nucleus(2, (5.0, 5.0, 5.0), radius=2.5, status="predicted")
    n_steps = len(graph.history)
    jobs.predict([0, 1, 2])
    # the user, meanwhile: accepts at t=0 (safe), moves a prediction at t=2 (not safe)
    graph.set_status([graph.ids_at(0)[0]], "accepted")
    graph.update_nucleus(mine, center=(6.0, 6.0, 6.0))
    records = [prediction(t, i, 3, [(10.0, 20.0, 2.0)]) for i, t in enumerate((0, 1, 2), 1)]
    manual.deliver(records, 3)
    assert old not in graph  # t=1: the stale prediction was replaced
    assert graph.nucleus(mine).center == (6.0, 6.0, 6.0)  # t=2 left as the user made it
    assert [len(graph.ids_at(t)) for t in range(3)] == [5, 1, 1]
    assert len(graph.history) == n_steps + 2 + 2  # two edits, two merges
    summary = jobs.runner.records[-1].summary
    assert "not merged (edited meanwhile, predict again): t = 2" in summary


def test_switching_workspaces_cancels_and_drops_results(jobs, manual, ws, tmp_path) -> None:
    jobs.predict([0])
    jobs.session.switch(None)
    assert jobs.runner.stop.is_set()
    manual.deliver([prediction(0, 1, 1, [(10.0, 20.0, 2.0)])], 1)
    assert len(ws.graph) == 4
    assert "dropped: the workspace was closed" in jobs.runner.records[-1].summary


def test_a_link_run_keeps_links_the_user_made_while_it_planned(jobs, manual, ws) -> None:
    truth = tiny_movie().graph
    graph = ws.graph
    graph.add_nuclei([n for t in (1, 2) for n in truth.nuclei_at(t)])
    jobs.link([0, 1, 2])
    manual.step()  # planned t=0 → 1 on the snapshot
    graph.add_link(2, 6)  # the user links 2 → 6 meanwhile (the linker proposes it too)
    manual.finish()
    record = jobs.runner.records[-1]
    assert record.status == "done", record.summary
    assert graph.link(2, 6).status == Status.ACCEPTED
    assert graph.link(1, 5).status == Status.PREDICTED
    assert "left out (edited meanwhile)" in record.summary


def test_the_keys_predict_the_current_timepoint_and_link_everything(jobs, manual) -> None:
    assert jobs.predict()
    assert jobs.runner.current.params["timepoints"] == "0:1"
    manual.deliver([], 0)
    assert jobs.link()
    assert jobs.runner.current.name == "link" and jobs.runner.current.params["method"] == "nn"


def test_bad_input_is_a_notification_not_a_job(jobs, told) -> None:
    with pytest.raises(InvalidInputError, match="outside"):
        jobs.timepoints("7:9")
    assert jobs.timepoints(" ") is None and jobs.timepoints("1:3") == [1, 2]
    jobs.session.switch(None)
    assert not jobs.train() and not jobs.runner.busy
    assert told == ["no workspace is open; open or create one first"]


def test_flow_training_and_flow_linking_run_on_snapshots(tmp_path, told) -> None:
    ws = Workspace.open(write_workspace(tmp_path))  # the truth: accepted nuclei and links
    flow = ws.params.flow
    flow.epochs, flow.crops_per_timepoint, flow.crop_size, flow.seed = 1, 1, (8, 32, 32), 0
    jobs = SessionJobs(BareSession(ws), JobRunner(run_inline, notify=told.append))
    assert jobs.train_flow()
    assert told == [] and jobs.runner.records[-1].summary.startswith("2 steps")  # 3 crops
    ws.graph.set_link_status([lk.key for lk in ws.graph.links()], "predicted")
    assert jobs.link(method="flow")
    record = jobs.runner.records[-1]
    assert record.status == "done" and record.params["method"] == "flow", record.summary
    assert ws.graph.n_links >= tiny_movie().graph.n_links - 2  # re-proposed along the flow
    assert {lk.status for lk in ws.graph.links()} == {Status.PREDICTED}
