"""Self-gated units φ(x) = x·g(x): GELU, SiLU/Swish, Mish, hard-swish, quick-GELU."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from mpmath import mp

from ._common import as_tensor, props, step
from .registry import register
from .spec import ActivationSpec, Param

_SQRT_2_PI = math.sqrt(2 / math.pi)
_GELU_TANH_C = 0.044715  # Hendrycks & Gimpel 2016, eq. for the tanh approximation


# Beyond |x| = 40 every Gaussian/tanh correction term is exactly 0 in float64 (e^(−800) underflows),
# so clamping there changes no value and stops x² from overflowing into inf·0 = NaN.
_CLAMP = 40.0


def _gelu_d1(x, approximate):
    x = torch.clamp(x, -_CLAMP, _CLAMP)
    if approximate == "tanh":
        u = _SQRT_2_PI * (x + _GELU_TANH_C * x**3)
        t = torch.tanh(u)
        du = _SQRT_2_PI * (1 + 3 * _GELU_TANH_C * x**2)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du
    pdf = torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    return 0.5 * torch.erfc(-x / math.sqrt(2)) + x * pdf


def _gelu_d2(x, approximate):
    x = torch.clamp(x, -_CLAMP, _CLAMP)
    if approximate == "tanh":
        u = _SQRT_2_PI * (x + _GELU_TANH_C * x**3)
        t = torch.tanh(u)
        s = 1 - t * t
        du = _SQRT_2_PI * (1 + 3 * _GELU_TANH_C * x**2)
        ddu = _SQRT_2_PI * 6 * _GELU_TANH_C * x
        return s * du + 0.5 * x * (-2 * t * s * du * du + s * ddu)
    return torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi) * (2 - x * x)


def _gelu_mp(x, approximate):
    if approximate == "tanh":
        return x / 2 * (1 + mp.tanh(mp.sqrt(2 / mp.pi) * (x + mp.mpf(_GELU_TANH_C) * x**3)))
    return x / 2 * mp.erfc(-x / mp.sqrt(2))


register(ActivationSpec(
    name="gelu", family="self_gated",
    summary="Gaussian error linear unit: x weighted by the Gaussian CDF Φ(x).",
    formula="GELU(x) = x·Φ(x);  tanh form: ½x(1 + tanh(√(2/π)(x + 0.044715x³)))",
    reference="Hendrycks & Gimpel 2016",
    params=(Param("approximate", "none", "'none' for the exact erf form (PyTorch's default), 'tanh' for the "
                  "approximation used by BERT and GPT-2", choices=("none", "tanh")),),
    fn=lambda x, approximate: F.gelu(x, approximate=approximate),
    derivative=_gelu_d1, second_derivative=_gelu_d2,
    properties=props(monotone=False, convex=False, below=True, above=False, zero_centred=True, self_gated=True, dphi0=0.5),
    mpmath=_gelu_mp,
    torch_functional=F.gelu, torch_module="GELU",
    notes="Exact GELU is the default, as in PyTorch and JAX's approximate=False; TensorFlow/Keras "
          "and jax.nn.gelu default to the tanh form.",
))


def _silu(x, beta):
    return x * torch.sigmoid(as_tensor(beta, x) * x)


def _silu_d1(x, beta):
    b = as_tensor(beta, x)
    s = torch.sigmoid(b * x)
    return s + b * x * s * torch.sigmoid(-b * x)


def _silu_d2(x, beta):
    b = as_tensor(beta, x)
    s, sn = torch.sigmoid(b * x), torch.sigmoid(-b * x)
    return b * s * sn * (2 - b * x * torch.tanh(b * x / 2))


def _silu_props(beta):
    if beta == 0:  # x·σ(0) = x/2
        return props(monotone=True, convex=True, below=False, above=False, zero_centred=True, dphi0=0.5)
    return props(monotone=False, convex=False, below=True, above=False, zero_centred=True, self_gated=True, dphi0=0.5)


register(ActivationSpec(
    name="silu", aliases=("swish",), family="self_gated",
    summary="Sigmoid-weighted linear unit / Swish: x·σ(βx); β may be fixed or learned.",
    formula="SiLU(x) = x·σ(βx)",
    reference="Elfwing, Uchibe & Doya 2018 (SiLU); Ramachandran, Zoph & Le 2017 (Swish)",
    params=(Param("beta", 1.0, "gate sharpness β (β = 1 is SiLU; β → ∞ gives ReLU; learnable with .module(learn=True))",
                  lower=0.0, learnable=True),),
    fn=_silu, derivative=_silu_d1, second_derivative=_silu_d2,
    properties=_silu_props,
    mpmath=lambda x, beta: x / (1 + mp.exp(-beta * x)),
    torch_functional=F.silu, torch_module="SiLU",
))

register(ActivationSpec(
    name="quick_gelu", family="self_gated",
    summary="The sigmoid approximation of GELU used by CLIP: x·σ(1.702x).",
    formula="φ(x) = x·σ(1.702x)",
    reference="Hendrycks & Gimpel 2016 (sec. 2); Radford et al. 2021 (CLIP)",
    fn=lambda x: _silu(x, 1.702),
    derivative=lambda x: _silu_d1(x, 1.702),
    second_derivative=lambda x: _silu_d2(x, 1.702),
    properties=_silu_props(1.702),
    mpmath=lambda x: x / (1 + mp.exp(-mp.mpf("1.702") * x)),
))


def _mish_parts(x):
    t = torch.tanh(F.softplus(x))
    s = torch.sigmoid(x)
    return t, s


def _mish_d1(x):
    t, s = _mish_parts(x)
    return t + x * (1 - t * t) * s


def _mish_d2(x):
    t, s = _mish_parts(x)
    return (1 - t * t) * s * (2 + x * (1 - s - 2 * t * s))


register(ActivationSpec(
    name="mish", family="self_gated",
    summary="Self-regularised non-monotone unit: x·tanh(softplus(x)).",
    formula="Mish(x) = x·tanh(log(1 + eˣ))",
    reference="Misra 2019",
    fn=F.mish, derivative=_mish_d1, second_derivative=_mish_d2,
    properties=props(monotone=False, convex=False, below=True, above=False, zero_centred=True, self_gated=True,
                     dphi0=math.tanh(math.log(2))),
    mpmath=lambda x: x * mp.tanh(mp.log1p(mp.exp(x))),
    torch_functional=F.mish, torch_module="Mish",
))

register(ActivationSpec(
    name="hardswish", aliases=("hard_swish",), family="self_gated",
    summary="Piecewise-quadratic Swish: x·ReLU6(x + 3)/6 (MobileNetV3).",
    formula="φ(x) = 0 for x ≤ −3, x for x ≥ 3, x(x + 3)/6 between",
    reference="Howard et al. 2019 (Searching for MobileNetV3)",
    fn=F.hardswish,
    # PyTorch's convention at the kinks: the outer pieces' slopes, φ'(−3) = 0 and φ'(3) = 1
    derivative=lambda x: torch.where(x <= -3, torch.zeros_like(x), torch.where(x < 3, x / 3 + 0.5, torch.ones_like(x))),
    second_derivative=lambda x: step((x > -3) & (x < 3), x) / 3,
    properties=props(monotone=False, convex=False, below=True, above=False, smooth=0, zero_centred=True, self_gated=True,
                     dphi0=0.5),
    kinks=(-3.0, 3.0),
    mpmath=lambda x: mp.mpf(0) if x <= -3 else (x if x >= 3 else x * (x + 3) / 6),
    torch_functional=F.hardswish, torch_module="Hardswish",
))
