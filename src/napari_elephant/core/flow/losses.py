"""Loss of the flow network: ELEPHANT's normalised L_flow.

L_flow = (α L_mad + β L_ssim + γ L_smooth) / (α + β + γ), α = 1, β = γ = 0.01:

* L_mad: per axis d, the mean absolute difference between the network's
  normalised output and the flow label over the labelled voxels M (all
  crops of the batch together, n(M) in the denominator), weighted by
  ``w_d / Σ w`` (paper: w = (1, 1, 1), or (8, 1, 1) in (z, y, x) when z
  displacements are small);
* L_ssim: 1 − SSIM(I_{t-1}, Î_t), where Î_t is I_t warped by the predicted
  flow (:func:`warp`), SSIM with a 3×7×7 (z, y, x) Gaussian window of σ 1.5
  voxels and C1 = 1e-4, C2 = 9e-4 (images normalised to [0, 1]).  This term
  needs no labels: it lets every voxel learn from the images themselves;
* L_smooth: mean |y − Up(Down(y))| over the three output channels, with
  the detection loss's Down / Up.

Both Gaussian filters are separable and run as three small matrix products
per volume (:func:`gaussian_blur`): with ``conv3d`` the loss cost more than
the network's own backward pass on a CPU.

The warp samples I_t at ``x − f(x)`` (f = backward displacement in voxels,
defined on the grid of I_t): exact for a locally constant flow, which is
what the weight β = 0.01 asks of this term.  Borders are replicated, and the
SSIM window pads by replication too, so crop edges are not punished.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from napari_elephant.core.flow.model import to_voxels
from napari_elephant.core.training.blur import gaussian_blur

SSIM_WINDOW = (3, 7, 7)  # (z, y, x): the paper's 7×7×3 (x, y, z)
SSIM_SIGMA = (1.5, 1.5, 1.5)
SSIM_C1 = 1e-4
SSIM_C2 = 9e-4
SMOOTH_WINDOW = (3, 5, 5)  # Down / Up of L_smooth, as in the detection loss
SMOOTH_SIGMA = (1.0, 2.0, 2.0)


def ssim3d(
    a: torch.Tensor,
    b: torch.Tensor,
    window_size: Sequence[int] = SSIM_WINDOW,
    sigma: Sequence[float] = SSIM_SIGMA,
    c1: float = SSIM_C1,
    c2: float = SSIM_C2,
) -> torch.Tensor:
    """Mean SSIM per volume (N,) of two (N, [1,] Z, Y, X) batches of [0, 1] images."""
    a, b = (
        a.float().reshape(a.shape[0], *a.shape[-3:]),
        b.float().reshape(b.shape[0], *b.shape[-3:]),
    )
    n = a.shape[0]
    means = gaussian_blur(torch.cat((a, b, a * a, b * b, a * b)), window_size, sigma)
    mu_a, mu_b, aa, bb, ab = means.split(n)
    var_a, var_b, cov = aa - mu_a**2, bb - mu_b**2, ab - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    return (num / den).flatten(1).mean(dim=1)


def smooth_loss(values: torch.Tensor) -> torch.Tensor:
    """Per-volume mean |y − Up(Down(y))| of (N, Z, Y, X), the detection loss's L_smooth.

    Down: Gaussian 3×5×5, σ 1×2×2, replicate padding, stride 2; Up: nearest
    upsampling then the same blur with stride 1 (equal to
    ``core.detection.losses.smooth_loss``, a test checks it, only faster).
    """
    down = gaussian_blur(values, SMOOTH_WINDOW, SMOOTH_SIGMA, stride=2)
    up = F.interpolate(down[:, None], size=values.shape[-3:], mode="nearest")[:, 0]
    up = gaussian_blur(up, SMOOTH_WINDOW, SMOOTH_SIGMA)
    return (values - up).abs().flatten(1).mean(dim=1)


def _as_channel(x: torch.Tensor) -> torch.Tensor:
    return x if x.ndim == 5 else x[:, None]


def warp(image: torch.Tensor, flow_vox: torch.Tensor) -> torch.Tensor:
    """``image`` (N, 1, Z, Y, X) sampled at ``x − flow(x)`` (trilinear, border replicated).

    ``flow_vox`` (N, 3, Z, Y, X) is the backward displacement in voxels,
    channels (z, y, x).  With f the backward flow of I_t, ``warp(I_t, f)``
    approximates I_{t-1}.
    """
    image = _as_channel(image)
    nz, ny, nx = image.shape[2:]
    axes = [torch.arange(s, dtype=flow_vox.dtype, device=flow_vox.device) for s in (nz, ny, nx)]
    base = torch.stack(torch.meshgrid(*axes, indexing="ij"))  # (3, Z, Y, X)
    pos = base[None] - flow_vox  # voxel positions sampled, (N, 3, Z, Y, X)
    grid = [_to_unit(pos[:, k], size) for k, size in enumerate((nz, ny, nx))]
    grid_xyz = torch.stack(grid[::-1], dim=-1)  # grid_sample wants (x, y, z) last
    return F.grid_sample(
        image.to(flow_vox.dtype),
        grid_xyz,
        mode="bilinear",
        padding_mode="border",
        align_corners=True,
    )


def _to_unit(index: torch.Tensor, size: int) -> torch.Tensor:
    """Voxel index -> grid_sample's [-1, 1] (align_corners=True); a 1-voxel axis is 0."""
    if size == 1:
        return torch.zeros_like(index)
    return index * (2.0 / (size - 1)) - 1.0


def mad_loss(
    pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, dim_weights: Sequence[float]
) -> torch.Tensor:
    """Dimension-weighted mean |pred − target| over the labelled voxels of the batch."""
    m = mask.to(pred.dtype)[:, None]
    n = m.sum()
    if n <= 0:
        return pred.sum() * 0.0  # no label: zero, but still part of the graph
    w = torch.as_tensor(dim_weights, dtype=pred.dtype, device=pred.device)
    per_axis = ((pred - target).abs() * m).sum(dim=(0, 2, 3, 4)) / n
    return (per_axis * w / w.sum()).sum()


def flow_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    mask: torch.Tensor,
    prev: torch.Tensor,
    curr: torch.Tensor,
    scale: Sequence[float],
    *,
    dim_weights: Sequence[float] = (1.0, 1.0, 1.0),
    alpha: float = 1.0,
    beta: float = 0.01,
    gamma: float = 0.01,
    return_parts: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, dict[str, float]]:
    """ELEPHANT's normalised L_flow of the network output ``pred`` (N, 3, Z, Y, X).

    ``target`` is the normalised label (same shape), ``mask`` (N, Z, Y, X)
    its labelled voxels, ``prev`` / ``curr`` the input frames I_{t-1} / I_t
    ((N, 1, Z, Y, X) or (N, Z, Y, X)), ``scale`` the (z, y, x) factors that
    turn voxels into normalised units.  ``return_parts`` adds the terms.
    """
    pred = pred.float()
    mad = mad_loss(pred, target.to(pred.dtype), mask.bool(), dim_weights)
    warped = warp(curr, to_voxels(pred, tuple(scale)))
    ssim = 1.0 - ssim3d(prev, warped).mean()
    smooth = smooth_loss(pred.flatten(0, 1)).mean()
    loss = (alpha * mad + beta * ssim + gamma * smooth) / (alpha + beta + gamma)
    if not return_parts:
        return loss
    parts = {"loss": loss, "mad": mad, "ssim": ssim, "smooth": smooth}
    return loss, {k: float(v.detach()) for k, v in parts.items()} | {
        "n_labelled": float(mask.sum())
    }
