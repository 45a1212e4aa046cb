"""Nuclei must lie in the movie they are imported into.

A nucleus at t = 19 of a one-timepoint movie, or centred 2 mm off its
side, is a wrong file or a wrong voxel size, never an annotation: no
layer shows it, no network trains on it, and it would sit in the lineage
unseen.  An import checks every nucleus first and refuses the file in one
line, before anything is added.  A centre may lie up to one voxel past the
outermost voxel's centre (a nucleus cut by the image side); z is not
checked in a 2D movie (its nuclei are brought into its plane).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Nucleus
from napari_elephant.core.units import VoxelSize

SLACK_VOXELS = 1.0  # how far past the outermost voxel centre a nucleus centre may lie


def outside(
    nuclei: Iterable[Nucleus], n_timepoints: int, shape_zyx: tuple[int, int, int], voxel: VoxelSize
) -> list[Nucleus]:
    """The nuclei whose timepoint or centre lies outside a movie of that size."""
    nuclei = list(nuclei)
    if not nuclei:
        return []
    t = np.array([n.t for n in nuclei])
    c = np.array([n.center for n in nuclei], np.float64).reshape(-1, 3)
    step = np.array([voxel.z, voxel.y, voxel.x])
    low, high = -SLACK_VOXELS * step, (np.array(shape_zyx) - 1 + SLACK_VOXELS) * step
    off = (c < low) | (c > high)
    if shape_zyx[0] == 1:
        off[:, 0] = False
    bad = (t < 0) | (t >= n_timepoints) | off.any(axis=1)
    return [n for n, b in zip(nuclei, bad.tolist(), strict=True) if b]


def require_inside(
    nuclei: Iterable[Nucleus],
    n_timepoints: int,
    shape_zyx: tuple[int, int, int],
    voxel: VoxelSize,
    source: Path,
) -> None:
    """A one-line error naming the first nucleus outside the movie, if any is."""
    bad = outside(nuclei, n_timepoints, shape_zyx, voxel)
    if not bad:
        return
    n = bad[0]
    sizes = zip(shape_zyx, (voxel.z, voxel.y, voxel.x), strict=True)
    extent = " × ".join(f"{s * v:g}" for s, v in sizes)
    where = ", ".join(f"{v:g}" for v in n.center)
    raise InvalidInputError(
        f"{source}: {len(bad)} nuclei lie outside the movie (timepoints 0–{n_timepoints - 1}, "
        f"{extent} µm), e.g. id {n.id} at t = {n.t}, centre ({where}) µm — wrong file or "
        "voxel size? Nothing was imported"
    )
