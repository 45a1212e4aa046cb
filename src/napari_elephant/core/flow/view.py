"""The flow model's motion at one timepoint, as arrows a user can judge before linking.

Per nucleus: the mean backward flow inside its ellipsoid, the estimate the
flow linker uses; and the dense field, thinned to about one arrow per
nucleus radius.  Without a trained flow model the linked motion stands in
(:mod:`napari_elephant.core.linking.motion_view`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from napari_elephant.core.flow.engine import has_flow_model, predict_flow
from napari_elephant.core.flow.predict import previous_positions
from napari_elephant.core.linking.motion_view import (
    FLOW,
    MotionView,
    linked_motion,
    thinned_field,
)
from napari_elephant.core.workspace import Workspace


def flow_motion(
    ws: Workspace, device: torch.device, t: int, nuclei: Sequence[Any], step_um: float
) -> MotionView:
    """The flow model's arrows at ``t`` for ``nuclei`` (records of t), the dense
    field every ``step_um``."""
    field = predict_flow(ws, device, t)
    centers = np.array([n.center for n in nuclei], np.float64).reshape(-1, 3)
    motion = previous_positions(field, ws.voxel_size, nuclei) - centers
    grid, grid_motion = thinned_field(field, ws.voxel_size, step_um)
    ids = np.array([n.id for n in nuclei], dtype=np.int64)
    return MotionView(t, FLOW, ids, centers, motion, grid, grid_motion)


def motion_at(
    ws: Workspace, device: torch.device, t: int, nuclei: Sequence[Any], step_um: float
) -> MotionView:
    """The flow's arrows where the workspace has a flow model, else the links'."""
    if has_flow_model(ws) and t >= 1:
        return flow_motion(ws, device, t, nuclei, step_um)
    return linked_motion(ws.graph, t)
