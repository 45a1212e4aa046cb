"""Weight averaging over the end of a round."""

from __future__ import annotations

import torch
from torch import nn

from napari_elephant.core.training.averaging import WeightAverage


def _set(model: nn.Module, value: float) -> nn.Module:
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(value)
    return model


def test_the_average_is_the_mean_of_the_weights_added():
    model = nn.Sequential(nn.Linear(3, 2), nn.GroupNorm(1, 2))
    average = WeightAverage()
    assert not average.apply(model)  # nothing added: the model is left alone
    for value in (1.0, 2.0, 6.0):
        average.add(_set(model, value))
    assert average.apply(_set(model, 0.0))
    assert all(torch.allclose(p, torch.full_like(p, 3.0)) for p in model.parameters())


def test_integer_buffers_are_left_alone():
    model = nn.Module()
    model.register_buffer("steps", torch.tensor(7))
    model.register_buffer("scale", torch.tensor(1.0))
    average = WeightAverage()
    average.add(model)
    model.scale.fill_(3.0)
    average.add(model)
    model.steps.fill_(9)
    average.apply(model)
    assert model.scale.item() == 2.0 and model.steps.item() == 9
