"""Tiled prediction: tile placement, blending weights, and stitching exactness."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest
import torch
from torch import nn

from napari_elephant.core.detection import tiling
from napari_elephant.core.detection.tiling import (
    DEFAULT_OVERLAP,
    MAX_TILE,
    PredictionStopped,
    auto_batch_size,
    blend_weights,
    default_tile_shape,
    make_tiles,
    mirror_border,
    predict_tiled,
    ramp,
    tile_starts,
)
from napari_elephant.core.errors import InvalidInputError
from napari_elephant.core.training.progress import StopFlag

NONE = (0, 0, 0)  # no mirrored border: compare the tiling itself with the untiled output


def local_model(seed: int = 0) -> nn.Module:
    """Two 3×3×3 convolutions: each output voxel sees ±2 voxels (receptive field 5)."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv3d(1, 4, 3, padding=1), nn.Tanh(), nn.Conv3d(4, 3, 3, padding=1)
    ).eval()


def untiled(model: nn.Module, vol: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        logits = model(torch.from_numpy(vol)[None, None])
    return torch.softmax(logits, 1)[0].numpy()


# ------------------------------------------------------------- tile_starts
@pytest.mark.parametrize(
    ("size", "tile", "overlap"),
    [
        (100, 32, 8),
        (33, 32, 4),
        (35, 20, 4),
        (512, 192, 32),
        (708, 208, 32),
        (7, 3, 1),
        (64, 64, 8),
    ],
)
def test_tile_starts_cover_the_axis_flush_with_both_ends(size, tile, overlap):
    starts = tile_starts(size, tile, overlap)
    assert starts[0] == 0 and starts[-1] + tile == size
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert all(g > 0 for g in gaps)
    assert all(tile - g >= overlap for g in gaps)  # neighbours overlap at least as asked
    covered = np.zeros(size, bool)
    for s in starts:
        covered[s : s + tile] = True
    assert covered.all()


def test_tile_starts_single_tile_when_the_volume_is_not_larger():
    assert tile_starts(10, 32, 4) == [0]
    assert tile_starts(32, 32, 4) == [0]


def test_tile_starts_refuses_an_overlap_as_large_as_the_tile():
    with pytest.raises(InvalidInputError):
        tile_starts(100, 8, 8)


# ------------------------------------------------------------- weights
def test_ramp_is_flat_without_neighbours_and_complementary_across_an_overlap():
    assert np.array_equal(ramp(9), np.ones(9, np.float32))
    tile, ov = 16, 8
    a, b = ramp(tile, 0, ov), ramp(tile, ov, 0)
    np.testing.assert_allclose(a[tile - ov :] + b[:ov], 1.0, atol=1e-6)
    assert a[-1] == 0 and a[0] == 1  # the cut side is not trusted, the border side is


@pytest.mark.parametrize(
    ("shape", "tile", "overlap"),
    [
        ((35, 50, 61), (20, 24, 24), (4, 8, 8)),
        ((5, 9, 13), (4, 4, 4), (2, 3, 1)),
        ((3, 40, 7), (8, 12, 8), (4, 6, 6)),
    ],
)
def test_blend_weights_sum_is_positive_everywhere(shape, tile, overlap):
    tshape = tuple(min(t, s) for t, s in zip(tile, shape, strict=True))
    total = np.zeros(shape, np.float32)
    for t in make_tiles(shape, tshape, overlap):
        total[t.slices(tshape)] += blend_weights(tshape, t.before, t.after)
    assert total.min() > 0


def test_blend_weights_of_a_lone_tile_are_all_ones():
    w = blend_weights((4, 5, 6), (0, 0, 0), (0, 0, 0))
    assert w.shape == (4, 5, 6) and np.all(w == 1)


# ------------------------------------------------------------- prediction
@pytest.mark.parametrize("shape", [(17, 23, 29), (9, 31, 14)])
def test_tiling_reproduces_the_untiled_output_of_a_local_model(shape):
    model = local_model()
    vol = np.random.default_rng(1).random(shape, dtype=np.float32)
    # overlap 8: a quarter (2 voxels) at each cut gets weight 0 = the model's reach
    out = predict_tiled(
        model, vol, (12, 12, 12), (8, 8, 8), batch_size=16, border=NONE, skip_empty=False
    )
    assert len(make_tiles(shape, (12, 12, 12), (8, 8, 8))) > 8  # really tiled
    np.testing.assert_allclose(out, untiled(model, vol), atol=1e-5)


def test_tiling_with_batches_matches_batch_of_one():
    model = local_model(2)
    vol = np.random.default_rng(3).random((11, 21, 19), dtype=np.float32)
    kw = {"tile_shape": (8, 12, 12), "overlap": (4, 8, 8), "border": NONE, "skip_empty": False}
    one = predict_tiled(model, vol, batch_size=1, **kw)
    many = predict_tiled(model, vol, batch_size=5, **kw)
    np.testing.assert_allclose(one, many, atol=1e-6)


def test_volume_smaller_than_the_tile_is_one_exact_tile():
    model = local_model(4)
    vol = np.random.default_rng(5).random((5, 13, 11), dtype=np.float32)
    out = predict_tiled(
        model, vol, tile_shape=(32, 256, 256), overlap=DEFAULT_OVERLAP, border=NONE
    )
    assert out.shape == (3, 5, 13, 11) and out.dtype == np.float32
    np.testing.assert_allclose(out, untiled(model, vol), atol=1e-6)
    np.testing.assert_allclose(out.sum(0), 1.0, atol=1e-5)


def test_prediction_reports_progress_restores_train_mode_and_stops():
    model = local_model().train()
    vol = np.random.default_rng(6).random((6, 20, 20), dtype=np.float32)
    seen = []
    predict_tiled(
        model,
        vol,
        (6, 12, 12),
        (2, 4, 4),
        progress=lambda d, n: seen.append((d, n)),
        border=NONE,
        skip_empty=False,  # uniform noise is all "empty": run the network on each tile
    )
    assert seen[-1][0] == seen[-1][1] == 4 and model.training
    stop = threading.Event()
    stop.set()
    with pytest.raises(PredictionStopped):
        predict_tiled(model, vol, (6, 12, 12), (2, 4, 4), stop=stop)
    with pytest.raises(PredictionStopped):
        predict_tiled(model, vol, (6, 12, 12), (2, 4, 4), stop=lambda: True)
    flag = StopFlag()  # the engines' own flag
    predict_tiled(model, vol, (6, 12, 12), (2, 4, 4), stop=flag)  # not set: runs
    flag.set()
    with pytest.raises(PredictionStopped):
        predict_tiled(model, vol, (6, 12, 12), (2, 4, 4), stop=flag)


def test_bad_volume_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="volume"):
        predict_tiled(local_model(), np.zeros((4, 4), np.float32))


