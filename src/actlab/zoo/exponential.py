"""Exponential linear units: ELU, CELU, SELU and the learnable ReLU/ELU blend.

The negative branch is computed as ``expm1(min(x, 0))`` (the "double where" of jax.nn.elu): the
branch not taken never overflows, so neither the value nor the gradient can become inf/NaN.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from mpmath import mp

from ._common import as_tensor, props
from .registry import register
from .spec import ActivationSpec, Param


def _neg(x: torch.Tensor) -> torch.Tensor:
    return torch.clamp(x, max=0.0)


def _elu(x, alpha):
    return torch.where(x > 0, x, as_tensor(alpha, x) * torch.expm1(_neg(x)))


def _elu_d1(x, alpha):
    return torch.where(x > 0, torch.ones_like(x), as_tensor(alpha, x) * torch.exp(_neg(x)))


def _elu_d2(x, alpha):
    return torch.where(x > 0, torch.zeros_like(x), as_tensor(alpha, x) * torch.exp(_neg(x)))


def _elu_props(alpha, scale=1.0):
    a = float(alpha)
    # convex iff the left slope at 0 (scale*alpha) does not exceed the right slope (scale): alpha <= 1
    return props(monotone=True, convex=a <= 1, below=True, above=False, smooth=1 if a == 1 else 0,
                 zero_centred=a > 0, dphi0=scale * a)


def _elu_mp(x, alpha, scale=1):
    return scale * (x if x > 0 else alpha * mp.expm1(x))


register(ActivationSpec(
    name="elu", family="exponential",
    summary="Exponential linear unit: identity for x > 0, a saturating exponential below.",
    formula="ELU(x) = x for x > 0, α·(eˣ − 1) otherwise",
    reference="Clevert, Unterthiner & Hochreiter 2016",
    params=(Param("alpha", 1.0, "negative saturation value −α", lower=0.0),),
    fn=_elu, derivative=_elu_d1, second_derivative=_elu_d2,
    properties=_elu_props, kinks=(0.0,), mpmath=_elu_mp,
    torch_functional=F.elu, torch_module="ELU",
    notes="ELU'(0) is taken from the negative branch (α), as PyTorch does; ELU is convex only for α ≤ 1.",
))

register(ActivationSpec(
    name="celu", family="exponential",
    summary="Continuously differentiable ELU: the exponential is rescaled so φ'(0) = 1 for every α.",
    formula="CELU(x) = max(0, x) + min(0, α·(exp(x/α) − 1))",
    reference="Barron 2017",
    params=(Param("alpha", 1.0, "saturation value −α", lower=0.0, lower_open=True),),
    fn=lambda x, alpha: torch.where(x > 0, x, alpha * torch.expm1(_neg(x) / alpha)),
    derivative=lambda x, alpha: torch.where(x > 0, torch.ones_like(x), torch.exp(_neg(x) / alpha)),
    second_derivative=lambda x, alpha: torch.where(x > 0, torch.zeros_like(x), torch.exp(_neg(x) / alpha) / alpha),
    properties=props(monotone=True, convex=True, below=True, above=False, smooth=1, zero_centred=True, dphi0=1.0),
    kinks=(0.0,),
    mpmath=lambda x, alpha: x if x > 0 else alpha * mp.expm1(x / alpha),
    torch_functional=F.celu, torch_module="CELU",
))


def _selu_constants() -> tuple[float, float]:
    """SELU's (λ, α) for the fixed point mean 0, variance 1, from the closed form of Klambauer et al.
    2017, eq. (14): with e = exp(1/2) and c = erfc(1/√2),

        α = −√(2/π) / (c·e − 1)
        λ = (1 − c·e)·√(2π) · (2·erfc(√2)·e⁴ + π·c²·e² − 2(2 + π)·c·e + π + 2)^(−1/2)

    Nothing here is typed in: ``actlab.theory.selfnorm`` re-derives both by solving the fixed point
    numerically, and the tests hold these to that solver and to torch's constants.
    """
    e = math.exp(0.5)
    c = math.erfc(1 / math.sqrt(2))
    alpha = -math.sqrt(2 / math.pi) / (c * e - 1)
    denom = 2 * math.erfc(math.sqrt(2)) * e**4 + math.pi * c**2 * e**2 - 2 * (2 + math.pi) * c * e + math.pi + 2
    lam = (1 - c * e) * math.sqrt(2 * math.pi) / math.sqrt(denom)
    return lam, alpha


SELU_SCALE, SELU_ALPHA = _selu_constants()

register(ActivationSpec(
    name="selu", family="exponential",
    summary="Scaled ELU whose constants make mean 0 / variance 1 an attracting fixed point (self-normalising).",
    formula="SELU(x) = λ·x for x > 0, λ·α·(eˣ − 1) otherwise",
    reference="Klambauer, Unterthiner, Mayr & Hochreiter 2017 (Self-normalizing neural networks)",
    params=(Param("scale", SELU_SCALE, "λ (default: the self-normalising value)", lower=0.0, lower_open=True),
            Param("alpha", SELU_ALPHA, "α (default: the self-normalising value)", lower=0.0)),
    fn=lambda x, scale, alpha: scale * _elu(x, alpha),
    derivative=lambda x, scale, alpha: scale * _elu_d1(x, alpha),
    second_derivative=lambda x, scale, alpha: scale * _elu_d2(x, alpha),
    properties=lambda scale, alpha: _elu_props(alpha, scale),
    kinks=(0.0,),
    mpmath=lambda x, scale, alpha: _elu_mp(x, alpha, scale),
    torch_functional=F.selu, torch_module="SELU",
))

register(ActivationSpec(
    name="relu_elu", aliases=("relu_elu_blend",), family="exponential",
    summary="A ReLU/ELU hybrid with a learnable knob β: β = 0 is ReLU, β = 1 is ELU.",
    formula="φ(x) = (1 − β)·ReLU(x) + β·ELU(x) = x for x > 0, β·(eˣ − 1) otherwise",
    reference="claim C21 (actlab); the blend is ELU with a learned α (Clevert et al. 2016)",
    params=(Param("knob", 0.5, "blend β from ReLU (0) to ELU (1)", lower=0.0, upper=1.0,
                  learnable=True, learn_by_default=True),),
    fn=lambda x, knob: _elu(x, knob),
    derivative=lambda x, knob: _elu_d1(x, knob),
    second_derivative=lambda x, knob: _elu_d2(x, knob),
    properties=lambda knob: _elu_props(knob),
    kinks=(0.0,),
    mpmath=lambda x, knob: _elu_mp(x, knob),
    notes="∂φ/∂β = min(0, eˣ − 1) is exactly 0 for x > 0: the knob learns only from negative inputs.",
))
