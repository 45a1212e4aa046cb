"""The viewer's time, plane and camera, in world coordinates.

World coordinates are (t, z, y, x) in µm on the viewer's last four axes (the
layers' scale makes it so).  These few functions are the one place that reads
the current timepoint or the cursor from napari's dims, for every module that
needs them (the layer sync, the editor, the navigator, the jobs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import napari


def t_axis(viewer: napari.Viewer) -> int | None:
    """The time axis of the viewer (the fourth from last), None below 4D."""
    n = viewer.dims.ndim
    return n - 4 if n >= 4 else None


def current_t(viewer: napari.Viewer) -> int:
    axis = t_axis(viewer)
    return 0 if axis is None else round(float(viewer.dims.point[axis]))


def set_t(viewer: napari.Viewer, t: int) -> bool:
    """Show timepoint t; False (and nothing changes) when the movie has none."""
    axis = t_axis(viewer)
    if axis is None or not 0 <= t < viewer.dims.nsteps[axis]:
        return False
    viewer.dims.set_point(axis, float(t))
    return True


def cursor_world(viewer: napari.Viewer) -> np.ndarray:
    """The mouse position in world coordinates (t, z, y, x µm on the last axes)."""
    pos = np.asarray(viewer.cursor.position, dtype=np.float64)
    point = np.asarray(viewer.dims.point, dtype=np.float64)
    return pos if len(pos) == len(point) else point


def centre_on(viewer: napari.Viewer, t: int, center: Any) -> None:
    """Slice through a nucleus at timepoint t and centre the camera on it."""
    axis = t_axis(viewer)
    if axis is None:
        return
    world = dict(zip(range(axis, axis + 4), (float(t), *map(float, center)), strict=True))
    shown = list(viewer.dims.order[-viewer.dims.ndisplay :])
    hidden = [a for a in world if a not in shown]
    viewer.dims.set_point(hidden, [world[a] for a in hidden])
    cam = camera(viewer)
    current = list(cam.center)[-len(shown) :]
    cam.center = tuple(world.get(a, c) for a, c in zip(shown, current, strict=True))


def camera(viewer: napari.Viewer) -> Any:
    """The viewer's camera: ``viewer.scene.camera`` since napari 0.9 (``viewer.camera``,
    deprecated there, before)."""
    scene = getattr(viewer, "scene", None)
    return scene.camera if scene is not None else viewer.camera
