"""What a synthetic movie looks like: the knobs, their checks and the named presets.

Kept apart from the simulation and rendering (:mod:`napari_elephant.core.synthetic`)
because choosing a preset is a question of its own: the command line lists the
names, the demo checks a name before it deletes anything, and the benchmarks
read a preset's voxel size without simulating a movie.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.units import VoxelSize

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class SyntheticPreset:
    """Everything that shapes a synthetic movie; lengths in µm, times in timepoints.

    Nuclei bounce off the first and last z slice; one whose centre leaves the yx
    field of view ends its track.  The defaults are the "default" preset.
    """

    # geometry
    shape: tuple[int, int, int, int] = (24, 16, 192, 192)  # (T, Z, Y, X) voxels
    voxel_size: Vec3 = (2.0, 0.5, 0.5)  # (z, y, x) µm
    n_initial: int = 45  # nuclei at t = 0
    radius_range: tuple[float, float] = (3.0, 4.2)  # equal-volume radius (min, max)
    elongation: float = 1.5  # largest ratio longest / shortest semi-axis
    min_spacing: float = 9.0  # centres closer than this are resampled / pushed apart
    # lineage
    division_prob: float = 0.007  # per nucleus and timepoint, once min_cycle old
    min_cycle: int = 4  # timepoints a nucleus lives before it may divide
    daughter_separation: float = 9.0  # daughters at ±d/2 from the mother along a random axis
    daughter_volume: float = 0.6  # each daughter's share of the mother's volume
    growth_rate: float = 0.15  # fraction of the gap to the target radius closed per timepoint
    # motion, per timepoint
    drift: Vec3 = (0.0, 0.15, -0.1)  # uniform translation (z, y, x)
    rotation: float = 0.006  # radians about the z axis through the volume centre
    expansion: float = 0.002  # relative growth of yx distances to the volume centre
    jitter: float = 0.35  # per-nucleus random step, std per axis
    orientation_drift: float = 0.05  # random turn of each ellipsoid, radians (std)
    # brightness (grey levels above background)
    intensity_mean: float = 600.0  # mean brightness of a nucleus
    intensity_spread: float = 0.25  # relative std between nuclei
    intensity_jitter: float = 0.05  # relative std per nucleus and timepoint
    frame_jitter: float = 0.03  # relative std of a whole timepoint
    bleaching: float = 0.01  # fraction lost per timepoint
    depth_attenuation: float = 0.25  # fraction lost from the first to the last z slice
    # imaging
    edge_width: float = 0.8  # width of the soft nucleus edge, centred on the surface
    blur_sigma: Vec3 = (1.2, 0.35, 0.35)  # Gaussian point spread (z, y, x) µm
    background: float = 100.0  # grey levels
    photons: float | None = 60.0  # photons at intensity_mean (shot noise); None: no shot noise
    read_noise: float = 4.0  # Gaussian camera noise, grey levels (std)

    def __post_init__(self) -> None:
        for name in ("shape", "voxel_size", "radius_range", "drift", "blur_sigma"):
            value = getattr(self, name)
            if not isinstance(value, tuple | list | np.ndarray):
                raise InvalidInputError(
                    f"synthetic preset: {name} must be a sequence, got {value!r}"
                )
            object.__setattr__(self, name, tuple(value))  # lists from a CLI or JSON
        try:
            bad = _invalid_field(self)
        except TypeError as exc:
            raise InvalidInputError(
                f"synthetic preset: a field has the wrong type ({exc})"
            ) from None
        if bad is not None:
            raise InvalidInputError(f"synthetic preset: invalid {bad} = {getattr(self, bad)!r}")

    @property
    def voxels(self) -> VoxelSize:
        return VoxelSize.from_sequence(self.voxel_size)

    @property
    def extent(self) -> np.ndarray:
        """Physical (z, y, x) coordinate of the last voxel centre (µm)."""
        return self.voxels.to_um(np.array(self.shape[1:]) - 1)


_NON_NEGATIVE = ("n_initial", "min_spacing", "daughter_separation", "jitter", "orientation_drift")
_NON_NEGATIVE += ("edge_width", "background", "read_noise")
_FRACTIONS = ("intensity_spread", "intensity_jitter", "frame_jitter", "bleaching")
_FRACTIONS += ("depth_attenuation",)  # each in [0, 1)


def _invalid_field(p: SyntheticPreset) -> str | None:
    """Name of the first field that breaks its constraint, or None."""
    rules = {
        "shape": len(p.shape) == 4 and min(p.shape) > 0,
        "voxel_size": len(p.voxel_size) == 3 and min(p.voxel_size) > 0,
        "radius_range": 0 < p.radius_range[0] <= p.radius_range[1],
        "elongation": p.elongation >= 1,
        "division_prob": 0 <= p.division_prob <= 1,
        "min_cycle": p.min_cycle >= 1,
        "daughter_volume": 0 < p.daughter_volume <= 1,
        "growth_rate": 0 <= p.growth_rate <= 1,
        "intensity_mean": p.intensity_mean > 0,
        "blur_sigma": len(p.blur_sigma) == 3 and min(p.blur_sigma) >= 0,
        "photons": p.photons is None or p.photons > 0,
    }
    rules |= {name: getattr(p, name) >= 0 for name in _NON_NEGATIVE}
    rules |= {name: 0 <= getattr(p, name) < 1 for name in _FRACTIONS}
    return next((name for name, ok in rules.items() if not ok), None)


PRESETS: dict[str, SyntheticPreset] = {
    # A handful of bright, well separated, slow nuclei.
    "easy": SyntheticPreset(
        shape=(12, 16, 128, 128), n_initial=10, radius_range=(3.5, 4.5), elongation=1.3,
        min_spacing=14.0, division_prob=0.02, daughter_separation=10.0, drift=(0.0, 0.1, 0.1),
        rotation=0.003, expansion=0.0, jitter=0.2, intensity_mean=1000.0, intensity_spread=0.1,
        frame_jitter=0.0, bleaching=0.0, depth_attenuation=0.0, blur_sigma=(1.0, 0.3, 0.3),
        photons=400.0, read_noise=2.0,
    ),
    # The sample movie: a C. elegans / Parhyale-like field, a few divisions.
    "default": SyntheticPreset(),
    # Dense, dim, noisy and blurry; neighbours touch.
    "crowded_dim": SyntheticPreset(
        shape=(16, 16, 160, 160), n_initial=150, radius_range=(2.6, 3.4), elongation=1.6,
        min_spacing=6.0, division_prob=0.02, min_cycle=3, daughter_separation=6.0,
        jitter=0.5, intensity_mean=160.0, intensity_spread=0.4, intensity_jitter=0.1,
        frame_jitter=0.05, bleaching=0.02, depth_attenuation=0.4, blur_sigma=(1.8, 0.5, 0.5),
        background=120.0, photons=30.0, read_noise=8.0,
    ),
    # Large, non-uniform motion and far-flung daughters: nearest neighbour fails.
    "fast_motion": SyntheticPreset(
        shape=(16, 16, 160, 160), n_initial=60, radius_range=(3.0, 4.0), min_spacing=8.0,
        division_prob=0.04, min_cycle=3, daughter_separation=18.0, drift=(0.0, 0.3, -0.3),
        rotation=0.25, expansion=0.0, jitter=1.2, orientation_drift=0.15,
    ),
    # For unit tests: four small frames, generated in milliseconds.
    "tiny": SyntheticPreset(
        shape=(4, 8, 48, 48), n_initial=4, radius_range=(2.5, 3.0), elongation=1.3,
        min_spacing=7.0, division_prob=0.15, min_cycle=1, daughter_separation=7.0,
        drift=(0.0, 0.0, 0.0), rotation=0.0, expansion=0.0, jitter=0.3,
        intensity_mean=800.0, photons=200.0, read_noise=2.0, blur_sigma=(1.0, 0.3, 0.3),
    ),
}  # fmt: skip


def resolve_preset(
    preset: str | SyntheticPreset = "default", **overrides: object
) -> SyntheticPreset:
    """A preset by name (or as given) with some fields replaced; clear errors on typos."""
    if isinstance(preset, str):
        if preset not in PRESETS:
            raise InvalidInputError(
                f"unknown synthetic preset {preset!r} (expected one of {', '.join(PRESETS)})"
            )
        preset = PRESETS[preset]
    names = {f.name for f in fields(SyntheticPreset)}
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise InvalidInputError(f"unknown synthetic preset field(s): {', '.join(unknown)}")
    return replace(preset, **overrides) if overrides else preset
