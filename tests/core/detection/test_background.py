"""The background threshold: smoothed comparison and the automatic level."""

from __future__ import annotations

import numpy as np

from napari_elephant.core.detection.background import auto_threshold, resolve_threshold, smooth
from napari_elephant.core.units import VoxelSize

VS = VoxelSize(2.0, 0.5, 0.5)


def volume_with_nucleus(rng):
    vol = np.full((8, 40, 40), 0.1, np.float32) + rng.normal(0, 0.05, (8, 40, 40)).astype(
        np.float32
    )
    vol[3:6, 15:25, 15:25] += 0.5
    return vol


def test_auto_threshold_lies_between_background_and_nuclei():
    rng = np.random.default_rng(0)
    vol = volume_with_nucleus(rng)
    s = smooth(vol, VS)
    nucleus = ((8.0, 10.0, 10.0), np.diag([4.0, 4.0, 4.0]))
    th = auto_threshold(s, [nucleus], VS)
    assert 0.15 < th < 0.35
    assert resolve_threshold(0.05, s, [nucleus], VS) == 0.05
    assert resolve_threshold("auto", s, [nucleus], VS) == th


def test_smoothing_tames_shot_noise_but_keeps_the_level():
    rng = np.random.default_rng(1)
    vol = volume_with_nucleus(rng)
    s = smooth(vol, VS)
    background = s[0]
    assert background.std() < 0.5 * vol[0].std()
    assert abs(background.mean() - vol[0].mean()) < 0.01


def test_without_annotations_only_the_darkest_voxels_are_background():
    rng = np.random.default_rng(2)
    s = smooth(volume_with_nucleus(rng), VS)
    assert auto_threshold(s, [], VS) == np.percentile(s, 20)
