"""Fixtures shared by the adapter tests: a tiny workspace, the hand-built tracks
workspace open in a viewer, and a workspace with its jobs but no viewer."""

from __future__ import annotations

from pathlib import Path

import pytest

from napari_elephant._napari.job_specs import SessionJobs
from napari_elephant._napari.jobs import JobRunner
from napari_elephant.core.workspace import Workspace
from tests._napari.helpers import write_workspace
from tests._napari.job_helpers import SMALL, BareSession, ManualLauncher, first_timepoint_graph
from tests._napari.proofreading_helpers import open_tracks


@pytest.fixture
def manual() -> ManualLauncher:
    return ManualLauncher()


@pytest.fixture
def told() -> list[str]:
    return []


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return write_workspace(tmp_path)


@pytest.fixture
def tracks(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    session, p = open_tracks(viewer, tmp_path)
    return viewer, session, p


@pytest.fixture
def ws(tmp_path) -> Workspace:
    ws = Workspace.open(write_workspace(tmp_path, first_timepoint_graph()))
    ws.params.training = SMALL.model_copy()
    return ws


@pytest.fixture
def jobs(ws, manual, told) -> SessionJobs:
    return SessionJobs(BareSession(ws), JobRunner(manual, notify=told.append))
