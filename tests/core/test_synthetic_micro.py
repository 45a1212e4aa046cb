"""Microscopy-like synthetic movies: deterministic, exact truth, the promised variety."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Origin, Status
from napari_elephant.core.synthetic import SyntheticMovie, ground_truth_counts
from napari_elephant.core.synthetic_micro import MicroscopyStyle, generate_micro, random_style
from napari_elephant.core.synthetic_micro_cells import frame_of, new_cell, truth
from napari_elephant.core.synthetic_micro_render import Body, render_signal

SMALL = MicroscopyStyle(shape=(12, 64, 64), voxel_size=(1.0, 0.4, 0.4), n_nuclei=8, radius=3.0)
PURE = {  # nothing but the bodies: no texture, optics, noise or debris
    "texture": 0.0, "rim": 0.0, "nucleoli": 0, "brightness_range": 1.0, "mitosis_fraction": 0.0,
    "mitosis_rate": 0.0, "background": 0.0, "gradient": 0.0, "haze": 0.0,
    "depth_attenuation": 0.0, "depth_blur": 0.0, "blur_xy": 0.0, "signal": 20000.0,
    "photons": 1e9, "read_noise": 0.0, "offset": 0.0, "bleaching": 0.0, "debris": 0,
}  # fmt: skip


def _records(movie: SyntheticMovie) -> tuple[list, list]:
    nuclei = sorted((n.id, n.t, n.center, n.cov) for n in movie.graph.nuclei())
    return nuclei, sorted((lk.parent, lk.child) for lk in movie.graph.links())


def _ellipsoid_mask(movie: SyntheticMovie, t: int, scale: float) -> list[np.ndarray]:
    """Per truth nucleus at t: voxels inside its ellipsoid scaled by ``scale``."""
    shape = np.array(movie.image.shape[1:])
    vox = movie.voxel_size.array
    masks = []
    for nuc in movie.graph.nuclei_at(t):
        cov = nuc.cov_matrix.copy()
        if shape[0] == 1:  # 2D: an ellipse in the only slice
            cov[0, :], cov[:, 0], cov[0, 0] = 0.0, 0.0, 1.0
        centre = np.asarray(nuc.center) / vox
        half = scale * np.sqrt(np.diag(cov)) / vox + 1
        lo = np.clip(np.floor(centre - half), 0, shape - 1).astype(int)
        hi = np.clip(np.ceil(centre + half), 0, shape - 1).astype(int) + 1
        grid = np.indices(hi - lo).reshape(3, -1).T + lo
        d = grid * vox - np.asarray(nuc.center)
        if shape[0] == 1:
            d[:, 0] = 0.0
        q = np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d)
        mask = np.zeros(shape, dtype=bool)
        mask[tuple(grid[q <= scale**2].T)] = True
        masks.append(mask)
    return masks


def test_same_seed_same_movie_other_seed_other_movie() -> None:
    a, b, c = (generate_micro(SMALL, seed=s) for s in (3, 3, 4))
    np.testing.assert_array_equal(a.image, b.image)
    assert _records(a) == _records(b)
    assert not np.array_equal(a.image, c.image)
    assert _records(a) != _records(c)
    d, e = random_style(np.random.default_rng(9)), random_style(np.random.default_rng(9))
    assert d == e


def test_camera_and_debris_keep_the_truth_of_a_seed() -> None:
    a = generate_micro(SMALL, seed=5)
    b = generate_micro(replace(SMALL, debris=6, photons=5.0, offset=3000.0, haze=0.3), seed=5)
    assert _records(a) == _records(b)
    assert not np.array_equal(a.image, b.image)


@pytest.mark.parametrize("ndim", [3, 2])
@pytest.mark.parametrize("mitotic", [False, True])
def test_truth_is_the_ellipse_fitted_to_the_drawn_body(ndim: int, mitotic: bool) -> None:
    """A lobed (or ragged mitotic) body alone, evenly lit: its half-maximum region has
    the truth's centre and covariance."""
    size = 0.15 if ndim == 3 else 0.08  # µm: fine enough for the thin mitotic plates
    shape = (54, 86, 86) if ndim == 3 else (160, 160)
    style = MicroscopyStyle(
        ndim=ndim, shape=(1, 160, 160) if ndim == 2 else shape,
        voxel_size=(1.0 if ndim == 2 else size, size, size),
        radius=3.0, flatness=0.5, irregularity=0.2, elongation=1.5,
        mitosis_fraction=1.0 if mitotic else 0.0,
    )  # fmt: skip
    voxel = np.full(ndim, size)
    rng = np.random.default_rng(ndim)
    flat = np.ones((1,) * ndim, dtype=np.float32)
    for _ in range(3):
        cell = new_cell(rng, style, (np.asarray(shape) - 1) * voxel / 2, 3.0)
        drawn = Body(cell.pos, frame_of(cell, style), cell.outline, flat, 1000.0)
        image = render_signal(shape, [drawn], voxel, "max")
        um = np.argwhere(image >= 500.0) * voxel
        assert not np.any(um == 0) and not np.any(um == (np.asarray(shape) - 1) * voxel)
        centre, cov = truth(cell, style)
        np.testing.assert_allclose(um.mean(axis=0), centre, atol=0.02)  # < 1 % of radius
        np.testing.assert_allclose(
            np.cov(um.T, bias=True) * (ndim + 2), cov, atol=0.02 * np.trace(cov) / ndim
        )


