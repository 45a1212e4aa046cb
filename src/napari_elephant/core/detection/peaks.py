"""Nuclei as peaks of the network's centre-ness (the default post-processing).

The paper's recipe (:func:`~napari_elephant.core.detection.postprocess.extract_nuclei`:
threshold the centre probability, one nucleus per connected component)
assumes a network that has learned small, well separated centres.  After a
first round on a handful of annotations it has not: its centres are as wide
as the nuclei, touching nuclei share one component, and a dim nucleus gets
a centre probability just under the threshold although the network clearly
marks it as foreground.  Measured on the crowded, dim synthetic preset
(docs/detection.md), one nucleus per *peak* of a blob filter on the centre-ness
recovers most of both failures:

1. centre-ness = P(centre) + ½ P(periphery): a voxel the network puts on a
   nucleus counts, its centre counts double;
2. blob response: the scale-normalised Laplacian of Gaussian of the
   centre-ness, σ = r / √d per axis in µm over the d axes a nucleus fits in
   (:func:`blob_axes`; 3 for a ball, 2 on a 2D movie or a thin stack) for the
   typical nucleus radius r
   (half the resolved ``nucleus_diameter``; :mod:`.sizes`) — the
   classical matched blob filter, here on the network's map rather than on
   the raw image, so that two touching nuclei in one fat blob of
   centre-ness still give two peaks;
3. peaks: voxels that are the maximum of the response within ``d_sup`` µm
   along each axis (a box, at least one voxel each way) and above
   ``peak_threshold``; a flat top counts once;
4. each peak's extent: its watershed basin of the response inside the
   foreground (P(background) < ½), cut at half the peak's height; this gives
   the shape (radii within ~10 % of the true ones on the synthetic presets);
5. an ellipsoid from the region's mean and second moments (as in the
   paper's recipe): the mean rather than the peak, because a large or bent
   nucleus answers the filter off its middle (HeLa: 4–5 µm off on kidney-shaped
   nuclei, det F1 0.905 → 0.912; CHO 0.984 → 0.989; crowded_dim unchanged),
   lateral radius < ``r_min`` dropped, semi-axes clamped to ``r_max``.

Suppression against human annotations (``d_sup``) happens when the results
are merged into the graph, as for the paper's recipe.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage
from skimage.segmentation import watershed

from napari_elephant.core.detection.labels import BACKGROUND, CENTER, PERIPHERY
from napari_elephant.core.detection.postprocess import (
    SOLID_ELLIPSOID_FACTOR,
    Ellipsoid,
    _check_probs,
    clamp_radii,
    component_moments,
    equal_volume_radius,
    extract_nuclei,
    region_confidence,
)
from napari_elephant.core.ellipsoid import lateral_radius
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.params import DetectionParams
from napari_elephant.core.units import VoxelSize

PERIPHERY_WEIGHT = 0.5
HALF_MAX = 0.5  # a nucleus region ends where the centre-ness falls below this × its peak


def detect_nuclei(
    probs: np.ndarray,
    voxel_size: VoxelSize,
    params: DetectionParams,
    origin_um: Sequence[float] = (0.0, 0.0, 0.0),
) -> list[Ellipsoid]:
    """Nuclei of one volume by the post-processing ``params.postprocess`` names."""
    if params.postprocess == "paper":
        return extract_nuclei(probs, voxel_size, params, origin_um)
    return extract_peaks(probs, voxel_size, params, origin_um)


def centreness(probs: np.ndarray) -> np.ndarray:
    """P(centre) + ½ P(periphery), (Z, Y, X) float32."""
    _check_probs(probs)
    return np.asarray(probs[CENTER], np.float32) + PERIPHERY_WEIGHT * np.asarray(
        probs[PERIPHERY], np.float32
    )


def blob_axes(shape: Sequence[int], voxel_size: VoxelSize, radius_um: float) -> list[int]:
    """The axes along which a nucleus can be a blob: those longer than its diameter.

    A 2D movie's single slice, or a thin stack whose nuclei are taller than it,
    only holds a nucleus' cross-section: there it is a disc, not a ball.
    """
    extent = np.asarray(shape, dtype=np.float64) * voxel_size.array
    return [a for a in range(3) if extent[a] > 2.0 * radius_um] or [1, 2]


def blob_response(score: np.ndarray, voxel_size: VoxelSize, radius_um: float) -> np.ndarray:
    """−σ²∇²(G_σ * score) over the :func:`blob_axes`, high at blob centres.

    σ = radius / √d per axis (µm) for d blob axes: a ball of that radius
    answers most at σ = r/√3, a disc (a 2D movie, a thin stack) at r/√2; a
    3D σ on a disc splits elongated nuclei in two (HeLa: 29 → 16 false nuclei
    inside true ones).  Scale-normalised (σ² in µm² times second derivatives
    in µm⁻²), so the threshold does not depend on the radius.
    """
    axes = blob_axes(score.shape, voxel_size, radius_um)
    sigma = radius_um / np.sqrt(len(axes)) / voxel_size.array
    response = np.zeros(score.shape, dtype=np.float32)
    for axis in axes:
        order = [0, 0, 0]
        order[axis] = 2
        response -= sigma[axis] ** 2 * ndimage.gaussian_filter(
            score, sigma, order=order, mode="nearest"
        )
    return response


def typical_radius(params: DetectionParams) -> float:
    """The radius the blob filter is tuned to: half the (resolved) nucleus diameter."""
    d = params.nucleus_diameter
    if d == "auto":
        raise InvalidInputError(
            "the nucleus size is not resolved: use detection.sizes.resolve_detection first"
        )
    return float(d) / 2.0


def peak_footprint(voxel_size: VoxelSize, distance_um: float) -> np.ndarray:
    """Box of half-width ``distance_um`` per axis (at least one voxel each way).

    A box rather than a ball: nuclei elongated or tilted across coarse z
    slices grow secondary maxima diagonally, which a ball of the same radius
    misses (measured: twice the false positives on the crowded preset).
    """
    half = np.maximum(np.round(distance_um / voxel_size.array), 1).astype(int)
    return np.ones(tuple(2 * half + 1), dtype=bool)


def find_peaks(
    score: np.ndarray, voxel_size: VoxelSize, distance_um: float, threshold: float
) -> tuple[np.ndarray, int]:
    """Peak markers (labels 1..n, one per flat top) above ``threshold``; (markers, n)."""
    footprint = peak_footprint(voxel_size, distance_um)
    top = ndimage.maximum_filter(score, footprint=footprint, mode="constant", cval=-np.inf)
    peaks = (score >= top) & (score > threshold)
    return ndimage.label(peaks, structure=np.ones((3, 3, 3), bool))


def peak_heights(score: np.ndarray, markers: np.ndarray, n: int) -> np.ndarray:
    """Each peak's height (its top's highest score), (n,).  Reads only the few
    marker voxels: scipy's labelled statistics sort the whole volume (a tenth
    of a 64×1024×1024 prediction)."""
    at = np.nonzero(markers)
    height = np.full(n, -np.inf)
    np.maximum.at(height, markers[at] - 1, score[at].astype(np.float64))
    return height


def peak_regions(
    score: np.ndarray, background: np.ndarray, markers: np.ndarray, height: np.ndarray
) -> np.ndarray:
    """Each peak's watershed basin in the foreground, above half its peak ``height``
    (one per marker label, from :func:`peak_heights`)."""
    mask = (background < 0.5) | (markers > 0)
    regions = watershed(-score, markers, mask=mask)
    cut = np.zeros(len(height) + 1, np.float32)
    cut[1:] = HALF_MAX * height
    regions[score < cut[regions]] = 0
    regions[markers > 0] = markers[markers > 0]  # the peak itself always stays
    return regions


def extract_peaks(
    probs: np.ndarray,
    voxel_size: VoxelSize,
    params: DetectionParams,
    origin_um: Sequence[float] = (0.0, 0.0, 0.0),
) -> list[Ellipsoid]:
    """Nuclei (ellipsoids in µm) from softmax probabilities (C, Z, Y, X), one per peak."""
    response = blob_response(centreness(probs), voxel_size, typical_radius(params))
    markers, n = find_peaks(response, voxel_size, params.d_sup, params.peak_threshold)
    if n == 0:
        return []
    height = peak_heights(response, markers, n)
    regions = peak_regions(response, np.asarray(probs[BACKGROUND]), markers, height)
    _counts, means, cov, _ = component_moments(regions, n, voxel_size, response)
    cov = cov * SOLID_ELLIPSOID_FACTOR
    # the larger of the two: a thin stack clips the z extent, coarse z slices the
    # lateral one of a dim nucleus (crowded_dim recall 0.975 → 0.965 on lateral only)
    keep = np.maximum(equal_volume_radius(cov), lateral_radius(cov)) >= params.r_min
    cov = clamp_radii(cov[keep], params.r_max)
    centers = means[keep] + np.asarray(origin_um, dtype=np.float64)
    volumes = 4.0 / 3.0 * np.pi * np.sqrt(np.linalg.det(cov))
    scores = np.asarray(height, np.float64)[keep]
    conf = region_confidence(regions, n, probs)[keep]
    return [
        Ellipsoid(c, m, float(s), float(v), float(q))
        for c, m, s, v, q in zip(centers, cov, scores, volumes, conf, strict=True)
    ]
