"""Weight averaging over the end of a round: a steadier model than the last step's.

A round of a few dozen steps ends wherever its last crops pushed the
weights; the next round's predictions then swing with those crops (the
simulated user saw TRA go 0.99 → 0.91 → 0.98 over three rounds).  The mean
of the weights over the round's second half (stochastic weight averaging:
the cosine learning rate is small there, so the weights wander around one
basin) is a point near the middle of that basin, which both swings less
from round to round and generalises at least as well.  GroupNorm keeps no
running statistics, so nothing has to be recomputed after averaging.
"""

from __future__ import annotations

import torch
from torch import nn


class WeightAverage:
    """Running mean of a model's floating-point parameters and buffers."""

    def __init__(self) -> None:
        self.mean: dict[str, torch.Tensor] = {}
        self.count = 0

    def add(self, model: nn.Module) -> None:
        """Fold the model's current weights into the mean."""
        self.count += 1
        with torch.no_grad():
            for name, value in model.state_dict().items():
                if not value.is_floating_point():
                    continue
                if name not in self.mean:
                    self.mean[name] = value.detach().clone().float()
                else:
                    self.mean[name] += (value.detach().float() - self.mean[name]) / self.count

    def apply(self, model: nn.Module) -> bool:
        """Load the mean into the model (its own dtypes); False when nothing was added."""
        if self.count == 0:
            return False
        state = model.state_dict()
        with torch.no_grad():
            for name, value in self.mean.items():
                state[name].copy_(value.to(state[name].dtype))
        return True
