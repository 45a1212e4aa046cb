"""The flow model's arrows: the linker's own estimate per nucleus and a thinned field."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.flow import engine
from napari_elephant.core.flow.view import flow_motion, motion_at
from napari_elephant.core.linking.motion_view import FLOW, LINKS
from tests.core.flow.helpers import STEP, make_workspace
from tests.core.flow.test_engine import seed_tiny_model

CPU = torch.device("cpu")


def test_each_arrow_is_what_the_flow_linker_estimates(tmp_path) -> None:
    ws = make_workspace(tmp_path)
    seed_tiny_model(ws)
    nuclei = ws.graph.nuclei_at(2)
    view = flow_motion(ws, CPU, 2, nuclei, step_um=2.0)
    centers = np.array([n.center for n in nuclei])
    expected = engine.flow_estimator(ws, CPU)(2, nuclei) - centers
    assert view.source == FLOW and view.ids.tolist() == [n.id for n in nuclei]
    np.testing.assert_allclose(view.motion, expected, atol=1e-3)
    field = engine.predict_flow(ws, CPU, 2)
    assert len(view.grid) == len(view.grid_motion) == 8 * 12 * 12  # 2 µm: every 4th y, x
    z, y, x = np.rint(view.grid[5] / ws.voxel_size.array).astype(int)
    np.testing.assert_allclose(view.grid_motion[5], field[:, z, y, x], atol=1e-6)


def test_without_a_flow_model_the_links_motion_stands_in(tmp_path) -> None:
    ws = make_workspace(tmp_path)
    view = motion_at(ws, CPU, 1, ws.graph.nuclei_at(1), 2.0)
    assert view.source == LINKS
    np.testing.assert_allclose(view.motion, np.tile(-STEP, (4, 1)), atol=1e-9)


def test_the_first_timepoint_has_no_motion_to_show(tmp_path) -> None:
    ws = make_workspace(tmp_path)
    seed_tiny_model(ws)
    with pytest.raises(InvalidInputError, match="no links into t=0"):
        motion_at(ws, CPU, 0, ws.graph.nuclei_at(0), 2.0)
