"""Other smooth units: algebraic softplus, periodic, shrinkage and radial shapes."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from mpmath import mp

from ._common import as_tensor, props
from .registry import register
from .spec import ActivationSpec, Param


def _sqp(x, b):
    # (x + √(x²+b))/2 loses every digit for x ≪ 0; b/(√(x²+b) − x)/2 is the same number, stably.
    r = torch.hypot(x, torch.sqrt(as_tensor(b, x)))
    return 0.5 * torch.where(x >= 0, x + r, b / (r - x))


def _sqp_d1(x, b):
    r = torch.hypot(x, torch.sqrt(as_tensor(b, x)))
    return 0.5 * torch.where(x >= 0, 1 + x / r, b / (r * (r - x)))


register(ActivationSpec(
    name="squareplus", family="smooth",
    summary="Algebraic softplus: (x + √(x² + b))/2, no exponentials.",
    formula="φ(x) = (x + √(x² + b)) / 2",
    reference="Barron 2021 (Squareplus)",
    params=(Param("b", 4.0, "smoothing; b = 4 matches softplus's curvature at 0 (Barron)", lower=0.0, lower_open=True),),
    fn=_sqp, derivative=_sqp_d1,
    second_derivative=lambda x, b: 0.5 * b / torch.hypot(x, torch.sqrt(as_tensor(b, x))) ** 3,
    properties=lambda b: props(monotone=True, convex=True, below=True, above=False, phi0=math.sqrt(b) / 2, dphi0=0.5),
    mpmath=lambda x, b: (x + mp.sqrt(x * x + b)) / 2,
))

register(ActivationSpec(
    name="sin", aliases=("sine", "siren"), family="smooth",
    summary="Periodic activation of SIREN networks: sin(ω₀x).",
    formula="φ(x) = sin(ω₀·x)",
    reference="Sitzmann et al. 2020 (SIREN; ω₀ = 30 in the first layer)",
    params=(Param("w0", 1.0, "frequency ω₀ (SIREN uses 30)", lower=0.0, lower_open=True),),
    fn=lambda x, w0: torch.sin(w0 * x),
    derivative=lambda x, w0: w0 * torch.cos(w0 * x),
    second_derivative=lambda x, w0: -(w0**2) * torch.sin(w0 * x),
    properties=lambda w0: props(monotone=False, convex=False, below=True, above=True, zero_centred=True, dphi0=w0),
    mpmath=lambda x, w0: mp.sin(w0 * x),
    limits=None,
    notes="No limit at ±inf: sin(±inf) is NaN, as in every float library.",
))

def _tanh_series() -> tuple[float, ...]:
    """Taylor coefficients of x − tanh(x) = Σ c_k x^(2k+1), k = 1..20: c_k = −2^(2n)(2^(2n) − 1)B_(2n)/(2n)!
    with n = k + 1 (mpmath's Bernoulli numbers, rounded once)."""
    out = []
    for n in range(2, 22):
        out.append(-float(mp.mpf(2) ** (2 * n) * (mp.mpf(2) ** (2 * n) - 1) * mp.bernoulli(2 * n) / mp.factorial(2 * n)))
    return tuple(out)


_TANHSHRINK_C = _tanh_series()
# below 0.55 the series (20 terms: the k-th shrinks like (0.405x²)^k, < 1e−18 at 0.55); above it the
# cancellation of x − tanh(x) costs at most 3ε/x² ≈ 10ε
_TANHSHRINK_CUT = 0.55


def _tanhshrink(x):
    # x − tanh(x) loses every digit near 0 (x³/3 below 1e−8 in float64 is all rounding)
    z = x.clamp(-_TANHSHRINK_CUT, _TANHSHRINK_CUT)
    z2 = z * z
    acc = torch.zeros_like(z)
    for c in reversed(_TANHSHRINK_C):
        acc = acc * z2 + c
    series = acc * z2 * z
    return torch.where(x.abs() < _TANHSHRINK_CUT, series, x - torch.tanh(x))


register(ActivationSpec(
    name="tanhshrink", family="smooth",
    summary="x − tanh(x): zero slope at 0, identity-like far out.",
    formula="φ(x) = x − tanh(x)",
    reference="standard (torch.nn.Tanhshrink)",
    fn=lambda x: _tanhshrink(x),
    derivative=lambda x: torch.tanh(x) ** 2,
    second_derivative=lambda x: 2 * torch.tanh(x) * (1 - torch.tanh(x) ** 2),
    properties=props(monotone=True, convex=False, below=False, above=False, zero_centred=True, dphi0=0.0),
    mpmath=lambda x: x - mp.tanh(x),
    torch_functional=F.tanhshrink, torch_module="Tanhshrink",
))

register(ActivationSpec(
    name="gaussian", family="smooth",
    summary="Gaussian bump exp(−x²): a radial-basis activation, non-monotone.",
    formula="φ(x) = exp(−x²)",
    reference="Broomhead & Lowe 1988 (radial basis function networks)",
    fn=lambda x: torch.exp(-x * x),
    # clamped at |x| = 40 where exp(−x²) is exactly 0 in float64: no inf·0 in the tails
    derivative=lambda x: -2 * x.clamp(-40, 40) * torch.exp(-x * x),
    second_derivative=lambda x: (4 * x.clamp(-40, 40) ** 2 - 2) * torch.exp(-x * x),
    properties=props(monotone=False, convex=False, below=True, above=True, phi0=1.0, dphi0=0.0),
    mpmath=lambda x: mp.exp(-x * x),
))


def _snake(x, a):
    a = as_tensor(a, x)
    return x + torch.sin(a * x).square() / a


register(ActivationSpec(
    name="snake", family="smooth",
    summary="Snake x + sin²(ax)/a: monotone, with a learned periodic ripple (audio, periodic signals).",
    formula="Snake(x) = x + sin²(a·x)/a",
    reference="Ziyin, Hartwig & Ueda 2020 (Neural networks fail to learn periodic functions and how to fix it); "
              "per-channel a in BigVGAN (Lee et al. 2023)",
    params=(Param("a", 1.0, "frequency a (learned per channel in BigVGAN)", lower=0.0, lower_open=True,
                  learnable=True, learn_by_default=True),),
    fn=_snake,
    # sin(2ax) written 2·sin(ax)·cos(ax): 2ax overflows to inf (sin(inf) = NaN) at x = 1e308, ax does not
    derivative=lambda x, a: 1 + 2 * torch.sin(as_tensor(a, x) * x) * torch.cos(as_tensor(a, x) * x),
    second_derivative=lambda x, a: 2 * as_tensor(a, x) * (torch.cos(as_tensor(a, x) * x).square()
                                                          - torch.sin(as_tensor(a, x) * x).square()),
    properties=props(monotone=True, convex=False, below=False, above=False, zero_centred=True, dphi0=1.0),
    mpmath=lambda x, a: x + mp.sin(a * x) ** 2 / a,
    notes="φ' = 1 + sin(2ax) ≥ 0: monotone, with flat points at x = −π/(4a) + kπ/a.",
))

register(ActivationSpec(
    name="gcu", aliases=("growing_cosine",), family="smooth",
    summary="Growing cosine unit x·cos(x): oscillating with growing amplitude.",
    formula="GCU(x) = x·cos(x)",
    reference="Noel et al. 2021 (Growing cosine unit: a novel oscillatory activation function that can speedup "
              "training and reduce parameters in convolutional neural networks)",
    fn=lambda x: x * torch.cos(x),
    derivative=lambda x: torch.cos(x) - x * torch.sin(x),
    second_derivative=lambda x: -2 * torch.sin(x) - x * torch.cos(x),
    properties=props(monotone=False, convex=False, below=False, above=False, zero_centred=True, dphi0=1.0),
    mpmath=lambda x: x * mp.cos(x),
    limits=None,
    notes="No limit at ±inf: x·cos(x) at ±inf is NaN, as sin is.",
))


def _sech2(x):
    return torch.cosh(x).reciprocal().square()  # exact in the tails (1 − tanh² cancels to 0 there)


register(ActivationSpec(
    name="lisht", family="smooth",
    summary="LiSHT x·tanh(x): even, non-negative, linear growth on both sides.",
    formula="LiSHT(x) = x·tanh(x)",
    reference="Roy, Manna, Dubey & Chaudhuri 2019 (LiSHT: non-parametric linearly scaled hyperbolic tangent "
              "activation function for neural networks)",
    fn=lambda x: x * torch.tanh(x),
    derivative=lambda x: torch.tanh(x) + x * _sech2(x),
    second_derivative=lambda x: 2 * _sech2(x) * (1 - x * torch.tanh(x)),
    properties=props(monotone=False, convex=False, below=True, above=False, dphi0=0.0),
    mpmath=lambda x: x * mp.tanh(x),
    notes="Not convex: φ'' = 2·sech²(x)·(1 − x·tanh x) < 0 for |x| > 1.2.",
))


def _bent(x):
    # √(x² + 1) − 1 cancels for small x: x²/(√(x² + 1) + 1) there; x² overflows for large x: h − 1 there
    h = torch.hypot(x, torch.ones_like(x))
    small = x.abs() < 1
    xs = torch.where(small, x, torch.zeros_like(x))
    return torch.where(small, xs * xs / (torch.hypot(xs, torch.ones_like(xs)) + 1), h - 1) / 2 + x


register(ActivationSpec(
    name="bent_identity", family="smooth",
    summary="Bent identity (√(x² + 1) − 1)/2 + x: a convex, monotone, smooth bend between slopes 1/2 and 3/2.",
    formula="φ(x) = (√(x² + 1) − 1)/2 + x",
    reference="folklore (no original paper known); listed in Kunc & Kléma 2024 (Three decades of activations)",
    fn=_bent,
    derivative=lambda x: x / (2 * torch.hypot(x, torch.ones_like(x))) + 1,
    second_derivative=lambda x: 0.5 * torch.hypot(x, torch.ones_like(x)).reciprocal() ** 3,
    properties=props(monotone=True, convex=True, below=False, above=False, zero_centred=True, dphi0=1.0),
    mpmath=lambda x: (mp.sqrt(x * x + 1) - 1) / 2 + x,
))
