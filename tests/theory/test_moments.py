"""Gaussian moments: closed forms (tight) vs quadrature vs mpmath (tight) vs Monte Carlo (loose)."""

import math

import numpy as np
import pytest
from scipy.stats import norm

import actlab
from actlab.theory.gaussian import expect
from actlab.theory.moments import gaussian_moments, moments

POINTWISE = actlab.list_activations(kind="pointwise")
SQ2PI = math.sqrt(2 * math.pi)


def leaky_closed(a, mu, s):
    """Moments of x -> x (x > 0), a*x (x < 0) under N(mu, s^2), from truncated-normal integrals."""
    r = mu / s
    P, Q, d = norm.cdf(r), norm.cdf(-r), norm.pdf(r)
    m_pos = mu * P + s * d  # E[z 1(z>0)]
    m_neg = mu * Q - s * d
    s_pos = (mu * mu + s * s) * P + mu * s * d  # E[z^2 1(z>0)]
    s_neg = (mu * mu + s * s) * Q - mu * s * d
    return {"mean": m_pos + a * m_neg, "second": s_pos + a * a * s_neg, "d1_mean": P + a * Q,
            "d1_second": P + a * a * Q}


# Tolerance 1e-10 (the accuracy target); the quadrature itself is checked by refinement at 1e-11.
@pytest.mark.parametrize("mu,s", [(0.0, 1.0), (0.7, 0.3), (-1.3, 2.5), (0.2, 40.0)])
@pytest.mark.parametrize("a", [0.0, 0.01, 0.25, 0.6])
def test_leaky_family_closed_form(a, mu, s):
    m = moments(actlab.get("prelu", negative_slope=a), mu, s)
    for k, v in leaky_closed(a, mu, s).items():
        assert getattr(m, k) == pytest.approx(v, rel=1e-10, abs=1e-10 * s)


def test_published_closed_forms():
    assert moments("relu").mean == pytest.approx(1 / SQ2PI, abs=1e-12)
    assert moments("relu").second == pytest.approx(0.5, abs=1e-12)
    assert moments("gelu").mean == pytest.approx(1 / (2 * math.sqrt(math.pi)), abs=1e-12)
    a = 0.3
    p = moments(f"prelu(negative_slope={a})")
    assert p.mean == pytest.approx((1 - a) / SQ2PI, abs=1e-12)
    assert p.second == pytest.approx((1 + a * a) / 2, abs=1e-12)
    # Heaviside: E[H(z)] = Phi(mu/s), discontinuous yet exact because the panels split at 0
    assert moments("heaviside", 0.4, 1.7).mean == pytest.approx(norm.cdf(0.4 / 1.7), abs=1e-12)
    # E[exp(-z^2)] = 1/sqrt(1 + 2 s^2) for mu = 0
    assert moments("gaussian", 0.0, 1.3).mean == pytest.approx(1 / math.sqrt(1 + 2 * 1.69), abs=1e-12)
    # hardtanh: E[clip(z)^2] = 1 - 2(Phi(-1)(1 + 1) - phi(1)) ... via the identity E[phi'] = P(|z| < 1)
    assert moments("hardtanh").d1_mean == pytest.approx(norm.cdf(1) - norm.cdf(-1), abs=1e-12)


@pytest.mark.parametrize("name", POINTWISE)
def test_quadrature_matches_mpmath(name):
    """Every pointwise activation, including the kinked and discontinuous ones, to 1e-10."""
    act = actlab.get(name)
    for mu, s in [(0.0, 1.0), (0.5, 2.0)]:
        q = moments(act, mu, s)
        ref = moments(act, mu, s, method="mpmath")
        scale = max(1.0, abs(ref.second))
        assert q.mean == pytest.approx(ref.mean, abs=1e-10 * scale)
        assert q.second == pytest.approx(ref.second, rel=1e-10, abs=1e-12)
        assert q.t_phi == pytest.approx(ref.t_phi, abs=1e-10 * scale)


@pytest.mark.parametrize("name", ["relu", "tanh", "gelu", "hardswish", "heaviside", "selu"])
def test_monte_carlo_within_five_standard_errors(name):
    from actlab.theory.gaussian import expect_mc
    from actlab.theory.moments import integrand

    names = ("mean", "second", "d1_mean", "d1_second")
    est, se = expect_mc(integrand(name, names), 0.3, 1.2, n=200_000, seed=1)
    q = gaussian_moments(name, names, 0.3, 1.2)
    assert np.all(np.abs(est - q) <= 5 * se + 1e-15)


def test_stein_identity_for_continuous_activations():
    # E[t phi(mu + s t)] = s E[phi'] for continuous phi; the step breaks it (its phi' misses the delta)
    for name in ["relu", "elu(alpha=2.0)", "silu", "softsign", "hardtanh"]:
        m = moments(name, 0.2, 1.5)
        assert m.t_phi == pytest.approx(1.5 * m.d1_mean, abs=1e-11)
    h = moments("heaviside")
    assert h.t_phi == pytest.approx(1 / SQ2PI, abs=1e-12) and h.d1_mean == 0.0


def test_vectorised_batch_equals_single_calls():
    stds = np.array([0.1, 1.0, 10.0, 1e3])
    batch = gaussian_moments("tanh", ("second",), 0.0, stds)[0]
    single = [float(gaussian_moments("tanh", ("second",), 0.0, s)[0]) for s in stds]
    assert np.allclose(batch, single, rtol=1e-12, atol=0)


def test_bad_input():
    with pytest.raises(ValueError, match="std must be positive"):
        moments("relu", 0.0, 0.0)
    with pytest.raises(ValueError, match="std must be positive"):
        moments("relu", 0.0, -1.0)
    with pytest.raises(ValueError, match="gated unit; analyse its gate"):
        moments("swiglu")
    with pytest.raises(KeyError):
        moments("no_such_activation")
    with pytest.raises(ValueError, match="unknown method"):
        moments("relu", method="simpson")


def test_undeclared_discontinuity_is_reported_not_hidden():
    import torch

    def jumpy(x):  # a step at 0.3 the quadrature is not told about
        return (x > 0.3).to(x.dtype)

    with pytest.raises(ValueError, match="did not converge"):
        expect(lambda z, t: jumpy(z), 0.0, 1.0, rtol=1e-13, max_level=3)
    # declared, it is exact
    assert float(expect(lambda z, t: jumpy(z), 0.0, 1.0, kinks=(0.3,))) == pytest.approx(norm.sf(0.3), abs=1e-13)


def test_user_callable():
    import torch

    m = moments(lambda x: torch.tanh(x) * 2.0)
    assert m.second == pytest.approx(4 * moments("tanh").second, rel=1e-12)
