"""The declared initialisation policy: which weight scale each activation gets.

``init_for(act)`` names a scheme; ``apply_init(model, scheme, act)`` draws every ``Linear``/``Conv1d``
weight from N(0, s^2 / fan_in) (biases zero) with

* ``"lecun"``: s = 1 -- SELU, whose self-normalising fixed point needs weights of variance 1/fan_in
  (Klambauer et al. 2017, sec. 3); also the fallback when no gain can be computed;
* ``"xavier"``: variance 2 / (fan_in + fan_out) -- bounded, sigmoidal activations (tanh, sigmoid,
  softsign, hardtanh ...), as Glorot & Bengio (2010) derived for them;
* ``"gain"``: s = the activation's second-moment-preserving gain (:func:`actlab.theory.gain.gain`, He
  et al. 2015 generalised; sqrt(2) for ReLU, computed by quadrature for the others);
* ``"torch"``: PyTorch's default (Kaiming-uniform with a = sqrt(5)), for comparison with old results.

The last layer (the read-out) always gets LeCun scale: no activation follows it.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import torch
import torch.nn as nn

__all__ = ["SCHEMES", "apply_init", "init_for"]

SCHEMES = ("gain", "lecun", "xavier", "torch")


def init_for(act: Any) -> str:
    """The declared scheme for an activation (module docstring)."""
    from ..zoo import get

    a = get(act)
    if a.spec.name == "selu":
        return "lecun"
    if a.is_gated:
        return "lecun"
    p = a.properties
    if p is not None and p.bounded_below and p.bounded_above:
        return "xavier"
    return "gain"  # also a user's function with nothing declared: its gain is computed by quadrature


@functools.lru_cache(maxsize=256)
def _gain(name: str) -> float:
    from ..theory.gain import gain
    from ..zoo import get

    try:
        g = float(gain(get(name)))
    except (ValueError, ArithmeticError):
        return 1.0
    return g if math.isfinite(g) and g > 0 else 1.0


def apply_init(model: nn.Module, scheme: str, act: Any) -> nn.Module:
    """Initialise ``model`` 's weight layers in place by ``scheme``; returns the model."""
    from ..zoo import get

    if scheme not in SCHEMES:
        raise ValueError(f"unknown init scheme {scheme!r}: use one of {', '.join(SCHEMES)}")
    if scheme == "torch":
        return model
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv1d))]
    name = get(act).name
    for i, layer in enumerate(layers):
        w = layer.weight
        fan_in = w.shape[1] * (w.shape[2] if w.dim() == 3 else 1)
        fan_out = w.shape[0] * (w.shape[2] if w.dim() == 3 else 1)
        last = i == len(layers) - 1
        if last or scheme == "lecun":
            std = 1.0 / math.sqrt(fan_in)
        elif scheme == "xavier":
            std = math.sqrt(2.0 / (fan_in + fan_out))
        else:
            std = _gain(name) / math.sqrt(fan_in)
        with torch.no_grad():
            w.normal_(0.0, std)
            if layer.bias is not None:
                layer.bias.zero_()
    return model
