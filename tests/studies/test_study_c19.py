"""C19's science: gamma*(alpha) against an mpmath integral of PReLU itself, and the measured normaliser of a
BatchNorm after PReLU_alpha at init is gamma*(alpha) when the pre-activations are Gaussian (and not when they are
shifted, so the instrument can fail)."""

import math

import pytest
import torch
from mpmath import mp

from actlab.studies import c19_bn_scale as c19
from actlab.zoo import get


def _mp_gamma(a):
    with mp.workdps(40):
        pdf = lambda x: mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi)  # noqa: E731
        f = lambda x: x if x > 0 else a * x  # noqa: E731
        m1 = mp.quad(lambda x: f(x) * pdf(x), [-mp.inf, 0, mp.inf])
        m2 = mp.quad(lambda x: f(x) ** 2 * pdf(x), [-mp.inf, 0, mp.inf])
        return float(1 / mp.sqrt(m2 - m1 * m1))


@pytest.mark.parametrize("alpha", c19.ALPHAS)
def test_gamma_star_matches_an_mpmath_integral_of_prelu(alpha):
    ref = _mp_gamma(mp.mpf(alpha))
    act = c19.at_slope(get("prelu"), alpha)
    assert c19.gamma_star(act) == pytest.approx(ref, rel=1e-12)
    assert c19.closed_form(alpha) == pytest.approx(ref, rel=1e-13)
    assert c19.gamma_star(c19.at_slope(get("leaky_relu"), alpha)) == pytest.approx(ref, rel=1e-12)


def test_the_theory_unit_agrees_with_itself_to_its_tolerance():
    m = c19.theory(get("prelu"), c19.Config()).metrics
    assert m["closed_form_relerr"] <= 1e-12 and m["mpmath_relerr"] <= 1e-12
    assert m["gamma_star_alpha0"] == pytest.approx(math.sqrt(2 * math.pi / (math.pi - 1)), rel=1e-12)


def _measured(act, x):
    net = torch.nn.Sequential(torch.nn.Linear(x.shape[1], 256), act.module(), torch.nn.BatchNorm1d(256),
                              torch.nn.Linear(256, 10))
    for m in net:
        setattr(m, "_actlab_hidden", isinstance(m, type(act.module())))
    with torch.no_grad():
        net[0].weight.normal_(0, 1 / math.sqrt(x.shape[1]))
        net[0].bias.zero_()
    return c19._measure(act, net, x)


@pytest.mark.parametrize("alpha", (0.0, 0.5))
def test_the_measured_normaliser_is_gamma_star_on_gaussian_inputs_and_not_on_shifted_ones(alpha):
    torch.manual_seed(0)
    act = c19.at_slope(get("prelu"), alpha)
    x = torch.randn(20000, 64)
    m = _measured(act, x)
    assert m["gamma_star"] == [pytest.approx(c19.closed_form(alpha), rel=1e-12)]
    assert m["gamma_hat"][0] == pytest.approx(c19.closed_form(alpha), rel=0.01)
    shifted = _measured(act, x + 3.0)  # pre-activations no longer centred: the Gaussian formula does not apply
    assert abs(math.log(shifted["gamma_hat"][0] / c19.closed_form(alpha))) > c19.MARGIN
