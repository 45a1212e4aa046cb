"""Losses of the detection network: ELEPHANT's normalised L_vclass and L_prior.

L_vclass = (α L_nll + β L_dice + γ L_smooth) / (α + β + γ), computed per crop
and averaged over the crops of the batch that hold at least one labelled
voxel.  Labelled voxels split into *true* (T) and *false* (F) sets, weighted
``n(T)·wt / (n(T)·wt + n(F)·wf)`` and ``n(F)·wf / (...)``, so the user's
corrections (false annotations) count ``wf / wt`` times more per voxel while
the loss stays on the same scale whatever the mix.  An empty set gets weight
0; a crop with no labelled voxel contributes nothing (not even L_smooth) and
an all-unlabelled batch gives a loss of exactly 0 that still back-propagates.

Choices the paper leaves open:

* A set without any centre label has Dice ``1 − 0 / max(Σp², ε) = 1``, as in
  the paper's formula: a constant (no gradient) that keeps the loss scale.
* Smoothing (L_smooth): ``Down`` = separable Gaussian blur (kernel 3×5×5,
  σ = 1×2×2 voxels, replicate padding) evaluated with stride 2; ``Up`` =
  nearest upsampling back to the input size followed by the same blur with
  stride 1 (so the blocks of nearest upsampling are not penalised).
  Replicate padding keeps crop borders from being punished.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from napari_elephant.core.detection.labels import BACKGROUND, CENTER, IGNORE
from napari_elephant.core.training.blur import gaussian_blur

_KERNEL = (3, 5, 5)
_SIGMA = (1.0, 2.0, 2.0)


def _blur(x: torch.Tensor, stride: int) -> torch.Tensor:
    """Gaussian blur of (N, 1, Z, Y, X) with replicate padding, sampled every ``stride``."""
    return gaussian_blur(x, _KERNEL, _SIGMA, stride)


def smooth_loss(prob: torch.Tensor) -> torch.Tensor:
    """Per-crop mean |p − Up(Down(p))| of (N, Z, Y, X) probabilities -> (N,)."""
    p = prob[:, None]
    down = _blur(p, stride=2)
    up = _blur(F.interpolate(down, size=p.shape[-3:], mode="nearest"), stride=1)
    return (p - up).abs().flatten(1).mean(dim=1)


def _set_terms(
    logp: torch.Tensor,
    labels: torch.Tensor,
    in_set: torch.Tensor,
    class_weights: torch.Tensor,
    eps: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-crop class-weighted NLL and centre Dice over one voxel set -> two (N,)."""
    safe = labels.clamp(min=0)
    nll = -logp.gather(1, safe[:, None])[:, 0]
    wc = class_weights[safe] * in_set
    wsum = wc.flatten(1).sum(1)
    nll_term = (nll * wc).flatten(1).sum(1) / wsum.clamp(min=torch.finfo(wc.dtype).tiny)
    pc = logp[:, CENTER].exp() * in_set
    onehot = ((labels == CENTER) & in_set.bool()).to(pc.dtype)
    inter = (pc * onehot).flatten(1).sum(1)
    denom = (pc * pc + onehot).flatten(1).sum(1).clamp(min=eps)
    return nll_term, 1.0 - 2.0 * inter / denom


