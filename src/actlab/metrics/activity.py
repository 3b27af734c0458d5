"""What each hidden layer's units do over a data set: statistics, exact zeros, dead and saturated units.

Definitions (issue 16, used by every study that counts units):

* a unit's *slope* on an example is phi'(z) at its pre-activation z, by autograd through the activation
  module itself (so learned parameters, PReLU's slope, and a user's module count as they are);
* *small slope*: |phi'(z)| below ``SMALL`` (1 %) of the activation's maximum |phi'| over the real line
  (:func:`max_slope`: 0.25 for sigmoid, 1 for ReLU and tanh, 1.0998 for SiLU);
* *dead* unit: small slope on **every** example -- for a rectifier that is a unit whose output is zero
  on every example (its slope there is 0), for a smooth activation a unit parked where it is flat;
* *saturated* unit: small slope on at least ``SATURATED`` (99 %) of the examples;
* *exact-zero fraction*: of the layer's outputs over all examples and units, the fraction exactly 0
  (the sparsity rectifiers induce; smooth activations give ~0).

Pre-activation and output statistics are over examples and units together (mean, variance) and the
per-unit mean over examples (``unit_mean``), which a residual branch's "mean closer to zero" is about.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn

__all__ = ["LayerActivity", "SATURATED", "SMALL", "activity", "max_slope"]

SMALL = 0.01
SATURATED = 0.99


@dataclass
class LayerActivity:
    """One hidden layer's numbers over a data set (see the module docstring)."""

    pre_mean: float
    pre_var: float
    post_mean: float
    post_var: float
    zero_fraction: float
    dead_fraction: float
    saturated_fraction: float
    small_slope_fraction: float  # of (example, unit) pairs
    unit_mean: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, float]:
        return {k: v for k, v in self.__dict__.items() if k != "unit_mean"}


def _slope(module: nn.Module, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(phi(z), phi'(z)) elementwise by autograd through ``module``."""
    with torch.enable_grad():
        zz = z.detach().requires_grad_(True)
        y = module(zz)
        (g,) = torch.autograd.grad(y.sum(), zz)
    return y.detach(), g.detach()


def max_slope(module: nn.Module, units: int = 1, lo: float = -40.0, hi: float = 40.0, n: int = 8001) -> torch.Tensor:
    """Per unit, the maximum |phi'| of ``module`` over a dense grid of [lo, hi] (shape ``(units,)``)."""
    z = torch.linspace(lo, hi, n, dtype=torch.float32).unsqueeze(1).expand(n, units).contiguous()
    _, g = _slope(module, z)
    return g.abs().amax(0)


def activity(model: nn.Module, x: torch.Tensor, *, batch: int = 4096) -> list[LayerActivity]:
    """:class:`LayerActivity` of each hidden layer of ``model`` (built by :mod:`actlab.models`) over ``x``.

    The model runs in evaluation mode (BatchNorm's running statistics) on a copy of its mode, restored
    afterwards; nothing in the model changes.
    """
    from ..models import hidden_activations

    acts = hidden_activations(model)
    if not acts:
        raise ValueError("activity needs a model built by actlab.models (it has no marked hidden activations)")
    captured: dict[int, list[torch.Tensor]] = {i: [] for i in range(len(acts))}

    def hook(i):
        def f(mod, inputs, output):
            captured[i].append(inputs[0].detach())
        return f

    handles = [a.register_forward_hook(hook(i)) for i, a in enumerate(acts)]
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            for k in range(0, len(x), batch):
                model(x[k:k + batch])
    finally:
        for h in handles:
            h.remove()
        model.train(was)
    out = []
    for i, a in enumerate(acts):
        z = torch.cat(captured[i], 0)
        y, g = _slope(a, z)
        small = g.abs() < SMALL * max_slope(a, z.shape[1]).clamp_min(torch.finfo(g.dtype).tiny)
        per_unit = small.double().mean(0)  # counts in float64: a fraction k/n comes out as k/n
        out.append(LayerActivity(
            pre_mean=float(z.mean()), pre_var=float(z.var(unbiased=False)), post_mean=float(y.mean()),
            post_var=float(y.var(unbiased=False)), zero_fraction=float((y == 0).double().mean()),
            dead_fraction=float((per_unit == 1).double().mean()),
            saturated_fraction=float((per_unit >= SATURATED).double().mean()),
            small_slope_fraction=float(small.double().mean()), unit_mean=y.double().mean(0).tolist()))
    return out
