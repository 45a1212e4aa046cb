"""TrackMate's LoG spot detector in 3D (and 2D): the classical baseline of detection accuracy.

The recipe of TrackMate's Laplacian-of-Gaussian detector, on anisotropic voxels:

1. optional median filter, 3 × 3 in each z plane (TrackMate's ``MedianFilter2D``
   with radius 1, applied plane by plane to a stack);
2. LoG with the physical sigma ``radius / sqrt(d)`` (the blob radius the
   detector is tuned to; d = 3, or 2 for a 2D movie given as one z slice, as
   TrackMate divides by the image's dimensionality), i.e. ``sigma /
   voxel_size`` voxels per axis; the response is negated (bright blobs become
   maxima) and scale-normalised (``sigma² ∇²`` in µm, so that the numbers do
   not depend on the radius);
3. local maxima of the response in the 3 × 3 × 3 voxel neighbourhood; the
   quality of a spot is the response at its maximum;
4. sub-voxel refinement by a parabola through the maximum and its two
   neighbours along each axis (TrackMate refines by default);
5. of two spots closer than the radius, the one of lower quality is dropped
   (TrackMate's documented rule for its LoG-family detectors);
6. a threshold on the quality.

Step 6 is left to the caller: :func:`log_candidates` returns every candidate
with its quality once per timepoint, and :func:`best_threshold` sweeps the
threshold against the ground truth, the most favourable setting a user could
ever find for this baseline.  Greedy suppression in decreasing quality gives
the same survivors whether it runs before or after a quality threshold, so
thresholding the pruned candidates is exactly TrackMate's order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter, maximum_filter, median_filter
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from napari_elephant.core.graph import TrackingGraph
from napari_elephant.core.metrics import Scores
from napari_elephant.core.units import VoxelSize

Candidates = tuple[np.ndarray, np.ndarray]  # centres (n, 3) µm, quality (n,)
_FAR = 1e9


# ------------------------------------------------------------------ detector
def log_response(
    volume: np.ndarray, voxel_size: VoxelSize, radius_um: float, median: bool = True
) -> np.ndarray:
    """Negated, scale-normalised LoG tuned to blobs of ``radius_um`` (bright -> high)."""
    image = np.asarray(volume, dtype=np.float32)
    if median:
        image = median_filter(image, size=(1, 3, 3), mode="nearest")
    axes = [a for a in range(3) if image.shape[a] > 1]  # (1, Y, X): a 2D movie
    sigma = radius_um / np.sqrt(max(len(axes), 1)) / voxel_size.array  # voxels per axis
    response = np.zeros(image.shape, dtype=np.float32)
    for axis in axes:  # along a single slice the second derivative is 0 anyway
        order = [0, 0, 0]
        order[axis] = 2
        # sigma_um² ∂²/∂x_um² = sigma_vox² ∂²/∂x_vox² along each axis
        response -= sigma[axis] ** 2 * gaussian_filter(image, sigma, order=order, mode="reflect")
    return response


def local_maxima(response: np.ndarray) -> np.ndarray:
    """(n, 3) voxel indices of the positive maxima in their 3 × 3 × 3 neighbourhood."""
    peak = response == maximum_filter(response, size=3, mode="nearest")
    return np.argwhere(peak & (response > 0))


def refine(response: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    """Sub-voxel positions: the vertex of a parabola through each peak, per axis."""
    out = peaks.astype(np.float64)
    for axis in range(3):
        inner = (peaks[:, axis] > 0) & (peaks[:, axis] < response.shape[axis] - 1)
        p = peaks[inner]
        lo, hi = p.copy(), p.copy()
        lo[:, axis] -= 1
        hi[:, axis] += 1
        f0 = response[tuple(p.T)].astype(np.float64)
        fm, fp = response[tuple(lo.T)], response[tuple(hi.T)]
        curvature = fm - 2 * f0 + fp
        with np.errstate(divide="ignore", invalid="ignore"):
            shift = np.where(curvature < 0, 0.5 * (fm - fp) / curvature, 0.0)
        out[inner, axis] += np.clip(np.nan_to_num(shift), -0.5, 0.5)
    return out


def prune(centers_um: np.ndarray, quality: np.ndarray, min_distance: float) -> np.ndarray:
    """Indices kept when, of two spots closer than ``min_distance``, the weaker goes."""
    order = np.argsort(-quality, kind="stable")
    if len(order) == 0 or min_distance <= 0:
        return order
    neighbours = cKDTree(centers_um).query_ball_point(centers_um, r=min_distance)
    alive = np.ones(len(order), dtype=bool)
    kept = []
    for i in order:
        if alive[i]:
            kept.append(i)
            alive[neighbours[i]] = False
    return np.asarray(kept, dtype=np.int64)


def log_candidates(
    volume: np.ndarray,
    voxel_size: VoxelSize,
    radius_um: float,
    median: bool = True,
    subvoxel: bool = True,
) -> Candidates:
    """Every LoG spot of one timepoint (centres in µm, quality), strongest first."""
    response = log_response(volume, voxel_size, radius_um, median)
    peaks = local_maxima(response)
    quality = response[tuple(peaks.T)].astype(np.float64)
    voxels = refine(response, peaks) if subvoxel else peaks.astype(np.float64)
    centers = voxel_size.to_um(voxels).reshape(-1, 3)
    keep = prune(centers, quality, radius_um)
    return centers[keep], quality[keep]


# ---------------------------------------------------------- threshold sweep
@dataclass(frozen=True)
class _Frame:
    """One timepoint's candidates against the truth, paired once for every threshold."""

    quality_sorted: np.ndarray  # ascending, to count the candidates above a threshold
    rows: np.ndarray  # candidate index of each pair closer than dmax
    cols: np.ndarray  # truth index of the pair
    dist: np.ndarray
    pair_quality: np.ndarray  # quality of the candidate of each pair
    n_truth: int

    def scores(self, threshold: float, dmax: float) -> Scores:
        n_found = len(self.quality_sorted) - int(
            np.searchsorted(self.quality_sorted, threshold, side="left")
        )
        keep = self.pair_quality >= threshold
        tp = _max_matching(self.rows[keep], self.cols[keep], self.dist[keep], dmax)
        return Scores(tp, n_found - tp, self.n_truth - tp)