def _set_weights(
    n_true: torch.Tensor, n_false: torch.Tensor, wt: float, wf: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised weights of the true and false sets (0 for an empty set)."""
    a, b = n_true * wt, n_false * wf
    total = a + b
    safe = torch.where(total > 0, total, torch.ones_like(total))
    return torch.where(total > 0, a / safe, 0.0), torch.where(total > 0, b / safe, 0.0)


def vclass_loss(
    logits: torch.Tensor,
    labels: torch.Tensor,
    is_false: torch.Tensor,
    *,
    wt: float = 1.0,
    wf: float = 5.0,
    alpha: float = 1.0,
    beta: float = 5.0,
    gamma: float = 1.0,
    class_weights: Sequence[float] = (1.0, 10.0, 10.0),
    eps: float = 1e-6,
    return_parts: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, dict[str, float]]:
    """ELEPHANT's normalised L_vclass of raw logits (N, 3, Z, Y, X).

    ``labels`` (N, Z, Y, X) int64 with IGNORE = -1; ``is_false`` (N, Z, Y, X)
    bool marks voxels from false annotations.  ``class_weights`` are indexed
    by class (background, centre, periphery).  With ``return_parts`` also
    returns {"loss", "nll", "dice", "smooth", "n_true", "n_false"} as floats
    (averaged over the crops that count).
    """
    labels = labels.long()
    is_false = is_false.bool()
    logp = F.log_softmax(logits, dim=1)
    cw = torch.as_tensor(class_weights, dtype=logp.dtype, device=logp.device)
    labelled = labels != IGNORE
    t_set = (labelled & ~is_false).to(logp.dtype)
    f_set = (labelled & is_false).to(logp.dtype)
    nll_t, dice_t = _set_terms(logp, labels, t_set, cw, eps)
    nll_f, dice_f = _set_terms(logp, labels, f_set, cw, eps)
    n_t, n_f = t_set.flatten(1).sum(1), f_set.flatten(1).sum(1)
    w_t, w_f = _set_weights(n_t, n_f, wt, wf)
    nll = w_t * nll_t + w_f * nll_f
    dice = w_t * dice_t + w_f * dice_f
    smooth = smooth_loss(logp[:, CENTER].exp())
    per_crop = (alpha * nll + beta * dice + gamma * smooth) / (alpha + beta + gamma)
    counts = (n_t + n_f) > 0
    n_crops = int(counts.sum())
    loss = (per_crop * counts).sum() / max(n_crops, 1)
    if not return_parts:
        return loss
    return loss, _parts(loss, nll, dice, smooth, counts, n_t, n_f)


def _parts(
    loss: torch.Tensor,
    nll: torch.Tensor,
    dice: torch.Tensor,
    smooth: torch.Tensor,
    counts: torch.Tensor,
    n_t: torch.Tensor,
    n_f: torch.Tensor,
) -> dict[str, float]:
    """Detached, crop-averaged loss terms for logging."""
    n = max(int(counts.sum()), 1)

    def avg(x: torch.Tensor) -> float:
        return float((x.detach() * counts).sum() / n)

    return {
        "loss": float(loss.detach()),
        "nll": avg(nll),
        "dice": avg(dice),
        "smooth": avg(smooth),
        "n_true": float(n_t.sum()),
        "n_false": float(n_f.sum()),
    }


def prior_loss(logits: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """L_prior = mean|y − P(centre)| + mean|(1 − y) − P(background)|.

    Pre-trains a fresh network so that bright voxels look like centres and dark
    ones like background.  ``image`` is the normalised input, (N, 1, Z, Y, X)
    or (N, Z, Y, X).
    """
    y = image[:, 0] if image.dim() == logits.dim() else image
    prob = F.softmax(logits, dim=1)
    y = y.to(prob.dtype)
    return (y - prob[:, CENTER]).abs().mean() + ((1.0 - y) - prob[:, BACKGROUND]).abs().mean()


def hold_loss(logits: torch.Tensor, held: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean KL(held ‖ network) over the voxels of ``mask`` (0 when there are none).

    ``held`` (N, 3, Z, Y, X) are the class probabilities the network gave at
    the start of the round; ``mask`` (N, Z, Y, X) the voxels no annotation
    labels.  Zero when the network still answers there as it did.
    """
    logp = F.log_softmax(logits, dim=1)
    kl = (held * (torch.log(held.clamp_min(1e-8)) - logp)).sum(dim=1)
    m = mask.to(kl.dtype)
    return (kl * m).sum() / m.sum().clamp_min(1.0)
