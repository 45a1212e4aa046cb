"""Synthetic movies: deterministic, exact ground truth, presets with their character."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph import Origin, Status
from napari_elephant.core.synthetic import (
    SyntheticMovie,
    generate,
    ground_truth,
    ground_truth_counts,
    motion_stats,
)
from napari_elephant.core.synthetic_presets import PRESETS, SyntheticPreset
from napari_elephant.core.synthetic_render import FrameTruth, render_signal
from napari_elephant.core.units import VoxelSize

CLEAN = {  # no noise, no blur, no intensity variation: the pure ellipsoids
    "blur_sigma": (0.0, 0.0, 0.0),
    "photons": None,
    "read_noise": 0.0,
    "background": 0.0,
    "depth_attenuation": 0.0,
    "frame_jitter": 0.0,
    "intensity_jitter": 0.0,
    "bleaching": 0.0,
}


def _graph_records(movie: SyntheticMovie) -> tuple[list, list]:
    nuclei = sorted(movie.graph.nuclei(), key=lambda n: n.id)
    links = sorted((lk.parent, lk.child) for lk in movie.graph.links())
    return nuclei, links


def _inside_mask(movie: SyntheticMovie, t: int) -> np.ndarray:
    """Voxels of timepoint t inside any ground-truth ellipsoid."""
    shape = movie.image.shape[1:]
    um = movie.voxel_size.to_um(np.indices(shape).reshape(3, -1).T)
    mask = np.zeros(len(um), dtype=bool)
    for nuc in movie.graph.nuclei_at(t):
        d = um - np.asarray(nuc.center)
        mask |= np.einsum("ni,ij,nj->n", d, np.linalg.inv(nuc.cov_matrix), d) <= 1.0
    return mask.reshape(shape)


def _snr(movie: SyntheticMovie) -> float:
    """(mean inside nuclei - mean outside) / std outside, at t = 0."""
    frame = movie.image[0].astype(np.float64)
    inside = _inside_mask(movie, 0)
    return (frame[inside].mean() - frame[~inside].mean()) / frame[~inside].std()


def _moments_um(volume: np.ndarray, voxel_size: VoxelSize) -> tuple[np.ndarray, np.ndarray]:
    """Intensity-weighted centre (µm) and second central moment (µm²)."""
    um = voxel_size.to_um(np.indices(volume.shape).reshape(3, -1).T)
    w = volume.reshape(-1).astype(np.float64)
    center = (w[:, None] * um).sum(0) / w.sum()
    d = um - center
    return center, np.einsum("n,ni,nj->ij", w, d, d) / w.sum()


def test_same_seed_gives_the_same_movie() -> None:
    a, b = generate("tiny", seed=7), generate("tiny", seed=7)
    assert a.image.dtype == np.uint16
    assert a.image.shape == PRESETS["tiny"].shape
    np.testing.assert_array_equal(a.image, b.image)
    assert _graph_records(a) == _graph_records(b)


def test_different_seeds_give_different_movies() -> None:
    a, b = generate("tiny", seed=1), generate("tiny", seed=2)
    assert not np.array_equal(a.image, b.image)
    assert a.graph.centers_at(0)[1].tolist() != b.graph.centers_at(0)[1].tolist()


def test_noise_settings_keep_the_ground_truth_of_a_seed() -> None:
    noisy, clean = generate("tiny", seed=4), generate("tiny", seed=4, **CLEAN)
    assert _graph_records(noisy) == _graph_records(clean)


def test_ground_truth_alone_matches_the_rendered_movie() -> None:
    movie = generate("tiny", seed=5, division_prob=0.5)
    graph = ground_truth("tiny", seed=5, division_prob=0.5)
    assert [(n.id, n.t, n.center, n.cov) for n in sorted(graph.nuclei(), key=lambda n: n.id)] == [
        (n.id, n.t, n.center, n.cov) for n in _graph_records(movie)[0]
    ]
    assert ground_truth_counts(graph) == ground_truth_counts(movie)


def test_counts_leave_rejected_links_out() -> None:
    graph = ground_truth("tiny", seed=5, division_prob=0.0)
    before = ground_truth_counts(graph)
    p = next(n for n in graph.nx_graph if len(graph.children(n)) == 1)
    extra = graph.add_nucleus(graph.nucleus(p).t + 1, (0, 0, 0), radius=1)
    graph.add_link(p, extra, "rejected")
    assert ground_truth_counts(graph) == {**before, "nuclei": before["nuclei"] + 1}


def test_image_is_bright_inside_the_ground_truth_nuclei() -> None:
    movie = generate("tiny", seed=0)
    for t in range(movie.image.shape[0]):
        inside = _inside_mask(movie, t)
        frame = movie.image[t].astype(np.float64)
        assert inside.any()
        assert frame[inside].mean() > 3 * frame[~inside].mean()


def test_ground_truth_graph_invariants() -> None:
    movie = generate("tiny", seed=3, division_prob=0.5, shape=(6, 8, 48, 48))
    g = movie.graph.nx_graph
    assert ground_truth_counts(movie)["divisions"] > 0
    for nuc in movie.graph.nuclei():
        assert nuc.status is Status.ACCEPTED and nuc.origin is Origin.MANUAL
        assert g.in_degree(nuc.id) <= 1 and g.out_degree(nuc.id) <= 2
    for link in movie.graph.links():
        assert link.status is Status.ACCEPTED
        assert movie.graph.nucleus(link.child).t == movie.graph.nucleus(link.parent).t + 1


def test_daughters_are_flung_apart_around_the_mother() -> None:
    """Lone mothers (nothing to push the daughters) away from the z walls: exact ±d/2."""
    d, z_max = 9.0, 15 * 2.0
    checked = 0
    for seed in range(12):
        graph = ground_truth(
            "tiny", seed=seed, shape=(2, 16, 64, 64), n_initial=1, division_prob=1.0,
            jitter=0.0, daughter_separation=d,
        )  # fmt: skip
        for mother in (n for n in graph.nuclei() if len(graph.children(n.id)) == 2):
            children = [graph.nucleus(c) for c in graph.children(mother.id)]
            a, b = (np.asarray(c.center) for c in children)
            assert all(c.radius < mother.radius for c in children)
            if d / 2 < mother.center[0] < z_max - d / 2:  # no bounce off a z wall
                assert np.linalg.norm(a - b) == pytest.approx(d)
                np.testing.assert_allclose((a + b) / 2, mother.center, atol=1e-9)
                checked += 1
    assert checked >= 3


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_divide_and_keep_centres_inside_and_apart(name: str) -> None:
    preset = PRESETS[name]
    graph = ground_truth(name, seed=0)
    assert ground_truth_counts(graph)["divisions"] > 0
    upper = np.array(preset.shape[1:]) - 1
    for t in graph.timepoints():
        vox = preset.voxels.to_voxels(graph.centers_at(t)[1])
        assert np.all(vox >= 0) and np.all(vox <= upper + 1e-9)
        if len(vox) > 1:
            centers = graph.centers_at(t)[1]
            nn = cKDTree(centers).query(centers, k=2)[0][:, 1]
            assert nn.min() >= 0.99 * preset.min_spacing


def test_no_divisions_without_division_probability() -> None:
    assert ground_truth_counts(ground_truth("tiny", seed=0, division_prob=0.0))["divisions"] == 0


def test_rendered_blob_has_the_ground_truth_second_moments() -> None:
    """A uniform solid ellipsoid (x-c)ᵀ C⁻¹ (x-c) ≤ 1 has second moment C / 5."""
    movie = generate(
        "tiny", seed=1, shape=(1, 40, 64, 64), voxel_size=(0.4, 0.25, 0.25), n_initial=1,
        radius_range=(2.5, 2.5), elongation=1.5, edge_width=0.0, **CLEAN,
    )  # fmt: skip
    (nuc,) = movie.graph.nuclei()
    half_extent = np.sqrt(np.diag(nuc.cov_matrix))
    extent = movie.voxel_size.to_um(np.array(movie.image.shape[1:]) - 1)
    assert np.all(np.asarray(nuc.center) - half_extent > 0)  # fully inside the image
    assert np.all(np.asarray(nuc.center) + half_extent < extent)
    center, second = _moments_um(movie.image[0], movie.voxel_size)
    np.testing.assert_allclose(center, nuc.center, atol=0.05)
    expected = nuc.cov_matrix / 5
    assert np.linalg.norm(second - expected) < 0.05 * np.linalg.norm(expected)


def test_render_signal_places_a_rotated_ellipsoid_in_anisotropic_voxels() -> None:
    vs = VoxelSize(0.5, 0.2, 0.2)
    angle = np.deg2rad(30)
    rot = np.array(
        [[1, 0, 0], [0, np.cos(angle), -np.sin(angle)], [0, np.sin(angle), np.cos(angle)]]
    )
    cov = rot @ np.diag([2.0**2, 3.0**2, 1.5**2]) @ rot.T
    truth = FrameTruth(np.array([[7.0, 8.0, 8.2]]), cov[None], np.array([100.0]))
    signal = render_signal((30, 80, 80), truth, vs, edge_width=0.0)
    assert signal.max() == pytest.approx(100.0)
    center, second = _moments_um(signal, vs)
    np.testing.assert_allclose(center, truth.centers[0], atol=0.05)
    assert np.linalg.norm(second - cov / 5) < 0.05 * np.linalg.norm(cov / 5)


def test_crowded_dim_has_lower_snr_than_easy() -> None:
    easy = generate("easy", seed=0, shape=(1, 16, 128, 128))
    hard = generate("crowded_dim", seed=0, shape=(1, 16, 96, 96), n_initial=60)
    assert _snr(hard) < 0.5 * _snr(easy)


def test_fast_motion_moves_more_relative_to_spacing_than_default() -> None:
    fast = motion_stats(ground_truth("fast_motion", seed=0))
    default = motion_stats(ground_truth("default", seed=0))
    assert fast["ratio"] > 0.4
    assert fast["ratio"] > 4 * default["ratio"]
    assert fast["nn_miss"] > 0.1 > default["nn_miss"]  # plain nearest neighbour fails


def test_bad_preset_name_field_or_value_is_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match="unknown synthetic preset 'nope'"):
        generate("nope")
    with pytest.raises(InvalidInputError, match="unknown synthetic preset field"):
        generate("tiny", radius=3.0)
    with pytest.raises(InvalidInputError, match="invalid elongation"):
        SyntheticPreset(elongation=0.5)
    with pytest.raises(InvalidInputError, match="shape must be a sequence"):
        generate("tiny", shape=5)
    with pytest.raises(InvalidInputError, match="too crowded"):
        generate("tiny", n_initial=100)


def test_sequence_fields_given_as_lists_become_tuples() -> None:
    preset = SyntheticPreset(shape=[2, 4, 32, 32], voxel_size=[1.0, 0.5, 0.5])
    assert preset.shape == (2, 4, 32, 32) and preset.voxel_size == (1.0, 0.5, 0.5)
    assert generate(preset, n_initial=1).image.shape == (2, 4, 32, 32)
