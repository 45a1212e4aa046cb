"""Label rendering from ellipsoids: geometry, classes, precedence, crops."""

from __future__ import annotations

import math

import numpy as np
import pytest

from napari_elephant.core.detection.labels import (
    BACKGROUND,
    CENTER,
    IGNORE,
    PERIPHERY,
    annotations_from_nuclei,
    ellipsoid_mask,
    render_labels,
)
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.graph.model import make_nucleus
from napari_elephant.core.units import VoxelSize


def _full(shape, mask_slices):
    slices, mask = mask_slices
    out = np.zeros(shape, dtype=bool)
    out[slices] = mask
    return out


def _rotation(angle_deg: float, axis: int) -> np.ndarray:
    a = math.radians(angle_deg)
    i, j = [k for k in range(3) if k != axis]
    r = np.eye(3)
    r[i, i] = r[j, j] = math.cos(a)
    r[i, j], r[j, i] = -math.sin(a), math.sin(a)
    return r


def _brute_q(shape, vs, center, cov, origin=(0.0, 0.0, 0.0)) -> np.ndarray:
    idx = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1)
    d = np.asarray(origin) + idx * np.asarray(vs) - np.asarray(center)
    return np.einsum("...i,ij,...j->...", d, np.linalg.inv(cov), d)


def test_sphere_voxel_count_matches_volume():
    r, v = 6.0, 0.5
    shape = (40, 40, 40)
    _, mask = ellipsoid_mask(shape, (v, v, v), (10.1, 9.9, 10.05), np.eye(3) * r * r)
    expected = 4.0 / 3.0 * math.pi * r**3 / v**3
    assert abs(mask.sum() - expected) / expected < 0.03


def test_rotated_anisotropic_ellipsoid_matches_brute_force():
    vs = (2.0, 0.5, 0.5)
    rot = _rotation(30, axis=0) @ _rotation(20, axis=1)
    cov = rot @ np.diag([4.0**2, 2.0**2, 1.0**2]) @ rot.T
    center = np.array([9.3, 6.1, 5.7])
    shape = (10, 26, 24)
    q = _brute_q(shape, vs, center, cov)
    assert np.abs(q - 1.0).min() > 1e-6  # no voxel centre on the surface: exact test
    got = _full(shape, ellipsoid_mask(shape, VoxelSize(*vs), center, cov))
    assert got.sum() > 20
    np.testing.assert_array_equal(got, q <= 1.0)


def test_bounding_box_is_small_and_accepts_six_values():
    six = (4.0, 0.0, 0.0, 1.0, 0.0, 1.0)  # radii (2, 1, 1)
    slices, mask = ellipsoid_mask((50, 50, 50), (1, 1, 1), (20, 20, 20), six)
    assert [s.start for s in slices] == [18, 19, 19]  # only the box, not the volume
    assert mask.shape == (5, 3, 3)
    assert mask.sum() == 5 + 4  # the z line 18..22 plus 4 lateral neighbours of the centre


def test_center_is_shrunk_ellipsoid_and_rest_is_periphery():
    vs = (1.0, 0.5, 0.5)
    cov = np.diag([9.0, 16.0, 6.25])
    center = (7.2, 6.3, 5.9)
    shape = (15, 26, 24)
    lv = render_labels(shape, vs, [(center, cov)], background_threshold=0.0, center_ratio=0.4)
    full = _full(shape, ellipsoid_mask(shape, vs, center, cov))
    core = _full(shape, ellipsoid_mask(shape, vs, center, cov * 0.4**2))
    assert core.sum() > 0
    np.testing.assert_array_equal(lv.labels == CENTER, core)
    np.testing.assert_array_equal(lv.labels == PERIPHERY, full & ~core)
    np.testing.assert_array_equal(lv.labels == IGNORE, ~full)
    assert lv.labels.dtype == np.int64
    assert not lv.is_false.any()


def test_false_nuclei_are_flagged_background():
    shape, vs = (8, 16, 16), (1.0, 1.0, 1.0)
    cov = np.eye(3) * 9.0
    lv = render_labels(shape, vs, [], [((4, 8, 8), cov)], background_threshold=0.0)
    full = _full(shape, ellipsoid_mask(shape, vs, (4, 8, 8), cov))
    np.testing.assert_array_equal(lv.is_false, full)
    assert np.all(lv.labels[full] == BACKGROUND)
    assert np.all(lv.labels[~full] == IGNORE)


