"""1-D convolutional networks (the MNIST-1D CNN shape)."""

from __future__ import annotations

from typing import Any

import torch.nn as nn

from ..zoo import get
from .mlp import initialise, width

__all__ = ["cnn1d"]


def cnn1d(activation: Any, length: int, out_dim: int, channels: int = 25, init: str = "torch") -> nn.Sequential:
    """Three strided 1-D convolutions (kernels 5, 3, 3; stride 2; padding 1), then a linear read-out.

    The shape of the MNIST-1D CNN of Greydanus & Kobak (2024); input is ``(N, length)`` (one channel
    is added here) so the builder is a drop-in for :func:`mlp`.
    """
    act = get(activation)
    layers: list[nn.Module] = [nn.Unflatten(1, (1, length))]
    c_in, n = 1, length
    for k in (5, 3, 3):
        layers += [nn.Conv1d(c_in, width(act, channels), k, stride=2, padding=1),
                   _ChannelAct(act) if act.is_gated else act.module()]
        c_in = channels
        n = (n + 2 - k) // 2 + 1
    layers += [nn.Flatten(), nn.Linear(channels * n, out_dim)]
    return initialise(nn.Sequential(*layers), init, act)


class _ChannelAct(nn.Module):
    """An activation applied over channels (dim 1): gated units split channels, not positions."""

    def __init__(self, act: Any):
        super().__init__()
        self.act = act.module()
        self.gated = act.is_gated

    def forward(self, x):
        if self.gated:
            return self.act(*reversed(x.chunk(2, dim=1)))  # second half gates, as in F.glu
        return self.act(x)
