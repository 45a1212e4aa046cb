"""The Detection, Linking, Models and Log tabs driving real jobs through the worker."""

from __future__ import annotations

import json

import pytest

from napari_elephant._qt import models_panel, panel_tools
from napari_elephant._qt.dock import ElephantDock
from napari_elephant.core.detection.engine import detection_dir
from napari_elephant.core.graph import Status, TrackingGraph
from napari_elephant.core.training.checkpoint import has_checkpoint, read_checkpoint_config
from napari_elephant.core.workspace import SETTINGS, Workspace
from tests._napari.helpers import tiny_movie, write_workspace

WAIT_MS = 60_000


@pytest.fixture
def dock(make_napari_viewer, qtbot, tmp_path) -> ElephantDock:
    """A dock on a workspace holding the tiny movie's four nuclei of t=0 (accepted)."""
    widget = ElephantDock(make_napari_viewer())
    qtbot.addWidget(widget)
    graph = TrackingGraph.from_records(tiny_movie().graph.nuclei_at(0))
    ws = widget.session.open_workspace(write_workspace(tmp_path, graph))
    training = ws.params.training
    training.steps, training.crop_size, training.seed = 3, (8, 32, 32), 0
    widget.detection_panel.bind(ws)
    return widget


def wait_idle(qtbot, dock: ElephantDock) -> None:
    qtbot.waitUntil(lambda: not dock.jobs.runner.busy, timeout=WAIT_MS)


def test_train_then_predict_through_the_dock(dock, qtbot) -> None:
    runner, panel = dock.jobs.runner, dock.detection_panel
    assert dock.session.jobs is dock.jobs
    panel.train_button.click()
    assert runner.handle.__class__.__name__ == "GeneratorWorker"  # napari's thread worker
    wait_idle(qtbot, dock)
    record = runner.records[-1]
    assert (record.name, record.status) == ("train detection", "done"), record.summary
    assert has_checkpoint(detection_dir(dock.session.workspace))
    assert len(dock.log_panel.plot.series["detection"]) == 3  # prior steps not plotted
    started = "train detection started (mode=interactive, steps=3"
    assert any(started in line for line in dock.log_panel.lines())
    graph = dock.session.graph
    n_steps = len(graph.history)
    panel.predict_scope.setCurrentText("all")
    panel.predict_button.click()
    wait_idle(qtbot, dock)
    record = runner.records[-1]
    assert record.status == "done" and record.summary.startswith("4 timepoints:"), record.summary
    predicted = [sum(n.status == Status.PREDICTED for n in graph.nuclei_at(t)) for t in range(4)]
    assert all(n > 0 for n in predicted[1:])
    assert len(graph.history) - n_steps == sum(n > 0 for n in predicted)  # one step each
    assert all(n.status == Status.ACCEPTED for n in graph.nuclei_at(0)[:4])
    assert panel.job_bar.label.text() == record.line()


def test_cancel_stops_a_round_and_keeps_its_model(dock, qtbot) -> None:
    runner, panel = dock.jobs.runner, dock.detection_panel
    dock.session.workspace.params.training.steps = 500
    graph = dock.session.graph
    before = (len(graph), len(graph.history))
    steps: list[int] = []
    runner.events.progress.connect(lambda job, record: steps.append(record.step))
    panel.train_button.click()
    assert panel.job_bar.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: len(steps) >= 2, timeout=WAIT_MS)
    panel.job_bar.cancel_button.click()
    wait_idle(qtbot, dock)
    record = runner.records[-1]
    assert record.status == "stopped" and "model saved" in record.summary
    saved = read_checkpoint_config(detection_dir(dock.session.workspace))["training"]["steps"]
    assert 2 <= saved < 509 and saved <= max(steps)
    assert (len(graph), len(graph.history)) == before
    assert not panel.job_bar.cancel_button.isEnabled()


def test_live_mode_retrains_and_repredicts_after_an_annotation(dock, qtbot) -> None:
    runner, graph = dock.jobs.runner, dock.session.graph
    dock.detection_panel.live_check.setChecked(True)
    graph.set_status([int(graph.ids_at(0)[0])], "rejected")
    graph.set_status([int(graph.ids_at(0)[0])], "accepted")  # one pause, one round
    qtbot.waitUntil(lambda: len(runner.records) >= 2, timeout=WAIT_MS)
    wait_idle(qtbot, dock)
    assert [(r.name, r.status) for r in runner.records] == [
        ("live round", "done"),
        ("predict", "done"),
    ], [r.summary for r in runner.records]
    assert dock.jobs.live.rounds_scheduled == 1
    assert runner.records[1].params["timepoints"] == "0:1"


