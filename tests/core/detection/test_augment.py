"""Augmentation keeps image and labels aligned, valid and reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from napari_elephant.core.detection.augment import Augmenter
from napari_elephant.core.detection.labels import BACKGROUND, CENTER, IGNORE, PERIPHERY
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.units import VoxelSize

OUT = (4, 20, 20)


def _blob_crop(shape, center, sigma=2.0):
    """A bright Gaussian blob with CENTER labels inside radius 3 voxels, PERIPHERY to 4."""
    grid = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1)
    d2 = ((grid - np.asarray(center)) ** 2).sum(-1)
    image = np.exp(-d2 / (2 * sigma**2)).astype(np.float32)
    labels = np.full(shape, BACKGROUND, dtype=np.int64)
    labels[d2 <= 16] = PERIPHERY
    labels[d2 <= 9] = CENTER
    return image, labels, d2 <= 16


def _centroid(weights: np.ndarray) -> np.ndarray:
    idx = np.argwhere(np.ones(weights.shape, dtype=bool)).reshape(*weights.shape, 3)
    return (idx * weights[..., None]).reshape(-1, 3).sum(0) / weights.sum()


def test_blob_moves_with_its_labels():
    aug = Augmenter(np.random.default_rng(0), scale_range=(0.8, 1.25), contrast_range=None)
    in_shape = aug.required_input_shape(OUT)
    mid = np.array(in_shape) // 2
    image, labels, is_false = _blob_crop(in_shape, mid + np.array([-1, 3, -2]))
    for _ in range(6):
        img, lab, fal = aug.augment(image, labels, is_false, OUT)
        assert img.shape == lab.shape == fal.shape == OUT
        center_img = _centroid(np.where(img > 0.5, img, 0.0))
        center_lab = _centroid((lab == CENTER).astype(float))
        np.testing.assert_allclose(center_img, center_lab, atol=0.75)
        np.testing.assert_array_equal(fal, lab > BACKGROUND)  # the mask follows the labels


def test_labels_stay_in_the_label_set_and_required_shape_fills_the_output():
    aug = Augmenter(np.random.default_rng(1))  # scale 0.5-2 and any angle
    in_shape = aug.required_input_shape(OUT)
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 3, size=in_shape)
    image = rng.random(in_shape).astype(np.float32)
    for _ in range(8):
        img, lab, fal = aug.augment(image, labels, labels == 1, OUT)
        assert set(np.unique(lab)) <= {BACKGROUND, CENTER, PERIPHERY}  # no IGNORE: filled
        assert fal.dtype == bool and lab.dtype == np.int64
        np.testing.assert_array_equal(fal, lab == 1)
        assert img.dtype == np.float32 and img.min() >= 0.0 and img.max() <= 1.0


def test_smaller_input_gets_ignored_borders():
    aug = Augmenter(np.random.default_rng(3), flips=False, scale_range=(0.5, 0.5001))
    labels = np.zeros((4, 20, 20), dtype=np.int64)
    _, lab, _ = aug.augment(np.zeros(labels.shape, np.float32), labels, None, OUT)
    assert (lab == IGNORE).any() and (lab == BACKGROUND).any()


def test_without_geometry_it_is_a_flipped_centre_crop():
    aug = Augmenter(
        np.random.default_rng(4), scale_range=None, rotation=False, contrast_range=None
    )
    assert aug.required_input_shape(OUT) == OUT
    image = np.random.default_rng(5).random((6, 24, 26)).astype(np.float32)
    img, lab, _ = aug.augment(image, None, None, OUT)
    assert lab is None
    crop = image[1:5, 2:22, 3:23]
    candidates = [np.flip(crop, axis=tuple(a for a in range(3) if (k >> a) & 1)) for k in range(8)]
    assert any(np.array_equal(img, c) for c in candidates)


def test_contrast_shrinks_around_the_mean_and_stays_in_range():
    aug = Augmenter(
        np.random.default_rng(6),
        flips=False,
        scale_range=None,
        rotation=False,
        contrast_range=(0.5, 1.0),
    )
    image = np.random.default_rng(7).random(OUT).astype(np.float32)
    t = aug.draw(OUT, OUT)
    out = t.apply_image(image)
    assert 0.5 <= t.contrast <= 1.0
    assert out.mean() == pytest.approx(image.mean(), abs=1e-5)
    assert out.std() == pytest.approx(t.contrast * image.std(), rel=1e-4)
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_same_seed_same_result():
    image, labels, is_false = _blob_crop((4, 40, 40), (2, 18, 21))
    runs = [
        Augmenter(np.random.default_rng(11)).augment(image, labels, is_false, OUT)
        for _ in range(2)
    ]
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_rotation_is_physical_on_anisotropic_pixels():
    vs = VoxelSize(2.0, 0.5, 1.0)
    t = Augmenter(np.random.default_rng(8), voxel_size=vs, contrast_range=None).draw(OUT, OUT)
    s = np.diag(vs.array)
    physical = s @ t.matrix @ np.linalg.inv(s)  # offsets in µm: rotation / scale
    gram = physical.T @ physical
    lateral = gram[1:, 1:]
    np.testing.assert_allclose(lateral, np.eye(2) * lateral[0, 0], atol=1e-12)
    assert physical[0, 0] == 1.0


def test_bad_inputs_are_clear_errors():
    aug = Augmenter(0)
    with pytest.raises(InvalidInputError, match="labels shape"):
        aug.augment(np.zeros((4, 8, 8)), np.zeros((4, 8, 9)), None, OUT)
    with pytest.raises(InvalidInputError, match="scale range"):
        Augmenter(0, scale_range=(0.0, 2.0))
