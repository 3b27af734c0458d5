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


def _gelu(x, approximate):
    # the far left tail: ½(1 + erf(x/√2)) cancels to 0 from x ≈ −8.3 on (float64), so F.gelu returns −0
    # at −20 where GELU is −5.5e−88; ½erfc(−x/√2) keeps every digit.  The tanh form likewise as
    # x·σ(2u) (= ½x(1 + tanh u)), not 1 + tanh u.
    if approximate == "tanh":
        return x * torch.sigmoid(2 * _SQRT_2_PI * (x + _GELU_TANH_C * x * x * x))
    return 0.5 * x * torch.erfc(x * -_INV_SQRT2)


_INV_SQRT2 = 1 / math.sqrt(2)


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
    fn=lambda x, approximate: _gelu(x, approximate),
    derivative=_gelu_d1, second_derivative=_gelu_d2,
    properties=props(monotone=False, convex=False, below=True, above=False, zero_centred=True, self_gated=True, dphi0=0.5),
    mpmath=_gelu_mp,
    torch_functional=F.gelu, torch_module="GELU",
    notes="Exact GELU is the default, as in PyTorch, TensorFlow (tf.nn.gelu) and Keras "
          "(keras.activations.gelu), all approximate=False by default; jax.nn.gelu defaults to the tanh "
          "form (approximate=True). Computed as ½x·erfc(−x/√2), which keeps the far left tail.",
))


def _silu(x, beta):
    return x * torch.sigmoid(as_tensor(beta, x) * x)


# βx clamped where σ(βx)σ(−βx) is exactly 0 in every dtype (e^−800 underflows even in float64), so an
# overflowing βx (quick_gelu at 3e38 in float32, β = 2 at 1e308) never meets that 0 as inf·0 = NaN
_T_CLAMP = 800.0


def _silu_d1(x, beta):
    b = as_tensor(beta, x)
    t = (b * x).clamp(-_T_CLAMP, _T_CLAMP)
    s = torch.sigmoid(t)
    return s + t * s * torch.sigmoid(-t)


def _silu_d2(x, beta):
    b = as_tensor(beta, x)
    t = (b * x).clamp(-_T_CLAMP, _T_CLAMP)
    s, sn = torch.sigmoid(t), torch.sigmoid(-t)
    return b * s * sn * (2 - t * torch.tanh(t / 2))


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
    sp = F.softplus(x)
    t = torch.tanh(sp)
    # σ(x) = exp(x − softplus(x)): torch.sigmoid(−710) is 1/(1 + e^710) = 0 (e^710 overflows), which
    # made mish'(−710) = tanh(softplus) > 0 where it is −709·e^−710 < 0
    s = torch.exp(x - sp)
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


register(ActivationSpec(
    name="hard_mish", aliases=("hardmish",), family="self_gated",
    summary="Piecewise-quadratic Mish: x·min(max(0, x + 2), 2)/2 (timm's hard_mish).",
    formula="φ(x) = 0 for x ≤ −2, x(x + 2)/2 for −2 < x < 0, x for x ≥ 0",
    reference="timm (Wightman 2019, layers/activations.py: hard_mish), after Mish (Misra 2019)",
    fn=lambda x: 0.5 * x * torch.clamp(x + 2, 0.0, 2.0),
    # the outer pieces' slopes at the kinks, as hardswish: φ'(−2) = 0, φ'(0) = 1
    derivative=lambda x: torch.where(x <= -2, torch.zeros_like(x), torch.where(x >= 0, torch.ones_like(x), x + 1)),
    second_derivative=lambda x: step((x > -2) & (x < 0), x),
    properties=props(monotone=False, convex=False, below=True, above=False, smooth=0, zero_centred=True, self_gated=True,
                     dphi0=1.0),
    kinks=(-2.0, 0.0),
    mpmath=lambda x: mp.mpf(0) if x <= -2 else (x if x >= 0 else x * (x + 2) / 2),
    notes="φ' is continuous at 0 (only φ'' jumps there); the kink proper is at −2.",
))


def _sech2(u):
    return torch.cosh(u).reciprocal().square()  # 0 once cosh overflows: no inf·0 in the tails


def _tanhexp_parts(x):
    xc = torch.clamp(x, max=_CLAMP)  # beyond 40 every correction term is exactly 0 (sech²(e⁴⁰) underflows)
    e = torch.exp(xc)
    return xc, e, torch.tanh(e), _sech2(e)


def _tanhexp_d1(x):
    xc, e, t, s2 = _tanhexp_parts(x)
    return t + xc * e * s2


def _tanhexp_d2(x):
    xc, e, t, s2 = _tanhexp_parts(x)
    return e * s2 * (2 + xc - 2 * xc * e * t)


