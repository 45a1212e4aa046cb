"""How a timepoint's intensities are brought into [0, 1] before a network sees them.

ELEPHANT scales each timepoint by its own minimum and maximum (``minmax``).
Real movies defeat that: one bright mitotic nucleus (or a speck of debris)
sets the maximum, and the dim interphase nuclei beside it end up a few
hundredths above the background (HeLa: median nucleus 0.16, the dimmest
tenth under 0.02).  ``asinh`` (the default of new networks) measures the
background level (1st percentile) and the voxel noise σ, then maps

    v ↦ asinh(max(v − background, 0) / (3 σ)),  scaled to [0, 1]

which is linear near the noise and logarithmic above it: a nucleus ten
times brighter than its neighbour is an offset, not ten times the contrast,
so dim and bright nuclei look alike to the network.  On the HeLa movie the
same 200-step first round found 1523 instead of 1366 of 1621 nuclei
(docs/detection.md).  Which one a network was trained with is stored in its
``config.json``, so a model is always fed what it learned from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_elephant.core.errors import InvalidInputError

NORMALIZATIONS = ("minmax", "asinh")
NOISE_SCALE = 3.0  # asinh is linear up to about this many noise σ above the background
BACKGROUND_PERCENTILE = 1.0
_MAX_NOISE_SAMPLES = 2_000_000


def voxel_noise(volume: np.ndarray) -> float:
    """Robust std of the voxel noise: the MAD of differences between x-neighbours
    (structures change slowly at that scale, noise does not), / √2."""
    vol = np.asarray(volume)
    step = max(1, vol.size // _MAX_NOISE_SAMPLES)
    diffs = np.diff(vol.astype(np.float32, copy=False), axis=-1).ravel()[::step]
    if diffs.size == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(diffs - np.median(diffs))) / np.sqrt(2.0))


def minmax(volume: Any) -> np.ndarray:
    """The paper's normalisation: min → 0, max → 1 (a constant volume → zeros)."""
    out = np.array(volume, dtype=np.float32, copy=True)
    if out.size == 0:
        return out
    lo, hi = float(out.min()), float(out.max())
    if not np.isfinite(hi - lo) or hi <= lo:
        return np.zeros_like(out)
    out -= lo
    out /= hi - lo
    return out


def asinh_normalize(volume: Any) -> np.ndarray:
    """Background → 0, noise-scaled asinh above it, the brightest voxel → 1.

    Without measurable noise (a constant background, say) the scale is a
    thousandth of the range, which is close to a logarithm of the signal.
    """
    out = np.array(volume, dtype=np.float32, copy=True)
    if out.size == 0:
        return out
    background = float(np.percentile(out, BACKGROUND_PERCENTILE))
    top = float(out.max()) - background
    if not np.isfinite(top) or top <= 0:
        return np.zeros_like(out)
    scale = max(NOISE_SCALE * voxel_noise(out), top / 1000.0)
    out -= background
    np.maximum(out, 0.0, out=out)
    np.arcsinh(out / scale, out=out)
    out /= np.arcsinh(top / scale)
    return out


def normalize_as(volume: Any, method: str) -> np.ndarray:
    """``volume`` as float32 in [0, 1] by the named normalisation."""
    if method == "minmax":
        return minmax(volume)
    if method == "asinh":
        return asinh_normalize(volume)
    raise InvalidInputError(
        f"unknown intensity normalisation {method!r} (one of {', '.join(NORMALIZATIONS)})"
    )
