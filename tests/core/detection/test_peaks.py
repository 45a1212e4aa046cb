"""Peak post-processing: touching and dim nuclei, sizes in µm, the dispatcher."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from napari_elephant.core.detection.labels import BACKGROUND, CENTER, PERIPHERY, ellipsoid_mask
from napari_elephant.core.detection.peaks import (
    blob_response,
    centreness,
    detect_nuclei,
    extract_peaks,
    find_peaks,
    peak_footprint,
    peak_heights,
    peak_regions,
    typical_radius,
)
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.params import DetectionParams
from napari_elephant.core.units import VoxelSize

VS = VoxelSize(2.0, 0.5, 0.5)
SHAPE = (12, 64, 96)


def blobs(nuclei: list[tuple[tuple[float, float, float], float, float]]) -> np.ndarray:
    """Probabilities a half-trained network gives: wide, blurred centres.

    Each nucleus is (centre µm, radius µm, brightness): its whole ball is
    'centre' with probability ``brightness`` (the rest periphery), blurred.
    """
    probs = np.zeros((3, *SHAPE), np.float32)
    for center, radius, level in nuclei:
        sl, mask = ellipsoid_mask(SHAPE, VS, np.array(center), np.eye(3) * radius**2)
        probs[CENTER][sl][mask] = np.maximum(probs[CENTER][sl][mask], level)
        probs[PERIPHERY][sl][mask] = np.maximum(probs[PERIPHERY][sl][mask], 1 - level)
    sigma = 0.6 / VS.array
    for k in (CENTER, PERIPHERY):
        probs[k] = ndimage.gaussian_filter(probs[k], sigma)
    probs[BACKGROUND] = np.clip(1 - probs[CENTER] - probs[PERIPHERY], 0, 1)
    return probs


def params(**kw) -> DetectionParams:
    return DetectionParams(
        **({"r_min": 1.0, "d_sup": 2.0, "r_max": 8.0, "nucleus_diameter": 6.0} | kw)
    )


def test_touching_nuclei_are_two_where_the_paper_recipe_sees_one():
    pair = [((11.0, 16.0, 20.0), 3.0, 0.9), ((11.0, 16.0, 25.5), 3.0, 0.9)]
    probs = blobs(pair)
    peaks = sorted(extract_peaks(probs, VS, params()), key=lambda e: e.center[2])
    assert len(peaks) == 2
    for e, (c, _, _) in zip(peaks, pair, strict=True):
        assert np.linalg.norm(e.center - np.array(c)) < 1.0
    paper = detect_nuclei(probs, VS, params(postprocess="paper", center_threshold=0.3))
    assert len(paper) == 1  # one connected component: why peaks are the default


def test_a_dim_nucleus_below_the_centre_threshold_is_kept():
    probs = blobs([((11.0, 16.0, 16.0), 3.0, 0.9), ((11.0, 16.0, 36.0), 3.0, 0.25)])
    assert probs[CENTER].max(axis=(0, 1))[72] < 0.3  # the dim one has no 'centre' voxel
    found = extract_peaks(probs, VS, params())
    assert sorted(round(float(e.center[2])) for e in found) == [16, 36]
    assert len(detect_nuclei(probs, VS, params(postprocess="paper"))) == 1


def test_size_follows_the_blob_and_radius_limits_apply():
    (e,) = extract_peaks(blobs([((11.0, 16.0, 20.0), 3.5, 0.9)]), VS, params())
    assert 2.5 < e.radius < 5.0
    response = blob_response(centreness(blobs([((11.0, 16.0, 20.0), 3.5, 0.9)])), VS, 3.0)
    assert e.score == pytest.approx(float(response.max()), rel=1e-5)
    (clamped,) = extract_peaks(blobs([((11.0, 16.0, 20.0), 3.5, 0.9)]), VS, params(r_max=2.0))
    assert np.linalg.eigvalsh(clamped.cov).max() <= 4.0 + 1e-9
    assert extract_peaks(blobs([((11.0, 16.0, 20.0), 3.5, 0.9)]), VS, params(r_min=6.0)) == []


def test_origin_shifts_centres_and_empty_volumes_give_nothing():
    probs = blobs([((11.0, 16.0, 20.0), 3.0, 0.9)])
    (a,) = extract_peaks(probs, VS, params())
    (b,) = extract_peaks(probs, VS, params(), origin_um=(10.0, -5.0, 2.0))
    np.testing.assert_allclose(b.center - a.center, [10.0, -5.0, 2.0])
    empty = np.zeros((3, *SHAPE), np.float32)
    empty[BACKGROUND] = 1
    assert extract_peaks(empty, VS, params()) == []


def test_a_flat_top_is_one_peak_and_the_footprint_is_a_box_in_micrometres():
    score = np.zeros((5, 9, 9), np.float32)
    score[2, 4, 4:6] = 1.0  # two equal neighbouring voxels
    markers, n = find_peaks(score, VS, 2.0, 0.5)
    assert n == 1 and (markers > 0).sum() == 2
    assert peak_footprint(VS, 2.0).shape == (3, 9, 9)
    assert peak_footprint(VS, 0.0).shape == (3, 3, 3)


def test_the_blob_filter_is_tuned_to_the_nucleus_radius():
    probs = blobs([((11.0, 16.0, 20.0), 3.0, 0.9)])
    response = {r: blob_response(centreness(probs), VS, r) for r in (3.0, 8.0)}
    assert response[3.0].max() > response[8.0].max()  # too wide a filter blurs the blob away
    at = np.unravel_index(np.argmax(response[3.0]), SHAPE) * VS.array
    assert np.linalg.norm(at - [11.0, 16.0, 20.0]) <= 1.0  # the matched filter peaks at the centre
    (e,) = extract_peaks(probs, VS, params())
    assert abs(e.radius - 3.0) < 0.9  # the half-height region has about the blob's size
    assert typical_radius(params()) == 3.0
    with pytest.raises(InvalidInputError, match="not resolved"):
        typical_radius(DetectionParams())  # auto sizes are resolved before prediction


def test_confidence_is_the_mean_centreness_of_the_peak_region():
    probs = blobs([((11.0, 16.0, 16.0), 3.0, 0.9), ((11.0, 16.0, 36.0), 3.0, 0.25)])
    bright, dim = sorted(extract_peaks(probs, VS, params()), key=lambda e: e.center[2])
    assert 0.0 <= dim.confidence < bright.confidence <= 1.0  # the weak blob is the doubtful one
    score = centreness(probs)
    response = blob_response(score, VS, typical_radius(params()))
    markers, n = find_peaks(response, VS, params().d_sup, params().peak_threshold)
    regions = peak_regions(
        response, probs[BACKGROUND], markers, peak_heights(response, markers, n)
    )
    label = regions[tuple(np.round(np.asarray([11.0, 16.0, 16.0]) / VS.array).astype(int))]
    assert bright.confidence == pytest.approx(float(score[regions == label].mean()), rel=1e-5)


def test_peak_heights_match_scipys_labelled_maximum():
    rng = np.random.default_rng(3)
    score = rng.random((6, 20, 24)).astype(np.float32)
    markers, n = ndimage.label(score > 0.97, structure=np.ones((3, 3, 3), bool))
    assert n > 5
    labels = np.arange(1, n + 1)
    expected = ndimage.maximum(score, markers, labels)
    np.testing.assert_allclose(peak_heights(score, markers, n), expected, rtol=1e-6)


def test_a_bent_nucleus_is_centred_on_its_middle_not_on_the_filters_peak():
    # a kidney: a bright lobe and a dimmer, longer one; the blob filter peaks in the
    # bright lobe, the nucleus' middle lies between the two
    probs = blobs([((11.0, 16.0, 20.0), 3.5, 0.95), ((11.0, 16.0, 27.0), 3.5, 0.6)])
    found = extract_peaks(probs, VS, params(nucleus_diameter=12.0, d_sup=3.0))
    assert len(found) == 1
    assert found[0].center[2] > 22.0  # the old centre, the peak: x = 20.0