register(ActivationSpec(
    name="tanhexp", family="self_gated",
    summary="TanhExp x·tanh(eˣ): a self-gated unit with a steeper gate than Swish.",
    formula="φ(x) = x·tanh(eˣ)",
    reference="Liu & Di 2021 (TanhExp: a smooth activation function with high convergence speed for "
              "lightweight neural networks, IET Computer Vision)",
    fn=lambda x: x * torch.tanh(torch.exp(x)),
    derivative=_tanhexp_d1, second_derivative=_tanhexp_d2,
    properties=props(monotone=False, convex=False, below=True, above=False, zero_centred=True, self_gated=True,
                     dphi0=math.tanh(1.0)),
    # tanh(e^x) = 1 − 2e^(−2eˣ) + …: exactly 1 to any working precision beyond x = 100 (and mpmath cannot form e^(e^(1e60)))
    mpmath=lambda x: x * mp.tanh(mp.exp(x)) if x < 100 else x,
))


def _serf_parts(x):
    sp = torch.relu(x) + torch.log1p(torch.exp(-torch.abs(x)))  # softplus, exact in both tails
    s = torch.sigmoid(x)
    dg = (2 / math.sqrt(math.pi)) * torch.exp(-sp * sp) * s  # d/dx erf(softplus(x))
    return sp, s, dg


def _serf_d1(x):
    sp, s, dg = _serf_parts(x)
    return torch.erf(sp) + x * dg


def _serf_d2(x):
    sp, s, dg = _serf_parts(x)
    return 2 * dg + x * dg * (torch.sigmoid(-x) - 2 * sp * s)


register(ActivationSpec(
    name="serf", family="self_gated",
    summary="Serf x·erf(softplus(x)): a Mish-like self-gated unit with an erf gate.",
    formula="Serf(x) = x·erf(log(1 + eˣ))",
    reference="Nag, Bhattacharyya, Mukherjee & Kundu 2023 (SERF: towards better training of deep neural "
              "networks using log-softplus error activation function, WACV)",
    fn=lambda x: x * torch.erf(_serf_parts(x)[0]),
    derivative=_serf_d1, second_derivative=_serf_d2,
    properties=props(monotone=False, convex=False, below=True, above=False, zero_centred=True, self_gated=True,
                     dphi0=math.erf(math.log(2))),
    mpmath=lambda x: x * mp.erf(mp.log1p(mp.exp(x))),
))


# Smish's gate tanh(log(1 + σ)) is a rational function of σ: with u = 1 + σ, tanh(log u) = (u² − 1)/(u² + 1),
# so g(σ) = σ(σ + 2)/(σ² + 2σ + 2) -- no log or tanh needed, and its σ-derivatives are short.
def _smish_parts(x):
    s, c = torch.sigmoid(x), torch.sigmoid(-x)
    den = s * s + 2 * s + 2
    g = s * (s + 2) / den
    g1 = 4 * (s + 1) / den**2
    g2 = 4 / den**2 - 16 * (s + 1) ** 2 / den**3
    return s, c, g, g1, g2


def _smish_d1(x):
    s, c, g, g1, _ = _smish_parts(x)
    return g + x * g1 * s * c


def _smish_d2(x):
    s, c, g, g1, g2 = _smish_parts(x)
    ds = s * c
    return 2 * g1 * ds + x * (g2 * ds * ds + g1 * ds * (c - s))


register(ActivationSpec(
    name="smish", family="self_gated",
    summary="Smish x·tanh(log(1 + σ(x))): a Mish variant whose gate saturates at tanh(log 2) = 0.6.",
    formula="Smish(x) = x·tanh(log(1 + σ(x)))",
    reference="Wang, Ren & Wang 2022 (Smish: a novel activation function for deep learning methods, Electronics)",
    fn=lambda x: x * _smish_parts(x)[2],
    derivative=_smish_d1, second_derivative=_smish_d2,
    # not self-gated in the declared sense: the gate rises to 0.6, not 1
    properties=props(monotone=False, convex=False, below=True, above=False, zero_centred=True, dphi0=5 / 13),
    mpmath=lambda x: x * mp.tanh(mp.log1p(1 / (1 + mp.exp(-x)))),
    notes="The paper's α·x·tanh(log(1 + σ(βx))) has α = β = 1 here: α is the next layer's to absorb.",
))


def _logish_parts(x):
    s, c = torch.sigmoid(x), torch.sigmoid(-x)
    u1 = s * c / (1 + s)  # d/dx log(1 + σ)
    return s, c, u1


def _logish_d2(x):
    s, c, u1 = _logish_parts(x)
    u2 = s * c * ((c - s) * (1 + s) - s * c) / (1 + s) ** 2
    return 2 * u1 + x * u2


