"""Seeded 3D+t fluorescent nucleus movies with exact ground truth.

They are the sample data, the test fixtures and the accuracy benchmarks of
detection and linking, so the ground truth must be *exactly* what was drawn:
every nucleus is an ellipsoid whose centre (µm) and covariance (µm², the
graph's convention ``(x - c)ᵀ cov⁻¹ (x - c) ≤ 1``) are stored in a
:class:`TrackingGraph` as accepted, manual annotations; links are parent →
child at t → t + 1, a division is a mother with two children.

The simulation draws from one child of ``np.random.default_rng(seed)`` and
the camera noise from another, so changing a noise setting keeps the
geometry (and the ground truth) of a seed.  The presets (what a movie looks
like) are in :mod:`~.synthetic_presets`, the imaging in :mod:`~.synthetic_render`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Link, Nucleus, Origin, Status, TrackingGraph, cov_to_six
from napari_elephant.core.synthetic_presets import SyntheticPreset, resolve_preset
from napari_elephant.core.synthetic_render import FrameTruth, Optics, render_movie
from napari_elephant.core.units import VoxelSize


@dataclass(frozen=True)
class SyntheticMovie:
    """A rendered movie and the exact ground truth it was drawn from."""

    image: np.ndarray  # uint16, (T, Z, Y, X)
    voxel_size: VoxelSize
    graph: TrackingGraph
    preset: SyntheticPreset
    seed: int


# ------------------------------------------------------------------ state
@dataclass
class _Cells:
    """Structure-of-arrays state of the living nuclei at one timepoint."""

    pos: np.ndarray  # (n, 3) µm
    rot: np.ndarray  # (n, 3, 3) orientation
    shape: np.ndarray  # (n, 3) log semi-axis factors, summing to 0
    radius: np.ndarray  # (n,) equal-volume radius, µm
    target: np.ndarray  # (n,) radius the nucleus grows towards
    bright: np.ndarray  # (n,) base intensity
    age: np.ndarray  # (n,) timepoints since birth
    node: np.ndarray  # (n,) graph id at the previous timepoint (-1 = none)

    def take(self, index: np.ndarray) -> _Cells:
        return _Cells(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def __len__(self) -> int:
        return len(self.pos)


def _concat(a: _Cells, b: _Cells) -> _Cells:
    return _Cells(
        **{f.name: np.concatenate([getattr(a, f.name), getattr(b, f.name)]) for f in fields(a)}
    )


def _random_shapes(rng: np.random.Generator, n: int, elongation: float) -> np.ndarray:
    """Log semi-axis factors: longest/shortest ≤ elongation, volume-neutral."""
    span = rng.uniform(0.0, np.log(elongation), n)
    logs = np.stack([np.zeros(n), rng.uniform(0.0, 1.0, n) * span, span], axis=1)
    return logs - logs.mean(axis=1, keepdims=True)


def _covariances(cells: _Cells) -> np.ndarray:
    """(n, 3, 3) µm²: R diag(a²) Rᵀ with semi-axes a = radius · exp(shape)."""
    axes2 = (cells.radius[:, None] * np.exp(cells.shape)) ** 2
    return np.einsum("nij,nj,nkj->nik", cells.rot, axes2, cells.rot)


def _place(rng: np.random.Generator, p: SyntheticPreset) -> np.ndarray:
    """Initial centres by dart throwing: uniform, resampled when closer than min_spacing."""
    extent = p.extent
    inset = np.minimum([p.radius_range[0] / 2, *[p.radius_range[0]] * 2], extent / 2)
    candidates = rng.uniform(inset, extent - inset, size=(max(200, 60 * p.n_initial), 3))
    kept: list[np.ndarray] = []
    for c in candidates:
        if len(kept) == p.n_initial:
            break
        if not kept or np.min(np.linalg.norm(np.asarray(kept) - c, axis=1)) >= p.min_spacing:
            kept.append(c)
    if len(kept) < p.n_initial:
        raise InvalidInputError(
            f"synthetic preset too crowded: placed {len(kept)} of {p.n_initial} nuclei "
            f"{p.min_spacing} µm apart; lower n_initial or min_spacing"
        )
    return np.asarray(kept, dtype=np.float64).reshape(-1, 3)


def _initial_cells(rng: np.random.Generator, p: SyntheticPreset) -> _Cells:
    pos = _place(rng, p)
    n = len(pos)
    radius = rng.uniform(*p.radius_range, n)
    return _Cells(
        pos=pos,
        rot=Rotation.from_quat(rng.normal(size=(n, 4))).as_matrix().reshape(n, 3, 3),
        shape=_random_shapes(rng, n, p.elongation),
        radius=radius,
        target=radius.copy(),
        bright=p.intensity_mean * np.clip(1 + p.intensity_spread * rng.normal(size=n), 0.2, None),
        age=rng.integers(0, p.min_cycle + 1, n),
        node=np.full(n, -1, dtype=np.int64),
    )


# ------------------------------------------------------------- dynamics
def _collective_motion(pos: np.ndarray, p: SyntheticPreset) -> np.ndarray:
    """Drift + rotation about z + yx expansion, around the volume centre."""
    centre = p.extent / 2
    rel = pos - centre
    cos, sin = np.cos(p.rotation), np.sin(p.rotation)
    y = (cos * rel[:, 1] - sin * rel[:, 2]) * (1 + p.expansion)
    x = (sin * rel[:, 1] + cos * rel[:, 2]) * (1 + p.expansion)
    return np.stack([rel[:, 0], y, x], axis=1) + centre + np.asarray(p.drift)


def _perturb(rot: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Rotate each orientation by a small random rotation (std sigma radians)."""
    if sigma == 0 or len(rot) == 0:
        return rot
    kick = Rotation.from_rotvec(rng.normal(0.0, sigma, size=(len(rot), 3))).as_matrix()
    return np.einsum("nij,njk->nik", kick.reshape(-1, 3, 3), rot)


