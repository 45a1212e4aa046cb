"""The "motion" Vectors layer: each nucleus' estimated motion at the current timepoint.

The Linking tab's toggle (:class:`MotionOverlay`) shows, at the timepoint on
the dims slider and again at each new one, an arrow from every nucleus to
where it was one timepoint earlier: the flow model's estimate when the
workspace has one (computed by a job, off the GUI thread), otherwise the
motion its links show (:mod:`napari_elephant.core.linking.motion_view`,
cheap enough to draw at once).  With the flow, the thinned dense field is
drawn too, fainter.  Arrows live in the layers' voxel coordinates and the
image's scale, so they meet the nuclei in the µm world.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_elephant._napari.job_specs import on_device
from napari_elephant._napari.jobs import Job
from napari_elephant._napari.layers import layer_scale
from napari_elephant._napari.viewer_dims import current_t
from napari_elephant.core.errors import ElephantError
from napari_elephant.core.flow.engine import has_flow_model
from napari_elephant.core.flow.view import flow_motion
from napari_elephant.core.linking.motion_view import (
    MotionView,
    linked_motion,
    nucleus_scale,
    shown_nuclei,
)
from napari_elephant.core.units import VoxelSize
from napari_elephant.core.workspace import Workspace

LAYER_NAME = "motion"
MOTION_KEY = "motion"  # queued motion jobs coalesce: only the newest timepoint waits
NUCLEUS_COLOR, FIELD_COLOR = "#ffd23f", "#7f7f7f"


def vectors(t: int, where: np.ndarray, motion: np.ndarray, voxel: VoxelSize) -> np.ndarray:
    """(n, 2, 4) napari vectors (t, z, y, x) in voxel coordinates: start, projection."""
    start = voxel.to_voxels(np.asarray(where, np.float64).reshape(-1, 3))
    step = voxel.to_voxels(np.asarray(motion, np.float64).reshape(-1, 3))
    out = np.zeros((len(start), 2, 4))
    out[:, 0, 0] = t
    out[:, 0, 1:], out[:, 1, 1:] = start, step
    return out


def motion_layer_data(view: MotionView, voxel: VoxelSize) -> tuple[np.ndarray, dict[str, Any]]:
    """The layer's data and keyword arguments: nucleus arrows, then the field's."""
    ours = vectors(view.t, view.centers, view.motion, voxel)
    field = vectors(view.t, view.grid, view.grid_motion, voxel)
    colors = [NUCLEUS_COLOR] * len(ours) + [FIELD_COLOR] * len(field)
    kwargs = {
        "name": LAYER_NAME,
        "scale": layer_scale(voxel),
        "edge_width": 0.4,
        "edge_color": np.array(colors) if colors else NUCLEUS_COLOR,
        "vector_style": "arrow",
        "opacity": 0.9,
        "metadata": {"elephant_role": LAYER_NAME, "summary": view.summary()},
    }
    return np.concatenate([ours, field]), kwargs


class MotionOverlay:
    """Shows the motion layer while on, following the dims slider."""

    def __init__(self, jobs: Any) -> None:
        self.jobs = jobs
        self.session = jobs.session
        self.on = False
        self._shown_t: int | None = None

    def set_enabled(self, on: bool) -> None:
        """Start (at the current timepoint) or stop showing the motion."""
        if on == self.on:
            return
        self.on = on
        steps = self.session.viewer.dims.events.current_step
        if on:
            steps.connect(self._on_dims)
            self.refresh()
        else:
            steps.disconnect(self._on_dims)
            self._shown_t = None
            self.remove()

    def _on_dims(self, _event: Any = None) -> None:
        if current_t(self.session.viewer) != self._shown_t:
            self.refresh()

    def refresh(self) -> None:
        """Compute the current timepoint's arrows (a job when the flow model is asked)."""
        ws = self.session.workspace
        if ws is None:
            return
        t = self._shown_t = current_t(self.session.viewer)
        try:
            if has_flow_model(ws) and t >= 1:
                self.jobs.runner.submit(self._flow_job(ws, t), queue=True)
            else:
                self.show(linked_motion(ws.graph, t), ws)
        except ElephantError as error:
            self.remove()
            self.jobs.runner.notify(str(error))

    def _flow_job(self, ws: Workspace, t: int) -> Job:
        nuclei = shown_nuclei(ws.graph, t)  # read here, on the GUI thread
        step = nucleus_scale(ws.graph, t)

        def engine(device: Any, stop: Any):
            return flow_motion(ws, device, t, nuclei, step)
            yield  # a generator without progress records

        def result(view: MotionView) -> str:
            if self.on and self.session.workspace is ws:
                self.show(view, ws)
            return view.summary()

        return Job("motion", on_device(ws, engine), {"t": t}, key=MOTION_KEY, on_result=result)

    def show(self, view: MotionView, ws: Workspace) -> None:
        """Draw ``view`` into the motion layer (added when missing)."""
        data, kwargs = motion_layer_data(view, ws.voxel_size)
        layer = self.layer()
        if layer is None:
            self.session.viewer.add_vectors(data, **kwargs)
            return
        layer.data = data
        layer.edge_color = kwargs["edge_color"]
        layer.metadata.update(kwargs["metadata"])

    def layer(self) -> Any:
        return next((ly for ly in self.session.viewer.layers if ly.name == LAYER_NAME), None)

    def remove(self) -> None:
        layer = self.layer()
        if layer is not None:
            self.session.viewer.layers.remove(layer)