@pytest.mark.parametrize("ndim", [3, 2])
def test_truth_centres_lie_on_bright_nuclei(ndim: int) -> None:
    rng = np.random.default_rng(11)
    for seed in range(4):
        style = random_style(rng, ndim)
        movie = generate_micro(style, seed=seed, n_timepoints=2)
        for t in range(2):
            image = movie.image[t].astype(np.float64)
            outside = ~np.any(_ellipsoid_mask(movie, t, 1.4), axis=0)
            ground = np.median(image[outside])
            for mask in _ellipsoid_mask(movie, t, 0.5):
                if mask.any():
                    assert image[mask].mean() > ground + 0.08 * style.signal, (seed, t)


def test_links_and_divisions() -> None:
    style = replace(SMALL, mitosis_fraction=0.9, mitosis_rate=0.5, n_nuclei=10)
    movie = generate_micro(style, seed=2, n_timepoints=5)
    graph, g = movie.graph, movie.graph.nx_graph
    counts = ground_truth_counts(movie)
    assert counts["divisions"] >= 2
    with_parent = sum(1 for n in graph.nuclei() if n.t > 0 and g.in_degree(n.id) == 1)
    assert counts["links"] == with_parent > 0
    assert len(graph.nuclei_at(0)) == 10
    for nuc in graph.nuclei():
        assert nuc.status is Status.ACCEPTED and nuc.origin is Origin.MANUAL
        assert g.in_degree(nuc.id) <= 1 and g.out_degree(nuc.id) <= 2
        if g.out_degree(nuc.id) == 2:
            children = [graph.nucleus(c) for c in graph.children(nuc.id)]
            assert all(c.t == nuc.t + 1 and c.radius < nuc.radius * 1.2 for c in children)
            gap = np.linalg.norm(np.subtract(children[0].center, children[1].center))
            assert gap < 3 * style.radius


def test_dtypes_offsets_and_saturation() -> None:
    hi = generate_micro(replace(SMALL, dtype="uint16", offset=33000.0, debris=0), seed=1)
    assert hi.image.dtype == np.uint16
    assert abs(np.median(hi.image) - 33000) < 0.2 * SMALL.signal
    lo = generate_micro(replace(SMALL, dtype="uint8", offset=5.0, signal=200.0), seed=1)
    assert lo.image.dtype == np.uint8
    assert (lo.image == 255).any() and np.median(lo.image) < 40


