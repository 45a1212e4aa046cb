"""Nuclei of the microscopy-like synthetic movies: their looks, motion and mitoses.

A nucleus lives through interphase and the mitotic phases that detection
must learn: prophase (condensed, speckled, brighter), metaphase plate (a
bright flat disk, a rod seen side-on), anaphase (two thin bright rods moving
apart: the daughters) and telophase (two small bright daughters), then
interphase again.  The truth of a nucleus is always the ellipsoid fitted to
the body that is drawn (:func:`truth`), whatever its phase.

Coordinates are µm, (z, y, x) in stacks and (y, x) in 2D movies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial.transform import Rotation

from napari_elephant.core.synthetic_micro_render import (
    Body,
    Outline,
    interior_map,
    outline_moments,
    random_outline,
)

if TYPE_CHECKING:
    from napari_elephant.core.synthetic_micro_style import MicroscopyStyle

INTER, PRO, PLATE, ANA, TELO = range(5)
_DAUGHTER = 2 ** (-1 / 3)  # radius of a daughter that has half the volume


@dataclass
class Cell:
    """State of one living nucleus; the body is rebuilt from it at every timepoint."""

    pos: np.ndarray  # (d,) µm, centre of the base ellipsoid
    rot: np.ndarray  # (d, d); the last column is the spindle axis of a mitosis
    radius: float  # interphase equal-volume radius, µm
    target: float  # radius it grows towards
    shape: np.ndarray  # (d,) interphase semi-axis factors, product 1
    bright: float  # interphase brightness, grey levels
    outline: Outline
    interior: np.ndarray
    speckle: float  # log-std of the fine chromatin texture
    rim: float  # extra brightness at the envelope
    moments: tuple[np.ndarray, np.ndarray]  # outline_moments of the outline
    phase: int = INTER
    age: int = 0  # timepoints in this phase
    velocity: np.ndarray | None = None  # daughters moving apart, µm per timepoint
    node: int = -1  # graph id at the previous timepoint


# ---------------------------------------------------------------- looks
def _nucleoli(
    rng: np.random.Generator, style: MicroscopyStyle
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Dark nucleoli, round in µm (so taller in the unit frame of a flat nucleus), off centre."""
    holes = []
    for _ in range(int(rng.integers(0, style.nucleoli + 1))):
        size = rng.uniform(0.18, 0.35)
        radii, where = np.full(style.ndim, size), np.zeros(style.ndim)
        lateral = rng.normal(size=2)
        where[-2:] = lateral * rng.uniform(size + 0.08, 0.7) / np.linalg.norm(lateral)
        if style.ndim == 3:
            radii[0] = min(size / style.flatness, 0.7)
            where[0] = rng.uniform(-0.3, 0.3)
        holes.append((where, radii, style.nucleolus_depth * rng.uniform(0.7, 1.0)))
    return holes


Look = tuple[Outline, np.ndarray, float, float]  # outline, interior map, speckle, rim


def _interphase_look(rng: np.random.Generator, style: MicroscopyStyle) -> Look:
    """Mildly lobed outline, nucleoli; about half the nuclei smooth, the others
    speckled with a bright rim (chromatin differs with the cell-cycle stage)."""
    outline = random_outline(rng, style.ndim, style.irregularity, 4, (2.0, 8.0))
    holes = _nucleoli(rng, style)
    speckled = rng.random() < 0.5
    speckle = style.texture * (rng.uniform(0.7, 1.3) if speckled else rng.uniform(0.1, 0.35))
    rim = style.rim * rng.uniform(0.5, 1.0) if speckled else 0.0
    interior = interior_map(rng, style.ndim, 0.5 * speckle, 0.3, holes)
    return outline, interior, speckle, rim


def _mitotic_look(rng: np.random.Generator, style: MicroscopyStyle) -> Look:
    """Ragged outline and high-contrast speckle: condensed chromosomes."""
    outline = random_outline(rng, style.ndim, 0.15, 4, (4.0, 10.0))
    return outline, interior_map(rng, style.ndim, 0.5, 0.2, []), 0.7, 0.0


def _set_look(cell: Cell, look: Look) -> None:
    """Change outline and interior (and so the fitted moments) at a phase change."""
    cell.outline, cell.interior, cell.speckle, cell.rim = look
    cell.moments = outline_moments(cell.outline, len(cell.pos))


def _rotation(rng: np.random.Generator, style: MicroscopyStyle) -> np.ndarray:
    """Flat nuclei (adherent cells) lie in yx with a slight tilt; round ones turn freely."""
    if style.ndim == 2:
        a = rng.uniform(0, 2 * np.pi)
        return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    if style.flatness >= 0.9:
        return Rotation.from_quat(rng.normal(size=4)).as_matrix()
    a = rng.uniform(0, 2 * np.pi)
    yaw = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    return Rotation.from_rotvec(rng.normal(0, 0.12, 3)).as_matrix() @ yaw


