"""Drawing of the microscopy-like synthetic movies: nucleus bodies -> optics -> camera.

A nucleus is a star-shaped body in its own frame: the point ``c + F u`` (``F``
maps unit coordinates to µm) belongs to it when ``|u| ≤ ρ(u / |u|)``, with
``ρ(v) = 1 + Σ a_j max(0, v·d_j)^p_j`` (mild lobes and dents).  Its truth
ellipsoid is fitted to that body by moments computed by quadrature over
directions, so the truth is exact whatever the voxels are.  Inside, a small
map in unit coordinates (chromatin texture, nucleoli, bright rim) moves and
turns with the nucleus.  Each body touches only its bounding box.

Spatial arrays are (Z, Y, X) for stacks and (Y, X) for 2D movies; ``d`` is 2 or 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.ndimage import gaussian_filter, map_coordinates

from napari_elephant.core.synthetic_micro_style import DTYPE_MAX, MicroscopyStyle

GRID = {2: 80, 3: 40}  # interior map samples per axis
SPAN = 1.6  # the interior map covers unit coordinates [-SPAN, SPAN]^d


# --------------------------------------------------------------- shapes
@dataclass(frozen=True)
class Outline:
    """Lobes of a star-shaped outline; radius 1 everywhere is the base ellipsoid."""

    dirs: np.ndarray  # (k, d) unit vectors, nucleus frame
    amps: np.ndarray  # (k,) bump (> 0) or dent (< 0), fraction of the radius
    powers: np.ndarray  # (k,) how local each lobe is

    def radius(self, v: np.ndarray) -> np.ndarray:
        """ρ(v) for unit vectors ``v`` (..., d)."""
        rho = np.ones(v.shape[:-1], dtype=v.dtype)
        for direction, amp, power in zip(self.dirs, self.amps, self.powers, strict=True):
            rho += amp * np.maximum(v @ direction.astype(v.dtype), 0) ** power
        return np.maximum(rho, 0.4)  # dents that meet never cut the body through

    @property
    def max_radius(self) -> float:
        return 1.0 + float(np.clip(self.amps, 0, None).sum())


def random_outline(
    rng: np.random.Generator, d: int, amplitude: float, n_lobes: int, powers: tuple[float, float]
) -> Outline:
    """``n_lobes`` lobes and dents up to ``amplitude`` × radius (≤ 0.2 stays star-shaped)."""
    dirs = rng.normal(size=(n_lobes, d))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    amps = rng.uniform(-amplitude, amplitude, n_lobes)
    return Outline(dirs, amps, rng.uniform(*powers, n_lobes))


@lru_cache(maxsize=2)
def _directions(d: int) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature directions on the unit circle / sphere and their weights."""
    if d == 2:
        theta = (np.arange(720) + 0.5) * (2 * np.pi / 720)
        return np.stack([np.sin(theta), np.cos(theta)], axis=1), np.full(720, 2 * np.pi / 720)
    k = np.arange(4000) + 0.5  # Fibonacci sphere: near-uniform, equal weights
    z = 1 - 2 * k / 4000
    phi = np.pi * (1 + 5**0.5) * k
    s = np.sqrt(1 - z * z)
    return np.stack([z, s * np.cos(phi), s * np.sin(phi)], axis=1), np.full(4000, np.pi / 1000)


