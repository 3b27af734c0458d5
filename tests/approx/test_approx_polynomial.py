"""Polynomial methods: exactness, convergence, equioscillation, the Legendre fit of ReLU, Hermite, Runge.

Tolerances: float64 throughout; "exact" results are held to 1e-12 (coefficients of size ~1 computed by
O(N²) well-conditioned operations), so a wrong formula or a misplaced node fails by orders of magnitude.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import actlab
from actlab import approx
from actlab.approx.report import error_report
from actlab.zoo import ActivationSpec

POLY = [m for m in approx.METHODS if m != "rational"]


@pytest.fixture
def cubic(registered):
    # p(x) = x³ − 2x + 0.5: a polynomial activation every method must reproduce from degree 3 on
    return registered(ActivationSpec(
        name="test_cubic", summary="test cubic", formula="x^3 - 2x + 0.5", family="test", reference="test",
        fn=lambda x: x**3 - 2 * x + 0.5, derivative=lambda x: 3 * x**2 - 2, limits=None))


@pytest.mark.parametrize("method", POLY)
@pytest.mark.parametrize("degree", [3, 5])
def test_polynomials_are_recovered_exactly(cubic, method, degree):
    p = approx.approximate("test_cubic", method, degree, (-2.0, 1.5))
    coef = p.monomial_coefficients()
    expect = np.zeros(degree + 1)
    expect[:4] = [0.5, -2.0, 0.0, 1.0]
    np.testing.assert_allclose(coef, expect, atol=1e-11)
    # and outside the interval too: it is the same polynomial
    x = np.linspace(-6, 6, 101)
    np.testing.assert_allclose(p(x), x**3 - 2 * x + 0.5, rtol=1e-11, atol=1e-10)


@pytest.mark.parametrize("method", ["chebyshev", "minimax", "legendre", "newton-chebyshev"])
def test_errors_fall_with_degree_for_smooth_functions(method):
    # GELU is entire; its best approximations converge geometrically, so each doubling must gain a lot
    errs = [error_report(approx.approximate("gelu", method, d, (-3, 3))).inside_errors.value_max
            for d in (2, 4, 8, 16)]
    assert all(b < 0.5 * a for a, b in zip(errs, errs[1:])), errs
    assert errs[-1] < 1e-5  # degree 16 on [−3, 3]: measured 3e-7 (minimax) to 3e-6 (Legendre)


@pytest.mark.parametrize("act,degree,interval", [("gelu", 6, (-3, 3)), ("tanh", 5, (-2, 2)), ("relu", 4, (-1, 1)),
                                                  ("softplus", 9, (-4, 4))])
def test_minimax_error_equioscillates(act, degree, interval):
    p = approx.approximate(act, "minimax", degree, interval)
    assert p.info["converged"]
    ref = np.array(p.info["reference"])
    assert len(ref) == degree + 2 and np.all(np.diff(ref) > 0)
    f = actlab.get(act)
    e = f(torch.tensor(ref, dtype=torch.float64)).numpy() - p(ref)
    level = p.info["levelled_error"]
    # N + 2 points, alternating in sign, all at the same |error| ...
    assert np.all(np.sign(e[1:]) == -np.sign(e[:-1]))
    np.testing.assert_allclose(np.abs(e), level, rtol=1e-6)
    # ... which is the maximum over the whole interval (so this is the best approximation: Chebyshev's theorem)
    x = np.linspace(*interval, 20001)
    fx = f(torch.tensor(x)).numpy()
    assert np.max(np.abs(fx - p(x))) <= level * (1 + 1e-6)
    # and no other polynomial method does better in the max norm (measured: 1.2 to 2.5 times the level)
    for m in ("chebyshev", "legendre", "newton-chebyshev"):
        q = approx.approximate(act, m, degree, interval)
        assert np.max(np.abs(fx - q(x))) > level


def test_uniform_least_squares_of_relu_is_the_textbook_quadratic():
    p = approx.approximate("relu", "legendre", 2, (-1, 1))
    np.testing.assert_allclose(p.monomial_coefficients(), [3 / 32, 1 / 2, 15 / 32], atol=1e-13)


def test_chebyshev_least_squares_of_abs_shaped_relu_matches_series():
    # relu = (x + |x|)/2, and |x| = 2/π − (4/π) Σ (−1)^k T_{2k}(x)/(4k² − 1): c0 = 1/π, c1 = 1/2, c2 = 2/(3π)
    p = approx.approximate("relu", "chebyshev", 2, (-1, 1))
    np.testing.assert_allclose(p.coef, [1 / math.pi, 0.5, 2 / (3 * math.pi)], atol=1e-12)


@pytest.mark.parametrize("act,degree,interval", [("gelu", 7, (-4, 4)), ("tanh", 9, (-3, 2)), ("elu", 5, (-2, 2))])
def test_hermite_matches_values_and_slopes_at_its_nodes(act, degree, interval):
    p = approx.approximate(act, "hermite", degree, interval)
    nodes = np.array(p.info["nodes"])
    assert len(nodes) == (degree + 1) // 2
    f = actlab.get(act)
    t = torch.tensor(nodes, dtype=torch.float64)
    np.testing.assert_allclose(p(nodes), f(t).numpy(), atol=1e-12)
    np.testing.assert_allclose(p.derivative(nodes), f.derivative(t).numpy(), atol=1e-11)
    # value-only interpolation does not match the slopes there
    q = approx.approximate(act, "newton-chebyshev", degree, interval)
    assert np.max(np.abs(q.derivative(nodes) - f.derivative(t).numpy())) > 1e-4


@pytest.mark.parametrize("method", ["newton", "newton-chebyshev"])
def test_newton_interpolates_at_its_nodes(method):
    p = approx.approximate("silu", method, 10, (-5, 3))
    nodes = np.array(p.info["nodes"])
    assert len(nodes) == 11
    np.testing.assert_allclose(p(nodes), actlab.get("silu")(torch.tensor(nodes)).numpy(), atol=1e-11)


def test_runge_phenomenon_equispaced_newton_diverges_chebyshev_converges():
    # tanh has poles at ±iπ/2, inside the Runge region of [−5, 5]: equispaced interpolation diverges
    def err(method, d):
        return error_report(approx.approximate("tanh", method, d, (-5, 5))).inside_errors.value_max

    equi = [err("newton", d) for d in (10, 20, 30)]
    cheb = [err("newton-chebyshev", d) for d in (10, 20, 30)]
    assert equi[0] < equi[1] < equi[2] and equi[2] > 1.0
    assert cheb[0] > cheb[1] > cheb[2] and cheb[2] < 1e-2


def test_error_report_regions_and_extrapolation():
    p = approx.approximate("gelu", "chebyshev", 9, (-3, 3))
    r = error_report(p)
    assert r.outside == ((-6.0, -3.0), (3.0, 6.0))
    assert r.inside_errors.value_max < 0.01 < r.outside_errors.value_max  # polynomials extrapolate badly
    assert -3 <= r.inside_errors.value_argmax <= 3
    assert abs(r.outside_errors.value_argmax) > 3
    assert r.inside_errors.value_rms <= r.inside_errors.value_max
    d = r.as_dict()
    assert set(d["inside"]) >= {"value_max", "value_rms", "derivative_max", "derivative_rms"}


@pytest.mark.parametrize("kwargs,match", [
    ({"degree": -1}, ">= 0"),
    ({"degree": 2.5}, "whole number"),
    ({"degree": 1000}, "maximum"),
    ({"interval": (1, 1)}, "empty"),
    ({"interval": (2, -2)}, "empty"),
    ({"interval": (-math.inf, 1)}, "finite"),
    ({"interval": (0, math.nan)}, "finite"),
    ({"interval": "1;2"}, "a,b"),
    ({"method": "spline"}, "unknown method"),
    ({"method": "hermite", "degree": 6}, "odd"),
    ({"method": "rational", "degree": (5, -1)}, "no safe fit"),
    ({"method": "rational", "degree": (40, 4)}, "no safe fit"),
    ({"method": "rational", "degree": "five"}, "m,n"),
])
def test_bad_input_is_one_line_value_error(kwargs, match):
    args = {"method": "chebyshev", "degree": 5, "interval": (-3, 3), **kwargs}
    with pytest.raises(ValueError, match=match) as e:
        approx.approximate("gelu", **args)
    assert "\n" not in str(e.value)


def test_gated_and_unknown_activations_are_rejected():
    with pytest.raises(ValueError, match="gate"):
        approx.approximate("swiglu", "chebyshev", 5)
    with pytest.raises(KeyError):
        approx.approximate("no_such_activation", "chebyshev", 5)


def test_gaussian_errors_match_gauss_hermite_for_polynomial_errors(cubic):
    from actlab.approx.report import gaussian_errors

    # the error of a degree-1 fit of a cubic is a cubic: Gauss-Hermite with 8 nodes integrates its
    # square exactly, an independent oracle for the composite rule
    p = approx.approximate("test_cubic", "legendre", 1, (-1, 1))
    z, w = np.polynomial.hermite_e.hermegauss(8)
    w = w / w.sum()
    for std in (1.0, 2.5):
        x = std * z
        v = math.sqrt(np.sum(w * (p(x) - (x**3 - 2 * x + 0.5)) ** 2))
        d = math.sqrt(np.sum(w * (p.derivative(x) - (3 * x**2 - 2)) ** 2))
        got = gaussian_errors(p, std)
        assert got["value_rms"] == pytest.approx(v, rel=1e-10)
        assert got["derivative_rms"] == pytest.approx(d, rel=1e-10)
    with pytest.raises(ValueError, match="std"):
        gaussian_errors(p, 0.0)
