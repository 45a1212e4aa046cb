"""From the network's probabilities to nuclei as ellipsoids (paper, post-processing).

1. :func:`denoise_center` — the *nucleus centre* probability minus the edges
   of the *background* probability (Gaussian filter, then the Prewitt
   operator, on each z-slice), so that a thin band of background between two
   touching nuclei cuts their centres apart.
2. :func:`extract_nuclei` — threshold, 26-connected components (as ELEPHANT,
   whose labelling uses full connectivity), an ellipsoid per component from
   its second central moments in µm, enlarged by ``1 / center_ratio`` (the
   labels drew centres as the nucleus shrunk by ``center_ratio``), dropped
   when its lateral radius is below ``r_min``, semi-axes clamped to
   ``r_max``.
3. :func:`suppress` — of two nuclei closer than ``d_sup`` the human
   annotation wins, then the larger volume.

Moments: a uniform solid ellipsoid ``(x-c)ᵀ Σ⁻¹ (x-c) ≤ 1`` has second
moment Σ/5, so Σ = 5 × (moment covariance).  Each voxel is counted as the
cube it samples (variance s²/12 per axis added), which makes the estimate
right for coarse z sampling and gives a valid ellipsoid for a single voxel.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from napari_elephant.core.detection.labels import BACKGROUND, CENTER, PERIPHERY
from napari_elephant.core.ellipsoid import flat_cov, lateral_radius
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.params import DetectionParams
from napari_elephant.core.units import VoxelSize

EDGE_SIGMA = 3.0  # voxels, in-plane Gaussian before the Prewitt operator (ELEPHANT's value)
SOLID_ELLIPSOID_FACTOR = 5.0  # Σ / (second moment) for a uniform solid ellipsoid
CONNECTIVITY = np.ones((3, 3, 3), dtype=bool)  # 26-connectivity


@dataclass(frozen=True, eq=False)
class Ellipsoid:
    """A detected nucleus: centre (z, y, x) µm, covariance µm², score, volume µm³.

    ``score`` is the mean (raw) centre probability over the component;
    ``confidence`` (in [0, 1], None when unknown) is :func:`region_confidence`.
    """

    center: np.ndarray
    cov: np.ndarray
    score: float
    volume: float
    confidence: float | None = None

    @property
    def radius(self) -> float:
        """Radius of the sphere of equal volume (µm)."""
        return float(np.linalg.det(self.cov) ** (1.0 / 6.0))


def flatten_ellipsoids(found: list[Ellipsoid]) -> list[Ellipsoid]:
    """Detections of a 2D movie as 2D nuclei: z = 0, no z coupling, and cov_zz the
    product of the ellipse's semi-axes (so the equal-volume radius is their
    geometric mean), the graph's convention for 2D."""
    out = []
    for e in found:
        flat = flat_cov(np.asarray(e.cov, dtype=np.float64)[1:, 1:])
        center = np.array([0.0, e.center[1], e.center[2]])
        out.append(Ellipsoid(center, flat, e.score, float(np.pi * flat[0, 0]), e.confidence))
    return out


# ----------------------------------------------------------------- denoising
def denoise_center(probs: np.ndarray, sigma: float = EDGE_SIGMA) -> np.ndarray:
    """Centre probability minus the background's edges, per z-slice, in [0, 1].

    Edges are the Prewitt gradient magnitude of the Gaussian-smoothed
    background, scaled so that a full 0 → 1 background step gives 1.
    ELEPHANT scales by each slice's maximum instead; that is the same in a
    slice holding a crisp nucleus boundary, but would blow noise up to 1 in
    a slice without one (say one lying inside a large nucleus).
    """
    _check_probs(probs)
    center = probs[CENTER]
    out = np.empty(center.shape, dtype=np.float32)
    scale = _step_response(float(sigma))
    for z in range(center.shape[0]):
        edges = _edge_magnitude(np.asarray(probs[BACKGROUND, z], dtype=np.float32), sigma)
        np.clip(center[z] - edges / scale, 0.0, 1.0, out=out[z])
    return out