def outline_moments(outline: Outline, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Centroid and covariance of the uniform body, in unit coordinates.

    In polar form the body's moments are integrals over directions of powers
    of ρ, so they do not depend on any voxel grid.
    """
    v, w = _directions(d)
    rho = outline.radius(v)
    volume = np.sum(w * rho**d) / d
    mean = (w * rho ** (d + 1) / (d + 1)) @ v / volume
    second = np.einsum("n,ni,nj->ij", w * rho ** (d + 2) / (d + 2), v, v) / volume
    return mean, second - np.outer(mean, mean)


def interior_map(
    rng: np.random.Generator,
    d: int,
    texture: float,
    grain: float,
    holes: list[tuple[np.ndarray, np.ndarray, float]],
) -> np.ndarray:
    """Relative brightness inside a nucleus on the unit grid (mean about 1).

    Texture: log-normal smooth noise (grain = feature size / radius);
    ``holes``: nucleoli given as (centre, semi-axes, depth) in unit coordinates.
    """
    g = GRID[d]
    sigma = grain * (g - 1) / (2 * SPAN) / 2  # in grid cells
    spectrum = np.fft.rfftn(rng.standard_normal((g,) * d))
    freqs = [np.fft.fftfreq(g)] * (d - 1) + [np.fft.rfftfreq(g)]
    f2 = sum(f.reshape([-1 if j == k else 1 for j in range(d)]) ** 2 for k, f in enumerate(freqs))
    smooth = spectrum * np.exp(-2 * (np.pi * sigma) ** 2 * f2)
    field = np.fft.irfftn(smooth, s=(g,) * d, axes=tuple(range(d)))
    field /= field.std() + 1e-12
    out = np.exp(texture * field - texture**2 / 2)
    axes = [
        np.linspace(-SPAN, SPAN, g).reshape([-1 if j == k else 1 for j in range(d)])
        for k in range(d)
    ]
    for centre, radii, depth in holes:
        dist = np.sqrt(
            sum(((a - c) / r) ** 2 for a, c, r in zip(axes, centre, radii, strict=True))
        )
        out *= 1 - depth / (1 + np.exp((dist - 1) / 0.12))
    return out.astype(np.float32)


@dataclass(frozen=True)
class Body:
    """One nucleus (or speck of debris) as drawn at one timepoint."""

    center: np.ndarray  # (d,) µm
    frame: np.ndarray  # (d, d) µm per unit coordinate: x = center + frame @ u
    outline: Outline
    interior: np.ndarray  # interior_map, or a (1,)*d array for a flat interior
    value: float  # brightness, grey levels above background
    speckle: float = 0.0  # log-std of the fine chromatin texture (see fine_texture)
    rim: float = 0.0  # extra brightness just inside the envelope (peripheral chromatin)


# ------------------------------------------------------------- stamping
def _box(
    body: Body, voxel: np.ndarray, shape: tuple[int, ...]
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray] | None:
    """Voxel offsets from the centre along each axis (open grids) and the box corner."""
    to_vox = body.frame / voxel[:, None]
    centre = body.center / voxel
    half = body.outline.max_radius * np.sqrt((to_vox**2).sum(axis=1)) + 1.5
    lo = np.maximum(np.ceil(centre - half), 0).astype(int)
    hi = np.minimum(np.floor(centre + half), np.asarray(shape) - 1).astype(int) + 1
    if np.any(hi <= lo):
        return None
    d = len(shape)
    offs = [
        (np.arange(lo[k], hi[k]) - centre[k])
        .astype(np.float32)
        .reshape([-1 if j == k else 1 for j in range(d)])
        for k in range(d)
    ]
    return offs, lo, hi


def stamp_body(
    canvas: np.ndarray, body: Body, voxel: np.ndarray, overlap: str, fine: np.ndarray | None
) -> None:
    """Draw one body into ``canvas`` with a one-voxel soft edge on its exact outline.

    ``overlap`` 'add' (2D: nuclei above one another add up) or 'max' (3D:
    touching nuclei do not make a bright seam); ``fine``: the frame's fine
    texture (:func:`fine_texture`), applied with the body's ``speckle``.
    """
    found = _box(body, voxel, canvas.shape)
    if found is None:
        return
    offs, lo, hi = found
    d = canvas.ndim
    inv = np.linalg.inv(body.frame / voxel[:, None]).astype(np.float32)
    u = [sum(inv[i, k] * offs[k] for k in range(d)) for i in range(d)]
    u = np.stack(np.broadcast_arrays(*u), axis=-1)
    norm = np.sqrt((u * u).sum(axis=-1))
    rho = body.outline.radius(u / np.maximum(norm, 1e-6)[..., None])
    scale = np.float32(np.abs(np.linalg.det(body.frame / voxel[:, None])) ** (1 / d))
    soft = np.clip(0.5 + (rho - norm) * scale, 0, 1)
    inside = soft > 0
    value = soft[inside] * np.float32(body.value)
    if body.rim > 0:
        depth = np.maximum(rho[inside] - norm[inside], 0)
        value *= 1 + np.float32(body.rim) * np.exp(-depth / np.float32(0.1))
    if body.interior.size > 1:
        g = body.interior.shape[0]
        coords = (u[inside].T + SPAN) * ((g - 1) / (2 * SPAN))
        value *= map_coordinates(body.interior, coords, order=1, mode="nearest")
    where = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    if fine is not None and body.speckle > 0:
        a = np.float32(body.speckle)
        value *= np.exp(a * fine[where][inside] - a * a / 2)
    box = canvas[where]
    if overlap == "add":
        box[inside] += value
    else:
        box[inside] = np.maximum(box[inside], value)


def fine_texture(
    rng: np.random.Generator, shape: tuple[int, ...], voxel: np.ndarray, grain_um: float
) -> np.ndarray:
    """Smoothed noise of unit std: chromatin features of about ``grain_um``.

    Chromatin grain is often a pixel or two, finer than a nucleus' interior
    map can hold; it is drawn anew for every timepoint.
    """
    noise = rng.standard_normal(shape, dtype=np.float32)
    field = gaussian_filter(noise, grain_um / voxel / 2)
    return field / (field.std() + 1e-6)


def render_signal(
    shape: tuple[int, ...],
    bodies: list[Body],
    voxel: np.ndarray,
    overlap: str,
    fine: np.ndarray | None = None,
) -> np.ndarray:
    """Noise-free, unblurred fluorescence of one timepoint (float32)."""
    canvas = np.zeros(shape, dtype=np.float32)
    for body in bodies:
        stamp_body(canvas, body, voxel, overlap, fine)
    return canvas


# --------------------------------------------------------------- optics
def illumination(
    rng: np.random.Generator, shape_yx: tuple[int, int], gradient: float
) -> np.ndarray:
    """Smooth uneven illumination (ramp, vignetting, soft blotches), mean about 1."""
    y, x = (np.linspace(-0.5, 0.5, n, dtype=np.float32) for n in shape_yx)
    y, x = y[:, None], x[None, :]
    angle = rng.uniform(0, 2 * np.pi)
    field = 1 + gradient * (np.cos(angle) * y + np.sin(angle) * x)
    field -= gradient * 0.8 * (y * y + x * x)
    for _ in range(3):
        k = rng.normal(0, 2.5, 2)
        field += 0.15 * gradient * np.cos(2 * np.pi * (k[0] * y + k[1] * x) + rng.uniform(0, 6.3))
    return np.maximum(field, 0.05).astype(np.float32)


def _upsampler(n: int, f: int) -> np.ndarray:
    """(n, ceil(n / f)) matrix of linear interpolation from blocks of f back to pixels."""
    m = -(-n // f)
    pos = np.clip((np.arange(n) + 0.5) / f - 0.5, 0, m - 1)
    lo = np.minimum(np.floor(pos).astype(int), max(m - 2, 0))
    w = pos - lo
    out = np.zeros((n, m), dtype=np.float32)
    out[np.arange(n), lo] = 1 - w
    out[np.arange(n), np.minimum(lo + 1, m - 1)] += w
    return out


def _haze(signal: np.ndarray, sigma_px: float, sigma_z: float) -> np.ndarray:
    """Out-of-focus light: the signal blurred widely, computed at a coarse yx scale."""
    f = max(1, int(sigma_px / 3))
    lead = signal.shape[:-2]
    ny, nx = (-(-n // f) * f for n in signal.shape[-2:])
    pad = [(0, 0)] * len(lead) + [(0, ny - signal.shape[-2]), (0, nx - signal.shape[-1])]
    small = np.pad(signal, pad, mode="edge").reshape(*lead, ny // f, f, nx // f, f).mean((-3, -1))
    sig = (sigma_z,) * len(lead) + (sigma_px / f, sigma_px / f)
    small = gaussian_filter(small, sig, mode="nearest")
    up_y, up_x = (_upsampler(n, f) for n in signal.shape[-2:])
    return up_y @ small @ up_x.T


def apply_optics(
    signal: np.ndarray, style: MicroscopyStyle, light: np.ndarray, radius_px: float
) -> np.ndarray:
    """Illumination, depth loss and blur, out-of-focus haze, anisotropic PSF, background."""
    signal *= light
    if signal.ndim == 3 and signal.shape[0] > 1:
        depth = np.linspace(0.0, 1.0, signal.shape[0], dtype=np.float32)[:, None, None]
        signal *= 1 - style.depth_attenuation * depth
        if style.depth_blur > 0:
            deep = gaussian_filter(signal, (0, style.depth_blur, style.depth_blur))
            signal += depth * (deep - signal)
    vz, vxy = style.voxel_size[0], style.voxel_size[1]
    sigma_z = style.blur_z / vz
    hazy = None
    if style.haze > 0:
        hazy = _haze(signal, 2.5 * radius_px, 2.5 * radius_px * vxy / vz)
    sigma = (sigma_z,) * (signal.ndim - 2) + (style.blur_xy, style.blur_xy)
    signal = gaussian_filter(signal, sigma, mode="nearest")
    if hazy is not None:
        signal += np.float32(style.haze) * hazy
    return signal + np.float32(style.background * style.signal) * light


def expose(expected: np.ndarray, style: MicroscopyStyle, rng: np.random.Generator) -> np.ndarray:
    """Shot noise (Poisson where photons are few), read noise, offset, integer clipping."""
    gain = style.signal / style.photons  # grey levels per photon
    photons = np.maximum(expected, 0) / np.float32(gain)
    few = photons < 20
    counts = photons + np.sqrt(photons) * rng.standard_normal(photons.shape, dtype=np.float32)
    counts[few] = rng.poisson(photons[few])
    grey = counts * np.float32(gain) + np.float32(style.offset)
    if style.read_noise > 0:
        noise = rng.standard_normal(grey.shape, dtype=np.float32)
        grey += np.float32(style.read_noise * style.signal) * noise
    top = DTYPE_MAX[style.dtype]
    return np.clip(np.rint(grey), 0, top).astype(style.dtype)