def test_default_tile_shape_is_bounded_and_balanced_for_ce1():
    shape = (35, 512, 708)
    tile = default_tile_shape(shape, multiple=(2, 16, 16))
    assert all(t <= m for t, m in zip(tile, MAX_TILE, strict=True))
    assert tile == (20, 192, 208)  # 2 × 3 × 4 tiles instead of full 32×256×256 ones
    assert len(make_tiles(shape, tile, DEFAULT_OVERLAP)) == 24
    assert default_tile_shape((5, 40, 50)) == (5, 40, 50)


def test_auto_batch_size_is_one_on_cpu():
    assert auto_batch_size("cpu", MAX_TILE) == 1


def test_mirrored_border_is_cut_back_out_and_spares_thin_axes():
    vol = np.arange(3 * 5 * 6, dtype=np.float32).reshape(3, 5, 6)
    padded, inner = mirror_border(vol, (2, 8, 1))
    assert padded.shape == (3 + 4, 5 + 8, 6 + 2)  # z: 2 each side, y: at most n - 1
    np.testing.assert_array_equal(padded[inner], vol)
    assert padded[0, 4, 1] == vol[2, 0, 0]  # mirrored, not repeated
    assert mirror_border(vol, (0, 0, 0)) == (vol, None)


def test_prediction_with_a_border_has_the_volume_shape_and_differs_only_near_edges():
    model = local_model()
    vol = np.random.default_rng(8).random((10, 24, 24), dtype=np.float32)
    plain = predict_tiled(model, vol, (16, 32, 32), (2, 4, 4), border=NONE)  # one tile each
    mirrored = predict_tiled(model, vol, (16, 32, 32), (2, 4, 4), border=(2, 4, 4))
    assert mirrored.shape == plain.shape
    np.testing.assert_allclose(
        mirrored[:, 2:-2, 2:-2, 2:-2], plain[:, 2:-2, 2:-2, 2:-2], atol=1e-5
    )
    assert not np.allclose(mirrored[:, :, :, 0], plain[:, :, :, 0])


def test_prediction_flushes_denormals_while_it_runs(monkeypatch):
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU has no flush-to-zero mode")
    seen, real = [], tiling._run_tiles

    def spy(*args, **kwargs):
        seen.append((torch.tensor([1e-39]) * 1.0).item())
        return real(*args, **kwargs)

    monkeypatch.setattr(tiling, "_run_tiles", spy)
    predict_tiled(local_model(), np.zeros((4, 8, 8), np.float32), border=NONE)
    assert seen == [0.0]  # flushed inside
    assert (torch.tensor([1e-39]) * 1.0).item() != 0.0  # and the default back after


@pytest.mark.parametrize("has_bf16", [False, True])
def test_mixed_precision_on_a_cpu_follows_its_bf16_support(monkeypatch, has_bf16):
    """amp=True is bf16 on a CPU that has it (probabilities float32, close to full
    precision) and exactly full precision on one that does not."""
    from napari_elephant.core.training import device

    monkeypatch.setattr(device, "cpu_has_bf16", lambda: has_bf16)
    model = local_model(5)
    vol = np.random.default_rng(6).random((10, 20, 20), dtype=np.float32)
    kw = {"tile_shape": (8, 12, 12), "overlap": (4, 8, 8), "border": NONE, "skip_empty": False}
    full = predict_tiled(model, vol, amp=False, **kw)
    mixed = predict_tiled(model, vol, amp=True, **kw)
    assert mixed.dtype == np.float32
    if has_bf16:
        assert 0 < np.abs(mixed - full).max() < 0.02
    else:
        np.testing.assert_array_equal(mixed, full)