def _max_matching(rows: np.ndarray, cols: np.ndarray, dist: np.ndarray, dmax: float) -> int:
    """Size of the optimal one-to-one matching (as in ``core.metrics.match_points``)."""
    if len(rows) == 0:
        return 0
    ur, uc = np.unique(rows), np.unique(cols)
    cost = np.full((len(ur), len(uc)), _FAR)
    cost[np.searchsorted(ur, rows), np.searchsorted(uc, cols)] = dist
    r, c = linear_sum_assignment(cost)
    return int(np.count_nonzero(cost[r, c] <= dmax))


def _frame(candidates: Candidates, truth: np.ndarray, dmax: float) -> _Frame:
    centers, quality = (np.asarray(a, dtype=np.float64) for a in candidates)
    centers = centers.reshape(-1, 3)
    if len(centers) and len(truth):
        tree = cKDTree(centers)
        pairs = tree.sparse_distance_matrix(cKDTree(truth), dmax, output_type="coo_matrix")
        rows, cols, dist = pairs.row, pairs.col, pairs.data
    else:
        rows = cols = np.empty(0, dtype=np.int64)
        dist = np.empty(0)
    return _Frame(np.sort(quality), rows, cols, dist, quality[rows], len(truth))


def scores_at(frames: list[_Frame], threshold: float, dmax: float) -> Scores:
    return sum((f.scores(threshold, dmax) for f in frames), Scores(0, 0, 0))


def _sweep(frames: list[_Frame], thresholds: np.ndarray, dmax: float) -> tuple[float, Scores]:
    """The threshold of best F1 (thresholds ascending: the lower one wins ties)."""
    best: tuple[float, Scores] | None = None
    for th in np.sort(thresholds):
        s = scores_at(frames, float(th), dmax)
        if best is None or s.f1 > best[1].f1:
            best = (float(th), s)
    assert best is not None  # callers pass at least one threshold
    return best


def best_threshold(
    candidates_per_t: Mapping[int, Candidates],
    truth_graph: TrackingGraph,
    dmax: float = 3.0,
    n_thresholds: int = 200,
) -> tuple[float, Scores]:
    """Quality threshold of best F1 over all the given timepoints together.

    A coarse sweep over ``n_thresholds`` quantiles of the pooled qualities,
    then every distinct quality between the best one's neighbours (at most
    ``n_thresholds`` of them), so the optimum is not lost between quantiles.
    Spots are kept when ``quality >= threshold``.
    """
    frames = [
        _frame(cands, truth_graph.centers_at(t)[1].reshape(-1, 3), dmax)
        for t, cands in sorted(candidates_per_t.items())
    ]
    pooled = np.unique(np.concatenate([f.quality_sorted for f in frames] + [np.empty(0)]))
    if len(pooled) == 0:
        return np.inf, scores_at(frames, np.inf, dmax)
    grid = np.unique(np.quantile(pooled, np.linspace(0.0, 1.0, n_thresholds), method="lower"))
    grid = np.append(grid, np.inf)  # "keep nothing" is a setting too
    coarse, _ = _sweep(frames, grid, dmax)
    i = int(np.searchsorted(grid, coarse))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    between = pooled[(pooled >= lo) & (pooled <= hi)]
    if len(between) > n_thresholds:
        between = between[np.linspace(0, len(between) - 1, n_thresholds).astype(int)]
    return _sweep(frames, np.unique(np.append(between, coarse)), dmax)