def _shape(rng: np.random.Generator, style: MicroscopyStyle) -> np.ndarray:
    """Semi-axis factors (product 1): lateral elongation, z flattening in stacks."""
    e = np.exp(rng.uniform(0, np.log(style.elongation)) / 2)
    if style.ndim == 2:
        return np.array([e, 1 / e])
    f = style.flatness
    return np.array([f, e, 1 / e]) / f ** (1 / 3)


def draw_radius(rng: np.random.Generator, style: MicroscopyStyle) -> float:
    """Equal-volume radii: log-normal around the style's mean, within ±1.5 spreads."""
    z = np.clip(rng.normal(), -1.5, 1.5)
    return float(style.radius * np.exp(style.radius_spread * z))


def new_cell(rng: np.random.Generator, style: MicroscopyStyle, pos: np.ndarray, r: float) -> Cell:
    """An interphase nucleus, or with ``mitosis_fraction`` chance one already in mitosis."""
    mitotic = rng.random() < style.mitosis_fraction
    outline, interior, speckle, rim = (_mitotic_look if mitotic else _interphase_look)(rng, style)
    half = np.log(style.brightness_range) / 2
    return Cell(
        pos=np.asarray(pos, dtype=np.float64),
        rot=_rotation(rng, style),
        radius=float(r),
        target=float(r),
        shape=_shape(rng, style),
        bright=style.signal * float(np.exp(rng.uniform(-half, half))),
        outline=outline,
        interior=interior,
        speckle=speckle,
        rim=rim,
        moments=outline_moments(outline, style.ndim),
        phase=(PRO if rng.random() < 0.4 else PLATE) if mitotic else INTER,
        age=int(rng.integers(0, 3)),
    )


# ---------------------------------------------------------------- truth
def pose(cell: Cell, style: MicroscopyStyle) -> tuple[np.ndarray, float]:
    """Semi-axes (µm, nucleus frame) and brightness factor of the current phase."""
    d, m = len(cell.pos), style.mitosis_brightness
    if cell.phase == INTER:
        return cell.radius * cell.shape, 1.0
    if cell.phase == PRO:
        return 0.85 * cell.radius * np.sqrt(cell.shape), 1.3
    if cell.phase == TELO:
        return 0.8 * cell.radius * cell.shape**0.3, (1 + m) / 2
    plate = (0.75, 0.8, 0.24) if cell.phase == PLATE else (0.6, 0.7, 0.2)
    return cell.radius * np.asarray(plate[3 - d :]), m


def frame_of(cell: Cell, style: MicroscopyStyle) -> np.ndarray:
    """Unit coordinates -> µm (rotation times semi-axes)."""
    return cell.rot * pose(cell, style)[0][None, :]


def truth(cell: Cell, style: MicroscopyStyle) -> tuple[np.ndarray, np.ndarray]:
    """Centre (µm) and covariance (µm², ``(x-c)ᵀ cov⁻¹ (x-c) ≤ 1``) fitted to the body."""
    frame = frame_of(cell, style)
    mean, cov = cell.moments
    d = len(cell.pos)
    return cell.pos + frame @ mean, (d + 2) * frame @ cov @ frame.T


def body(cell: Cell, style: MicroscopyStyle, value: float) -> Body:
    """What to draw of a cell, at brightness ``value``."""
    frame = frame_of(cell, style)
    return Body(cell.pos, frame, cell.outline, cell.interior, value, cell.speckle, cell.rim)


def brightness(cell: Cell, style: MicroscopyStyle) -> float:
    """Brightness of the current phase (condensed chromatin is brighter)."""
    return cell.bright * pose(cell, style)[1]


# ---------------------------------------------------------------- space
def _metric(style: MicroscopyStyle) -> np.ndarray:
    """Per-axis weights of distances: flat nuclei pack closer in z; thin stacks hold one layer."""
    w = np.ones(style.ndim)
    if style.ndim == 3:
        w[0] = 0.0 if style.is_thin else 1 / style.flatness ** (2 / 3)
    return w


def place(rng: np.random.Generator, style: MicroscopyStyle, extent: np.ndarray) -> list[Cell]:
    """Dart throwing: centres uniform in the field, ``spacing × (r_i + r_j)`` apart."""
    w = _metric(style)
    pos: list[np.ndarray] = []
    radii: list[float] = []
    for _ in range(60 * style.n_nuclei):
        if len(pos) == style.n_nuclei:
            break
        c, r = rng.uniform(0, extent), draw_radius(rng, style)
        if pos:
            dist = np.linalg.norm((np.asarray(pos) - c) * w, axis=1)
            if np.any(dist < style.spacing * (np.asarray(radii) + r)):
                continue
        pos.append(c)
        radii.append(r)
    cells = [new_cell(rng, style, c, r) for c, r in zip(pos, radii, strict=True)]
    return _clamp(cells, style, extent, lateral=True)


