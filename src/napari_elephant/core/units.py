"""Physical units: the one place where voxels and micrometres meet.

The data model (graph, workspace, exports) is in micrometres.  Images are
indexed in voxels (z, y, x).  Every conversion goes through :class:`VoxelSize`
so that anisotropic voxels are handled the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_elephant.core.errors import InvalidInputError


@dataclass(frozen=True)
class VoxelSize:
    """Size of one voxel in micrometres along (z, y, x)."""

    z: float = 1.0
    y: float = 1.0
    x: float = 1.0

    def __post_init__(self) -> None:
        for axis, value in zip("zyx", (self.z, self.y, self.x), strict=True):
            if not np.isfinite(value) or value <= 0:
                raise InvalidInputError(
                    f"voxel size along {axis} must be a positive number of µm, got {value}"
                )

    @classmethod
    def from_sequence(cls, values: Any) -> VoxelSize:
        """Build from (z, y, x); a 2-sequence (y, x) means a 2D movie (z = 1 µm)."""
        vals = [float(v) for v in values]
        if len(vals) == 2:
            vals = [1.0, *vals]
        if len(vals) != 3:
            raise InvalidInputError(f"voxel size needs 3 values (z y x), got {len(vals)}")
        return cls(*vals)

    @property
    def array(self) -> np.ndarray:
        """(z, y, x) as a float64 array."""
        return np.array([self.z, self.y, self.x], dtype=np.float64)

    def as_tuple(self) -> tuple[float, float, float]:
        return (self.z, self.y, self.x)

    def to_um(self, voxels: np.ndarray) -> np.ndarray:
        """Voxel coordinates (..., 3) -> micrometres."""
        return np.asarray(voxels, dtype=np.float64) * self.array

    def to_voxels(self, um: np.ndarray) -> np.ndarray:
        """Micrometre coordinates (..., 3) -> (fractional) voxel coordinates."""
        return np.asarray(um, dtype=np.float64) / self.array

    def cov_to_voxels(self, cov_um2: np.ndarray) -> np.ndarray:
        """Covariance (..., 3, 3) in µm² -> voxel² (scaled by S⁻¹ on both sides)."""
        inv = 1.0 / self.array
        return np.asarray(cov_um2, dtype=np.float64) * np.outer(inv, inv)

    def cov_to_um(self, cov_vox2: np.ndarray) -> np.ndarray:
        """Covariance (..., 3, 3) in voxel² -> µm²."""
        s = self.array
        return np.asarray(cov_vox2, dtype=np.float64) * np.outer(s, s)

    @property
    def anisotropy(self) -> float:
        """z spacing over the mean lateral spacing (1 = isotropic)."""
        return self.z / ((self.y + self.x) / 2.0)