def test_bleaching_dims_later_frames() -> None:
    style = replace(SMALL, bleaching=0.3, motion=0.0, mitosis_fraction=0.0, mitosis_rate=0.0)
    movie = generate_micro(style, seed=0, n_timepoints=3)
    above = [float(np.mean(f.astype(np.float64) - style.offset)) for f in movie.image]
    assert above[0] > above[1] > above[2]


def test_2d_movies_are_single_slices_of_ellipses() -> None:
    style = random_style(np.random.default_rng(4), ndim=2)
    movie = generate_micro(style, seed=1)
    assert movie.image.shape[1] == 1 and movie.voxel_size.z == 1.0
    for nuc in movie.graph.nuclei():
        cov = nuc.cov_matrix
        assert nuc.center[0] == 0.0 and cov[0, 1] == cov[0, 2] == 0.0
        assert cov[0, 0] == pytest.approx(np.sqrt(np.linalg.det(cov[1:, 1:])))


def test_thin_stacks_hold_nuclei_taller_than_the_stack() -> None:
    rng = np.random.default_rng(0)
    thin = [s for s in (random_style(rng) for _ in range(40)) if s.is_thin]
    assert thin and all(3 <= s.shape[0] <= 7 for s in thin)
    for style in thin[:2]:
        style = replace(style, mitosis_fraction=0.0)
        movie = generate_micro(style, seed=0, n_timepoints=1)
        height = style.shape[0] * style.voxel_size[0]
        assert all(2 * np.sqrt(n.cov_matrix[0, 0]) > height for n in movie.graph.nuclei())


@pytest.mark.parametrize("ndim", [3, 2])
def test_random_styles_span_the_promised_ranges(ndim: int) -> None:
    rng = np.random.default_rng(1)
    styles = [random_style(rng, ndim) for _ in range(200)]
    radius = np.array([s.radius for s in styles])
    pixel = np.array([s.voxel_size[1] for s in styles])
    assert 2 <= radius.min() < 3 and 12 < radius.max() <= 15
    assert np.all((pixel >= 0.1) & (pixel <= 2.0))
    assert np.all((radius / pixel > 2.9) & (radius / pixel < 20.1))
    assert max(s.shape[1] for s in styles) <= 256 and max(s.shape[2] for s in styles) <= 256
    assert {s.dtype for s in styles} == {"uint8", "uint16"}
    assert max(s.offset for s in styles) > 10000
    if ndim == 3:
        aniso = np.array([s.voxel_size[0] / s.voxel_size[1] for s in styles])
        assert aniso.min() >= 1 and aniso.max() > 6 and aniso.max() <= 10
        assert max(s.shape[0] for s in styles) <= 48
        assert any(s.is_thin for s in styles) and not all(s.is_thin for s in styles)
    else:
        assert all(s.shape[0] == 1 for s in styles)


@pytest.mark.parametrize(
    "bad",
    [
        {"radius": -1.0}, {"ndim": 4}, {"ndim": 2}, {"dtype": "float32"}, {"nucleoli": 5},
        {"irregularity": 0.5}, {"n_nuclei": 0}, {"n_nuclei": 2.5}, {"shape": (4, 4, 64)},
        {"voxel_size": (1.0, 0.0, 0.4)}, {"offset": 300.0, "dtype": "uint8"},
        {"bleaching": 1.0}, {"photons": float("nan")}, {"shape": 64}, {"radius": "big"},
        {"shape": (12, 64.5, 64)}, {"texture_grain": 0.0}, {"dtype": 8},
    ],
)  # fmt: skip
def test_nonsense_styles_are_refused(bad: dict) -> None:
    with pytest.raises(InvalidInputError):
        replace(SMALL, **bad)


def test_nonsense_calls_are_refused() -> None:
    with pytest.raises(InvalidInputError):
        generate_micro(SMALL, seed=0, n_timepoints=0)
    with pytest.raises(InvalidInputError):
        generate_micro(SMALL, seed=-1)
    with pytest.raises(InvalidInputError):
        random_style(np.random.default_rng(0), ndim=4)
