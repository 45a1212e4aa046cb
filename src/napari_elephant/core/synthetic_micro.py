"""Synthetic nucleus movies that look like real fluorescence microscopy.

The clean movies of :mod:`~.synthetic` (smooth convex blobs of one size) are
not enough to train a detector that works on real data.  These movies vary
what real movies vary: nucleus size (2–15 µm) and sampling (3–20 px per
radius, z anisotropy 1–10, thin stacks and 2D+t), chromatin texture,
nucleoli, lobed outlines, dim and bright nuclei, mitoses (condensed,
plates, anaphase rods, small bright daughters), crowding, uneven background
and haze, anisotropic blur, shot and read noise, 8- and 16-bit cameras with
a baseline, bleaching and debris (which is not in the truth).

Everything random about a movie is a :class:`MicroscopyStyle`
(:mod:`~.synthetic_micro_style`; :func:`random_style` draws one);
:func:`generate_micro` renders it for a seed.

The truth of every nucleus is the ellipsoid fitted by moments to the
body that is drawn (see :mod:`~.synthetic_micro_render`), in µm, with the
graph's convention ``(x - c)ᵀ cov⁻¹ (x - c) ≤ 1``.  A 2D nucleus is an
ellipse at z = 0 with ``cov_zz = sqrt(det(cov_yx))`` and no z coupling.

Geometry and lineage come from one child of ``default_rng(seed)``, the
illumination and debris from another, the fine chromatin texture from a third
and the camera noise from a fourth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_elephant.core.ellipsoid import flat_cov
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Link, Nucleus, TrackingGraph
from napari_elephant.core.synthetic import SyntheticMovie, truth_nucleus
from napari_elephant.core.synthetic_micro_cells import Cell, body, brightness, place, step, truth
from napari_elephant.core.synthetic_micro_render import (
    Body,
    Outline,
    apply_optics,
    expose,
    fine_texture,
    illumination,
    render_signal,
)
from napari_elephant.core.synthetic_micro_style import MicroscopyStyle, random_style

__all__ = ["MicroscopyStyle", "generate_micro", "random_style"]


# ------------------------------------------------------------ generation
def generate_micro(style: MicroscopyStyle, seed: int, n_timepoints: int = 3) -> SyntheticMovie:
    """Simulate and render ``n_timepoints``; the same (style, seed) gives the same movie."""
    if not isinstance(style, MicroscopyStyle):
        raise InvalidInputError("generate_micro needs a MicroscopyStyle")
    if isinstance(n_timepoints, bool) or int(n_timepoints) != n_timepoints or n_timepoints < 1:
        raise InvalidInputError(f"n_timepoints must be a positive integer, got {n_timepoints}")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise InvalidInputError(f"seed must be a non-negative integer, got {seed}")
    sim_rng, scene_rng, texture_rng, noise_rng = np.random.default_rng(int(seed)).spawn(4)
    light = illumination(scene_rng, style.shape[1:], style.gradient)
    scene = _Scene(light, _debris(scene_rng, style), texture_rng, noise_rng)
    image = np.empty((int(n_timepoints), *style.shape), dtype=style.dtype)
    nuclei: list[Nucleus] = []
    links: list[Link] = []
    cells = place(sim_rng, style, style.extent)
    for t in range(int(n_timepoints)):
        if t > 0:
            cells = step(sim_rng, style, cells, style.extent)
        _record(cells, style, t, nuclei, links)
        jitter = 1 + 0.05 * sim_rng.normal(size=len(cells))
        image[t] = _frame(cells, jitter * (1 - style.bleaching) ** t, style, scene)
    graph = TrackingGraph.from_records(nuclei, links)
    # preset: the SyntheticMovie field is for the clean presets; these movies have a style
    return SyntheticMovie(
        image=image, voxel_size=style.voxels, graph=graph, preset=None, seed=int(seed)
    )


@dataclass(frozen=True)
class _Scene:
    """What stays over a movie: illumination, debris and the texture and camera streams."""

    light: np.ndarray
    specks: list[Body]
    texture_rng: np.random.Generator
    noise_rng: np.random.Generator


def _frame(
    cells: list[Cell], factors: np.ndarray, style: MicroscopyStyle, scene: _Scene
) -> np.ndarray:
    """One timepoint (Z, Y, X): bodies (brightness times ``factors``) -> optics -> camera."""
    shape = style.shape[3 - style.ndim :]
    voxel = np.asarray(style.voxel_size)[3 - style.ndim :]
    bodies = [
        body(c, style, brightness(c, style) * f) for c, f in zip(cells, factors, strict=True)
    ]
    fine = fine_texture(scene.texture_rng, shape, voxel, style.texture_grain * style.radius)
    overlap = "add" if style.ndim == 2 else "max"
    signal = render_signal(shape, bodies + scene.specks, voxel, overlap, fine)
    expected = apply_optics(signal, style, scene.light, style.radius / style.voxel_size[1])
    return expose(expected, style, scene.noise_rng).reshape(style.shape)


def _record(
    cells: list[Cell], style: MicroscopyStyle, t: int, nuclei: list[Nucleus], links: list[Link]
) -> None:
    """Truth of one timepoint; each cell then remembers its graph id for the next links."""
    for cell in cells:
        nid = len(nuclei) + 1
        centre, cov = truth(cell, style)
        if style.ndim == 2:
            centre, cov = np.array([0.0, *centre]), flat_cov(cov)
        nuclei.append(truth_nucleus(nid, t, centre, cov))
        if cell.node >= 0:
            links.append(Link(cell.node, nid))
        cell.node = nid


def _debris(rng: np.random.Generator, style: MicroscopyStyle) -> list[Body]:
    """Small bright specks (semi-axes 0.7–2 px), fixed in the field, not in the truth."""
    d = style.ndim
    voxel = np.asarray(style.voxel_size)[3 - d :]
    flat = np.ones((1,) * d, dtype=np.float32)
    specks = []
    for _ in range(style.debris):
        size = voxel[-1] * rng.uniform(0.7, 2.0) * np.ones(d)
        if d == 3:
            size[0] = max(size[0], 0.5 * voxel[0])
        frame = np.diag(size) * rng.uniform(0.7, 1.3, d)
        value = style.signal * rng.uniform(1.0, 4.0)
        outline = Outline(np.zeros((0, d)), np.zeros(0), np.zeros(0))
        specks.append(Body(rng.uniform(0, style.extent), frame, outline, flat, value))
    return specks
