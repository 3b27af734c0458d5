"""Signal propagation (published critical points, invariants) and gradient flow."""

import math

import numpy as np
import pytest

from actlab.theory.gradflow import depth_profile, depth_profile_mc, gate_chain, max_slope, pascanu_check
from actlab.theory.moments import gaussian_moments
from actlab.theory.propagation import (depth_scales, edge_of_chaos, fixed_point, phase_diagram, variance_map,
                                       variance_map_slope)


def test_relu_critical_point_is_he_init():
    (p,) = edge_of_chaos("relu", 0.0)
    assert p.sigma_w**2 == pytest.approx(2.0, rel=1e-12)
    fp = fixed_point("relu", math.sqrt(2), 0.0)
    assert fp.marginal and fp.chi1 == pytest.approx(1.0, rel=1e-12)
    with pytest.raises(ValueError, match="no edge of chaos"):
        edge_of_chaos("relu", 0.1)


def test_tanh_critical_point():
    (p,) = edge_of_chaos("tanh", 0.0)
    assert p.sigma_w == pytest.approx(1.0, rel=1e-10)


@pytest.mark.parametrize("name", ["tanh", "elu", "sigmoid", "silu", "hardtanh"])
def test_chi1_is_one_on_the_returned_curve(name):
    sbs = np.linspace(0.05, 1.5, 6)
    pts = edge_of_chaos(name, sbs)
    for p in pts:
        # q is a fixed point of the variance map and chi_1 = 1 there, recomputed from the moments
        assert float(variance_map(name, p.q, p.sigma_w, p.sigma_b)) == pytest.approx(p.q, rel=1e-10)
        (d2,) = gaussian_moments(name, ("d1_second",), 0.0, math.sqrt(p.q))
        assert p.sigma_w**2 * float(d2) == pytest.approx(1.0, abs=1e-10)
        if p.stable:  # the independent solver finds the same stable fixed point
            fp = fixed_point(name, p.sigma_w, p.sigma_b, q0=p.q)
            assert fp.q == pytest.approx(p.q, rel=1e-8)
            assert fp.chi1 == pytest.approx(1.0, abs=1e-9)


def test_silu_edge_at_small_bias_is_an_unstable_fixed_point():
    # the parametric edge passes through q* that the variance map does not attract (V'(q*) > 1); flagged
    (p,) = edge_of_chaos("silu", 0.05)
    assert not p.stable and p.slope > 1
    assert fixed_point("silu", p.sigma_w, p.sigma_b, q0=p.q).q < p.q


@pytest.mark.parametrize("name,sw,sb", [("tanh", 1.5, 0.3), ("tanh", 0.9, 0.05), ("elu", 1.2, 0.5),
                                        ("sigmoid", 4.0, 0.2), ("heaviside", 2.0, 0.5)])
def test_q_star_is_a_stable_fixed_point(name, sw, sb):
    fp = fixed_point(name, sw, sb)
    assert float(variance_map(name, fp.q, sw, sb)) == pytest.approx(fp.q, rel=1e-12)
    assert fp.stable and 0 <= fp.slope < 1
    # V'(q*) by central difference (h = 1e-5: error O(h^2) plus 1e-15/h)
    h = 1e-5 * fp.q
    fd = (variance_map(name, fp.q + h, sw, sb) - variance_map(name, fp.q - h, sw, sb)) / (2 * h)
    assert fp.slope == pytest.approx(float(fd), rel=1e-7, abs=1e-9)  # heaviside: E[H^2] constant, V' = 0
    if fp.slope > 0:
        assert fp.xi_q == pytest.approx(-1 / math.log(fp.slope), rel=1e-12)


def test_ordered_and_chaotic_phases():
    assert fixed_point("tanh", 0.8, 0.0).q == 0.0 and fixed_point("tanh", 0.8, 0.0).phase == "ordered"
    ds = depth_scales("tanh", 2.0, 0.3)
    assert ds.phase == "chaotic" and 0 < ds.c_star < 1 and ds.chi_c < 1 and math.isfinite(ds.xi_c)
    with pytest.raises(ValueError, match="grows without bound"):
        fixed_point("relu", 2.0, 0.1)
    with pytest.raises(ValueError, match="sigma_w"):
        fixed_point("tanh", 0.0, 0.1)
    with pytest.raises(ValueError, match="gated unit"):
        edge_of_chaos("geglu", 0.1)


def test_phase_diagram_agrees_with_fixed_point():
    sw, sb = np.array([0.8, 1.5, 2.5]), np.array([0.0, 0.5])
    chi = phase_diagram("tanh", sw, sb)
    for i, b in enumerate(sb):
        for j, w in enumerate(sw):
            assert chi[i, j] == pytest.approx(fixed_point("tanh", w, b).chi1, rel=1e-4)


def test_slope_identity_for_smooth_activation():
    # V'(q) = sigma_w^2 * d/dq E[phi(sqrt q Z)^2] = sigma_w^2 E[phi'^2 + phi phi''] (Gaussian integration by parts)
    import torch

    import actlab

    a = actlab.get("tanh")
    from actlab.theory.gaussian import expect

    q = 1.7
    ref = expect(lambda z, t: a.derivative(z) ** 2 + a(z) * a.second_derivative(z), 0.0, math.sqrt(q))
    assert variance_map_slope(a, q, 1.3) == pytest.approx(1.69 * float(ref), rel=1e-11)
    assert torch.is_grad_enabled()


def test_sigmoid_gate_bound_and_tanh():
    g, at = max_slope("sigmoid")
    assert g == pytest.approx(0.25, abs=1e-12) and abs(at) < 1e-6
    assert max_slope("tanh")[0] == pytest.approx(1.0, abs=1e-12)
    assert max_slope("silu")[0] > 1.09  # swish-like gates can pass more than unit slope (C02)
    chain = gate_chain("sigmoid", 10)
    assert chain["bound"][-1] == pytest.approx(0.25**10, rel=1e-10)
    assert chain["rms"][-1] < chain["bound"][-1]


@pytest.mark.parametrize("name", ["tanh", "relu", "sigmoid", "silu", "elu"])
def test_pascanu_bound_holds(name):
    r = pascanu_check(name, n=24, trials=60, seed=3)
    assert r["holds"] and r["max_ratio"] <= 1.0 + 1e-12


def test_depth_profile_matches_closed_form_and_monte_carlo():
    # ReLU at sigma_w^2 = 2: chi = 2 * 1/2 = 1 at every layer
    prof = depth_profile("relu", 8, math.sqrt(2.0))
    assert prof["grad_sq_ratio"] == pytest.approx([1.0] * 8, rel=1e-12)
    # tanh: chi^(l) = sigma_w^2 E[phi'(sqrt(q^l) Z)^2]
    p = depth_profile("tanh", 6, 1.5, 0.0)
    (d2,) = gaussian_moments("tanh", ("d1_second",), 0.0, math.sqrt(p["q"][2]))
    assert p["chi"][2] == pytest.approx(2.25 * float(d2), rel=1e-12)
    # Monte Carlo over 300 random nets of width 96: finite-width and sampling error ~ a few per cent
    mc = depth_profile_mc("tanh", 6, 96, 1.5, 0.0, nets=300, seed=0)
    assert np.allclose(mc["grad_sq_ratio"], p["grad_sq_ratio"], rtol=0.08)
    with pytest.raises(ValueError, match="depth"):
        depth_profile("tanh", 0, 1.0)
