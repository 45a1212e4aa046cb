"""The Linking tab: train the flow model on validated links, see the motion, link.

Linking plans on a copy of the graph in the background and applies the plan
as one undoable action; links or nuclei edited meanwhile are left as the
user made them (:mod:`napari_elephant._napari.edit_watch`).
"""

from __future__ import annotations

from typing import Any

from qtpy.QtWidgets import QCheckBox, QFormLayout, QGroupBox, QVBoxLayout, QWidget

from napari_elephant._napari.job_specs import SessionJobs
from napari_elephant._napari.motion_layer import MotionOverlay
from napari_elephant._qt.jobs import JobBar
from napari_elephant._qt.panel_tools import (
    button,
    connect_while_alive,
    run_reporting,
    settings_saver,
    timepoints_edit,
)
from napari_elephant._qt.param_form import Collapsible, ParamForm
from napari_elephant.core.params import FlowParams, LinkingParams

MAIN_LINKING = ("method", "along_flow", "d_search", "n_max", "t_max")


class LinkingPanel(QWidget):
    """Flow training and linking for the session's workspace."""

    def __init__(self, jobs: SessionJobs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.motion = MotionOverlay(jobs)
        save = settings_saver(jobs)
        self.flow_form = ParamForm(FlowParams, None, save)
        self.linking_form = ParamForm(LinkingParams, MAIN_LINKING, save)
        rest = [f for f in LinkingParams.model_fields if f not in MAIN_LINKING]
        self.more_linking_form = ParamForm(LinkingParams, rest, save)
        layout = QVBoxLayout(self)
        layout.addWidget(self._flow_box())
        layout.addWidget(self._link_box())
        self.job_bar = JobBar(jobs.runner)
        layout.addWidget(self.job_bar)
        layout.addStretch(1)
        connect_while_alive(self, [(jobs.session.events.workspace_changed, self.bind)])
        self.bind(jobs.session.workspace)

    def _flow_box(self) -> QGroupBox:
        box = QGroupBox("Flow model")
        layout = QVBoxLayout(box)
        form = QFormLayout()
        self.flow_timepoints = timepoints_edit("all with accepted links")
        form.addRow("Timepoints", self.flow_timepoints)
        self.flow_from_scratch = QCheckBox("From scratch")
        self.flow_from_scratch.setToolTip("Start a new flow network instead of the current one")
        form.addRow(self.flow_from_scratch)
        layout.addLayout(form)
        layout.addWidget(Collapsible("Flow training settings", self.flow_form))
        self.train_flow_button = button(
            "Train flow", self.train_flow, "Learn the motion from the accepted links"
        )
        layout.addWidget(self.train_flow_button)
        self.show_motion = QCheckBox("Show motion")
        self.show_motion.setToolTip(
            "Arrows from each nucleus of this timepoint to where it was one timepoint "
            "before: the flow model's estimate, or the links' motion without one"
        )
        self.show_motion.toggled.connect(self.motion.set_enabled)
        layout.addWidget(self.show_motion)
        return box

    def _link_box(self) -> QGroupBox:
        box = QGroupBox("Link")
        layout = QVBoxLayout(box)
        layout.addWidget(self.linking_form)
        form = QFormLayout()
        self.link_timepoints = timepoints_edit("all")
        form.addRow("Timepoints", self.link_timepoints)
        layout.addLayout(form)
        layout.addWidget(Collapsible("More linking settings", self.more_linking_form))
        self.link_button = button(
            "Link", self.link, "Replace the predicted links among these timepoints (Alt+K: all); "
            "accepted and rejected links are kept",
        )  # fmt: skip
        layout.addWidget(self.link_button)
        return box

    def bind(self, ws: Any = None) -> None:
        self.show_motion.setChecked(False)
        params = ws.params if ws is not None else None
        self.flow_form.set_model(params.flow if params else None)
        self.linking_form.set_model(params.linking if params else None)
        self.more_linking_form.set_model(params.linking if params else None)

    def train_flow(self) -> bool:
        ts = run_reporting(lambda: self.jobs.timepoints(self.flow_timepoints.text()) or [])
        if ts is None:
            return False
        return self.jobs.train_flow(ts or None, self.flow_from_scratch.isChecked())

    def link(self) -> bool:
        ts = run_reporting(lambda: self.jobs.timepoints(self.link_timepoints.text()) or [])
        return ts is not None and self.jobs.link(ts or None)
