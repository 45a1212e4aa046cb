"""The "motion" Vectors layer: arrows at the current timepoint, following the slider."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant._napari.job_specs import SessionJobs
from napari_elephant._napari.jobs import JobRunner, run_inline
from napari_elephant._napari.motion_layer import (
    LAYER_NAME,
    MotionOverlay,
    motion_layer_data,
    vectors,
)
from napari_elephant._napari.session import session_for
from napari_elephant.core.flow.engine import flow_dir
from napari_elephant.core.flow.model import FlowUNet, make_config
from napari_elephant.core.linking.motion_view import FLOW, MotionView
from napari_elephant.core.training.checkpoint import save_checkpoint
from napari_elephant.core.units import VoxelSize
from tests._napari.helpers import tiny_movie, write_workspace

VOXEL = VoxelSize(2.0, 0.5, 0.5)


def test_vectors_start_at_the_nucleus_in_voxels_at_its_timepoint() -> None:
    out = vectors(3, np.array([[4.0, 1.0, 2.0]]), np.array([[-2.0, 0.5, 0.0]]), VOXEL)
    np.testing.assert_allclose(out, [[[3, 2, 2, 4], [0, -1, 1, 0]]])


def test_nucleus_arrows_come_first_then_the_fainter_field() -> None:
    one = np.ones((1, 3))
    view = MotionView(2, FLOW, np.array([7]), one, one, np.zeros((2, 3)), one.repeat(2, 0))
    data, kwargs = motion_layer_data(view, VOXEL)
    assert data.shape == (3, 2, 4) and kwargs["name"] == LAYER_NAME
    assert list(kwargs["edge_color"]) == ["#ffd23f", "#7f7f7f", "#7f7f7f"]
    assert kwargs["scale"] == (1.0, 2.0, 0.5, 0.5)


@pytest.fixture
def overlay(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    session = session_for(viewer)
    session.open_workspace(write_workspace(tmp_path))
    told: list[str] = []
    jobs = SessionJobs(session, JobRunner(run_inline, notify=told.append))
    return MotionOverlay(jobs), viewer, told


def layer_of(viewer):
    return next((ly for ly in viewer.layers if ly.name == LAYER_NAME), None)


def test_the_toggle_shows_the_links_motion_and_follows_time(overlay) -> None:
    motion, viewer, told = overlay
    viewer.dims.set_current_step(0, 2)
    motion.set_enabled(True)
    layer = layer_of(viewer)
    truth = tiny_movie().graph
    assert len(layer.data) == len(truth.nuclei_at(2)) and told == []
    assert np.all(layer.data[:, 0, 0] == 2)
    viewer.dims.set_current_step(0, 3)
    assert len(layer_of(viewer).data) == len(truth.nuclei_at(3))
    assert np.all(layer_of(viewer).data[:, 0, 0] == 3)
    motion.set_enabled(False)
    assert layer_of(viewer) is None
    viewer.dims.set_current_step(0, 1)  # no longer followed
    assert layer_of(viewer) is None


def test_no_links_at_the_first_timepoint_is_said_in_one_line(overlay) -> None:
    motion, viewer, told = overlay
    viewer.dims.set_current_step(0, 0)
    motion.set_enabled(True)
    assert layer_of(viewer) is None
    assert len(told) == 1 and told[0].startswith("no links into t=0")


def test_with_a_flow_model_a_job_draws_the_flow_and_its_field(overlay) -> None:
    motion, viewer, told = overlay
    ws = motion.session.workspace
    model = FlowUNet(make_config(ws.voxel_size, 4, 2, scale=(0.1, 0.05, 0.05)))
    save_checkpoint(flow_dir(ws), model, model.config)
    viewer.dims.set_current_step(0, 1)
    motion.set_enabled(True)
    record = motion.jobs.runner.records[-1]
    assert (record.name, record.status) == ("motion", "done"), record.summary
    assert record.summary.startswith("motion at t=1 (flow):")
    layer = layer_of(viewer)
    n = len(ws.graph.nuclei_at(1))
    assert len(layer.data) > n and told == []  # the nuclei's arrows and the field's