def _clamp(
    cells: list[Cell], style: MicroscopyStyle, extent: np.ndarray, lateral: bool
) -> list[Cell]:
    """Keep the truth centres inside the stack (z) and, with ``lateral``, inside the
    field (yx); otherwise a nucleus whose centre left the field ends its track."""
    axes = slice(0, style.ndim if lateral else style.ndim - 2)  # z of a stack is axis 0
    kept = []
    for cell in cells:
        shift = truth(cell, style)[0] - cell.pos  # lobes move the fitted centre a little
        cell.pos[axes] = np.clip(cell.pos[axes] + shift[axes], 0, extent[axes]) - shift[axes]
        centre = cell.pos + shift
        if np.all((centre >= -1e-9) & (centre <= extent + 1e-9)):
            kept.append(cell)
    return kept


def relax(cells: list[Cell], style: MicroscopyStyle, extent: np.ndarray) -> None:
    """Push apart nuclei closer than ``spacing × (r_i + r_j)`` (a few Jacobi rounds)."""
    if len(cells) < 2:
        return
    w = _metric(style)
    pos = np.array([c.pos for c in cells]) * w
    radii = np.array([c.radius for c in cells])
    need = style.spacing * (radii[:, None] + radii[None, :])
    for _ in range(20):
        delta = pos[None, :, :] - pos[:, None, :]
        dist = np.linalg.norm(delta, axis=2) + np.eye(len(pos)) * 1e9
        short = np.clip(need - dist, 0, None)
        if short.max() < 1e-3:
            break
        push = (0.5 * short / np.maximum(dist, 1e-6))[..., None] * delta
        pos += push.sum(axis=0) / 2 - push.sum(axis=1) / 2
    pos[:, w > 0] /= w[w > 0]
    pos[:, w == 0] = np.array([c.pos for c in cells])[:, w == 0]
    for cell, p in zip(cells, pos, strict=True):
        cell.pos = p


# ------------------------------------------------------------- dynamics
def _divide(rng: np.random.Generator, style: MicroscopyStyle, mother: Cell) -> list[Cell]:
    """Two anaphase daughters on the spindle axis, moving apart."""
    axis = mother.rot[:, -1]
    daughters = []
    for sign in (1.0, -1.0):
        outline, interior, speckle, rim = _mitotic_look(rng, style)
        child = Cell(
            pos=mother.pos + sign * 0.45 * mother.radius * axis,
            rot=mother.rot.copy(),
            radius=mother.radius * _DAUGHTER,
            target=draw_radius(rng, style),
            shape=_shape(rng, style),
            bright=mother.bright * rng.uniform(0.85, 1.15),
            outline=outline,
            interior=interior,
            speckle=speckle,
            rim=rim,
            moments=outline_moments(outline, style.ndim),
            phase=ANA,
            velocity=sign * 0.35 * mother.radius * axis,
            node=mother.node,
        )
        daughters.append(child)
    return daughters


def _advance_phase(rng: np.random.Generator, style: MicroscopyStyle, cell: Cell) -> list[Cell]:
    """Phase transitions of one nucleus; a dividing plate returns its two daughters."""
    cell.age += 1
    go = rng.random()
    if cell.phase == INTER and cell.age >= 2 and go < style.mitosis_rate:
        cell.phase, cell.age = PRO, 0
        _set_look(cell, _mitotic_look(rng, style))
    elif cell.phase == PRO and cell.age >= 1 and go < 0.6:
        cell.phase, cell.age = PLATE, 0
    elif cell.phase == PLATE and cell.age >= 1 and go < 0.6:
        return _divide(rng, style, cell)
    elif cell.phase == ANA:
        cell.phase, cell.age = TELO, 0
    elif cell.phase == TELO and go < 0.5:
        cell.phase, cell.age, cell.velocity = INTER, 0, None
        _set_look(cell, _interphase_look(rng, style))
    return [cell]


def _move(rng: np.random.Generator, style: MicroscopyStyle, cell: Cell) -> None:
    """Random walk, separation of daughters, small turns, growth."""
    step = rng.normal(0, style.motion * cell.radius, len(cell.pos))
    if len(step) == 3:
        step[0] *= style.flatness ** (2 / 3)
    if cell.velocity is not None:
        step += cell.velocity
        cell.velocity = cell.velocity * 0.5
    cell.pos = cell.pos + step
    turn = rng.normal(0, 0.05, 3 if len(cell.pos) == 3 else 1)
    if len(cell.pos) == 3:
        cell.rot = Rotation.from_rotvec(turn).as_matrix() @ cell.rot
    else:
        c, s = np.cos(turn[0]), np.sin(turn[0])
        cell.rot = np.array([[c, -s], [s, c]]) @ cell.rot
    cell.radius += 0.15 * (cell.target - cell.radius)


def step(
    rng: np.random.Generator, style: MicroscopyStyle, cells: list[Cell], extent: np.ndarray
) -> list[Cell]:
    """Next timepoint: phases, divisions, motion; nuclei whose centre left the field end."""
    nxt: list[Cell] = []
    for cell in cells:
        for c in _advance_phase(rng, style, cell):
            _move(rng, style, c)
            nxt.append(c)
    relax(nxt, style, extent)
    return _clamp(nxt, style, extent, lateral=False)
