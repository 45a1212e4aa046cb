"""What a synthetic microscopy movie looks like: its style, and random styles.

A :class:`MicroscopyStyle` holds everything random about a movie of
:mod:`~.synthetic_micro` (geometry, appearance, optics, camera), validated
field by field; :func:`random_style` draws one over the ranges real
fluorescence nucleus movies span.  The simulation (:mod:`~.synthetic_micro_cells`)
and the renderer (:mod:`~.synthetic_micro_render`) read a style; this module
needs neither.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.units import VoxelSize

Vec3 = tuple[float, float, float]
DTYPE_MAX = {"uint8": 255, "uint16": 65535}  # the cameras a style may have, and their top


@dataclass(frozen=True)
class MicroscopyStyle:
    """Everything random about a movie.  Lengths in µm unless said; brightness in
    grey levels above the camera offset; fractions relative to ``signal``."""

    # geometry
    ndim: int = 3  # 3: z-stacks; 2: 2D+t movies (Z = 1)
    shape: tuple[int, int, int] = (24, 128, 128)  # (Z, Y, X) voxels of one timepoint
    voxel_size: Vec3 = (1.0, 0.4, 0.4)  # (z, y, x); z is 1 in 2D movies
    n_nuclei: int = 20  # at t = 0 (fewer when they do not fit)
    radius: float = 4.0  # mean equal-volume radius of a nucleus
    radius_spread: float = 0.25  # relative std of the radius between nuclei
    flatness: float = 0.8  # z semi-axis / lateral semi-axes (stacks); < 0.9 lie flat
    elongation: float = 1.4  # largest lateral aspect ratio
    spacing: float = 1.0  # closest centres / (r_i + r_j); < 1 lets neighbours overlap
    irregularity: float = 0.08  # size of lobes and dents / radius (≤ 0.2)
    # appearance
    texture: float = 0.35  # log-std of the chromatin texture
    texture_grain: float = 0.15  # size of chromatin features / radius
    rim: float = 0.0  # extra brightness at the envelope (speckled rim), fraction
    nucleoli: int = 2  # at most this many dark nucleoli per nucleus (0–3)
    nucleolus_depth: float = 0.5  # fraction of brightness a nucleolus removes
    brightness_range: float = 3.0  # brightest / dimmest interphase nucleus
    mitosis_fraction: float = 0.05  # share of nuclei in mitosis at t = 0
    mitosis_rate: float = 0.03  # chance per timepoint that a nucleus enters mitosis
    mitosis_brightness: float = 3.0  # condensed chromatin / interphase brightness
    motion: float = 0.15  # random step per timepoint (std per axis) / radius
    # optics
    background: float = 0.05  # smooth background / signal
    gradient: float = 0.2  # unevenness of the illumination (fraction)
    haze: float = 0.1  # out-of-focus haze / signal
    depth_attenuation: float = 0.2  # signal lost from the first to the last slice
    depth_blur: float = 0.0  # extra lateral blur at the last slice, pixels (σ)
    blur_xy: float = 0.8  # lateral blur σ (PSF, pixel integration), pixels
    blur_z: float = 0.8  # axial PSF σ, µm (wider than the lateral one)
    # camera
    signal: float = 800.0  # mean interphase nucleus brightness
    photons: float = 100.0  # photons collected at ``signal`` (shot noise)
    read_noise: float = 0.02  # camera noise std / signal
    dtype: str = "uint16"  # "uint8" or "uint16"; clipped (saturated) at the top
    offset: float = 100.0  # camera baseline, grey levels
    bleaching: float = 0.02  # fraction of the signal lost per timepoint
    debris: int = 3  # small bright specks (not nuclei, not in the truth)

    def __post_init__(self) -> None:
        for name in ("shape", "voxel_size"):
            value = getattr(self, name)
            if not isinstance(value, tuple | list | np.ndarray):
                raise InvalidInputError(f"microscopy style: {name} must be a sequence")
            object.__setattr__(self, name, tuple(value))
        if all(isinstance(v, int | np.integer) for v in self.shape):
            object.__setattr__(self, "shape", tuple(int(v) for v in self.shape))
        try:
            bad = _invalid_field(self)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"microscopy style: a field has a wrong type ({exc})"
            ) from None
        if bad is not None:
            raise InvalidInputError(f"microscopy style: invalid {bad} = {getattr(self, bad)!r}")

    @property
    def voxels(self) -> VoxelSize:
        return VoxelSize.from_sequence(self.voxel_size)

    @property
    def extent(self) -> np.ndarray:
        """Coordinate (µm) of the last voxel centre, (z, y, x) or (y, x) in 2D."""
        ext = (np.asarray(self.shape) - 1) * np.asarray(self.voxel_size)
        return ext[3 - self.ndim :]

    @property
    def is_thin(self) -> bool:
        """A stack thinner than a typical nucleus is tall (one layer of nuclei)."""
        height = 2 * self.radius * self.flatness ** (2 / 3)
        return self.ndim == 3 and self.shape[0] * self.voxel_size[0] < height


_INTS = ("ndim", "n_nuclei", "nucleoli", "debris")
_FRACTIONS = ("radius_spread", "nucleolus_depth", "gradient", "depth_attenuation", "bleaching")
_CHANCES = ("mitosis_fraction", "mitosis_rate")  # each in [0, 1]
_NON_NEGATIVE = ("texture", "rim", "motion", "background", "haze", "depth_blur", "blur_xy")
_NON_NEGATIVE += ("blur_z", "read_noise", "offset")


def _invalid_field(s: MicroscopyStyle) -> str | None:
    """Name of the first field that breaks its constraint, or None."""
    for f in fields(s):
        value = getattr(s, f.name)
        if f.name in _INTS and (isinstance(value, bool) or int(value) != value):
            return f.name
        if f.name != "dtype" and not np.all(np.isfinite(np.asarray(value, dtype=float))):
            return f.name
    rules = {
        "ndim": s.ndim in (2, 3),
        "shape": len(s.shape) == 3
        and all(isinstance(v, int) for v in s.shape)
        and min(s.shape) >= 1
        and min(s.shape[1:]) >= 8,
        "voxel_size": len(s.voxel_size) == 3 and min(s.voxel_size) > 0,
        "n_nuclei": s.n_nuclei >= 1,
        "radius": s.radius > 0,
        "flatness": 0.2 <= s.flatness <= 2,
        "elongation": 1 <= s.elongation <= 4,
        "spacing": 0.5 <= s.spacing <= 3,
        "irregularity": 0 <= s.irregularity <= 0.2,
        "texture_grain": 0 < s.texture_grain <= 1,
        "nucleoli": 0 <= s.nucleoli <= 3,
        "brightness_range": s.brightness_range >= 1,
        "mitosis_brightness": s.mitosis_brightness >= 1,
        "signal": s.signal > 0,
        "photons": s.photons > 0,
        "dtype": s.dtype in DTYPE_MAX,
        "debris": s.debris >= 0,
    }
    rules |= {name: getattr(s, name) >= 0 for name in _NON_NEGATIVE}
    rules |= {name: 0 <= getattr(s, name) < 1 for name in _FRACTIONS}
    rules |= {name: 0 <= getattr(s, name) <= 1 for name in _CHANCES}
    if s.ndim == 2:  # one slice, and the z size of a 2D movie (VoxelSize.from_sequence)
        rules["shape"] = rules["shape"] and s.shape[0] == 1
        rules["voxel_size"] = rules["voxel_size"] and s.voxel_size[0] == 1.0
    if s.dtype in DTYPE_MAX:
        rules["offset"] = rules["offset"] and s.offset < DTYPE_MAX[s.dtype]
    return next((name for name, ok in rules.items() if not ok), None)


# ---------------------------------------------------------- random styles
def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _field(
    rng: np.random.Generator, n_target: float, area_px: float, fill: float, layers: float = 1.0
) -> tuple[int, int, int]:
    """(Y, X, n): a field of view holding about ``n_target`` nuclei of cross-section
    ``area_px`` at area fraction ``fill`` in each of ``layers``; 48–256 px a side and
    at least ten radii wide (a training crop)."""
    side = np.sqrt(n_target * area_px / (fill * layers))
    least = min(256.0, max(48.0, 10 * np.sqrt(area_px / np.pi)))
    aspect = np.sqrt(rng.uniform(0.75, 1.33))
    ny, nx = (int(np.clip(round(side * a), least, 256)) for a in (aspect, 1 / aspect))
    return ny, nx, int(np.clip(round(fill * layers * ny * nx / area_px), 6, 40))


def _random_geometry(rng: np.random.Generator, ndim: int) -> dict:
    """Sizes, sampling and field: 2D+t, thin stacks (3–7 slices) or full stacks."""
    thin = ndim == 3 and rng.random() < 0.3
    radius = _log_uniform(rng, 2.0, 15.0)
    spread = rng.uniform(0.2, 0.3)
    radius_px = _log_uniform(rng, 10.0 if thin else 3.0, 20.0)
    pixel = float(np.clip(radius / radius_px, 0.1, 2.0))
    radius_px = radius / pixel
    flatness = rng.uniform(0.5, 0.8) if thin or ndim == 2 else rng.uniform(0.5, 1.1)
    n_target, fill = _log_uniform(rng, 6, 40), rng.uniform(0.15, 0.45)
    area_px = np.pi * (radius_px / flatness ** (1 / 3)) ** 2  # lateral cross-section
    nz, dz, layers = 1, 1.0, 1.0
    if thin:  # the whole stack fits well inside the smallest nucleus
        half_height = radius * np.exp(-1.5 * spread) * flatness ** (2 / 3)
        nz = int(rng.integers(3, int(min(7, 1.4 * half_height / pixel)) + 1))
        dz = _log_uniform(rng, pixel, max(pixel, min(10 * pixel, 1.4 * half_height / nz)))
    elif ndim == 3:  # one to three layers of nuclei
        height = 2.4 * radius * flatness ** (2 / 3)
        top = max(1.0, min(10.0, radius_px * flatness ** (2 / 3) / 0.8))
        dz = pixel * _log_uniform(rng, 1.0, top)  # a nucleus ≥ 0.8 slice in z radius
        nz = int(np.clip(round(rng.uniform(1.0, 3.0) * height / dz), 6, 48))
        layers = nz * dz / height
    ny, nx, n = _field(rng, n_target, area_px, fill, layers)
    return {"shape": (nz, ny, nx), "voxel_size": (dz, pixel, pixel), "n_nuclei": n,
            "radius": radius, "radius_spread": spread, "flatness": flatness}  # fmt: skip


def _random_look(rng: np.random.Generator) -> dict:
    """Outlines, chromatin, brightness spread, mitoses, crowding and motion."""
    return {
        "elongation": rng.uniform(1.0, 1.6),
        "spacing": rng.uniform(0.8, 1.3),
        "irregularity": rng.uniform(0.0, 0.2),
        "texture": rng.uniform(0.1, 0.7),
        "texture_grain": _log_uniform(rng, 0.06, 0.3),
        "rim": 0.0 if rng.random() < 0.6 else rng.uniform(0.2, 1.0),
        "nucleoli": int(rng.integers(0, 4)),
        "nucleolus_depth": rng.uniform(0.3, 0.7),
        "brightness_range": _log_uniform(rng, 1.5, 10.0),
        "mitosis_fraction": rng.uniform(0.0, 0.2),
        "mitosis_rate": rng.uniform(0.0, 0.1),
        "mitosis_brightness": rng.uniform(2.0, 4.0),
        "motion": rng.uniform(0.03, 0.3),
    }


def _random_optics(rng: np.random.Generator, style: MicroscopyStyle) -> dict:
    """Background, haze, depth loss, blur (a PSF of σ 0.1–0.35 µm, 2–6× wider in z)."""
    ndim, thin, pixel = style.ndim, style.is_thin, style.voxel_size[1]
    psf = rng.uniform(0.1, 0.35)
    return {
        "background": _log_uniform(rng, 0.005, 0.2),
        "gradient": rng.uniform(0.0, 0.5),
        "haze": rng.uniform(0.0, 0.3),
        "depth_attenuation": 0.0 if ndim == 2 else rng.uniform(0.2 if thin else 0.0, 0.7),
        "depth_blur": 0.0 if ndim == 2 else rng.uniform(0.0, 3.0 if thin else 1.5),
        "blur_xy": max(psf / pixel, rng.uniform(0.4, 1.0)),  # coarse pixels: still soft
        "blur_z": psf * rng.uniform(2.0, 6.0),
    }


def _random_camera(rng: np.random.Generator) -> dict:
    """8-bit (often near saturation) or 16-bit with a baseline of 100–33000."""
    if rng.random() < 0.35:
        dtype, signal, offset = "uint8", _log_uniform(rng, 25, 140), rng.uniform(0, 15)
    else:
        dtype, signal = "uint16", _log_uniform(rng, 80, 4000)
        pick = rng.random()
        offset = _log_uniform(rng, 100, 2000) if pick < 0.5 else _log_uniform(rng, 2000, 33000)
    return {
        "dtype": dtype,
        "signal": signal,
        "offset": float(round(offset)),
        "photons": _log_uniform(rng, 15, 800),
        "read_noise": _log_uniform(rng, 0.005, 0.06),
        "bleaching": rng.uniform(0.0, 0.05),
        "debris": int(rng.integers(0, 7)),
    }


def random_style(rng: np.random.Generator, ndim: int = 3) -> MicroscopyStyle:
    """A style drawn over the ranges real fluorescence nucleus movies span."""
    if ndim not in (2, 3):
        raise InvalidInputError(f"ndim must be 2 or 3, got {ndim}")
    geometry = _random_geometry(rng, ndim)
    style = MicroscopyStyle(ndim=ndim, **geometry, **_random_look(rng))
    optics = _random_optics(rng, style)
    return replace(style, **optics, **_random_camera(rng))