def _edge_magnitude(image: np.ndarray, sigma: float) -> np.ndarray:
    """Prewitt gradient magnitude of a Gaussian-smoothed 2-D image."""
    smooth = ndimage.gaussian_filter(image, sigma, mode="nearest") if sigma > 0 else image
    diff, avg = np.array([-1.0, 0.0, 1.0]), np.ones(3)
    gy = ndimage.correlate1d(ndimage.correlate1d(smooth, diff, 0, mode="nearest"), avg, 1)
    gx = ndimage.correlate1d(ndimage.correlate1d(smooth, diff, 1, mode="nearest"), avg, 0)
    return np.hypot(gy, gx)


@lru_cache(maxsize=8)
def _step_response(sigma: float) -> float:
    """Largest edge magnitude of an ideal unit step (the scale of a 'full' edge)."""
    n = int(8 * sigma) + 8
    step = np.zeros((n, 2 * n), dtype=np.float32)
    step[:, n:] = 1.0
    return float(_edge_magnitude(step, sigma).max())


def _check_probs(probs: np.ndarray) -> None:
    if probs.ndim != 4 or probs.shape[0] <= max(BACKGROUND, CENTER):
        raise InvalidInputError(
            f"probabilities must be (classes, z, y, x) with background and centre, "
            f"got shape {probs.shape}"
        )


# ---------------------------------------------------------------- extraction
def extract_nuclei(
    probs: np.ndarray,
    voxel_size: VoxelSize,
    params: DetectionParams,
    origin_um: Sequence[float] = (0.0, 0.0, 0.0),
    denoise: bool = True,
    edge_sigma: float = EDGE_SIGMA,
) -> list[Ellipsoid]:
    """Nuclei (ellipsoids in µm) from softmax probabilities (C, Z, Y, X).

    Voxel index i sits at ``origin_um + i × voxel_size`` (as in the labels).
    """
    _check_probs(probs)
    center = denoise_center(probs, edge_sigma) if denoise else probs[CENTER]
    labels, n = ndimage.label(center > params.center_threshold, structure=CONNECTIVITY)
    if n == 0:
        return []
    _counts, means, cov, score = component_moments(labels, n, voxel_size, probs[CENTER])
    cov = cov * (SOLID_ELLIPSOID_FACTOR / params.center_ratio**2)
    centers = means + np.asarray(origin_um, dtype=np.float64)
    keep = np.maximum(equal_volume_radius(cov), lateral_radius(cov)) >= params.r_min
    cov = clamp_radii(cov[keep], params.r_max)
    volumes = 4.0 / 3.0 * np.pi * np.sqrt(np.linalg.det(cov))
    conf = region_confidence(labels, n, probs)[keep]
    return [
        Ellipsoid(c, m, float(s), float(v), float(q))
        for c, m, s, v, q in zip(centers[keep], cov, score[keep], volumes, conf, strict=True)
    ]


def region_confidence(labels: np.ndarray, n: int, probs: np.ndarray) -> np.ndarray:
    """Per region 1..n, the mean centre-ness P(centre) + ½ P(periphery) (as
    :func:`~.peaks.centreness`), clipped to [0, 1]: a nucleus the network is sure
    of is bright in the centre-ness all over, a doubtful one is a weak blob."""
    coords = np.nonzero(labels)
    lab = labels[coords].astype(np.intp) - 1
    values = np.asarray(probs[CENTER])[coords] + 0.5 * np.asarray(probs[PERIPHERY])[coords]
    counts = np.bincount(lab, minlength=n)
    sums = np.bincount(lab, values.astype(np.float64), minlength=n)
    return np.clip(sums / np.maximum(counts, 1), 0.0, 1.0)


