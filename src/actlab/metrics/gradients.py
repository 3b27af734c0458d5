"""Gradients a study reads inside a model: per-layer norms and per-minibatch gradient vectors.

Both compute on the model's current weights and leave them, and the model's ``.grad`` fields, as they
were (the gradients are taken with :func:`torch.autograd.grad`, which accumulates nothing).
"""

from __future__ import annotations

from typing import Callable, Iterable, Sequence

import torch
import torch.nn as nn

__all__ = ["layer_grad_norms", "minibatch_gradients", "weight_layers"]

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def weight_layers(model: nn.Module) -> list[nn.Module]:
    """The ``Linear``/``Conv1d`` layers of ``model``, input side first (the read-out last)."""
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d))]


def _grads(model: nn.Module, params: Sequence[torch.Tensor], loss: Loss, x: torch.Tensor,
           y: torch.Tensor) -> tuple[torch.Tensor, ...]:
    with torch.enable_grad():
        return torch.autograd.grad(loss(model(x), y), list(params))


def layer_grad_norms(model: nn.Module, loss: Loss, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """The Frobenius norm of the loss gradient with respect to each weight layer's weight, on (x, y).

    The model runs in its current mode (training mode: what an optimiser step would see).
    """
    layers = weight_layers(model)
    if not layers:
        raise ValueError("layer_grad_norms needs a model with Linear or Conv1d layers")
    return [float(g.norm()) for g in _grads(model, [m.weight for m in layers], loss, x, y)]


def minibatch_gradients(model: nn.Module, loss: Loss, batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
                        params: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
    """One flattened gradient per minibatch: shape ``(K, P)`` for K batches and P parameters.

    ``params`` defaults to every parameter that requires a gradient, in ``model.parameters()`` order.
    """
    ps = [p for p in model.parameters() if p.requires_grad] if params is None else list(params)
    if not ps:
        raise ValueError("minibatch_gradients: the model has no parameter that requires a gradient")
    rows = [torch.cat([g.reshape(-1) for g in _grads(model, ps, loss, x, y)]) for x, y in batches]
    if not rows:
        raise ValueError("minibatch_gradients needs at least one batch")
    return torch.stack(rows)
