"""Gains (He/PReLU, torch parity where torch agrees) and the self-normalisation solver (SELU from scratch)."""

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import actlab
from actlab.theory.moments import moments
from actlab.theory.gain import gain, gain_report, he_std, init_, torch_gain
from actlab.theory.selfnorm import alpha_dropout, alpha_dropout_for, moment_map, solve
from actlab.zoo.exponential import SELU_ALPHA, SELU_SCALE


@pytest.mark.parametrize("a", [0.0, 0.01, 0.25, 0.5, 1.0])
def test_prelu_he_std(a):
    act = actlab.get("prelu", negative_slope=a)
    assert he_std(act, 300) == pytest.approx(math.sqrt(2 / ((1 + a * a) * 300)), rel=1e-12)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "leaky_relu(negative_slope=0.2)", "identity"])
def test_agrees_with_torch_where_torch_uses_the_second_moment(name):
    assert gain(name) == pytest.approx(torch_gain(name), rel=1e-12)
    assert gain_report(name)["note"] == "agrees"


def test_tanh_differs_from_torch_and_says_why():
    r = gain_report("tanh")
    assert r["torch_gain"] == pytest.approx(5 / 3)
    assert r["gain"] == pytest.approx(1.5925374, abs=1e-6)  # 1/sqrt(E[tanh(z)^2]), E = 0.39429449...
    assert "convention" in r["note"] and r["torch_fixed_q"] > 1  # 5/3 overshoots: q* > 1
    assert torch_gain("prelu") is None and torch_gain("gelu") is None


def test_gain_preserves_second_moment_for_every_activation():
    for name in actlab.list_activations(kind="pointwise"):
        act = actlab.get(name)
        g = gain(act)
        second = moments(act).second
        assert g * g * second == pytest.approx(1.0, rel=1e-12), name


def test_init_helper_monte_carlo():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(400, 400), nn.Linear(400, 400))
    init_(net, "relu")
    w = net[0].weight.detach()
    assert float(w.std()) == pytest.approx(math.sqrt(2 / 400), rel=0.01)  # 160k samples: s.e. 0.18 %
    assert float(net[0].bias.detach().abs().max()) == 0.0
    # the second moment is preserved through a ReLU layer (loose: finite width and sample)
    x = torch.randn(2000, 400)
    with torch.no_grad():
        y = net[1](F.relu(x))
    assert float((y**2).mean()) == pytest.approx(1.0, rel=0.05)
    with pytest.raises(ValueError, match="no Linear or Conv"):
        init_(nn.ReLU(), "relu")


def test_selu_constants_recovered_from_scratch():
    s = solve("elu")  # lambda*elu(x; alpha), target mean 0, variance 1, starting from (1, 1)
    assert s.params["scale"] == pytest.approx(SELU_SCALE, rel=1e-12)
    assert s.params["alpha"] == pytest.approx(SELU_ALPHA, rel=1e-12)
    # torch's hard-coded constants (F.selu) agree
    x = torch.tensor([-1.0, 1.0], dtype=torch.float64)
    ours = s.params["scale"] * actlab.get("elu", alpha=s.params["alpha"])(x)
    assert torch.allclose(ours, F.selu(x), rtol=1e-12, atol=0)
    # Klambauer et al. report J(0, 1) = [[0, 0.088834], [0, 0.782648]] for omega = 0, tau = 1
    assert s.jacobian[0][0] == pytest.approx(0.0, abs=1e-14)
    assert s.jacobian[0][1] == pytest.approx(0.088834, abs=1e-6)
    assert s.jacobian[1][1] == pytest.approx(0.782648, abs=1e-6)
    assert s.stable and s.contracts


def test_other_target_is_a_fixed_point_and_jacobian_matches_finite_differences():
    s = solve("elu", target_mean=-0.1, target_var=2.0)
    act = actlab.get("elu", alpha=s.params["alpha"])
    mv, jac = moment_map(act, -0.1, 2.0, scale=s.params["scale"], omega=0.3, tau=1.1, jacobian=True)
    h = 1e-6
    for j, (dm, dv) in enumerate([(h, 0.0), (0.0, h)]):
        up, _ = moment_map(act, -0.1 + dm, 2.0 + dv, scale=s.params["scale"], omega=0.3, tau=1.1)
        dn, _ = moment_map(act, -0.1 - dm, 2.0 - dv, scale=s.params["scale"], omega=0.3, tau=1.1)
        assert jac[:, j] == pytest.approx((up - dn) / (2 * h), abs=1e-7)  # central difference: O(h^2) + 1e-16/h
    mv, _ = moment_map(act, -0.1, 2.0, scale=s.params["scale"])
    assert mv == pytest.approx([-0.1, 2.0], abs=1e-12)


def test_generic_family():
    s = solve("celu", target_mean=0.0, target_var=1.0)
    act = actlab.get("celu", alpha=s.params["alpha"])
    mv, _ = moment_map(act, 0.0, 1.0, scale=s.params["scale"])
    assert mv == pytest.approx([0.0, 1.0], abs=1e-12)


def test_no_fixed_point_is_an_error():
    with pytest.raises(ValueError, match="no self-normalising parameters"):
        solve("elu", target_mean=-5.0, target_var=0.01)
    with pytest.raises(ValueError, match="target_var must be positive"):
        solve("elu", target_var=0.0)
    with pytest.raises(ValueError, match="has no parameter"):
        solve("elu", free=("scale", "beta"))


@pytest.mark.parametrize("rate", [0.05, 0.1, 0.3])
def test_alpha_dropout_matches_torch(rate):
    s = solve("elu")
    ad = alpha_dropout_for(s, rate)
    # torch.alpha_dropout on zeros outputs b (kept) or a*alpha' + b (dropped): read torch's constants off
    torch.manual_seed(0)
    y = F.alpha_dropout(torch.zeros(4000, dtype=torch.float64), p=rate, training=True)
    vals = sorted(set(y.tolist()))
    assert len(vals) == 2
    assert max(vals) == pytest.approx(ad.b, rel=1e-12)
    assert min(vals) == pytest.approx(ad.a * ad.alpha_prime + ad.b, rel=1e-12)


def test_alpha_dropout_restores_mean_and_variance_exactly():
    ad = alpha_dropout(0.2, alpha_prime=-1.5, mean=0.3, var=2.0)
    k = 0.8
    mean = k * 0.3 + (1 - k) * -1.5
    var = k * 2.0 + k * (1 - k) * (-1.5 - 0.3) ** 2
    assert ad.a * mean + ad.b == pytest.approx(0.3, abs=1e-14)
    assert ad.a**2 * var == pytest.approx(2.0, rel=1e-14)
    with pytest.raises(ValueError, match="rate"):
        alpha_dropout(1.0, -1.0)
