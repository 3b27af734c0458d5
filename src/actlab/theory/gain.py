"""Initialisation gains: the weight scale that preserves the second moment through a layer.

Definition (He et al. 2015, sec. 2.2, generalised from ReLU to any phi).  A layer computes
z' = W phi(z) with W_ij ~ N(0, gain^2/fan_in) independent of z, and z_j ~ N(0, q).  Then
E[z'_i^2] = gain^2 * E[phi(sqrt(q) Z)^2], Z ~ N(0, 1), so the second moment is preserved (q -> q) iff

    gain(phi; q) = sqrt(q / E[phi(sqrt(q) Z)^2]).

actlab reports q = 1 (unit pre-activation variance, the scale batch/layer norm and standardised
inputs give).  For positively homogeneous phi (ReLU, leaky ReLU, PReLU) the gain does not depend on q:
ReLU sqrt(2), leaky/PReLU with slope a sqrt(2/(1+a^2)), so the He std is sqrt(2/((1+a^2) fan_in)).

``torch.nn.init.calculate_gain`` agrees for identity, ReLU and leaky ReLU and differs elsewhere on
purpose: tanh 5/3 and sigmoid 1 are conventions, not second-moment values (the second-moment tanh gain
at q = 1 is 1.5927 and sigmoid's 1.8462), and torch's SELU 3/4 trades SELU's self-normalising fixed point
(which needs gain 1, i.e. weights of variance 1/fan_in) for gradient stability, as its documentation says.
``gain_report`` states, for each difference, the fixed point q* that torch's gain actually produces.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
import torch.nn as nn

from ..zoo import Activation
from .gaussian import check_std, pointwise
from .moments import gaussian_moments


def gain(act: Any, q: float = 1.0) -> float:
    """sqrt(q / E[phi(sqrt(q) Z)^2]) -- the second-moment-preserving gain (module docstring)."""
    a = pointwise(act)
    check_std(q, "q (pre-activation variance)")
    (second,) = gaussian_moments(a, ("second",), 0.0, math.sqrt(q))
    if not second > 0:
        raise ValueError(f"{a.name} has E[phi^2] = 0 under N(0, {q}); no gain preserves the second moment")
    return math.sqrt(q / float(second))


def he_std(act: Any, fan_in: int, q: float = 1.0) -> float:
    """Weight standard deviation gain/sqrt(fan_in) (He et al. 2015 for ReLU/PReLU)."""
    if not (isinstance(fan_in, int) and fan_in > 0):
        raise ValueError(f"fan_in must be a positive integer, got {fan_in!r}")
    return gain(act, q) / math.sqrt(fan_in)


def torch_gain(act: Any) -> float | None:
    """``torch.nn.init.calculate_gain`` for this activation where torch knows it, else None.

    torch's vocabulary is tried with the spec's name and aliases (identity is torch's 'linear'); a
    single numeric parameter is passed as torch's ``param`` (leaky ReLU's slope).  torch's fixed SELU
    and tanh values only describe the default parameters, so non-default parameters give None.
    """
    a = pointwise(act)
    numeric = [v for v in a.params.values() if isinstance(v, float)]
    nonlinearities = (a.spec.name, *a.spec.aliases)
    for name in nonlinearities:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if name == "leaky_relu":
                    return float(nn.init.calculate_gain(name, numeric[0]))
                if a.params != a.spec.defaults:
                    return None
                return float(nn.init.calculate_gain(name))
        except ValueError:
            continue
    return None


def _fixed_q(a: Activation, g: float) -> float | None:
    """The fixed point of q -> g^2 E[phi(sqrt(q) Z)^2] reached from q = 1 (None if it runs away)."""
    from .propagation import fixed_point

    try:
        return fixed_point(a, g, 0.0).q
    except ValueError:
        return None


def gain_report(act: Any, q: float = 1.0) -> dict[str, Any]:
    """actlab's gain side by side with torch's, with the reason when they differ."""
    a = pointwise(act)
    ours = gain(a, q)
    theirs = torch_gain(a)
    row: dict[str, Any] = {"activation": a.name, "gain": ours, "torch_gain": theirs, "q": q,
                           "note": "", "torch_fixed_q": None}
    if theirs is None:
        row["note"] = "torch.nn.init.calculate_gain has no entry"
    elif abs(theirs - ours) <= 1e-9 * ours:
        row["note"] = "agrees"
    else:
        qt = _fixed_q(a, theirs)
        row["torch_fixed_q"] = qt
        where = "variance runs away" if qt is None else f"variance settles at q* = {qt:.4g}, not {q:g}"
        row["note"] = (f"torch's {theirs:.4g} is a convention, not the second-moment value; "
                       f"with it the {where}")
    return row


def init_(module: nn.Module, activation: Any, *, q: float = 1.0, bias: float = 0.0,
          generator: torch.Generator | None = None) -> nn.Module:
    """Initialise every ``nn.Linear``/``nn.ConvNd`` in ``module`` for ``activation``, in place.

    Weights ~ N(0, gain^2/fan_in) with the second-moment gain of ``activation`` (He et al. 2015 for
    ReLU/PReLU; the gain definition is in this module's docstring); biases are set to ``bias``.
    Returns ``module``.
    """
    g = gain(activation, q)
    if not isinstance(module, nn.Module):
        raise TypeError(f"init_ takes an nn.Module, got {type(module).__name__}")
    found = 0
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)):
                fan_in = m.weight[0].numel()
                m.weight.normal_(0.0, g / math.sqrt(fan_in), generator=generator)
                if m.bias is not None:
                    m.bias.fill_(bias)
                found += 1
    if not found:
        raise ValueError(f"{type(module).__name__} has no Linear or Conv layer to initialise")
    return module
