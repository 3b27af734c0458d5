"""C20's science: the noise formula against a Monte-Carlo simulation of its own model, the r-free
prediction the experiment tests, and the estimator of trace(Cov)/||mean||^2."""

import math

import pytest
import torch

from actlab.studies import c20_gradient_noise as c20
from actlab.theory.relations import gradient_noise
from actlab.zoo import get


@pytest.mark.parametrize("arm", ["relu", "prelu(negative_slope=0.5)", "leaky_relu"])
def test_the_formula_matches_a_monte_carlo_of_its_noise_model(arm):
    g = torch.Generator().manual_seed(0)
    B, r, m, n = 4, 0.5, 0.7, 400_000
    z = torch.randn(n, B, generator=g, dtype=torch.float64)
    delta = m + m * math.sqrt(r) * torch.randn(n, B, generator=g, dtype=torch.float64)
    slope = get(arm)
    zz = z.clone().requires_grad_(True)
    (d,) = torch.autograd.grad(slope(zz).sum(), zz)
    gb = (delta * d).mean(1)  # n minibatch means of B per-example gradients
    mc = float(gb.var() / gb.mean() ** 2)
    want = gradient_noise(arm, batch=B, delta_rel_var=r)
    assert mc == pytest.approx(want, rel=0.02)
    # the r-free prediction the experiment tests: ln(1 + B RV) - ln kappa = ln(1 + r) whatever phi
    assert math.log1p(B * mc) - math.log(c20.kappa(arm)) == pytest.approx(math.log1p(r), abs=0.01)


def test_relative_variance_estimates_trace_cov_over_squared_mean():
    g = torch.Generator().manual_seed(1)
    mean = torch.tensor([1.0, -2.0, 0.5])
    sd = torch.tensor([0.5, 1.0, 2.0])
    rows = mean + sd * torch.randn(20_000, 3, generator=g)
    assert c20.relative_variance(rows) == pytest.approx(float((sd ** 2).sum() / (mean ** 2).sum()), rel=0.03)


def test_the_theory_unit_gives_the_closed_form_and_the_ordering():
    from actlab.engine import UnitSpec

    u = c20._theory(UnitSpec(c20.PRELU_05, get(c20.PRELU_05), -1, {"half": "theory"}, {}))
    assert u.metrics["predicted_rel_var"] == pytest.approx(1 / 9, abs=1e-12)
    assert u.metrics["predicted_minus_relu"] == pytest.approx(1 / 9 - 1, abs=1e-12)
    assert u.metrics["predicted_minus_leaky"] == pytest.approx(1 / 9 - (0.99 / 1.01) ** 2, abs=1e-12)


def test_slopes_are_fixed_during_training():
    from actlab.studies import get_study
    from actlab.engine import UnitSpec

    cfg = c20.Config(hidden=(8,), steps=3, eval_every=3, noise_batches=2)
    (res,) = c20.run(cfg, [UnitSpec(c20.PRELU_05, get(c20.PRELU_05), 0, {"half": "experiment"}, {"lr": 1e-2})])
    assert {"log_rel_var@0", "formula_gap@0", "log_rel_var_end"} <= set(res.metrics)
    assert len(res.arrays["layer_rel_var@0"]) == 2  # hidden + read-out
    assert get_study("C20").compared == (c20.PRELU_05,)
