"""Numerics at the edges, held to mpmath (issue 15).  Every test here failed on the code before the
fix it guards; the registry-wide ones cover activations added later.

References: mpmath at 80 digits.  Derivatives by ``mp.diff`` with an explicit step h = 1e-25 at
800 digits: a saturating function is 1 - 1e-304 at 700 (sigmoid) and 1 - 1e-608 (tanh), which only
that many digits resolve; the central difference's rounding error is then far below 1e-700 relative
and its truncation error ~h^2 = 1e-50, so the reference is exact in float64 even where the values
are 1e-87 (mp.diff's default step at 40 digits loses 5 digits there, and returns 0 for erf'(20)).  Tolerance 1e-9 relative: a few ulps of exp/log/erfc growth,
while a tail derivative rounded to 0 (relative error 1) or a cancelled difference fails.
"""

from __future__ import annotations

import math

import pytest
import torch
from mpmath import mp

import actlab
from actlab.zoo import all_specs

POINTWISE = [s for s in all_specs() if s.kind == "pointwise"]
WITH_MP = [s for s in POINTWISE if s.mpmath is not None]
TAILS = [-700.0, -100.0, -40.0, -20.0, -5.0, 5.0, 20.0, 40.0, 100.0, 700.0]
DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


def _mp_params(act):
    return {k: (mp.mpf(v) if isinstance(v, float) else v) for k, v in act.params.items()}


def _ref(spec, act, v: float, deriv: bool = False) -> float | None:
    p = _mp_params(act)
    with mp.workdps(800 if deriv else 80):
        try:
            if deriv:
                r = mp.diff(lambda t: spec.mpmath(t, **p), mp.mpf(v), h=mp.mpf("1e-25"))
            else:
                r = spec.mpmath(mp.mpf(v), **p)
            return float(r)
        except (ValueError, ZeroDivisionError, OverflowError, TypeError):
            return None


def _close(got: float, want: float, rtol: float = 1e-9) -> bool:
    if math.isinf(want):
        return got == want
    return abs(got - want) <= rtol * abs(want) + 1e-300


def _away_from_kinks(act, pts):
    return [v for v in pts if all(abs(v - k) > 1e-3 for k in act.kinks)]


@pytest.mark.parametrize("spec", WITH_MP, ids=[s.name for s in WITH_MP])
def test_tails_values_derivatives_and_autograd_match_mpmath(spec):
    """phi, phi' and autograd's gradient of act(x) in the tails, relative to mpmath: a derivative
    rounded to 0 (tanh' = 1 - tanh^2 at -20) or a value underflowed early (exact GELU at -20 is
    -5.5e-88, not -0) fails."""
    act = actlab.get(spec)
    pts = _away_from_kinks(act, TAILS)
    x = torch.tensor(pts, dtype=torch.float64)
    y = act(x)
    d = act.derivative(x) if spec.derivative is not None else None
    xg = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(act(xg).sum(), xg)
    bad = []
    for i, v in enumerate(pts):
        ry, rd = _ref(spec, act, v), _ref(spec, act, v, deriv=True)
        if ry is not None and not _close(y[i].item(), ry):
            bad.append(("value", v, y[i].item(), ry))
        if rd is not None:
            if d is not None and not _close(d[i].item(), rd):
                bad.append(("derivative", v, d[i].item(), rd))
            if not _close(g[i].item(), rd):
                bad.append(("autograd", v, g[i].item(), rd))
    assert not bad, bad


def _limit(spec, act, sign: float) -> float | None:
    """phi(+-inf) from mpmath at +-1e200 (80 digits): beyond 1e100 is infinite, below 1e-100 is 0."""
    r = _ref(spec, act, sign * 1e200)
    if r is None or math.isnan(r):
        return None
    if abs(r) > 1e100:
        return math.copysign(math.inf, r)
    return 0.0 if abs(r) < 1e-100 else r


@pytest.mark.parametrize("spec", [s for s in WITH_MP if s.limits is not None], ids=lambda s: s.name)
def test_limits_at_infinity_are_exact(spec):
    act = actlab.get(spec)
    x = torch.tensor([-math.inf, math.inf], dtype=torch.float64)
    y = act(x).tolist()
    for got, sign in zip(y, (-1.0, 1.0)):
        want = _limit(spec, act, sign)
        if want is None:
            continue
        assert (got == want) if want in (0.0, math.inf, -math.inf) else _close(got, want, 1e-12), (sign, got, want)


