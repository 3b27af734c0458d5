"""Small, explicit model builders that take an activation.

Every builder returns a plain ``nn.Sequential`` of ``nn.Linear`` / ``nn.Conv1d`` / ``nn.Flatten`` and
activation modules (``act.module()``), so a reader sees the whole architecture in one place and
:mod:`actlab.engine.ensemble` can stack many of them into one batched program.

Gated units (``glu``, ``swiglu`` ...) halve their input, so the layer feeding a gated unit is built twice
as wide and the hidden width seen by the next layer stays as requested.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch.nn as nn

from ..zoo import get

__all__ = ["mlp", "cnn1d"]


def _width(act: Any, n: int) -> int:
    return 2 * n if act.is_gated else n


def mlp(activation: Any, in_dim: int, out_dim: int, hidden: Sequence[int] = (100, 100)) -> nn.Sequential:
    """``Linear -> act`` for each hidden width, then a linear read-out.

    The default (two hidden layers of 100) is the MNIST-1D MLP of Greydanus & Kobak (2024).
    """
    act = get(activation)
    layers: list[nn.Module] = []
    d = in_dim
    for h in hidden:
        layers += [nn.Linear(d, _width(act, h)), act.module()]
        d = h
    layers.append(nn.Linear(d, out_dim))
    return nn.Sequential(*layers)


def cnn1d(activation: Any, length: int, out_dim: int, channels: int = 25) -> nn.Sequential:
    """Three strided 1-D convolutions (kernels 5, 3, 3; stride 2; padding 1), then a linear read-out.

    The shape of the MNIST-1D CNN of Greydanus & Kobak (2024); input is ``(N, length)`` (one channel
    is added here) so the builder is a drop-in for :func:`mlp`.
    """
    act = get(activation)
    layers: list[nn.Module] = [nn.Unflatten(1, (1, length))]
    c_in, n = 1, length
    for k in (5, 3, 3):
        layers += [nn.Conv1d(c_in, _width(act, channels), k, stride=2, padding=1),
                   _ChannelAct(act) if act.is_gated else act.module()]
        c_in = channels
        n = (n + 2 - k) // 2 + 1
    layers += [nn.Flatten(), nn.Linear(channels * n, out_dim)]
    return nn.Sequential(*layers)


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
