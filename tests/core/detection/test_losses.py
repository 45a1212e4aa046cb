"""L_vclass and L_prior on tiny tensors with hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch

from napari_elephant.core.detection.labels import BACKGROUND, CENTER, IGNORE, PERIPHERY
from napari_elephant.core.detection.losses import hold_loss, prior_loss, smooth_loss, vclass_loss


def _labels(values, shape=None) -> torch.Tensor:
    t = torch.tensor(values, dtype=torch.int64)
    return t.reshape(shape) if shape else t.reshape(1, 1, 1, -1)


def _onehot_logits(labels: torch.Tensor, margin: float = 30.0) -> torch.Tensor:
    safe = labels.clamp(min=0)
    return torch.nn.functional.one_hot(safe, 3).permute(0, 4, 1, 2, 3).float() * margin


def test_perfect_logits_give_zero_nll_and_dice():
    labels = _labels([CENTER, CENTER, PERIPHERY, BACKGROUND, IGNORE, BACKGROUND])
    is_false = torch.tensor([False, False, False, False, False, True]).reshape(labels.shape)
    _, parts = vclass_loss(_onehot_logits(labels), labels, is_false, return_parts=True)
    assert parts["nll"] < 1e-6
    # the false set holds no centre label, so its Dice is the paper's constant 1
    n_t, n_f = 4, 1
    assert parts["dice"] == pytest.approx(n_f * 5 / (n_t * 1 + n_f * 5), abs=1e-6)
    _, parts_t = vclass_loss(
        _onehot_logits(labels), labels, torch.zeros_like(is_false), return_parts=True
    )
    assert parts_t["dice"] < 1e-6


def test_uniform_logits_give_log3():
    labels = _labels([CENTER, PERIPHERY, BACKGROUND, BACKGROUND])
    is_false = torch.tensor([False, True, False, True]).reshape(labels.shape)
    _, parts = vclass_loss(torch.zeros(1, 3, 1, 1, 4), labels, is_false, return_parts=True)
    assert parts["nll"] == pytest.approx(math.log(3), abs=1e-6)
    assert parts["smooth"] == pytest.approx(0.0, abs=1e-6)  # constant map is smooth


def test_two_voxel_true_false_weighting_by_hand():
    labels = _labels([CENTER, BACKGROUND])
    is_false = torch.tensor([False, True]).reshape(labels.shape)
    logits = torch.tensor([[1.0, 0.5], [2.0, -1.0], [0.0, 0.3]]).reshape(1, 3, 1, 1, 2)
    prob = torch.softmax(logits, dim=1).reshape(3, 2)
    c_a, b_b, c_b = prob[CENTER, 0], prob[BACKGROUND, 1], prob[CENTER, 1]
    w_t, w_f = 1 * 1 / (1 * 1 + 1 * 5), 1 * 5 / (1 * 1 + 1 * 5)
    nll = w_t * -torch.log(c_a) + w_f * -torch.log(b_b)
    dice = w_t * (1 - 2 * c_a / (c_a**2 + 1)) + w_f * (1 - 0 / c_b**2)
    loss, parts = vclass_loss(logits, labels, is_false, gamma=0.0, return_parts=True)
    assert parts["nll"] == pytest.approx(float(nll), rel=1e-6)
    assert parts["dice"] == pytest.approx(float(dice), rel=1e-6)
    assert float(loss) == pytest.approx(float((nll + 5 * dice) / 6), rel=1e-6)
    assert parts["n_true"] == 1 and parts["n_false"] == 1


def test_class_weights_normalise_within_a_set():
    labels = _labels([CENTER, BACKGROUND])
    logits = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]).reshape(1, 3, 1, 1, 2)
    prob = torch.softmax(logits, dim=1).reshape(3, 2)
    nll_c, nll_b = -torch.log(prob[CENTER, 0]), -torch.log(prob[BACKGROUND, 1])
    expected = (10 * nll_c + 1 * nll_b) / 11
    _, parts = vclass_loss(
        logits, labels, torch.zeros_like(labels, dtype=torch.bool), return_parts=True
    )
    assert parts["nll"] == pytest.approx(float(expected), rel=1e-6)


def test_empty_false_set_renormalises_to_the_true_set():
    labels = _labels([CENTER, BACKGROUND])
    logits = torch.randn(1, 3, 1, 1, 2, generator=torch.Generator().manual_seed(0))
    no_false = torch.zeros_like(labels, dtype=torch.bool)
    _, a = vclass_loss(logits, labels, no_false, wt=1.0, wf=5.0, return_parts=True)
    _, b = vclass_loss(logits, labels, no_false, wt=3.0, wf=0.1, return_parts=True)
    assert a["nll"] == pytest.approx(b["nll"]) and a["dice"] == pytest.approx(b["dice"])


def test_all_ignore_gives_zero_loss_without_nan():
    labels = torch.full((2, 2, 3, 3), IGNORE, dtype=torch.int64)
    logits = torch.randn(2, 3, 2, 3, 3, requires_grad=True)
    loss, parts = vclass_loss(
        logits, labels, torch.zeros_like(labels, dtype=torch.bool), return_parts=True
    )
    assert float(loss) == 0.0 and not any(math.isnan(v) for v in parts.values())
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_unlabelled_crop_does_not_change_the_batch_loss():
    gen = torch.Generator().manual_seed(1)
    labels = torch.randint(-1, 3, (1, 2, 4, 4), generator=gen)
    is_false = torch.rand(1, 2, 4, 4, generator=gen) < 0.3
    logits = torch.randn(1, 3, 2, 4, 4, generator=gen)
    single = vclass_loss(logits, labels, is_false)
    both = vclass_loss(
        torch.cat([logits, torch.randn(1, 3, 2, 4, 4, generator=gen)]),
        torch.cat([labels, torch.full_like(labels, IGNORE)]),
        torch.cat([is_false, is_false]),
    )
    assert float(both) == pytest.approx(float(single), rel=1e-6)


def test_gradient_flows_to_labelled_logits():
    gen = torch.Generator().manual_seed(2)
    labels = torch.randint(-1, 3, (2, 3, 6, 6), generator=gen)
    is_false = torch.rand(2, 3, 6, 6, generator=gen) < 0.2
    logits = torch.randn(2, 3, 3, 6, 6, generator=gen, requires_grad=True)
    loss = vclass_loss(logits, labels, is_false)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()
    assert logits.grad.abs().sum() > 0


def test_smoothness_penalises_noise_not_constants():
    flat = torch.full((1, 4, 8, 8), 0.7)
    noisy = torch.rand(1, 4, 8, 8, generator=torch.Generator().manual_seed(3))
    assert float(smooth_loss(flat)[0]) == pytest.approx(0.0, abs=1e-6)
    assert float(smooth_loss(noisy)[0]) > 0.1
    assert smooth_loss(torch.rand(2, 1, 3, 5)).shape == (2,)  # a single z slice works


def test_prior_loss_hand_value():
    logits = torch.zeros(1, 3, 1, 1, 2)  # every class 1/3
    image = torch.tensor([0.0, 1.0]).reshape(1, 1, 1, 1, 2)
    # mean|y − 1/3| = (1/3 + 2/3) / 2; mean|(1 − y) − 1/3| the same
    assert float(prior_loss(logits, image)) == pytest.approx(1.0)
    assert float(prior_loss(logits, image[:, 0])) == pytest.approx(1.0)
    perfect = torch.stack(
        [-image[:, 0] * 40 + 20, image[:, 0] * 40 - 20, torch.full_like(image[:, 0], -50.0)], dim=1
    )  # background ≈ 1 − y, centre ≈ y
    assert float(prior_loss(perfect, image)) < 1e-6


def test_hold_loss_is_the_kl_over_the_unlabelled_voxels_only():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]]).T.reshape(1, 3, 1, 1, 2)
    same = torch.softmax(logits, dim=1)
    mask = torch.tensor([True, True]).reshape(1, 1, 1, 2)
    assert float(hold_loss(logits, same, mask)) == pytest.approx(0.0, abs=1e-6)
    uniform = torch.full_like(same, 1 / 3)
    p = torch.softmax(logits, dim=1)[0, :, 0, 0, 1]  # the second voxel's answer
    kl = float(sum((1 / 3) * (math.log(1 / 3) - math.log(q)) for q in p))
    only_second = torch.tensor([False, True]).reshape(1, 1, 1, 2)
    assert float(hold_loss(logits, uniform, only_second)) == pytest.approx(kl, rel=1e-5)
    none = torch.zeros_like(mask)
    assert float(hold_loss(logits, uniform, none)) == 0.0