@pytest.mark.parametrize(
    ("threshold", "expected_bg"),
    [(0.0, 0), (1.0, 64 - 7), (0.5, None)],
)
def test_background_threshold(threshold, expected_bg):
    rng = np.random.default_rng(0)
    image = rng.random((4, 4, 4)).astype(np.float32)
    image[0, 0, 0] = 1.0  # the brightest voxel is still background at threshold 1
    nucleus = ((2.0, 2.0, 2.0), np.eye(3) * 1.0)  # 7 voxels (centre + 6 neighbours)
    lv = render_labels(
        (4, 4, 4), (1, 1, 1), [nucleus], image=image, background_threshold=threshold
    )
    annotated = lv.labels > 0
    assert annotated.sum() == 7
    bg = lv.labels == BACKGROUND
    if expected_bg is None:
        np.testing.assert_array_equal(bg, (image < 0.5) & ~annotated)
    else:
        assert bg.sum() == expected_bg
    assert np.all(lv.labels[~annotated & ~bg] == IGNORE)


def test_threshold_between_0_and_1_needs_the_image():
    with pytest.raises(InvalidInputError, match="needs the normalised image"):
        render_labels((4, 4, 4), (1, 1, 1), [], background_threshold=0.3)
    with pytest.raises(InvalidInputError, match="does not match"):
        render_labels(
            (4, 4, 4), (1, 1, 1), [], image=np.zeros((4, 4, 5)), background_threshold=0.3
        )


def test_true_wins_over_false_and_centres_over_neighbour_peripheries():
    shape, vs = (1, 1, 30), (1.0, 1.0, 1.0)
    cov = np.diag([0.25, 0.25, 36.0])  # a 1-voxel-thick rod, radius 6 along x
    a, b = ((0, 0, 10.0), cov), ((0, 0, 14.0), cov)
    for order in ([a, b], [b, a]):
        lv = render_labels(shape, vs, order, [b], center_ratio=0.5, background_threshold=0.0)
        row = lv.labels[0, 0]
        # centres: |x − 10| ≤ 3 and |x − 14| ≤ 3 -> 7..17; peripheries 4..6 and 18..20
        assert np.all(row[7:18] == CENTER)
        assert np.all(row[4:7] == PERIPHERY)
        assert np.all(row[18:21] == PERIPHERY)
        assert np.all(row[:4] == IGNORE)
        assert not lv.is_false.any()  # the false nucleus b is overridden by the true b


def test_partially_outside_and_origin_offsets_match_the_full_render():
    vs = VoxelSize(2.0, 0.5, 0.5)
    nuclei = [((4.0, 3.0, 3.0), np.diag([9.0, 4.0, 4.0])), ((10.0, 9.0, 1.0), np.eye(3) * 4)]
    false = [((6.0, 6.0, 8.0), np.eye(3) * 2.25)]
    full = render_labels((8, 30, 30), vs, nuclei, false, background_threshold=0.0)
    start = np.array([1, 7, 4])
    crop_shape = (5, 12, 13)
    origin = vs.to_um(start)
    crop = render_labels(crop_shape, vs, nuclei, false, background_threshold=0.0, origin_um=origin)
    sl = tuple(slice(s, s + n) for s, n in zip(start, crop_shape, strict=True))
    np.testing.assert_array_equal(crop.labels, full.labels[sl])
    np.testing.assert_array_equal(crop.is_false, full.is_false[sl])
    assert (crop.labels == CENTER).any() and (crop.labels == PERIPHERY).any()


def test_entirely_outside_renders_nothing():
    cov = np.eye(3) * 4.0
    _, mask = ellipsoid_mask((5, 5, 5), (1, 1, 1), (2.0, 2.0, 40.0), cov)
    assert mask.size == 0
    lv = render_labels((5, 5, 5), (1, 1, 1), [((2, 2, -9.0), cov)], background_threshold=0.0)
    assert np.all(lv.labels == IGNORE)


def test_nucleus_records_and_status_split():
    acc = make_nucleus(1, 0, (2.0, 2.0, 2.0), radius=1.5)
    rej = make_nucleus(2, 0, (2.0, 2.0, 6.0), radius=1.5, status="rejected")
    pred = make_nucleus(3, 0, (2.0, 6.0, 2.0), radius=1.5, status="predicted")
    true, false = annotations_from_nuclei([acc, rej, pred])
    assert true == [acc] and false == [rej]
    lv = render_labels((5, 9, 9), (1, 1, 1), true, false, background_threshold=0.0)
    assert lv.labels[2, 2, 2] == CENTER
    assert lv.labels[2, 2, 6] == BACKGROUND and lv.is_false[2, 2, 6]
    assert lv.labels[2, 6, 2] == IGNORE


def test_bad_covariance_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="not positive definite"):
        cov = np.diag([1.0, -1.0, 1.0])
        render_labels((3, 3, 3), (1, 1, 1), [((1, 1, 1), cov)], background_threshold=0.0)
