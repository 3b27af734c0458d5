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

register(ActivationSpec(
    name="tanhshrink", family="smooth",
    summary="x − tanh(x): zero slope at 0, identity-like far out.",
    formula="φ(x) = x − tanh(x)",
    reference="standard (torch.nn.Tanhshrink)",
    fn=F.tanhshrink,
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
