"""The Detection tab: train the detection model, predict, and live training.

Thin: the buttons read their inputs and call ``session.jobs`` (the job
runner of :mod:`napari_elephant._napari.job_specs`); the forms edit the
workspace's training and detection parameters and save them on each edit.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from napari_elephant._napari.job_specs import SessionJobs
from napari_elephant._qt.jobs import JobBar
from napari_elephant._qt.panel_tools import (
    button,
    connect_while_alive,
    run_reporting,
    settings_saver,
    timepoints_edit,
)
from napari_elephant._qt.param_form import Collapsible, ParamForm
from napari_elephant.core.detection.engine import needs_image, workspace_nucleus_size
from napari_elephant.core.params import DetectionParams, TrainingParams

MAIN_TRAINING = ("mode", "steps", "epochs")
SIZE_FIELDS = ["nucleus_diameter"]
SIZE_REFRESH_MS = 1000
PREDICT_SCOPES = ("current timepoint", "range", "all")
START_LABELS = {
    "current": "current model",
    "scratch": "new network",
    "pretrained": "pretrained model",
}


class DetectionPanel(QWidget):
    """Train / predict / live for the session's workspace."""

    def __init__(self, jobs: SessionJobs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        save = settings_saver(jobs)
        self.training_form = ParamForm(TrainingParams, MAIN_TRAINING, save)
        rest = [f for f in TrainingParams.model_fields if f not in MAIN_TRAINING]
        self.more_training_form = ParamForm(TrainingParams, rest, save)
        self.size_form = ParamForm(DetectionParams, SIZE_FIELDS, self._size_changed(save))
        self.size_label = QLabel("")
        self.size_timer = QTimer(self)  # edits come in bursts: say the size once they pause
        self.size_timer.setSingleShot(True)
        self.size_timer.setInterval(SIZE_REFRESH_MS)
        self.size_timer.timeout.connect(lambda: self.show_size(measure=False))
        rest = [f for f in DetectionParams.model_fields if f not in SIZE_FIELDS]
        self.detection_form = ParamForm(DetectionParams, rest, save)
        layout = QVBoxLayout(self)
        layout.addWidget(self._size_box())
        layout.addWidget(self._train_box())
        layout.addWidget(self._predict_box())
        self.live_check = QCheckBox("Live training")
        self.live_check.setToolTip(
            "While on, each change to an accepted or rejected nucleus starts a short "
            "training round (after a pause of a second) and re-predicts the current timepoint"
        )
        self.live_check.setChecked(jobs.live.enabled)
        self.live_check.toggled.connect(jobs.live.set_enabled)
        layout.addWidget(self.live_check)
        self.job_bar = JobBar(jobs.runner)
        layout.addWidget(self.job_bar)
        layout.addStretch(1)
        events = jobs.session.events
        connect_while_alive(
            self,
            [
                (events.workspace_changed, self.bind),
                (events.graph_changed, lambda _action: self.size_timer.start()),
            ],
        )
        self.bind(jobs.session.workspace)

    def _size_box(self) -> QGroupBox:
        box = QGroupBox("Nuclei")
        layout = QVBoxLayout(box)
        layout.addWidget(self.size_form)
        row = QHBoxLayout()
        self.size_label.setWordWrap(True)
        row.addWidget(self.size_label, 1)
        row.addWidget(button("Measure", self.show_size, "Measure the size in use now"))
        layout.addLayout(row)
        return box

    def _size_changed(self, save: Any) -> Any:
        def changed(*args: Any) -> None:
            save(*args)
            self.show_size(measure=False)

        return changed

    def show_size(self, measure: bool = True) -> None:
        """Say which nucleus size the next round uses and where it comes from; reading
        the image (no size set, nothing accepted) only when ``measure``."""
        ws = self.jobs.session.workspace
        if ws is None:
            self.size_label.setText("")
            return
        if not measure and needs_image(ws):
            self.size_label.setText("In use: measured from the image (no nucleus accepted yet)")
            return
        size = run_reporting(lambda: workspace_nucleus_size(ws))
        self.size_label.setText("" if size is None else f"In use: {size.describe()}")

    def _train_box(self) -> QGroupBox:
        box = QGroupBox("Train")
        layout = QVBoxLayout(box)
        layout.addWidget(self.training_form)
        form = QFormLayout()
        self.train_timepoints = timepoints_edit("all annotated")
        form.addRow("Timepoints", self.train_timepoints)
        self.start = QComboBox()
        for start, label in START_LABELS.items():
            self.start.addItem(label, start)
        self.start.setToolTip(
            "Continue the workspace's model (a new network while there is none), start a new "
            "network, or start from the generic model shipped with napari-elephant"
        )
        form.addRow("Start from", self.start)
        layout.addLayout(form)
        layout.addWidget(Collapsible("More training settings", self.more_training_form))
        self.train_button = button(
            "Train", self.train, "Train on the accepted and rejected nuclei, in the background"
        )
        layout.addWidget(self.train_button)
        return box

    def _predict_box(self) -> QGroupBox:
        box = QGroupBox("Predict")
        layout = QVBoxLayout(box)
        form = QFormLayout()
        self.predict_scope = QComboBox()
        self.predict_scope.addItems(PREDICT_SCOPES)
        form.addRow("Timepoints", self.predict_scope)
        self.predict_timepoints = timepoints_edit("all")
        self.predict_timepoints.setEnabled(False)
        self.predict_scope.currentTextChanged.connect(
            lambda text: self.predict_timepoints.setEnabled(text == "range")
        )
        form.addRow("Range", self.predict_timepoints)
        layout.addLayout(form)
        layout.addWidget(Collapsible("Detection settings", self.detection_form))
        self.predict_button = button(
            "Predict", self.predict, "Replace the predicted nuclei of these timepoints (Alt+N: "
            "the current one); accepted and rejected nuclei are kept",
        )  # fmt: skip
        layout.addWidget(self.predict_button)
        return box

    # ---------------------------------------------------------- actions
    def bind(self, ws: Any = None) -> None:
        """Show the parameters of the open workspace (or nothing)."""
        params = ws.params if ws is not None else None
        self.training_form.set_model(params.training if params else None)
        self.more_training_form.set_model(params.training if params else None)
        self.detection_form.set_model(params.detection if params else None)
        self.size_form.set_model(params.detection if params else None)
        self.show_size(measure=False)

    def train(self) -> bool:
        ts = run_reporting(lambda: self.jobs.timepoints(self.train_timepoints.text()) or [])
        if ts is None:
            return False
        return self.jobs.train(ts or None, self.start.currentData())

    def predict(self) -> bool:
        scope = self.predict_scope.currentText()
        if scope == "current timepoint":
            return self.jobs.predict("current")
        if scope == "all":
            return self.jobs.predict(None)
        ts = run_reporting(lambda: self.jobs.timepoints(self.predict_timepoints.text()) or [])
        return ts is not None and self.jobs.predict(ts or None)