register(ActivationSpec(
    name="logish", family="self_gated",
    summary="Logish x·log(1 + σ(x)): a non-monotone unit whose gate saturates at log 2.",
    formula="Logish(x) = x·log(1 + σ(x))",
    reference="Zhu, Zeng, Liu & Zhang 2021 (Logish: a new nonlinear nonmonotonic activation function "
              "for convolutional neural network, Neurocomputing)",
    fn=lambda x: x * torch.log1p(torch.sigmoid(x)),
    derivative=lambda x: torch.log1p(torch.sigmoid(x)) + x * _logish_parts(x)[2],
    second_derivative=_logish_d2,
    properties=props(monotone=False, convex=False, below=True, above=False, zero_centred=True, dphi0=math.log(1.5)),
    mpmath=lambda x: x * mp.log1p(1 / (1 + mp.exp(-x))),
))


def _swish_slope_range() -> tuple[float, float]:
    """min and max of d/du [u·σ(u)]: at the roots ±u* of u·tanh(u/2) = 2 (Newton from 2.4)."""
    u = 2.4
    for _ in range(50):
        f = u * math.tanh(u / 2) - 2
        u -= f / (math.tanh(u / 2) + u / 2 / math.cosh(u / 2) ** 2)
    d = lambda v: 1 / (1 + math.exp(-v)) * (1 + v / (1 + math.exp(v)))  # noqa: E731
    return d(-u), d(u)


_SWISH_D_MIN, _SWISH_D_MAX = _swish_slope_range()


def _acon(x, p1, p2, beta):
    p1, p2, b = as_tensor(p1, x), as_tensor(p2, x), as_tensor(beta, x)
    dx = (p1 - p2) * x
    return dx * torch.sigmoid(b * dx) + p2 * x


def _acon_d1(x, p1, p2, beta):
    p1, p2, b = as_tensor(p1, x), as_tensor(p2, x), as_tensor(beta, x)
    d = p1 - p2
    u = b * d * x
    return d * torch.sigmoid(u) * (1 + u * torch.sigmoid(-u)) + p2


def _acon_d2(x, p1, p2, beta):
    p1, p2, b = as_tensor(p1, x), as_tensor(p2, x), as_tensor(beta, x)
    d = p1 - p2
    u = b * d * x
    return b * d * d * torch.sigmoid(u) * torch.sigmoid(-u) * (2 - u * torch.tanh(u / 2))


def _acon_props(p1, p2, beta):
    p1, p2, b = float(p1), float(p2), float(beta)
    d = p1 - p2
    if d == 0 or b == 0:  # linear: p2·x, or (p1 + p2)/2·x
        c = p2 + d / 2
        return props(monotone=c >= 0, convex=True, below=c == 0, above=c == 0, zero_centred=c != 0, dphi0=c)
    s_minus, s_plus = (p2, p1) if b * d > 0 else (p1, p2)  # slopes as x → ∓∞
    lo = p2 + d * (_SWISH_D_MIN if d > 0 else _SWISH_D_MAX)  # the least slope
    return props(monotone=lo >= 0, convex=False, below=s_minus <= 0 <= s_plus, above=s_minus >= 0 >= s_plus,
                 # x·(d·σ(βdx) + p2): one-signed exactly when the monotone gate crosses 0 at x = 0
                 zero_centred=p1 + p2 != 0, self_gated=p1 == 1 and p2 == 0 and b > 0, dphi0=p2 + d / 2)


register(ActivationSpec(
    name="acon_c", aliases=("aconc",), family="self_gated",
    summary="ACON-C: a learned blend (p1 − p2)·x·σ(β(p1 − p2)x) + p2·x between two slopes; Swish at p1 = 1, p2 = 0.",
    formula="ACON-C(x) = (p1 − p2)·x·σ(β·(p1 − p2)·x) + p2·x",
    reference="Ma, Zhang, Liu & Sun 2021 (Activate or not: learning customized activation, CVPR)",
    params=(Param("p1", 1.0, "slope p1 as βx → +∞", learnable=True, learn_by_default=True),
            Param("p2", 0.0, "slope p2 as βx → −∞", learnable=True, learn_by_default=True),
            Param("beta", 1.0, "switching factor β (β → ∞: max(p1x, p2x); β = 0: the mean slope)",
                  learnable=True, learn_by_default=True)),
    fn=_acon, derivative=_acon_d1, second_derivative=_acon_d2,
    properties=_acon_props,
    mpmath=lambda x, p1, p2, beta: (p1 - p2) * x / (1 + mp.exp(-beta * (p1 - p2) * x)) + p2 * x,
    notes="The paper draws p1, p2 at random per channel; the defaults here are the one point it names, "
          "p1 = 1, p2 = 0, β = 1, where ACON-C is Swish (SiLU).",
))
