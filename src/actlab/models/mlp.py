"""Multi-layer perceptrons: ``Linear -> act`` per hidden width, then a linear read-out.

Two options make the deep-network studies' models (issue 16: dead and saturated units, residual
branches, BatchNorm after PReLU, self-normalisation) from the same builder:

* ``norm="before"`` puts a ``BatchNorm1d`` between each hidden ``Linear`` and its activation (the usual
  "ReLU + BN"); ``norm="after"`` puts it after the activation (a BatchNorm that normalises phi's output);
* ``residual=True`` makes every hidden layer whose input and output widths agree a residual block
  ``h + f(h)``, with ``f`` the layer's ``Linear -> [BN] -> act [-> BN]``.

Without either the model is a plain ``nn.Sequential`` that :mod:`actlab.engine.ensemble` stacks.
Every hidden activation module is marked, so :func:`hidden_activations` finds them in order (the
probes of :mod:`actlab.metrics` hook them); ``act_module`` replaces ``act.module()`` where an arm is not
a plain zoo activation (a wrapped or learnable module).
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
import torch.nn as nn

from ..zoo import get

__all__ = ["Residual", "hidden_activations", "mlp", "width"]

_MARK = "_actlab_hidden"


def width(act: Any, n: int) -> int:
    return 2 * n if act.is_gated else n


class Residual(nn.Module):
    """``x + f(x)``: a residual block around ``f``."""

    def __init__(self, f: nn.Module):
        super().__init__()
        self.f = f

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.f(x)


def hidden_activations(model: nn.Module) -> list[nn.Module]:
    """The hidden activation modules of a model built here, input side first."""
    return [m for m in model.modules() if getattr(m, _MARK, False)]


def mlp(activation: Any, in_dim: int, out_dim: int, hidden: Sequence[int] = (100, 100), init: str = "torch", *,
        norm: str | None = None, residual: bool = False,
        act_module: Callable[[], nn.Module] | None = None) -> nn.Sequential:
    """``Linear -> act`` for each hidden width, then a linear read-out.

    The default (two hidden layers of 100) is the MNIST-1D MLP of Greydanus & Kobak (2024).  ``init``
    is a scheme of :mod:`actlab.models.init` (``"auto"``: the declared one for the activation); it draws
    the ``Linear`` weights only (BatchNorm starts at scale 1, shift 0).  ``norm`` and ``residual``: the
    module docstring.
    """
    if norm not in (None, "before", "after"):
        raise ValueError(f"norm must be None, 'before' or 'after', got {norm!r}")
    act = get(activation)
    if (norm or residual) and act.is_gated:
        raise ValueError(f"{act.name} is a gated unit: norm and residual blocks take pointwise activations")
    layers: list[nn.Module] = []
    d = in_dim
    for h in hidden:
        a = act_module() if act_module is not None else act.module()
        setattr(a, _MARK, True)
        block: list[nn.Module] = [nn.Linear(d, width(act, h))]
        if norm == "before":
            block.append(nn.BatchNorm1d(h))
        block.append(a)
        if norm == "after":
            block.append(nn.BatchNorm1d(h))
        if residual and d == h:
            layers.append(Residual(nn.Sequential(*block)))
        else:
            layers += block
        d = h
    layers.append(nn.Linear(d, out_dim))
    return initialise(nn.Sequential(*layers), init, act)


def initialise(model: nn.Sequential, init: str, act: Any) -> nn.Sequential:
    from .init import apply_init, init_for

    return apply_init(model, init_for(act) if init == "auto" else init, act)
