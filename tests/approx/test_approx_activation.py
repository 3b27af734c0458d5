"""Approximants are activations: registered, used through actlab.get, modules that learn, theory-ready.

Closed-form derivatives are held to autograd of the forward (an independent path) at 1e-10 relative
in float64, like the zoo contract suite.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import actlab
from actlab import approx
from actlab.zoo.check import problems

CASES = [("gelu", "chebyshev", 7, (-3, 3)), ("silu", "hermite", 9, (-4, 4)), ("relu", "minimax", 6, (-1, 2)),
         ("tanh", "newton", 12, (-2, 2)), ("gelu", "rational", (5, 4), (-3, 3)), ("relu", "rational", (3, 2), (-2, 2))]
ids = [f"{a}-{m}-{d}" for a, m, d, _ in CASES]


@pytest.mark.parametrize("act,method,degree,interval", CASES, ids=ids)
def test_registered_and_used_through_get(registered, act, method, degree, interval):
    p = approx.approximate(act, method, degree, interval)
    a = registered(p, f"test_{act}_{method.replace('-', '_')}")
    again = actlab.get(a.spec.name)
    x = torch.linspace(-5, 5, 101, dtype=torch.float64)
    torch.testing.assert_close(again(x), torch.as_tensor(p(x.numpy())))
    assert a.spec.family == "approximation" and a.params == p.coefficients
    assert problems(a.spec.name) == []  # the zoo's fitness checks: finite, elementwise, dtypes, NaN
    with pytest.raises(KeyError):
        p.register(a.spec.name)  # duplicate names are refused, as for every spec


@pytest.mark.parametrize("act,method,degree,interval", CASES, ids=ids)
def test_closed_form_derivatives_match_autograd(act, method, degree, interval):
    a = approx.approximate(act, method, degree, interval).activation
    x = torch.linspace(-6, 6, 241, dtype=torch.float64)
    x = x[torch.stack([(x - k).abs() > 1e-6 for k in a.kinks]).all(0)] if a.kinks else x
    xg = x.clone().requires_grad_()
    (g,) = torch.autograd.grad(a.spec.fn(xg, **a.params).sum(), xg, create_graph=True)
    (h,) = torch.autograd.grad(g.sum(), xg)
    torch.testing.assert_close(a.derivative(x), g.detach(), rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(a.second_derivative(x), h, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_polynomials_stay_finite_far_out_and_give_their_limits(dtype):
    a = approx.approximate("gelu", "chebyshev", 9, (-3, 3)).activation
    lead = a.params["c9"]
    assert lead != 0
    s = math.copysign(1, lead)
    x = torch.tensor([-math.inf, -1e300 if dtype == torch.float64 else -1e30, -1e6, 1e6, 1e30, math.inf], dtype=dtype)
    y = a(x)
    assert not torch.isnan(y).any()
    # odd degree: p(±∞) = ±sign(c9)·∞; overflowing finite inputs give the same infinities, never NaN
    assert y[0] == -s * math.inf and y[-1] == s * math.inf
    assert torch.isnan(a(torch.tensor([math.nan], dtype=dtype))).all()
    # the Horner branch (|t| > 4) agrees with Clenshaw where both are accurate
    t = torch.tensor([4.5, -7.0, 12.0], dtype=torch.float64)
    p = a.spec.fn(t, **a.params).numpy()
    np.testing.assert_allclose(p, approx.approximate("gelu", "chebyshev", 9, (-3, 3)).chebyshev()(t.numpy()), rtol=1e-12)


def test_rational_limits_and_no_overflow_nan():
    a = approx.approximate("gelu", "rational", (5, 4), (-3, 3)).activation
    x = torch.tensor([-math.inf, -1e30, -50.0, 50.0, 1e30, math.inf])
    y = a(x)
    assert not torch.isnan(y).any()
    assert torch.isinf(y[0]) and torch.isinf(y[-1])  # degree 5 over degree 4 grows linearly


def test_polynomial_properties_are_those_of_the_polynomial():
    p = approx.approximate("relu", "legendre", 2, (-1, 1))  # 3/32 + x/2 + 15x²/32
    props = p.activation.properties
    assert props.convex and props.bounded_below and not props.bounded_above and not props.monotone
    assert props.phi0 == pytest.approx(3 / 32, abs=1e-14) and props.dphi0 == pytest.approx(0.5, abs=1e-14)
    assert not props.zero_centred
    # an odd fit of tanh: zero-centred, neither bounded side, and (degree 3 with negative lead) not monotone
    q = approx.approximate("tanh", "legendre", 3, (-1, 1)).activation.properties
    assert q.zero_centred and not q.bounded_below and not q.bounded_above and not q.monotone
    # the identity recovered: monotone, convex (linear), zero-centred
    r = approx.approximate("identity", "chebyshev", 3, (-2, 2)).activation.properties
    assert r.monotone and r.convex and r.zero_centred
    # check the declared ones on a grid, as the zoo contract does: convex, with a finite minimum
    x = np.linspace(-50, 50, 20001)
    v = p(x)
    assert np.all(np.diff(v, 2) >= -1e-12) and np.argmin(v) not in (0, len(v) - 1)


def test_rational_declares_its_kinks_and_has_no_poles():
    p = approx.approximate("gelu", "rational", (5, 4), (-3, 3))
    x = np.linspace(-1e3, 1e3, 200001)
    assert np.min(p.denominator(x)) >= 1.0  # Q = 1 + |B| >= 1: no pole on the real line
    for xs in (x, np.linspace(-3, 3, 10001)):
        assert np.all(np.isfinite(p(xs))) and np.all(np.isfinite(p.derivative(xs)))
    for k in p.activation.kinks:  # a declared kink is a real jump of R'
        left, right = p.derivative(np.array([k - 1e-7]))[0], p.derivative(np.array([k + 1e-7]))[0]
        assert abs(left - right) > 1e-9
    # it is a good fit: GELU is smooth and the (5, 4) PAU reaches ~1e-3
    f = actlab.get("gelu")
    xi = np.linspace(-3, 3, 2001)
    assert np.max(np.abs(p(xi) - f(torch.tensor(xi)).numpy())) < 5e-3


def test_rational_module_gradcheck_float64():
    p = approx.approximate("silu", "rational", (5, 4), (-3, 3))
    m = p.module().double()
    assert {n for n, _ in m.named_parameters()} == {*(f"a{j}" for j in range(6)), *(f"b{k}" for k in range(1, 5))}
    # points on both sides of |x| = 1 (the two evaluation branches), away from B's roots
    x = torch.tensor([-3.5, -2.0, -0.7, -0.2, 0.3, 0.9, 1.4, 2.5, 40.0], dtype=torch.float64, requires_grad=True)
    names = [n for n, _ in m.named_parameters()]
    params = [getattr(m, n).detach().clone().requires_grad_() for n in names]

    def module_forward(x, *ps):  # the module's forward with its parameters swapped for the checked inputs
        for n, v in zip(names, ps):
            m._parameters[n] = v
        return m(x)

    assert torch.autograd.gradcheck(module_forward, (x, *params))
    assert torch.autograd.gradcheck(p.activation, (x,))  # closed-form backward of the fixed PAU
    assert torch.autograd.gradgradcheck(p.activation, (x,))


@pytest.mark.parametrize("method,degree", [("chebyshev", 7), ("rational", (5, 4))])
def test_module_learns_its_coefficients(method, degree):
    p = approx.approximate("gelu", method, degree, (-3, 3))
    m = p.module(learn=True)
    params = dict(m.named_parameters())
    assert set(params) == set(p.coefficients)
    x = torch.linspace(-3, 3, 64)
    target = torch.tanh(x)  # move the approximant of GELU towards tanh
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    losses = []
    for _ in range(100):
        loss = ((m(x) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        assert all(q.grad is not None and torch.isfinite(q.grad).all() and q.grad.abs().sum() > 0 for q in m.parameters())
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]  # measured: 0.75 -> 0.54 (polynomial), 0.75 -> 0.05 (rational)


def test_rational_learns_by_default_polynomial_does_not():
    assert len(list(approx.approximate("gelu", "rational").module().parameters())) == 10
    assert len(list(approx.approximate("gelu", "chebyshev", 5).module().parameters())) == 0


def test_pau_initialised_from_any_activation_per_channel():
    m = approx.pau("leaky_relu(negative_slope=0.1)", num_parameters=3)
    x = torch.linspace(-3, 3, 50).reshape(1, 1, 50).expand(2, 3, 50)
    y = m(x)
    ref = torch.nn.functional.leaky_relu(x, 0.1)
    assert (y - ref).abs().max() < 0.05
    assert m.a0.shape == (3,)


def test_theory_tools_analyse_an_approximant():
    from actlab.theory.gain import gain

    # For a polynomial φ of degree 7, E[φ(Z)²] is a degree-14 Gaussian integral: Gauss-Hermite with
    # 8 nodes is exact, an independent oracle for the theory tool's quadrature.
    p = approx.approximate("gelu", "chebyshev", 7, (-3, 3))
    z, w = np.polynomial.hermite_e.hermegauss(8)
    second = float(np.sum(w * p(z) ** 2) / np.sqrt(2 * np.pi))
    assert gain(p.activation) == pytest.approx(1 / math.sqrt(second), rel=1e-9)
