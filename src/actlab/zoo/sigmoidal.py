"""Sigmoidal and softplus-like units: bounded or one-sided smooth squashing functions."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from mpmath import mp

from ._common import props, step
from .registry import register
from .spec import ActivationSpec, Param

register(ActivationSpec(
    name="sigmoid", aliases=("logistic",), family="sigmoidal",
    summary="Logistic sigmoid; its derivative is at most 1/4 (at 0).",
    formula="σ(x) = 1 / (1 + e⁻ˣ)",
    reference="Rumelhart, Hinton & Williams 1986",
    fn=torch.sigmoid,
    derivative=lambda x: torch.sigmoid(x) * torch.sigmoid(-x),
    second_derivative=lambda x: torch.sigmoid(x) * torch.sigmoid(-x) * torch.tanh(-x / 2),
    properties=props(monotone=True, convex=False, below=True, above=True, phi0=0.5, dphi0=0.25),
    mpmath=lambda x: 1 / (1 + mp.exp(-x)),
    torch_functional=torch.sigmoid, torch_module="Sigmoid",
))

register(ActivationSpec(
    name="tanh", family="sigmoidal",
    summary="Hyperbolic tangent: a zero-centred sigmoid, tanh(x) = 2σ(2x) − 1.",
    formula="tanh(x) = (eˣ − e⁻ˣ) / (eˣ + e⁻ˣ)",
    reference="LeCun, Bottou, Orr & Müller 1998 (Efficient BackProp)",
    fn=torch.tanh,
    derivative=lambda x: 1 - torch.tanh(x) ** 2,
    second_derivative=lambda x: -2 * torch.tanh(x) * (1 - torch.tanh(x) ** 2),
    properties=props(monotone=True, convex=False, below=True, above=True, zero_centred=True, dphi0=1.0),
    mpmath=mp.tanh,
    torch_functional=torch.tanh, torch_module="Tanh",
))

register(ActivationSpec(
    name="hardsigmoid", aliases=("hard_sigmoid",), family="sigmoidal",
    summary="Piecewise-linear sigmoid used by MobileNetV3: ReLU6(x + 3) / 6.",
    formula="φ(x) = min(max(0, x + 3), 6) / 6",
    reference="Courbariaux et al. 2015; Howard et al. 2019 (MobileNetV3)",
    # written out: torch's float64 hardsigmoid backward rounds 1/6 to float32
    fn=lambda x: torch.clamp(x / 6 + 0.5, 0.0, 1.0),
    derivative=lambda x: step((x > -3) & (x < 3), x) / 6,
    second_derivative=lambda x: torch.zeros_like(x),
    properties=props(monotone=True, convex=False, below=True, above=True, smooth=0, phi0=0.5, dphi0=1 / 6),
    kinks=(-3.0, 3.0),
    mpmath=lambda x: min(max(x + 3, mp.mpf(0)), mp.mpf(6)) / 6,
    torch_functional=F.hardsigmoid, torch_module="Hardsigmoid",
))

register(ActivationSpec(
    name="softsign", family="sigmoidal",
    summary="Algebraic sigmoid with polynomial (not exponential) tails.",
    formula="φ(x) = x / (1 + |x|)",
    reference="Turian, Bergstra & Bengio 2009",
    fn=F.softsign,
    derivative=lambda x: (1 + x.abs()) ** -2,
    second_derivative=lambda x: -2 * torch.sign(x) * (1 + x.abs()) ** -3,
    properties=props(monotone=True, convex=False, below=True, above=True, smooth=1, zero_centred=True, dphi0=1.0),
    kinks=(0.0,),
    mpmath=lambda x: x / (1 + abs(x)),
    torch_functional=F.softsign, torch_module="Softsign",
    notes="C¹ but not C²: φ'' jumps from +2 to −2 at 0.",
))

register(ActivationSpec(
    name="log_sigmoid", aliases=("logsigmoid",), family="sigmoidal",
    summary="log σ(x) = −softplus(−x); computed without forming σ(x), so the tail −x is exact.",
    formula="φ(x) = −log(1 + e⁻ˣ)",
    reference="standard; used in logistic losses",
    fn=F.logsigmoid,
    derivative=lambda x: torch.sigmoid(-x),
    second_derivative=lambda x: -torch.sigmoid(x) * torch.sigmoid(-x),
    properties=props(monotone=True, convex=False, below=False, above=True, phi0=-math.log(2), dphi0=0.5),
    mpmath=lambda x: -mp.log1p(mp.exp(-x)),
    torch_functional=F.logsigmoid, torch_module="LogSigmoid",
    notes="The naive log(1/(1+exp(−x))) returns −inf at x = −800 in float64; this form returns −800.",
))


def _softplus(x, beta):
    # relu(x) + log1p(exp(-|βx|))/β: exact everywhere, no overflow, and convex/monotone to the last bit
    return torch.relu(x) + torch.log1p(torch.exp(-torch.abs(beta * x))) / beta


register(ActivationSpec(
    name="softplus", family="sigmoidal",
    summary="Smooth ReLU: log(1 + e^(βx))/β, computed exactly in both tails.",
    formula="φ(x) = (1/β)·log(1 + e^(βx))",
    reference="Dugas et al. 2001; Glorot, Bordes & Bengio 2011",
    params=(Param("beta", 1.0, "sharpness β (→ ReLU as β → ∞)", lower=0.0, lower_open=True),),
    fn=_softplus,
    derivative=lambda x, beta: torch.sigmoid(beta * x),
    second_derivative=lambda x, beta: beta * torch.sigmoid(beta * x) * torch.sigmoid(-beta * x),
    properties=lambda beta: props(monotone=True, convex=True, below=True, above=False, phi0=math.log(2) / beta, dphi0=0.5),
    mpmath=lambda x, beta: mp.log1p(mp.exp(beta * x)) / beta,
    torch_functional=F.softplus, torch_module="Softplus",
    notes="PyTorch returns x once βx > threshold (default 20), which leaves a jump of e^(−20)/β ≈ 2e−9: "
          "softplus would then be neither continuous, monotone nor convex to the last bit (it matters for "
          "input-convex networks). actlab computes the exact value; the two agree to 2e−9 absolute.",
))


def _hill_logit(x, n, K):
    # log-concentration form: x^n / (K^n + x^n) = σ(n·log(x/K)) for x > 0 -- no overflow of x^n
    xs = torch.where(x > 0, x, torch.ones_like(x))
    return n * (torch.log(xs) - math.log(K)), xs


def _hill(x, n, K):
    t, _ = _hill_logit(x, n, K)
    return torch.where(x > 0, torch.sigmoid(t), torch.zeros_like(x))


def _hill_d1(x, n, K):
    t, xs = _hill_logit(x, n, K)
    d = n * torch.exp(F.logsigmoid(t) + F.logsigmoid(-t) - torch.log(xs))
    return torch.where(x > 0, d, torch.zeros_like(x))


def _hill_d2(x, n, K):
    t, xs = _hill_logit(x, n, K)
    h = torch.sigmoid(t)
    d = n * torch.exp(F.logsigmoid(t) + F.logsigmoid(-t) - 2 * torch.log(xs)) * (n * (1 - 2 * h) - 1)
    return torch.where(x > 0, d, torch.zeros_like(x))


register(ActivationSpec(
    name="hill", family="sigmoidal",
    summary="Hill function: the sigmoidal response of a gene to a regulator's concentration (0 below 0).",
    formula="φ(x) = xⁿ / (Kⁿ + xⁿ) for x ≥ 0, 0 for x < 0  (= σ(n·log(x/K)))",
    reference="Hill 1910; as a gene-regulation activation: Alon 2006 (An Introduction to Systems Biology)",
    params=(Param("n", 2.0, "Hill coefficient (cooperativity; steepness)", lower=0.0, lower_open=True),
            Param("K", 1.0, "half-saturation constant: φ(K) = 1/2", lower=0.0, lower_open=True)),
    fn=_hill, derivative=_hill_d1, second_derivative=_hill_d2,
    # near 0⁺, φ ≈ (x/K)ⁿ: C^(n−1) at 0 for integer n (the n-th derivative jumps), C^⌊n⌋ otherwise
    properties=lambda n, K: props(monotone=True, convex=False, below=True, above=True,
                                  smooth=n - 1 if float(n).is_integer() else math.floor(n), dphi0=0.0),
    kinks=(0.0,),
    mpmath=lambda x, n, K: x**n / (K**n + x**n) if x > 0 else mp.mpf(0),
    notes="In log-concentration u = log x it is a logistic sigmoid of slope n centred at log K: "
          "the identity behind claim C07. φ'(0) is reported as 0 (the x ≤ 0 branch).",
))
