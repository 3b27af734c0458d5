"""Theory on valid inputs that used to raise "did not converge" (issue 15), held to closed forms or
mpmath, and an error message that reports the real figures."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

import actlab
from actlab.theory.gaussian import expect, expect_mc, expect_mpmath
from actlab.theory.moments import moments
from actlab.theory.propagation import correlation_map, depth_scales, edge_of_chaos, fixed_point, variance_map


@pytest.mark.parametrize("name, mean", [("gelu", -10.0), ("tanh", 10.0), ("gelu", 10.0), ("silu", -12.0)])
def test_moments_far_from_the_origin_match_mpmath(name, mean):
    act = actlab.get(name)
    m = moments(name, mean=mean, std=1.0)
    ref = lambda f: expect_mpmath(f, mean, 1.0, act.kinks, dps=40)  # noqa: E731
    mp_fn = lambda x: act.spec.mpmath(x, **act.params)  # noqa: E731
    assert m.mean == pytest.approx(ref(mp_fn), rel=1e-9, abs=1e-300)
    assert m.second == pytest.approx(ref(lambda x: mp_fn(x) ** 2), rel=1e-9, abs=1e-300)


def test_correlation_map_of_gelu_over_the_whole_range():
    q = 1.0
    vals = [correlation_map("gelu", c, q, 1.0, 0.0) for c in np.linspace(-0.95, 0.95, 21)]
    assert all(math.isfinite(v) for v in vals)
    # c = 0: the two pre-activations are independent, so C(0) = E[phi]^2 / q
    assert correlation_map("gelu", 0.0, q, 1.0, 0.0) == pytest.approx(moments("gelu").mean ** 2 / q, rel=1e-9)
    # c = 0.9 against Monte Carlo (4e6 pairs; 6 standard errors)
    gen = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(2, 4_000_000, generator=gen, dtype=torch.float64)
    c = 0.9
    u2 = c * z1 + math.sqrt(1 - c * c) * z2
    g = actlab.get("gelu")
    prod = g(z1) * g(u2)
    assert abs(correlation_map("gelu", c, q, 1.0, 0.0) - prod.mean().item()) < 6 * prod.std().item() / 2000


def test_depth_scales_tanh():
    d = depth_scales("tanh", 1.8, 0.5)
    assert float(variance_map("tanh", d.q, 1.8, 0.5)) == pytest.approx(d.q, rel=1e-10)
    assert math.isfinite(d.xi_c) and d.phase == "chaotic"


def test_sin_fixed_point_and_edge_of_chaos_match_closed_forms():
    """E[sin^2(sqrt(q) Z)] = (1 - e^(-2q))/2 and E[cos^2] = (1 + e^(-2q))/2: V(q*) = q* and chi_1 in
    closed form.  The scan meets q (up to 1e8) where sin oscillates over more periods than any
    quadrature resolves; those are skipped, not fatal."""
    sw, sb = 1.5, 0.1
    fp = fixed_point("sin", sw, sb)
    v = sw**2 * (1 - math.exp(-2 * fp.q)) / 2 + sb**2
    assert v == pytest.approx(fp.q, rel=1e-10)
    assert fp.chi1 == pytest.approx(sw**2 * (1 + math.exp(-2 * fp.q)) / 2, rel=1e-10)
    (e,) = edge_of_chaos("sin", [0.3])
    assert e.chi1 == pytest.approx(1.0, abs=1e-9)
    assert e.sigma_w**2 * (1 + math.exp(-2 * e.q)) / 2 == pytest.approx(1.0, rel=1e-9)
    assert e.sigma_w**2 * (1 - math.exp(-2 * e.q)) / 2 + 0.09 == pytest.approx(e.q, rel=1e-9)


def test_tanhshrink_fixed_point_and_edge():
    fp = fixed_point("tanhshrink", 1.5, 0.1)
    act = actlab.get("tanhshrink")
    second = expect_mpmath(lambda x: act.spec.mpmath(x) ** 2, 0.0, math.sqrt(fp.q), dps=40)
    assert 1.5**2 * second + 0.01 == pytest.approx(fp.q, rel=1e-9)
    (e,) = edge_of_chaos("tanhshrink", [0.5])
    assert e.chi1 == pytest.approx(1.0, abs=1e-9)


def test_the_error_reports_the_real_figures():
    """An integrand no panel refinement resolves (sin at std 1e4: 40 000 periods): the message gives the
    row and the last change (it used to print "relative change 0.0e+00", the change of a level with
    itself), and says what can cause it beyond undeclared kinks."""
    sin = actlab.get("sin")
    with pytest.raises(ValueError) as err:
        expect(lambda z, t: sin(z) ** 2, [0.0, 0.0], [1.0, 1e4])
    msg = str(err.value)
    assert "std=10000" in msg and "oscillat" in msg
    change = float(re.search(r"changed the result by ([0-9.e+-]+)", msg).group(1))
    assert change > 1e-11
    # the same rows with unresolved="nan": the resolvable one is exact, the other is NaN
    r = expect(lambda z, t: sin(z) ** 2, [0.0, 0.0], [1.0, 1e4], unresolved="nan")
    assert r[0] == pytest.approx((1 - math.exp(-2)) / 2, rel=1e-12) and math.isnan(r[1])
    mc, se = expect_mc(lambda z, t: sin(z) ** 2, 0.0, 1e4)
    assert abs(mc[0] - 0.5) < 6 * se[0]