def test_form_edits_are_validated_and_saved(dock, monkeypatch) -> None:
    errors: list[str] = []
    monkeypatch.setattr(panel_tools, "show_error", errors.append)
    ws = dock.session.workspace
    form = dock.detection_panel.training_form
    form.widget("steps").setValue(7)
    crop = dock.detection_panel.more_training_form.widget("crop_size")
    crop.setText("8, 48, 48")
    crop.editingFinished.emit()
    rate = dock.detection_panel.more_training_form.widget("learning_rate")
    rate.setText("-1")
    rate.editingFinished.emit()
    assert "learning_rate" in dock.detection_panel.more_training_form.errors
    assert "greater than 0" in rate.toolTip()
    saved = json.loads((ws.path / SETTINGS).read_text())["parameters"]["training"]
    assert saved["steps"] == 7 and saved["crop_size"] == [8, 48, 48]
    assert saved["learning_rate"] == 2e-3 and ws.params.training.learning_rate == 2e-3
    assert form.widget("steps").toolTip().startswith("Optimiser steps of one interactive round")
    device = dock.models_panel.device_form.widget("device")
    assert [device.itemText(i) for i in range(device.count())][:1] == ["auto"]
    device.setCurrentText("cpu")
    assert Workspace.open(ws.path).params.device.device == "cpu"
    assert errors == []


def test_models_tab_resets_after_confirmation_only(dock, qtbot, monkeypatch, tmp_path) -> None:
    answers = [False, True]
    monkeypatch.setattr(models_panel, "confirm", lambda *_: answers.pop(0))
    panel = dock.models_panel
    ws = dock.session.workspace
    dock.detection_panel.train_button.click()
    wait_idle(qtbot, dock)
    assert panel.info_labels["detection"].text().startswith("updated")
    assert panel.save_as("detection", str(tmp_path / "copy"))
    assert not panel.reset("detection") and has_checkpoint(detection_dir(ws))
    assert panel.reset("detection") and not detection_dir(ws).exists()
    assert panel.info_labels["detection"].text() == "not trained yet"
    assert panel.load("detection", str(tmp_path / "copy"))
    assert has_checkpoint(detection_dir(ws))


def test_training_starts_from_the_pretrained_model(dock, qtbot, monkeypatch) -> None:
    monkeypatch.setattr(models_panel, "confirm", lambda *_: True)
    panel, ws = dock.detection_panel, dock.session.workspace
    panel.start.setCurrentIndex(panel.start.findData("pretrained"))
    panel.train_button.click()
    wait_idle(qtbot, dock)
    assert dock.jobs.runner.records[-1].status == "done"
    assert any("start=pretrained" in line for line in dock.log_panel.lines())
    assert has_checkpoint(detection_dir(ws))
    assert dock.models_panel.use_pretrained()
    assert dock.models_panel.info_labels["detection"].text().startswith("the pretrained model")


def test_link_through_the_linking_tab(dock, qtbot) -> None:
    graph = dock.session.graph
    graph.add_nuclei(tiny_movie().graph.nuclei_at(1))
    panel = dock.linking_panel
    assert panel.linking_form.widget("method").currentText() == "nn"
    panel.link_timepoints.setText("0:2")
    panel.link_button.click()
    wait_idle(qtbot, dock)
    record = dock.jobs.runner.records[-1]
    assert record.status == "done" and record.params["timepoints"] == "0:2", record.summary
    assert sorted(lk.key for lk in graph.links()) == [(1, 5), (2, 6), (3, 7), (4, 8)]
    graph.undo()
    assert graph.n_links == 0  # one undo step


def test_the_nuclei_box_says_which_size_is_in_use_and_follows_the_edits(dock, qtbot) -> None:
    panel, graph = dock.detection_panel, dock.session.graph
    assert "accepted nuclei" in panel.size_label.text()
    graph.set_status(graph.ids_at(0), "predicted")  # nothing accepted: the image will say
    qtbot.waitUntil(lambda: "image" in panel.size_label.text(), timeout=5_000)
    panel.show_size()  # Measure
    assert "from the image" in panel.size_label.text() and "µm" in panel.size_label.text()
    panel.size_form.widget("nucleus_diameter").setText("7")
    panel.size_form.widget("nucleus_diameter").editingFinished.emit()
    assert "7 µm from the nucleus diameter setting" in panel.size_label.text()


def test_show_motion_draws_arrows_until_unchecked(dock, qtbot) -> None:
    graph, viewer = dock.session.graph, dock.session.viewer
    truth = tiny_movie().graph
    graph.add_nuclei(truth.nuclei_at(1))
    graph.add_links([lk for lk in truth.links() if truth.nucleus(lk.child).t == 1])
    viewer.dims.set_current_step(0, 1)
    box = dock.linking_panel.show_motion
    box.setChecked(True)
    (layer,) = [ly for ly in viewer.layers if ly.name == "motion"]
    assert len(layer.data) == len(truth.nuclei_at(1))
    box.setChecked(False)
    assert "motion" not in [ly.name for ly in viewer.layers]