def component_moments(
    labels: np.ndarray, n: int, voxel_size: VoxelSize, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per component 1..n: voxel count, mean (µm), covariance (µm²), mean of ``values``.

    Sums by ``np.bincount`` over the foreground voxels only (two passes, so
    the covariance does not lose precision far from the origin); each voxel
    adds its own extent (s²/12 per axis).
    """
    coords = np.nonzero(labels)
    lab = labels[coords].astype(np.intp) - 1
    counts = np.bincount(lab, minlength=n).astype(np.float64)
    pos = [c * s for c, s in zip(coords, voxel_size.array, strict=True)]
    means = np.stack([np.bincount(lab, p, minlength=n) / counts for p in pos], axis=1)
    dev = [p - means[lab, k] for k, p in enumerate(pos)]
    cov = np.empty((n, 3, 3), dtype=np.float64)
    for a in range(3):
        for b in range(a, 3):
            cov[:, a, b] = cov[:, b, a] = np.bincount(lab, dev[a] * dev[b], minlength=n) / counts
    cov += np.diag(voxel_size.array**2 / 12.0)
    score = np.bincount(lab, np.asarray(values)[coords], minlength=n) / counts
    return counts, means, cov, score


def equal_volume_radius(cov: np.ndarray) -> np.ndarray:
    """Radius of the sphere with the volume of each ellipsoid (..., 3, 3) -> (...)."""
    return np.clip(np.linalg.det(cov), 0.0, None) ** (1.0 / 6.0)


def clamp_radii(cov: np.ndarray, r_max: float) -> np.ndarray:
    """Clip every semi-axis of ellipsoids (n, 3, 3) to ``r_max``, keeping the axes."""
    if len(cov) == 0:
        return cov
    w, v = np.linalg.eigh(cov)
    w = np.minimum(w, r_max**2)
    out = np.einsum("nij,nj,nkj->nik", v, w, v)
    return (out + np.swapaxes(out, 1, 2)) / 2.0


# ---------------------------------------------------------------- suppression
def suppress(
    candidates: Sequence[Ellipsoid],
    d_sup: float,
    protected_centers: Iterable[Sequence[float]] | np.ndarray = (),
) -> list[Ellipsoid]:
    """Candidates kept after ELEPHANT's suppression, in their original order.

    A candidate closer than ``d_sup`` (µm, centre to centre) to a protected
    centre (a human-validated nucleus) is dropped; then, of candidates closer
    than ``d_sup`` to each other, the larger volume (then the higher score)
    is kept.  Greedy, as non-maximum suppression: a dropped candidate drops
    no one else.
    """
    cands = list(candidates)
    if not cands or d_sup <= 0:
        return cands
    centers = np.array([c.center for c in cands], dtype=np.float64).reshape(-1, 3)
    alive = ~_near_any(centers, protected_centers, d_sup)
    volume = np.array([c.volume for c in cands])
    score = np.array([c.score for c in cands])
    order = np.lexsort((np.arange(len(cands)), -score, -volume))
    tree = cKDTree(centers)
    kept = np.zeros(len(cands), dtype=bool)
    for i in order:
        if not alive[i]:
            continue
        kept[i] = True
        near = np.asarray(tree.query_ball_point(centers[i], d_sup), dtype=np.intp)
        near = near[np.linalg.norm(centers[near] - centers[i], axis=1) < d_sup]
        alive[near] = False
    return [c for c, k in zip(cands, kept, strict=True) if k]


def _near_any(
    centers: np.ndarray, others: Iterable[Sequence[float]] | np.ndarray, d: float
) -> np.ndarray:
    """Which of ``centers`` lie closer than ``d`` to any of ``others``."""
    pts = np.asarray(others if isinstance(others, np.ndarray) else list(others), np.float64)
    if pts.size == 0:
        return np.zeros(len(centers), dtype=bool)
    dist, _ = cKDTree(pts.reshape(-1, 3)).query(centers, k=1)
    return dist < d
