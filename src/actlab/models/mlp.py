"""Multi-layer perceptrons: ``Linear -> act`` per hidden width, then a linear read-out."""

from __future__ import annotations

from typing import Any, Sequence

import torch.nn as nn

from ..zoo import get

__all__ = ["mlp", "width"]


def width(act: Any, n: int) -> int:
    return 2 * n if act.is_gated else n


def mlp(activation: Any, in_dim: int, out_dim: int, hidden: Sequence[int] = (100, 100), init: str = "torch") -> nn.Sequential:
    """``Linear -> act`` for each hidden width, then a linear read-out.

    The default (two hidden layers of 100) is the MNIST-1D MLP of Greydanus & Kobak (2024).  ``init``
    is a scheme of :mod:`actlab.models.init` (``"auto"``: the declared one for the activation).
    """
    act = get(activation)
    layers: list[nn.Module] = []
    d = in_dim
    for h in hidden:
        layers += [nn.Linear(d, width(act, h)), act.module()]
        d = h
    layers.append(nn.Linear(d, out_dim))
    return initialise(nn.Sequential(*layers), init, act)


def initialise(model: nn.Sequential, init: str, act: Any) -> nn.Sequential:
    from .init import apply_init, init_for

    return apply_init(model, init_for(act) if init == "auto" else init, act)
