"""Sigmoidal and softplus-like units: bounded or one-sided smooth squashing functions."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from mpmath import mp

from ._common import as_tensor, props, step
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

def _sech2(x):
    # sech²(x) = 4e^(−2|x|)/(1 + e^(−2|x|))²: 1 − tanh²(x) is 0 from |x| ≈ 19 on (tanh rounds to ±1),
    # where the derivative is 1.7e−17 at 20 and 5.5e−87 at 100
    t = torch.exp(-2 * x.abs())
    return 4 * t / (1 + t) ** 2


register(ActivationSpec(
    name="tanh", family="sigmoidal",
    summary="Hyperbolic tangent: a zero-centred sigmoid, tanh(x) = 2σ(2x) − 1.",
    formula="tanh(x) = (eˣ − e⁻ˣ) / (eˣ + e⁻ˣ)",
    reference="LeCun, Bottou, Orr & Müller 1998 (Efficient BackProp)",
    fn=torch.tanh,
    derivative=lambda x: _sech2(x),
    second_derivative=lambda x: -2 * torch.tanh(x) * _sech2(x),
    properties=props(monotone=True, convex=False, below=True, above=True, zero_centred=True, dphi0=1.0),
    mpmath=mp.tanh,
    torch_functional=torch.tanh, torch_module="Tanh",
))

register(ActivationSpec(
    name="hardsigmoid", aliases=("hard_sigmoid",), family="sigmoidal",
    summary="Piecewise-linear sigmoid used by MobileNetV3: ReLU6(x + 3) / 6.",
    formula="φ(x) = min(max(0, x + 3), 6) / 6",
    reference="Courbariaux et al. 2015; Howard et al. 2019 (MobileNetV3)",
    # written out: torch's float64 hardsigmoid backward rounds 1/6 to float32; (x + 3)/6, not x/6 + 1/2,
    # which cancels near −3 (1.2e−5 relative lost in float32 at −2.99999)
    fn=lambda x: torch.clamp((x + 3) / 6, 0.0, 1.0),
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
    # log(e^0 + e^(βx))/β = max(βx, 0)/β + log1p(e^(−|βx|))/β: exact everywhere, no overflow, convex and
    # monotone to the last bit.  torch.logaddexp computes that in one native pass (β = 1: no scaling)
    zero = torch.zeros((), dtype=x.dtype, device=x.device)
    if not isinstance(beta, torch.Tensor) and beta == 1.0:
        return torch.logaddexp(x, zero)
    return torch.logaddexp(beta * x, zero) / beta


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

_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)

register(ActivationSpec(
    name="erf", family="sigmoidal",
    summary="The error function: a zero-centred sigmoid with Gaussian tails (GELU's gate, rescaled).",
    formula="erf(x) = (2/√π)·∫₀ˣ e^(−t²) dt",
    reference="standard; erf(x/√2) = 2Φ(x) − 1 is the gate of GELU (Hendrycks & Gimpel 2016)",
    fn=torch.erf,
    derivative=lambda x: _TWO_OVER_SQRT_PI * torch.exp(-x * x),
    # clamped at |x| = 40 where e^(−x²) is exactly 0 in float64: no inf·0 in the tails
    second_derivative=lambda x: -2 * _TWO_OVER_SQRT_PI * x.clamp(-40, 40) * torch.exp(-x * x),
    properties=props(monotone=True, convex=False, below=True, above=True, zero_centred=True, dphi0=_TWO_OVER_SQRT_PI),
    mpmath=mp.erf,
    torch_functional=torch.erf,
))

register(ActivationSpec(
    name="arctan", aliases=("atan",), family="sigmoidal",
    summary="Inverse tangent: a zero-centred sigmoid with slow 1/x tails.",
    formula="φ(x) = arctan(x)",
    reference="standard; surveyed in Kunc & Kléma 2024 (Three decades of activations)",
    fn=torch.atan,
    derivative=lambda x: 1 / (1 + x * x),
    second_derivative=lambda x: -2 * x / (1 + x * x) ** 2,
    properties=props(monotone=True, convex=False, below=True, above=True, zero_centred=True, dphi0=1.0),
    mpmath=mp.atan,
    torch_functional=torch.atan,
))


def _sech2(x):
    return torch.cosh(x).reciprocal().square()  # exact in the tails, where 1 − tanh² cancels to 0


register(ActivationSpec(
    name="penalized_tanh", family="sigmoidal",
    summary="tanh with the negative half scaled down by a (0.25): strong across NLP tasks in Eger et al.",
    formula="φ(x) = tanh(x) for x > 0, a·tanh(x) otherwise",
    reference="Xu, Huang & Li 2016 (Revise saturated activation functions); Eger, Youssef & Gurevych 2018 "
              "(Is it time to swish?)",
    params=(Param("a", 0.25, "slope factor a of the negative half", lower=0.0, upper=1.0),),
    fn=lambda x, a: torch.where(x > 0, torch.tanh(x), a * torch.tanh(x)),
    derivative=lambda x, a: torch.where(x > 0, _sech2(x), a * _sech2(x)),
    second_derivative=lambda x, a: torch.where(x > 0, -2 * torch.tanh(x) * _sech2(x), -2 * a * torch.tanh(x) * _sech2(x)),
    properties=lambda a: props(monotone=True, convex=False, below=True, above=True, smooth=0 if a != 1 else float("inf"),
                               zero_centred=a > 0, dphi0=a),
    kinks=lambda a: (0.0,) if a != 1 else (),
    mpmath=lambda x, a: mp.tanh(x) if x > 0 else a * mp.tanh(x),
    notes="φ'(0) is taken from the negative branch (a), as autograd of the formula returns.",
))


def _isru_h(x, alpha):
    return torch.hypot(torch.ones_like(x), math.sqrt(alpha) * x)  # √(1 + αx²) without overflow of x²


def _isru_d1(x, alpha):
    r = 1 / _isru_h(x, alpha)
    return r * r * r


def _isru_d2(x, alpha):
    h = _isru_h(x, alpha)
    r = 1 / h
    return -3 * alpha * (x / h) * (r * r) * (r * r)


register(ActivationSpec(
    name="isru", family="sigmoidal",
    summary="Inverse square root unit: an algebraic sigmoid x/√(1 + αx²), cheaper than tanh.",
    formula="ISRU(x) = x / √(1 + αx²)",
    reference="Carlile, Delamarter, Kinney, Marti & Whitney 2017 (Improving deep learning by inverse square "
              "root linear units)",
    params=(Param("alpha", 1.0, "α: the range is (−1/√α, 1/√α)", lower=0.0, lower_open=True),),
    fn=lambda x, alpha: x / _isru_h(x, alpha),
    derivative=_isru_d1, second_derivative=_isru_d2,
    properties=props(monotone=True, convex=False, below=True, above=True, zero_centred=True, dphi0=1.0),
    mpmath=lambda x, alpha: x / mp.sqrt(1 + alpha * x * x),
))

register(ActivationSpec(
    name="sparse_sigmoid", family="sigmoidal",
    summary="JAX's sparse_sigmoid, the derivative of sparse_plus: a linear ramp from −1 to 1, clipped.",
    formula="φ(x) = 0 for x ≤ −1, (x + 1)/2 for |x| < 1, 1 for x ≥ 1",
    reference="Blondel, Martins & Niculae 2020 (Learning with Fenchel-Young losses); jax.nn.sparse_sigmoid",
    fn=lambda x: torch.clamp((x + 1) / 2, 0.0, 1.0),
    derivative=lambda x: step((x > -1) & (x < 1), x) / 2,
    second_derivative=lambda x: torch.zeros_like(x),
    properties=props(monotone=True, convex=False, below=True, above=True, smooth=0, phi0=0.5, dphi0=0.5),
    kinks=(-1.0, 1.0),
    mpmath=lambda x: min(max((x + 1) / 2, mp.mpf(0)), mp.mpf(1)),
    notes="An affine change of hardsigmoid and hardtanh: `actlab similar sparse_sigmoid` finds both at distance 0.",
))


def _dyt_props(alpha):
    return props(monotone=True, convex=False, below=True, above=True, zero_centred=True, dphi0=alpha)


register(ActivationSpec(
    name="dyt", aliases=("dynamic_tanh",), family="sigmoidal",
    summary="Dynamic Tanh tanh(αx) with a learned α, the normalisation-free Transformer's replacement of LayerNorm.",
    formula="DyT(x) = tanh(α·x)",
    reference="Zhu, Chen, He, LeCun & Liu 2025 (Transformers without normalization)",
    params=(Param("alpha", 0.5, "input scale α (the paper initialises α = 0.5)", lower=0.0, lower_open=True,
                  learnable=True, learn_by_default=True),),
    fn=lambda x, alpha: torch.tanh(as_tensor(alpha, x) * x),
    derivative=lambda x, alpha: as_tensor(alpha, x) * _sech2(as_tensor(alpha, x) * x),
    second_derivative=lambda x, alpha: -2 * as_tensor(alpha, x) ** 2 * torch.tanh(as_tensor(alpha, x) * x)
    * _sech2(as_tensor(alpha, x) * x),
    properties=_dyt_props,
    mpmath=lambda x, alpha: mp.tanh(alpha * x),
    notes="The paper's layer is γ·tanh(αx) + β with per-channel γ, β: that affine map is the next layer's "
          "to absorb, so the zoo's elementwise part is tanh(αx).",
))

register(ActivationSpec(
    name="shifted_softplus", aliases=("ssp",), family="sigmoidal",
    summary="softplus(x) − log 2: softplus moved through the origin (SchNet's activation).",
    formula="φ(x) = log(1 + eˣ) − log 2",
    reference="Schütt et al. 2017 (SchNet: a continuous-filter convolutional neural network for modeling quantum interactions)",
    fn=lambda x: _softplus(x, 1.0) - math.log(2),
    derivative=torch.sigmoid,
    second_derivative=lambda x: torch.sigmoid(x) * torch.sigmoid(-x),
    properties=props(monotone=True, convex=True, below=True, above=False, zero_centred=True, dphi0=0.5),
    mpmath=lambda x: mp.log1p(mp.exp(x)) - mp.log(2),
))