def _divide(mothers: _Cells, p: SyntheticPreset, rng: np.random.Generator) -> _Cells:
    """Two daughters per mother, flung apart along a random axis, smaller and young."""
    n = len(mothers)
    axis = rng.normal(size=(n, 3))
    axis /= np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1e-12)
    offset = axis * (p.daughter_separation / 2)
    both = mothers.take(np.concatenate([np.arange(n), np.arange(n)]))
    both.pos = both.pos + np.concatenate([offset, -offset])
    both.rot = _perturb(both.rot, 0.1, rng)
    both.radius = both.radius * p.daughter_volume ** (1 / 3)
    both.target = rng.uniform(*p.radius_range, 2 * n)
    both.age = np.zeros(2 * n, dtype=both.age.dtype)
    return both


def _bounce_z(pos: np.ndarray, z_max: float) -> np.ndarray:
    """Reflect centres at the first and last z slice (the stack is thin)."""
    z = np.abs(pos[:, 0])
    z = np.where(z > z_max, 2 * z_max - z, z)
    pos[:, 0] = np.clip(z, 0.0, z_max)
    return pos


def _relax(pos: np.ndarray, p: SyntheticPreset, rng: np.random.Generator) -> np.ndarray:
    """Push apart pairs closer than min_spacing (a few Jacobi rounds)."""
    z_max = p.extent[0]
    for _ in range(30):
        pairs = cKDTree(pos).query_pairs(p.min_spacing, output_type="ndarray")
        if len(pairs) == 0:
            break
        delta = pos[pairs[:, 1]] - pos[pairs[:, 0]]
        dist = np.linalg.norm(delta, axis=1, keepdims=True)
        tiny = dist[:, 0] < 1e-9
        delta[tiny] = rng.normal(size=(int(tiny.sum()), 3))
        unit = delta / np.linalg.norm(delta, axis=1, keepdims=True)
        push = unit * (0.55 * (p.min_spacing - dist))
        shift = np.zeros_like(pos)
        np.add.at(shift, pairs[:, 0], -push)
        np.add.at(shift, pairs[:, 1], push)
        pos = _bounce_z(pos + shift, z_max)
    return pos


def _step(cells: _Cells, p: SyntheticPreset, rng: np.random.Generator) -> _Cells:
    """Advance one timepoint: divide, move, grow, keep apart, drop those that left."""
    n = len(cells)
    dividing = (cells.age >= p.min_cycle) & (rng.random(n) < p.division_prob)
    moved = cells.take(np.arange(n))
    moved.pos = _collective_motion(cells.pos, p) + rng.normal(0.0, p.jitter, size=(n, 3))
    moved.rot = _perturb(cells.rot, p.orientation_drift, rng)
    moved.radius = cells.radius + p.growth_rate * (cells.target - cells.radius)
    moved.age = cells.age + 1
    nxt = _concat(moved.take(~dividing), _divide(moved.take(dividing), p, rng))
    nxt.pos = _relax(_bounce_z(nxt.pos, p.extent[0]), p, rng)
    inside = np.all((nxt.pos[:, 1:] >= 0) & (nxt.pos[:, 1:] <= p.extent[1:]), axis=1)
    return nxt.take(inside)


