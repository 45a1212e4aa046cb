"""Post-processing: denoising, ellipsoids from components, r_min/r_max, suppression."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial.transform import Rotation

from napari_elephant.core.detection.labels import BACKGROUND, CENTER, PERIPHERY, ellipsoid_mask
from napari_elephant.core.detection.postprocess import (
    CONNECTIVITY,
    Ellipsoid,
    denoise_center,
    extract_nuclei,
    flatten_ellipsoids,
    suppress,
)
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.params import DetectionParams
from napari_elephant.core.units import VoxelSize

CR = 0.4
VS = VoxelSize(1.5, 1.0, 1.0)
ROT = Rotation.from_euler("zyx", [25, 35, 15], degrees=True).as_matrix()
NUCLEI = [  # (centre µm, covariance µm²): one rotated, one axis-aligned
    (np.array([23.3, 31.6, 30.2]), ROT @ np.diag([12.0, 10.0, 13.0]) ** 2 @ ROT.T),
    (np.array([24.7, 32.0, 70.0]), np.diag([11.0, 13.0, 12.0]) ** 2),
]


def paint(shape, nuclei, vs=VS, cr=CR) -> np.ndarray:
    """Ideal probabilities: centre = nucleus shrunk by cr, periphery = the rest."""
    probs = np.zeros((3, *shape), np.float32)
    probs[BACKGROUND] = 1
    for ratio, cls in ((1.0, PERIPHERY), (cr, CENTER)):
        for c, m in nuclei:
            sl, mask = ellipsoid_mask(shape, vs, c, m * ratio**2)
            for k in range(3):
                probs[k][sl][mask] = float(k == cls)
    return probs


def params(**kw) -> DetectionParams:
    base = {"center_ratio": CR, "r_min": 1.0, "r_max": 50.0, "center_threshold": 0.5}
    base["postprocess"] = "paper"  # this module tests the paper's recipe; peaks: test_peaks.py
    return DetectionParams(**(base | kw))


def test_two_painted_nuclei_are_recovered_in_micrometres():
    probs = paint((32, 64, 96), NUCLEI)
    found = sorted(extract_nuclei(probs, VS, params()), key=lambda e: e.center[2])
    assert len(found) == 2
    for e, (c, m) in zip(found, NUCLEI, strict=True):
        assert np.all(np.abs(e.center - c) <= VS.array / 2)  # within half a voxel
        assert np.linalg.norm(e.cov - m, 2) / np.linalg.norm(m, 2) < 0.15
        assert e.score == pytest.approx(1.0)
        assert e.volume == pytest.approx(4 / 3 * np.pi * np.sqrt(np.linalg.det(e.cov)))


def test_origin_shifts_the_centres():
    probs = paint((32, 64, 96), NUCLEI[1:])
    a = extract_nuclei(probs, VS, params())[0]
    b = extract_nuclei(probs, VS, params(), origin_um=(10.0, -5.0, 2.0))[0]
    np.testing.assert_allclose(b.center - a.center, [10.0, -5.0, 2.0])


def test_r_min_drops_nuclei_smaller_than_it():
    small = (np.array([24.0, 32.0, 70.0]), np.eye(3) * 4.0**2)
    probs = paint((32, 64, 96), [NUCLEI[0], small])
    radii = sorted(e.radius for e in extract_nuclei(probs, VS, params()))
    assert len(radii) == 2 and radii[0] < 6.0 < radii[1]
    kept = extract_nuclei(probs, VS, params(r_min=6.0))
    assert len(kept) == 1 and kept[0].radius > 6.0


def test_r_max_clamps_each_semi_axis_and_keeps_the_axes():
    probs = paint((32, 64, 96), NUCLEI[:1])
    free = extract_nuclei(probs, VS, params())[0]
    clamped = extract_nuclei(probs, VS, params(r_max=10.5))[0]
    w_free, v_free = np.linalg.eigh(free.cov)
    w, v = np.linalg.eigh(clamped.cov)
    assert np.sqrt(w).max() == pytest.approx(10.5)
    np.testing.assert_allclose(np.sqrt(w), np.minimum(np.sqrt(w_free), 10.5), rtol=1e-9)
    np.testing.assert_allclose(np.abs(v[:, 0] @ v_free[:, 0]), 1.0, atol=1e-9)
    np.testing.assert_allclose(clamped.center, free.center)


def test_a_single_voxel_gives_a_valid_ellipsoid_of_the_voxel_extent():
    vs = VoxelSize(2.0, 0.5, 0.5)
    probs = np.zeros((3, 5, 8, 9), np.float32)
    probs[BACKGROUND] = 1
    probs[:, 2, 3, 4] = (0.1, 0.9, 0.0)
    (e,) = extract_nuclei(probs, vs, params(r_min=0.0), denoise=False)
    np.testing.assert_allclose(e.center, [4.0, 1.5, 2.0])
    np.testing.assert_allclose(e.cov, np.diag(5 * vs.array**2 / 12) / CR**2)
    assert np.linalg.eigvalsh(e.cov).min() > 0
    assert e.score == pytest.approx(0.9)


def two_discs_with_a_rim(rim_center: float) -> np.ndarray:
    """Two touching discs of centre probability (5 slices) whose neck is a soft rim."""
    probs = np.zeros((3, 5, 32, 48), np.float32)
    probs[BACKGROUND] = 1
    yy, xx = np.mgrid[:32, :48]
    inside = ((yy - 16) ** 2 + (xx - 16) ** 2 <= 64) | ((yy - 16) ** 2 + (xx - 31) ** 2 <= 64)
    rim = inside & (np.abs(xx - 23.5) <= 1.0)  # two columns where the discs meet
    probs[CENTER][:, inside], probs[BACKGROUND][:, inside] = 1.0, 0.0
    probs[CENTER][:, rim], probs[BACKGROUND][:, rim] = rim_center, 1.0 - rim_center
    return probs


def test_denoising_cuts_touching_centres_along_the_background_edge():
    probs = two_discs_with_a_rim(0.6)
    raw = ndimage.label(probs[CENTER] > 0.5, CONNECTIVITY)[1]
    cut = ndimage.label(denoise_center(probs, sigma=1.0) > 0.5, CONNECTIVITY)[1]
    assert (raw, cut) == (1, 2)
    vs = VoxelSize(1.0, 1.0, 1.0)
    assert len(extract_nuclei(probs, vs, params(), denoise=False)) == 1
    assert len(extract_nuclei(probs, vs, params(), edge_sigma=1.0)) == 2


def test_denoising_stays_in_unit_range_and_keeps_centres_far_from_background():
    probs = two_discs_with_a_rim(0.6)
    out = denoise_center(probs)
    assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1
    assert out[2, 16, 16] == pytest.approx(1.0, abs=0.05)  # a disc centre, 8 voxels in
    flat = np.zeros((3, 2, 10, 10), np.float32)
    flat[CENTER] = 0.7
    np.testing.assert_allclose(denoise_center(flat), 0.7)  # no background edge: unchanged


def test_probabilities_without_classes_are_a_clear_error():
    with pytest.raises(InvalidInputError, match="probabilities"):
        extract_nuclei(np.zeros((5, 6, 7), np.float32), VS, params())


# ---------------------------------------------------------------- suppression
def cand(x: float, volume: float, score: float = 0.9) -> Ellipsoid:
    return Ellipsoid(np.array([0.0, 0.0, x]), np.eye(3), score, volume)


def test_suppression_keeps_the_larger_of_two_close_nuclei():
    a, b, far = cand(0.0, 10.0), cand(1.5, 20.0), cand(10.0, 1.0)
    assert suppress([a, b, far], d_sup=2.0) == [b, far]


def test_suppression_by_a_dropped_candidate_does_not_chain():
    big, mid, small = cand(0.0, 30.0), cand(1.5, 20.0), cand(3.0, 10.0)
    assert suppress([small, mid, big], d_sup=2.0) == [small, big]


def test_human_annotations_win_over_any_prediction():
    big, other = cand(1.0, 100.0), cand(8.0, 1.0)
    kept = suppress([big, other], d_sup=2.0, protected_centers=[[0.0, 0.0, 0.0]])
    assert kept == [other]


def test_suppression_ties_go_to_the_higher_score_and_zero_distance_keeps_all():
    lo, hi = cand(0.0, 5.0, score=0.6), cand(1.0, 5.0, score=0.8)
    assert suppress([lo, hi], d_sup=2.0) == [hi]
    assert suppress([lo, hi], d_sup=0.0) == [lo, hi]
    assert suppress([], d_sup=2.0) == []


def test_confidence_is_the_mean_centreness_of_the_component():
    probs = paint((32, 64, 96), NUCLEI)
    sl, mask = ellipsoid_mask(probs.shape[1:], VS, NUCLEI[1][0], NUCLEI[1][1] * CR**2)
    probs[CENTER][sl][mask], probs[PERIPHERY][sl][mask] = 0.6, 0.4  # an unsure centre
    sure, unsure = sorted(extract_nuclei(probs, VS, params()), key=lambda e: e.center[2])
    assert sure.confidence == pytest.approx(1.0)
    assert unsure.confidence == pytest.approx(0.6 + 0.4 / 2)  # P(centre) + ½ P(periphery)
    (flat,) = flatten_ellipsoids([unsure])
    assert flat.confidence == unsure.confidence  # a 2D movie keeps it
