"""L_flow: 3D SSIM, the warp, the dimension-weighted MAD and the normalised sum."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from napari_elephant.core.detection.losses import smooth_loss as detection_smooth_loss
from napari_elephant.core.flow.losses import (
    flow_loss,
    gaussian_blur,
    mad_loss,
    smooth_loss,
    ssim3d,
    warp,
)

SCALE = (0.1, 0.05, 0.05)


def blobs(seed: int = 0, shape=(8, 32, 32)) -> torch.Tensor:
    """Smooth random [0, 1] texture (N=1, C=1)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1, 1, *shape, generator=g)
    for _ in range(2):
        x = F.avg_pool3d(x, 3, 1, 1, count_include_pad=False)
    return (x - x.min()) / (x.max() - x.min())


def constant_flow(shape, zyx) -> torch.Tensor:
    flow = torch.zeros(1, 3, *shape)
    for k, v in enumerate(zyx):
        flow[:, k] = v
    return flow


def reference_blur(x, size, sigma, stride=1):
    """The plain 3-D convolution the separable blur stands for."""
    factors = []
    for n, s in zip(size, sigma, strict=True):
        g = torch.exp(-0.5 * ((torch.arange(n) - (n - 1) / 2) / s) ** 2)
        factors.append(g / g.sum())
    kernel = factors[0][:, None, None] * factors[1][None, :, None] * factors[2][None, None, :]
    pads = [p for n in reversed(size) for p in (n // 2, n // 2)]
    return F.conv3d(F.pad(x, pads, mode="replicate"), kernel[None, None], stride=stride)


@pytest.mark.parametrize(
    ("shape", "size", "sigma", "stride"),
    [((8, 32, 32), (3, 7, 7), (1.5, 1.5, 1.5), 1), ((7, 33, 45), (3, 5, 5), (1.0, 2.0, 2.0), 2)],
)
def test_separable_blur_equals_the_3d_convolution(shape, size, sigma, stride):
    x = torch.rand(2, 1, *shape, generator=torch.Generator().manual_seed(0))
    fast = gaussian_blur(x[:, 0], size, sigma, stride)
    assert torch.allclose(fast, reference_blur(x, size, sigma, stride)[:, 0], atol=1e-6)


def test_smoothness_equals_the_detection_losses_term():
    y = torch.rand(6, 7, 33, 45, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(smooth_loss(y), detection_smooth_loss(y), atol=1e-6)


def test_ssim_of_identical_volumes_is_one_and_lower_when_shifted():
    a = blobs()
    assert ssim3d(a, a).item() == pytest.approx(1.0, abs=1e-5)
    shifted = torch.roll(a, 3, dims=4)
    value = ssim3d(a, shifted).item()
    assert value < 0.8
    assert ssim3d(shifted, a).item() == pytest.approx(value, abs=1e-6)  # symmetric
    assert ssim3d(a, torch.roll(a, 1, dims=4)).item() > value  # smaller shift, more similar


def test_warp_with_zero_flow_is_the_identity():
    a = blobs()
    assert torch.allclose(warp(a, torch.zeros(1, 3, *a.shape[2:])), a, atol=1e-6)


def test_warp_with_a_known_constant_flow_undoes_a_shift():
    prev = blobs(1)
    curr = torch.roll(prev, shifts=(1, 3, -2), dims=(2, 3, 4))  # content moved +1 z, +3 y, -2 x
    back = warp(curr, constant_flow(prev.shape[2:], (-1.0, -3.0, 2.0)))  # backward displacement
    inner = (slice(None), slice(None), slice(1, -1), slice(3, -3), slice(2, -2))
    assert torch.allclose(back[inner], prev[inner], atol=1e-5)


def test_warp_interpolates_half_voxel_flows_linearly():
    a = blobs(2)
    half = warp(a, constant_flow(a.shape[2:], (0.0, 0.0, -0.5)))  # samples at x + 0.5
    expected = (a[..., :-1] + a[..., 1:]) / 2
    assert torch.allclose(half[..., :-1], expected, atol=1e-5)


def test_mad_is_dimension_weighted_over_labelled_voxels_only():
    pred = torch.zeros(1, 3, 1, 1, 2)
    target = torch.zeros(1, 3, 1, 1, 2)
    target[0, :, 0, 0, 0] = torch.tensor([0.2, 0.4, 0.6])
    target[0, :, 0, 0, 1] = 9.0  # unlabelled: ignored
    mask = torch.tensor([[[[True, False]]]])
    # weights (1, 1, 2) / 4 -> 0.2/4 + 0.4/4 + 0.6/2
    assert mad_loss(pred, target, mask, (1.0, 1.0, 2.0)).item() == pytest.approx(0.45)


def test_mad_without_labels_is_zero_and_still_back_propagates():
    pred = torch.rand(1, 3, 2, 4, 4, requires_grad=True)
    loss = mad_loss(
        pred, torch.ones_like(pred), torch.zeros(1, 2, 4, 4, dtype=torch.bool), (1, 1, 1)
    )
    loss.backward()
    assert loss.item() == 0.0 and pred.grad is not None


def test_flow_loss_is_the_normalised_weighted_sum_of_its_terms():
    prev = blobs(3)
    curr = torch.roll(prev, 2, dims=3)
    pred = torch.full((1, 3, *prev.shape[2:]), 0.05)
    target = torch.zeros_like(pred)
    mask = torch.zeros(1, *prev.shape[2:], dtype=torch.bool)
    mask[0, 2:5, 10:20, 10:20] = True
    loss, parts = flow_loss(
        pred, target, mask, prev, curr, SCALE, beta=0.5, gamma=0.25, return_parts=True
    )
    assert parts["mad"] == pytest.approx(0.05)
    assert 0 < parts["ssim"] < 1 and parts["smooth"] == pytest.approx(0.0, abs=1e-6)
    expected = (parts["mad"] + 0.5 * parts["ssim"] + 0.25 * parts["smooth"]) / 1.75
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert parts["n_labelled"] == mask.sum().item()


def test_the_ssim_term_prefers_the_true_flow():
    prev = blobs(4)
    curr = torch.roll(prev, 2, dims=3)  # moved +2 voxels in y: backward flow -2 voxels
    mask = torch.zeros(1, *prev.shape[2:], dtype=torch.bool)
    true = constant_flow(prev.shape[2:], (0.0, -2.0 * SCALE[1], 0.0))
    zero = torch.zeros_like(true)

    def ssim_only(pred):
        return flow_loss(pred, zero, mask, prev, curr, SCALE, alpha=0.0, gamma=0.0).item()

    assert ssim_only(true) < 0.5 * ssim_only(zero)