# ----------------------------------------------------------- simulation
def simulate(
    preset: SyntheticPreset, rng: np.random.Generator
) -> tuple[TrackingGraph, list[FrameTruth]]:
    """Ground-truth lineage and per-timepoint ellipsoids (no image)."""
    nuclei: list[Nucleus] = []
    links: list[Link] = []
    frames: list[FrameTruth] = []
    cells = _initial_cells(rng, preset)
    frame_factor = 1 + preset.frame_jitter * rng.normal(size=preset.shape[0])
    for t in range(preset.shape[0]):
        if t > 0:
            cells = _step(cells, preset, rng)
        ids = np.arange(len(nuclei) + 1, len(nuclei) + 1 + len(cells))
        covs = _covariances(cells)
        nuclei += [
            truth_nucleus(int(i), t, c, m) for i, c, m in zip(ids, cells.pos, covs, strict=True)
        ]
        links += [Link(int(a), int(b)) for a, b in zip(cells.node, ids, strict=True) if a >= 0]
        jitter = 1 + preset.intensity_jitter * rng.normal(size=len(cells))
        scale = (1 - preset.bleaching) ** t * frame_factor[t]
        frames.append(
            FrameTruth(cells.pos.copy(), covs, np.maximum(cells.bright * jitter * scale, 0))
        )
        cells.node = ids
    return TrackingGraph.from_records(nuclei, links), frames


def truth_nucleus(nid: int, t: int, center: np.ndarray, cov: np.ndarray) -> Nucleus:
    """A ground-truth nucleus (SPD by construction, so no re-validation)."""
    return Nucleus(
        id=nid,
        t=t,
        center=(float(center[0]), float(center[1]), float(center[2])),
        cov=cov_to_six(cov),
        status=Status.ACCEPTED,
        origin=Origin.MANUAL,
    )


def generate(
    preset: str | SyntheticPreset = "default", seed: int = 0, **overrides: object
) -> SyntheticMovie:
    """Simulate and render a movie; the same (preset, seed, overrides) gives the same movie."""
    p = resolve_preset(preset, **overrides)
    sim_rng, noise_rng = np.random.default_rng(seed).spawn(2)
    graph, frames = simulate(p, sim_rng)
    gain = None if p.photons is None else p.intensity_mean / p.photons  # grey levels/photon
    optics = Optics(
        p.voxels, p.edge_width, p.blur_sigma, p.depth_attenuation, p.background, gain, p.read_noise
    )
    image = render_movie(p.shape, frames, optics, noise_rng)
    return SyntheticMovie(image=image, voxel_size=p.voxels, graph=graph, preset=p, seed=seed)


def ground_truth(
    preset: str | SyntheticPreset = "default", seed: int = 0, **overrides: object
) -> TrackingGraph:
    """Only the lineage of :func:`generate` (same seed → same graph), without rendering."""
    sim_rng, _ = np.random.default_rng(seed).spawn(2)
    return simulate(resolve_preset(preset, **overrides), sim_rng)[0]


# -------------------------------------------------------------- summaries
def ground_truth_counts(movie: SyntheticMovie | TrackingGraph) -> dict[str, int]:
    """Numbers of nuclei, lineage links and divisions (mothers with two children);
    rejected links, which are no lineage, are left out."""
    graph = movie.graph if isinstance(movie, SyntheticMovie) else movie
    kids = [len(graph.children(n)) for n in graph.nx_graph]
    return {"nuclei": len(graph), "links": sum(kids), "divisions": kids.count(2)}


def motion_stats(movie: SyntheticMovie | TrackingGraph) -> dict[str, float]:
    """How hard linking is: displacement per timepoint against the spacing of nuclei.

    ``displacement``: mean length (µm) of the links that are not divisions;
    ``nn_distance``: mean distance (µm) from a nucleus to its nearest neighbour
    at the same timepoint; ``ratio``: their quotient; ``nn_miss``: fraction of
    those links whose child is *not* the nucleus at t + 1 nearest to the parent
    (what plain nearest-neighbour linking gets wrong, divisions aside).
    """
    graph = movie.graph if isinstance(movie, SyntheticMovie) else movie
    only = ((p, graph.children(p)) for p in graph.nx_graph)
    pairs = [(graph.nucleus(p), graph.nucleus(k[0])) for p, k in only if len(k) == 1]
    steps = [np.linalg.norm(np.subtract(c.center, p.center)) for p, c in pairs]
    misses = [graph.nearest(c.t, p.center) != c.id for p, c in pairs]
    nn: list[float] = []
    for t in graph.timepoints():
        centers = graph.centers_at(t)[1]
        if len(centers) > 1:
            nn += cKDTree(centers).query(centers, k=2)[0][:, 1].tolist()
    displacement = float(np.mean(steps)) if steps else 0.0
    spacing = float(np.mean(nn)) if nn else float("nan")
    return {
        "displacement": displacement,
        "nn_distance": spacing,
        "ratio": displacement / spacing,
        "nn_miss": float(np.mean(misses)) if misses else 0.0,
    }
