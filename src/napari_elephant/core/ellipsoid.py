"""Ellipsoid geometry shared by the label renderer and the synthetic movies."""

from __future__ import annotations

import numpy as np


def quadratic_form(cov: np.ndarray, dz: np.ndarray, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """``dᵀ cov⁻¹ d`` on broadcast offset grids (≤ 1 inside the ellipsoid).

    Written out term by term so that open grids (``np.ix_``) broadcast to the
    box without building an (n, 3) array of offsets.
    """
    a = np.linalg.inv(cov)
    return (
        a[0, 0] * dz * dz
        + a[1, 1] * dy * dy
        + a[2, 2] * dx * dx
        + 2.0 * (a[0, 1] * dz * dy + a[0, 2] * dz * dx + a[1, 2] * dy * dx)
    )
