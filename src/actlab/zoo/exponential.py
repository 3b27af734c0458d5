"""Exponential linear units: ELU, CELU, SELU and the learnable ReLU/ELU blend.

The negative branch is computed as ``expm1(min(x, 0))`` (the "double where" of jax.nn.elu): the
branch not taken never overflows, so neither the value nor the gradient can become inf/NaN.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from mpmath import mp

from ._common import as_tensor, f32, props
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


def _isrlu_h(xn, alpha):
    return torch.hypot(torch.ones_like(xn), math.sqrt(alpha) * xn)  # √(1 + αx²), no overflow of x²


def _isrlu_d1(x, alpha):
    r = 1 / _isrlu_h(_neg(x), alpha)
    return torch.where(x >= 0, torch.ones_like(x), r * r * r)


def _isrlu_d2(x, alpha):
    xn = _neg(x)
    h = _isrlu_h(xn, alpha)
    r = 1 / h
    return torch.where(x >= 0, torch.zeros_like(x), -3 * alpha * (xn / h) * (r * r) * (r * r))


register(ActivationSpec(
    name="isrlu", family="exponential",
    summary="Inverse square root linear unit: the identity above 0, ISRU's algebraic saturation below (C²).",
    formula="ISRLU(x) = x for x ≥ 0, x/√(1 + αx²) otherwise",
    reference="Carlile, Delamarter, Kinney, Marti & Whitney 2017 (Improving deep learning by inverse square "
              "root linear units)",
    params=(Param("alpha", 1.0, "α: the negative saturation value is −1/√α", lower=0.0, lower_open=True),),
    fn=lambda x, alpha: torch.where(x >= 0, x, _neg(x) / _isrlu_h(_neg(x), alpha)),
    derivative=_isrlu_d1, second_derivative=_isrlu_d2,
    properties=props(monotone=True, convex=True, below=True, above=False, smooth=2, zero_centred=True, dphi0=1.0),
    kinks=(0.0,),
    mpmath=lambda x, alpha: x if x >= 0 else x / mp.sqrt(1 + alpha * x * x),
    notes="ELU's shape without an exponential; the third derivative jumps (−3α) at 0.",
))


def _xielu(x, alpha_p, alpha_n, beta):
    ap, an = as_tensor(alpha_p, x), as_tensor(alpha_n, x)
    xp, xn = torch.clamp(x, min=0.0), _neg(x)
    return torch.where(x > 0, ap * xp * xp + beta * xp, an * (torch.expm1(xn) - xn) + beta * xn)


def _xielu_d1(x, alpha_p, alpha_n, beta):
    ap, an = as_tensor(alpha_p, x), as_tensor(alpha_n, x)
    return torch.where(x > 0, 2 * ap * torch.clamp(x, min=0.0) + beta, an * torch.expm1(_neg(x)) + beta)


def _xielu_d2(x, alpha_p, alpha_n, beta):
    ap, an = as_tensor(alpha_p, x), as_tensor(alpha_n, x)
    return torch.where(x > 0, 2 * ap + torch.zeros_like(x), an * torch.exp(_neg(x)))


def _xielu_props(alpha_p, alpha_n, beta):
    ap, an, b = float(alpha_p), float(alpha_n), float(beta)
    left = b - an  # slope as x → −∞ (φ' = αn·(eˣ − 1) + β)
    right_up = ap > 0 or (ap == 0 and b > 0)
    right_down = ap < 0 or (ap == 0 and b < 0)
    return props(monotone=ap >= 0 and b >= 0 and left >= 0, convex=ap >= 0 and an >= 0,
                 below=left <= 0 and not right_down, above=left >= 0 and not right_up,
                 smooth=1 if 2 * ap != an else 2, zero_centred=b != 0, dphi0=b)


register(ActivationSpec(
    name="xielu", family="exponential",
    summary="Expanded integral of ELU: a learned quadratic for x > 0 and a learned, ELU-like but rising "
            "negative branch (trained into the Apertus LLM).",
    formula="xIELU(x) = αp·x² + β·x for x > 0, αn·(eˣ − 1 − x) + β·x otherwise",
    reference="Huang & Schlag 2024 (Deriving activation functions using integration, arXiv:2411.13010); "
              "Apertus LLM (Swiss AI, 2025)",
    params=(Param("alpha_p", f32(0.8), "curvature αp of the positive branch (paper's init 0.8)", lower=0.0,
                  learnable=True, learn_by_default=True),
            Param("alpha_n", f32(0.8), "αn of the negative branch (paper's init 0.8; αn > β makes it rise again)",
                  lower=0.0, learnable=True, learn_by_default=True),
            Param("beta", 0.5, "slope β at 0 (fixed at 0.5 in the paper)", lower=0.0)),
    fn=_xielu, derivative=_xielu_d1, second_derivative=_xielu_d2,
    properties=_xielu_props,
    kinks=(0.0,),
    mpmath=lambda x, alpha_p, alpha_n, beta: alpha_p * x * x + beta * x if x > 0 else alpha_n * (mp.expm1(x) - x) + beta * x,
    notes="The paper keeps αp > 0 and αn > β during training by learning them through softplus "
          "(αp = softplus(a), αn = β + softplus(b)); here the parameters are αp, αn themselves. Its code "
          "also clamps the exponent at ε = −1e−6, which leaves a jump of about αn·1e−6 at 0; expm1 "
          "needs no clamp, so this form is C¹. Defaults are float32-exact (see _common.f32).",
))


def _softexp(x, alpha):
    a = as_tensor(alpha, x)
    pos, neg = a > 0, a < 0
    ap = torch.where(pos, a, torch.ones_like(a))
    an = torch.where(neg, a, -torch.ones_like(a))
    # each branch sees only the inputs it is used for, so the others cannot put inf/NaN into gradients
    exp_b = torch.expm1(ap * torch.where(pos, x, torch.zeros_like(x))) / ap + ap
    xl = torch.where(neg, x, torch.zeros_like(x))
    log_b = -torch.log1p(-an * (xl + an)) / an
    # α = 0 is the identity; written x + α·(1 + x²/2) so that ∂φ/∂α there is the limit of both
    # branches, 1 + x²/2 (a learned α starting at 0 moves)
    x0 = torch.where(pos | neg, torch.zeros_like(x), x)
    zero_b = x0 + a * (1 + torch.clamp(x0 * x0, max=torch.finfo(x.dtype).max / 4) / 2)
    return torch.where(pos, exp_b, torch.where(neg, log_b, zero_b))


def _softexp_d1(x, alpha):
    a = as_tensor(alpha, x)
    pos, neg = a > 0, a < 0
    ap = torch.where(pos, a, torch.ones_like(a))
    an = torch.where(neg, a, -torch.ones_like(a))
    xl = torch.where(neg, x, torch.zeros_like(x))
    d_pos = torch.exp(ap * torch.where(pos, x, torch.zeros_like(x)))
    d_neg = 1 / (1 - an * (xl + an))
    return torch.where(pos, d_pos, torch.where(neg, d_neg, 1 + a * x))


def _softexp_d2(x, alpha):
    a = as_tensor(alpha, x)
    pos, neg = a > 0, a < 0
    ap = torch.where(pos, a, torch.ones_like(a))
    an = torch.where(neg, a, -torch.ones_like(a))
    xl = torch.where(neg, x, torch.zeros_like(x))
    d_pos = ap * torch.exp(ap * torch.where(pos, x, torch.zeros_like(x)))
    d_neg = an / (1 - an * (xl + an)) ** 2
    return torch.where(pos, d_pos, torch.where(neg, d_neg, a + torch.zeros_like(x)))


def _softexp_props(alpha):
    a = float(alpha)
    if a == 0:
        return props(monotone=True, convex=True, below=False, above=False, zero_centred=True, dphi0=1.0)
    return props(monotone=True, convex=True, below=True, above=False, phi0=a, dphi0=1.0)


def _softexp_mp(x, alpha):
    if alpha > 0:
        return mp.expm1(alpha * x) / alpha + alpha
    if alpha < 0:
        return -mp.log1p(-alpha * (x + alpha)) / alpha
    return x


register(ActivationSpec(
    name="soft_exponential", aliases=("softexp",), family="exponential",
    summary="Soft exponential: one learned α moves continuously from logarithmic (α < 0) through the "
            "identity (α = 0) to exponential (α > 0).",
    formula="φ(x) = −log(1 − α(x + α))/α for α < 0, x for α = 0, (e^(αx) − 1)/α + α for α > 0",
    reference="Godfrey & Gashler 2015 (A continuum among logarithmic, linear, and exponential functions)",
    params=(Param("alpha", 0.0, "α (0: the identity); fixed values need α ≥ 0, see notes", lower=0.0,
                  learnable=True, learn_by_default=True),),
    fn=_softexp, derivative=_softexp_d1, second_derivative=_softexp_d2,
    properties=_softexp_props,
    mpmath=_softexp_mp,
    notes="For α < 0 the logarithmic branch is defined only for x > (α² − 1)/(−α): on the rest of the "
          "line it is NaN (the function does not exist there), which the zoo's contract -- finite on all "
          "of ℝ -- cannot hold. So fixed values need α ≥ 0; a learned α may still go negative, and then "
          "the module computes the paper's formula, NaN outside its domain included.",
))


def _elish(x):
    xp, xn = torch.clamp(x, min=0.0), _neg(x)
    return torch.where(x >= 0, xp * torch.sigmoid(xp), torch.expm1(xn) * torch.sigmoid(xn))


def _elish_d1(x):
    xp, xn = torch.clamp(x, min=0.0), _neg(x)
    sp, sn = torch.sigmoid(xp), torch.sigmoid(xn)
    return torch.where(x >= 0, sp * (1 + xp * torch.sigmoid(-xp)), sn * (torch.exp(xn) + torch.expm1(xn) * torch.sigmoid(-xn)))


def _elish_d2(x):
    xp, xn = torch.clamp(x, min=0.0), _neg(x)
    sp, sn = torch.sigmoid(xp), torch.sigmoid(xn)
    cp, cn = torch.sigmoid(-xp), torch.sigmoid(-xn)
    pos = sp * cp * (2 - xp * torch.tanh(xp / 2))
    neg = sn * (torch.exp(xn) * (1 + 2 * cn) + torch.expm1(xn) * cn * (cn - sn))
    return torch.where(x >= 0, pos, neg)


register(ActivationSpec(
    name="elish", family="exponential",
    summary="Exponential linear squashing: Swish x·σ(x) above 0, (eˣ − 1)·σ(x) below.",
    formula="ELiSH(x) = x·σ(x) for x ≥ 0, (eˣ − 1)·σ(x) otherwise",
    reference="Basirat & Roth 2018 (The quest for the golden activation function, arXiv:1808.00783)",
    fn=_elish, derivative=_elish_d1, second_derivative=_elish_d2,
    properties=props(monotone=False, convex=False, below=True, above=False, smooth=1, zero_centred=True, dphi0=0.5),
    kinks=(0.0,),
    mpmath=lambda x: x / (1 + mp.exp(-x)) if x >= 0 else mp.expm1(x) / (1 + mp.exp(-x)),
    notes="C¹: φ'' jumps from 1 (x → 0⁻) to 1/2 (x → 0⁺).",
))


def _hs(x):
    return torch.clamp((x + 1) / 2, 0.0, 1.0)


def _hard_elish(x):
    xp, xn = torch.clamp(x, min=0.0), _neg(x)
    return torch.where(x >= 0, xp * _hs(xp), torch.expm1(xn) * _hs(xn))


def _hard_elish_d1(x):
    xp, xn = torch.clamp(x, min=0.0), _neg(x)
    pos = _hs(xp) + xp * (xp < 1).to(x.dtype) / 2
    neg = torch.exp(xn) * _hs(xn) + torch.expm1(xn) * (xn > -1).to(x.dtype) / 2
    return torch.where(x >= 0, pos, neg)


def _hard_elish_d2(x):
    xp, xn = torch.clamp(x, min=0.0), _neg(x)
    pos = (xp < 1).to(x.dtype)
    neg = torch.exp(xn) * (_hs(xn) + 1) * (xn > -1).to(x.dtype)
    return torch.where(x >= 0, pos, neg)


register(ActivationSpec(
    name="hard_elish", aliases=("hardelish",), family="exponential",
    summary="HardELiSH: ELiSH with the sigmoid replaced by the hard ramp max(0, min(1, (x + 1)/2)).",
    formula="φ(x) = x·max(0, min(1, (x+1)/2)) for x ≥ 0, (eˣ − 1)·max(0, min(1, (x+1)/2)) otherwise",
    reference="Basirat & Roth 2018 (The quest for the golden activation function, arXiv:1808.00783)",
    fn=_hard_elish, derivative=_hard_elish_d1, second_derivative=_hard_elish_d2,
    properties=props(monotone=False, convex=False, below=True, above=False, smooth=0, zero_centred=True, dphi0=0.5),
    kinks=(-1.0, 0.0, 1.0),
    mpmath=lambda x: (x * min(mp.mpf(1), (x + 1) / 2) if x >= 0
                      else mp.expm1(x) * max(mp.mpf(0), min(mp.mpf(1), (x + 1) / 2))),
    notes="Kinks at ±1 (φ' jumps); at 0 only φ'' jumps. φ'(±1) are the outer pieces' slopes.",
))
