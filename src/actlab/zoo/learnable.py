"""Learnable shapes: piecewise-linear units with learned knots, the rational Padé unit and a KAN-style spline.

Every parameter here is learnable and learned by default, and each is an ordinary spec: ``.module()``
(with ``num_parameters=C`` for one set per channel), ``replace_activations``, the theory tools and the
contract suite treat them as they treat ReLU.  Defaults are float32-exact (see ``_common.f32``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from mpmath import mp

from ._common import as_tensor, f32, props, pwl_kinks, pwl_props
from .rational import rational_derivatives, rational_kinks, rational_value
from .registry import register
from .spec import SMOOTH, ActivationSpec, Param


def _learn(name: str, default: float, doc: str, **kw) -> Param:
    return Param(name, f32(default), doc, learnable=True, learn_by_default=True, **kw)


# -- SReLU -------------------------------------------------------------------------------------

def _srelu(x, t_left, a_left, t_right, a_right):
    tl, al, tr, ar = (as_tensor(v, x) for v in (t_left, a_left, t_right, a_right))
    return torch.where(x >= tr, tr + ar * (x - tr), torch.where(x <= tl, tl + al * (x - tl), x))


def _srelu_d1(x, t_left, a_left, t_right, a_right):
    tl, al, tr, ar = (as_tensor(v, x) for v in (t_left, a_left, t_right, a_right))
    one = torch.ones_like(x)
    return torch.where(x >= tr, ar * one, torch.where(x <= tl, al * one, one))


def _srelu_slope(t_left, a_left, t_right, a_right):
    return lambda x: a_right if x >= t_right else (a_left if x <= t_left else 1.0)


def _srelu_props(t_left, a_left, t_right, a_right):
    value = lambda x: float(_srelu_mp(x, t_left, a_left, t_right, a_right))  # noqa: E731
    slope = _srelu_slope(t_left, a_left, t_right, a_right)
    return pwl_props(value, slope, (t_left, t_right), dphi0=slope(0.0))


def _srelu_mp(x, t_left, a_left, t_right, a_right):
    if x >= t_right:
        return t_right + a_right * (x - t_right)
    if x <= t_left:
        return t_left + a_left * (x - t_left)
    return x


register(ActivationSpec(
    name="srelu", family="learnable",
    summary="S-shaped ReLU: the identity between two learned knees, a learned slope beyond each.",
    formula="SReLU(x) = t_r + a_r(x − t_r) for x ≥ t_r, x between, t_l + a_l(x − t_l) for x ≤ t_l",
    reference="Jin, Xu, Feng, Wei, Xiong & Yan 2016 (Deep learning with S-shaped rectified linear activation units, AAAI)",
    params=(_learn("t_left", -1.0, "left knee t_l"), _learn("a_left", 0.1, "slope a_l below t_l"),
            _learn("t_right", 1.0, "right knee t_r"), _learn("a_right", 0.1, "slope a_r above t_r")),
    constraint=lambda t_left, a_left, t_right, a_right: None if t_left < t_right else
    f"t_left={t_left} must be below t_right={t_right}",
    fn=_srelu, derivative=_srelu_d1,
    second_derivative=lambda x, **p: torch.zeros_like(x),
    properties=_srelu_props,
    kinks=lambda t_left, a_left, t_right, a_right: pwl_kinks(_srelu_slope(t_left, a_left, t_right, a_right),
                                                             (t_left, t_right)),
    mpmath=_srelu_mp,
    notes="Defaults (knees ±1, outer slopes 0.1: the S shape of the name) are actlab's; the paper learns all "
          "four per channel. At a knee φ' is the outer piece's slope.",
))


# -- APL ---------------------------------------------------------------------------------------

def _apl(x, a1, b1, a2, b2):
    out = torch.relu(x)
    for a, b in ((a1, b1), (a2, b2)):
        out = out + as_tensor(a, x) * torch.relu(as_tensor(b, x) - x)
    return out


def _apl_d1(x, a1, b1, a2, b2):
    out = (x > 0).to(x.dtype)
    for a, b in ((a1, b1), (a2, b2)):
        out = out - as_tensor(a, x) * (as_tensor(b, x) - x > 0).to(x.dtype)
    return out


def _apl_mp(x, a1, b1, a2, b2):
    return max(x, 0) + a1 * max(b1 - x, 0) + a2 * max(b2 - x, 0)


def _apl_slope(a1, b1, a2, b2):
    return lambda x: (1.0 if x > 0 else 0.0) - (a1 if b1 - x > 0 else 0.0) - (a2 if b2 - x > 0 else 0.0)


def _apl_props(a1, b1, a2, b2):
    value = lambda x: float(_apl_mp(x, a1, b1, a2, b2))  # noqa: E731
    slope = _apl_slope(a1, b1, a2, b2)
    return pwl_props(value, slope, (0.0, b1, b2), dphi0=slope(0.0))


register(ActivationSpec(
    name="apl", aliases=("adaptive_piecewise_linear",), family="learnable",
    summary="Adaptive piecewise-linear unit: ReLU plus S = 2 learned hinges a_s·max(0, b_s − x).",
    formula="APL(x) = max(0, x) + Σ_{s=1}^{2} a_s·max(0, −x + b_s)",
    reference="Agostinelli, Hoffman, Sadowski & Baldi 2015 (Learning activation functions to improve deep neural networks)",
    params=(_learn("a1", -0.2, "height a₁ of hinge 1"), _learn("b1", 0.0, "position b₁ of hinge 1"),
            _learn("a2", 0.5, "height a₂ of hinge 2"), _learn("b2", -1.0, "position b₂ of hinge 2")),
    fn=_apl, derivative=_apl_d1,
    second_derivative=lambda x, **p: torch.zeros_like(x),
    properties=_apl_props,
    kinks=lambda a1, b1, a2, b2: pwl_kinks(_apl_slope(a1, b1, a2, b2), (0.0, b1, b2)),
    mpmath=_apl_mp,
    notes="S = 2 hinges (the paper sweeps S). The defaults are actlab's: slope 0.2 on (−1, 0) (a leaky "
          "ReLU) turning to −0.3 below −1, a convex shape. φ' at a hinge follows ReLU's convention (0 at 0).",
))


# -- PAU ---------------------------------------------------------------------------------------

_PAU_M, _PAU_N = 5, 4


def _tanh_pade_5_4() -> tuple[list[float], list[float]]:
    """The [5/4] Padé approximant of tanh at 0, from Lambert's continued fraction
    tanh x = x/(1 + x²/(3 + x²/(5 + x²/(7 + x²/9)))): (945x + 105x³ + x⁵)/(945 + 420x² + 15x⁴)."""
    num = [0, 945, 0, 105, 0, 1]
    den = [945, 0, 420, 0, 15]
    return [c / den[0] for c in num], [c / den[0] for c in den[1:]]


_PAU_A, _PAU_B = _tanh_pade_5_4()


def _pau_split(p):
    return [p[f"a{j}"] for j in range(_PAU_M + 1)], [p[f"b{k}"] for k in range(1, _PAU_N + 1)]


def _pau_tails(a, b) -> tuple[int, int]:
    """Signs of R at −∞ and +∞ when it is unbounded there (0 where R has a finite limit).

    R ~ a_m·x^m / (|b_n|·|x|^n) for the leading nonzero coefficients: unbounded iff m > n."""
    m = max((j for j, c in enumerate(a) if float(c) != 0), default=-1)
    n = max((k for k, c in enumerate(b, start=1) if float(c) != 0), default=0)
    if m <= n:
        return 0, 0
    sg = 1 if float(a[m]) > 0 else -1
    return sg * (-1) ** m, sg


def _pau_props(**p):
    """Shape for arbitrary coefficients has no closed form: R' and R'' are sampled in float64 on
    [−200, 200] (40001 points, kinks added) and the tails come from the leading coefficients."""
    a, b = _pau_split(p)
    kinks = rational_kinks(a, b)
    x = torch.linspace(-200, 200, 40001, dtype=torch.float64)
    x = torch.sort(torch.cat([x, torch.tensor(kinks or (0.0,), dtype=torch.float64)])).values
    with torch.no_grad():
        y = rational_value(x, a, b)
        d1 = rational_derivatives(x, a, b, 1)
        d2 = rational_derivatives(x, a, b, 2)
    lo, hi = _pau_tails(a, b)
    z = torch.zeros(1, dtype=torch.float64)
    phi0 = float(rational_value(z, a, b))
    return props(monotone=bool((d1 >= 0).all()), convex=bool((d2 >= 0).all()) and not kinks,
                 below=lo >= 0 and hi >= 0, above=lo <= 0 and hi <= 0,
                 smooth=0 if kinks else SMOOTH, zero_centred=phi0 == 0 and bool((y < 0).any() and (y > 0).any()),
                 phi0=phi0, dphi0=float(rational_derivatives(z, a, b, 1)))


def _pau_mp(x, **p):
    a, b = _pau_split(p)
    return sum(c * x**j for j, c in enumerate(a)) / (1 + abs(sum(c * x**k for k, c in enumerate(b, start=1))))


register(ActivationSpec(
    name="pau", aliases=("rational", "pade"), family="learnable",
    summary="Padé activation unit: a learned safe rational function of degree (5, 4), initialised at tanh's Padé approximant.",
    formula="PAU(x) = Σ_{j=0}^{5} a_j x^j / (1 + |Σ_{k=1}^{4} b_k x^k|)",
    reference="Molina, Schramowski & Kersting 2020 (Padé activation units, ICLR); the default is the [5/4] Padé "
              "approximant of tanh (Lambert's continued fraction)",
    params=tuple(_learn(f"a{j}", v, f"numerator coefficient of x^{j}") for j, v in enumerate(_PAU_A))
    + tuple(_learn(f"b{k}", v, f"denominator coefficient of x^{k}") for k, v in enumerate(_PAU_B, start=1)),
    fn=lambda x, **p: rational_value(x, *_pau_split(p)),
    derivative=lambda x, **p: rational_derivatives(x, *_pau_split(p), 1),
    second_derivative=lambda x, **p: rational_derivatives(x, *_pau_split(p), 2),
    properties=_pau_props,
    kinks=lambda **p: rational_kinks(*_pau_split(p)),
    mpmath=_pau_mp,
    notes="The safe denominator 1 + |B(x)| ≥ 1 has no pole wherever training moves the coefficients. "
          "Molina et al. initialise by fitting leaky ReLU: actlab.approx.pau(\"leaky_relu\") builds that "
          "module; this spec starts from tanh's Padé approximant (equal to tanh within 5e−4 on |x| ≤ 3, "
          "linear tails of slope 1/15): a = (0, 1, 0, 1/9, 0, 1/945), b = (0, 4/9, 0, 1/63), rounded to "
          "float32 (see _common.f32). Shape properties for other "
          "coefficients are sampled (see _pau_props).",
))


# -- KAN spline --------------------------------------------------------------------------------

#: the spline grid: G intervals on [lo, hi], cubic (k = 3) B-splines on the grid extended by k knots on
#: each side, as in Liu et al. 2024 -- G + k basis functions, supported on [lo − kh, hi + kh]
_KAN_G, _KAN_K, _KAN_LO, _KAN_HI = 8, 3, -2.0, 2.0
_KAN_H = (_KAN_HI - _KAN_LO) / _KAN_G
_KAN_NB = _KAN_G + _KAN_K
_KAN_CENTRES = tuple(_KAN_LO + (i - 1) * _KAN_H for i in range(_KAN_NB))  # centre of basis i: t_i + 2h
_KAN_KNOTS = tuple(_KAN_LO + (j - _KAN_K) * _KAN_H for j in range(_KAN_G + 2 * _KAN_K + 1))
_KAN_C = tuple(f"c{i}" for i in range(_KAN_NB))


def _bspline3(s, order):
    """The centred cardinal cubic B-spline N(s) (support [−2, 2]) and its derivatives, in closed form:
    with r = |s|, N = ((2 − r)₊³ − 4(1 − r)₊³)/6."""
    r = s.abs()
    a = torch.clamp(2 - r, min=0.0)
    b = torch.clamp(1 - r, min=0.0)
    if order == 0:
        return (a * a * a - 4 * b * b * b) / 6
    if order == 1:
        return torch.sign(s) * (4 * b * b - a * a) / 2
    return a - 4 * b


def _kan_spline(x, p, order):
    out = torch.zeros_like(x)
    for i, c in enumerate(_KAN_C):
        out = out + as_tensor(p[c], x) * _bspline3((x - _KAN_CENTRES[i]) / _KAN_H, order)
    return out / _KAN_H**order


def _silu_parts(x):
    s = torch.sigmoid(x)
    return s, torch.sigmoid(-x)


def _kan(x, w_base, **p):
    return as_tensor(w_base, x) * F.silu(x) + _kan_spline(x, p, 0)


def _kan_d1(x, w_base, **p):
    s, c = _silu_parts(x)
    return as_tensor(w_base, x) * s * (1 + x * c) + _kan_spline(x, p, 1)


def _kan_d2(x, w_base, **p):
    s, c = _silu_parts(x)
    return as_tensor(w_base, x) * s * c * (2 - x * torch.tanh(x / 2)) + _kan_spline(x, p, 2)


def _kan_kinks(w_base, **p):
    """The knots of every basis function with a nonzero coefficient (its third derivative jumps there)."""
    out = set()
    for i, c in enumerate(_KAN_C):
        if p[c] != 0:
            out.update(_KAN_KNOTS[i:i + _KAN_K + 2])
    return tuple(sorted(out))


def _kan_props(w_base, **p):
    w = float(w_base)
    z = torch.zeros(1, dtype=torch.float64)
    spline = any(p[c] != 0 for c in _KAN_C)
    phi0 = float(_kan(z, w, **p))
    dphi0 = float(_kan_d1(z, w, **p))
    if not spline:  # w·SiLU
        if w == 0:
            return props(monotone=True, convex=True, below=True, above=True, dphi0=0.0)
        return props(monotone=False, convex=False, below=w > 0, above=w < 0, zero_centred=True, self_gated=w == 1,
                     dphi0=dphi0)
    # Outside the support [−3.5, 3.5] φ = w·SiLU(x): for w > 0 it falls on x < −1.28 and is concave on
    # x < −2.4; for w < 0 it rises on the left and falls on the right -- neither monotone nor convex, and
    # both signs occur in the tails.  For w = 0 φ is a nonzero bump of compact support: bounded, neither
    # monotone nor convex; its signs are read off a fine sample (a cubic per knot interval).
    if w != 0:
        both = True
    else:
        x = torch.linspace(_KAN_KNOTS[0], _KAN_KNOTS[-1], 14001, dtype=torch.float64)
        y = _kan(x, 0.0, **p)
        both = bool((y < 0).any() and (y > 0).any())
    return props(monotone=False, convex=False, below=w >= 0, above=w <= 0, smooth=2,
                 zero_centred=phi0 == 0 and both, phi0=phi0, dphi0=dphi0)


def _deboor(x, i, k):
    """B-spline basis B_{i,k}(x) on the extended knot vector by the Cox-de Boor recursion (the mpmath
    reference: an algorithm independent of the closed form the torch code uses)."""
    t = _KAN_KNOTS  # multiples of 1/2: exact as floats and as mpf at any precision
    if k == 0:
        return mp.mpf(1) if t[i] <= x < t[i + 1] else mp.mpf(0)
    left = (x - t[i]) / (t[i + k] - t[i]) * _deboor(x, i, k - 1)
    right = (t[i + k + 1] - x) / (t[i + k + 1] - t[i + 1]) * _deboor(x, i + 1, k - 1)
    return left + right


def _kan_mp(x, w_base, **p):
    return w_base * x / (1 + mp.exp(-x)) + sum(p[c] * _deboor(x, i, _KAN_K) for i, c in enumerate(_KAN_C))


register(ActivationSpec(
    name="kan_spline", aliases=("kan",), family="learnable",
    summary="KAN-style learnable activation: w·SiLU(x) plus a learned cubic B-spline on a fixed grid.",
    formula="φ(x) = w·SiLU(x) + Σ_{i=0}^{10} c_i·B_i(x),  B_i cubic B-splines on 8 intervals of [−2, 2], extended by 3 knots each side",
    reference="Liu et al. 2024 (KAN: Kolmogorov-Arnold networks)",
    params=(_learn("w_base", 1.0, "weight w of the residual SiLU path"),)
    + tuple(_learn(c, 0.0, f"coefficient of B-spline {i} (centred at {_KAN_CENTRES[i]:g})") for i, c in enumerate(_KAN_C)),
    fn=_kan, derivative=_kan_d1, second_derivative=_kan_d2,
    properties=_kan_props,
    kinks=_kan_kinks,
    mpmath=_kan_mp,
    notes="KAN initialises c_i ~ N(0, 0.1²) and scales the spline by a separate w_s; here the defaults are "
          "the mean of that initialisation (c_i = 0, so φ starts as SiLU) and w_s is folded into the c_i "
          "(it only rescales them). The grid is fixed (KAN can refit it to the data): the layer before "
          "scales inputs onto it. Use .module(num_parameters=C) for one spline per channel. With any "
          "c_i ≠ 0, φ is C² (cubic splines) with kinks at the knots in ±3.5.",
))