@pytest.mark.parametrize("spec", POINTWISE, ids=[s.name for s in POINTWISE])
@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_no_nan_at_any_finite_input(spec, dtype):
    """Value, derivative and autograd gradient are never NaN at a finite input, up to the dtype's
    largest (quick_gelu'(3e38) in float32 and silu(beta=2)'(1e308) in float64 were NaN: overflow
    inside the formula meeting a 0)."""
    act = actlab.get(spec)
    fi = torch.finfo(dtype)
    pts = [fi.max, -fi.max, fi.max / 2, -fi.max / 2, fi.max / 8, -fi.max / 8, fi.tiny, -fi.tiny, 0.0,
           1e4, -1e4, 80.0, -80.0, 710.0, -710.0, 745.0, -745.0]
    x = torch.tensor(pts, dtype=torch.float64).clamp(-fi.max, fi.max).to(dtype)
    xg = x.clone().requires_grad_(True)
    y = act(xg)
    (g,) = torch.autograd.grad(y.sum(), xg)
    checks = {"value": y.detach(), "autograd": g}
    if spec.derivative is not None:
        checks["derivative"] = act.derivative(x)
    for what, t in checks.items():
        nan = torch.isnan(t)
        assert not nan.any(), f"{what} NaN at {x[nan].tolist()}"


@pytest.mark.parametrize("variant", ["silu(beta=2.0)", "quick_gelu", "gelu(approximate='tanh')"])
def test_scaled_gates_keep_finite_derivatives_far_out(variant):
    act = actlab.get(variant)
    for dtype, far in ((torch.float32, 3e38), (torch.float64, 1e308)):
        x = torch.tensor([far, -far], dtype=dtype)
        d = act.derivative(x)
        assert torch.isfinite(d).all(), (dtype, d)
        assert d[0].item() == pytest.approx(1.0) and d[1].item() == 0.0


def test_softplus_is_exact_and_increasing_at_the_threshold():
    sp = actlab.get("softplus")
    x = torch.tensor([20.0, 20.0 + 1e-12, 25.0, 30.0, 36.0, 40.0], dtype=torch.float64)
    y = sp(x)
    assert y[1] > y[0]  # torch's thresholded softplus returns x above 20: it decreased by 2e-9 here
    for i, v in enumerate(x.tolist()):
        with mp.workdps(50):
            want = float(mp.log1p(mp.exp(mp.mpf(v))))
        assert y[i].item() == pytest.approx(want, rel=2e-16, abs=0)
    d = torch.diff(sp(torch.linspace(19.9, 20.1, 2001, dtype=torch.float64)))
    assert (d > 0).all()  # strictly increasing (and convex) across the old threshold


def test_hardsigmoid_near_minus_three_in_float32():
    """x/6 + 1/2 cancels near -3: (x + 3)/6 keeps the relative accuracy (1.2e-5 was lost)."""
    hs = actlab.get("hardsigmoid")
    x = torch.tensor([-2.9999, -2.99999, -2.999999], dtype=torch.float32)
    got = hs(x).tolist()
    for g, v in zip(got, x.tolist()):
        want = (mp.mpf(v) + 3) / 6
        assert abs(g - float(want)) <= 2 * 2**-24 * abs(float(want)), (v, g, float(want))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tanhshrink_near_zero(dtype):
    """x - tanh(x) cancels near 0 (all digits at |x| < 1e-8 in float64): a series keeps them."""
    ts = actlab.get("tanhshrink")
    pts = [1e-10, -1e-6, 1e-4, -1e-3, 0.01, -0.05, 0.1, -0.2, 0.3, 0.5, -1.0]
    x = torch.tensor(pts, dtype=dtype)
    got = ts(x).tolist()
    eps = torch.finfo(dtype).eps
    for g, v in zip(got, x.tolist()):
        with mp.workdps(50):
            want = float(mp.mpf(v) - mp.tanh(mp.mpf(v)))
        assert abs(g - want) <= 8 * eps * abs(want), (v, g, want)


def test_mish_derivative_sign_far_left():
    """mish'(x) < 0 for x < -1.19 (mish dips then rises to 0 from below): at -710 it is -e^-710 * 709,
    a tiny negative number, not a positive one."""
    m = actlab.get("mish")
    x = torch.tensor([-700.0, -710.0, -720.0], dtype=torch.float64)
    d = m.derivative(x)
    with mp.workdps(60):
        for got, v in zip(d.tolist(), x.tolist()):
            f = lambda t: t * mp.tanh(mp.log1p(mp.exp(t)))  # noqa: E731
            want = float(mp.diff(f, mp.mpf(v), h=mp.mpf("1e-20")))
            assert got <= 0 and _close(got, want, 1e-9), (v, got, want)
