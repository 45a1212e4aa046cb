"""The Models tab: where the networks run, and the workspace's model folders.

Device: auto / cpu / cuda / mps, offered as far as present here (a saved
choice that is absent stays listed, so opening a GPU workspace on a laptop
does not rewrite it).  Per model (detection, flow): its state, reset (the
folder is deleted after a confirmation), save as (copy the folder) and load
(a checked checkpoint folder replaces it).  None of it while a job runs: the
worker may be reading or writing the folder.
"""

from __future__ import annotations

from typing import Any

from qtpy.QtWidgets import (
    QFileDialog,
    QGroupBox,
    QLabel,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from napari_elephant._napari import model_folders
from napari_elephant._napari.job_specs import SessionJobs
from napari_elephant._qt.panel_tools import (
    button,
    connect_while_alive,
    row,
    run_reporting,
    settings_saver,
)
from napari_elephant._qt.param_form import ParamForm
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.params import DeviceParams
from napari_elephant.core.training.device import available_devices, describe_devices


def confirm(parent: QWidget, text: str) -> bool:
    """Ask yes/no (a function of its own so tests can answer it)."""
    answer = QMessageBox.question(parent, "ELEPHANT", text)
    return answer == QMessageBox.StandardButton.Yes


class ModelsPanel(QWidget):
    """Device choice and the detection / flow model folders."""

    def __init__(self, jobs: SessionJobs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        choices = {"device": ["auto", *available_devices()]}
        self.device_form = ParamForm(DeviceParams, None, settings_saver(jobs), choices)
        self.devices_label = QLabel("\n".join(describe_devices()))
        self.devices_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        device_box = QGroupBox("Device")
        box_layout = QVBoxLayout(device_box)
        box_layout.addWidget(self.device_form)
        box_layout.addWidget(self.devices_label)
        layout.addWidget(device_box)
        self.info_labels: dict[str, QLabel] = {}
        for kind in model_folders.KINDS:
            layout.addWidget(self._model_box(kind))
        layout.addStretch(1)
        events = jobs.session.events
        connect_while_alive(
            self,
            [(events.workspace_changed, self.bind), (jobs.runner.events.finished, self.refresh)],
        )
        self.bind(jobs.session.workspace)

    def _model_box(self, kind: str) -> QGroupBox:
        box = QGroupBox(f"{kind.capitalize()} model")
        label = self.info_labels[kind] = QLabel()
        label.setWordWrap(True)
        layout = QVBoxLayout(box)
        layout.addWidget(label)
        layout.addLayout(
            row(
                button("Reset…", lambda: self.reset(kind), "Delete this model (asks first)"),
                button("Save as…", lambda: self.save_as(kind), "Copy the model folder elsewhere"),
                button("Load…", lambda: self.load(kind), "Replace it by a saved model folder"),
            )
        )
        if kind == "detection":
            layout.addWidget(
                button(
                    "Use pretrained…",
                    self.use_pretrained,
                    "Replace it by the generic detection model shipped with napari-elephant "
                    "(trained on synthetic movies; asks first)",
                )
            )
        return box

    def bind(self, ws: Any = None) -> None:
        self.device_form.set_model(ws.params.device if ws is not None else None)
        self.refresh()

    def refresh(self, *_: Any) -> None:
        ws = self.jobs.session.workspace
        for kind, label in self.info_labels.items():
            label.setText(model_folders.model_info(ws, kind) if ws is not None else "")

    # ---------------------------------------------------------- actions
    def _ready(self) -> Any:
        """The workspace, if open and no job runs (else a notification and None)."""
        return run_reporting(self._require_idle)

    def _require_idle(self) -> Any:
        ws = self.jobs.session.require_workspace()
        if self.jobs.runner.busy:
            raise InvalidInputError("a job is running: wait for it or cancel it first")
        return ws

    def reset(self, kind: str) -> bool:
        ws = self._ready()
        if ws is None or not confirm(self, f"Delete the {kind} model of {ws.name}?"):
            return False
        done = bool(run_reporting(lambda: model_folders.reset_model(ws, kind)))
        self.refresh()
        return done

    def save_as(self, kind: str, path: str | None = None) -> bool:
        ws = self._ready()
        if ws is None:
            return False
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, f"Save the {kind} model as a folder")
        if not path:
            return False
        return run_reporting(lambda: model_folders.export_model(ws, kind, path)) is not None

    def use_pretrained(self) -> bool:
        ws = self._ready()
        if ws is None or not confirm(
            self, f"Replace the detection model of {ws.name} by the pretrained one?"
        ):
            return False
        done = run_reporting(lambda: model_folders.use_pretrained(ws) or True)
        self.refresh()
        return bool(done)

    def load(self, kind: str, path: str | None = None) -> bool:
        ws = self._ready()
        if ws is None:
            return False
        if path is None:
            path = QFileDialog.getExistingDirectory(self, f"Load a {kind} model folder")
        if not path:
            return False
        done = run_reporting(lambda: model_folders.import_model(ws, kind, path) or True)
        self.refresh()
        return bool(done)
