"""C08's science: E[phi(z) - z] against mpmath and ReLU's closed form on the study's (mu, sigma) grid, and the
residual branch really computes phi(z) - z behind a plain-phi stem."""

import math

import pytest
import torch
from mpmath import mp

from actlab.studies import c08_residual_mean as c08, get_study
from actlab.theory.relations import residual_mean
from actlab.zoo import get

STUDY = get_study("C08")
GRID = [(m, s) for m in c08.Config().means for s in c08.Config().stds]


def _mp_mean(f, mu, sd):
    with mp.workdps(30):
        c = 1 / (mp.mpf(sd) * mp.sqrt(2 * mp.pi))
        return float(mp.quad(lambda x: (f(x) - x) * c * mp.exp(-((x - mu) / mp.mpf(sd)) ** 2 / 2), [-mp.inf, 0, mp.inf]))


@pytest.mark.parametrize("mu,sd", GRID)
def test_residual_mean_matches_mpmath_on_the_grid(mu, sd):
    silu = _mp_mean(lambda x: x / (1 + mp.exp(-x)), mu, sd)
    assert residual_mean("silu", mu, sd) == pytest.approx(silu, abs=1e-10)
    # relu(z) - z = relu(-z): E = sd * pdf(mu/sd) - mu * cdf(-mu/sd), in closed form
    t = mu / sd
    closed = sd * math.exp(-t * t / 2) / math.sqrt(2 * math.pi) - mu * 0.5 * math.erfc(t / math.sqrt(2))
    assert residual_mean("relu", mu, sd) == pytest.approx(closed, abs=1e-12)


def test_the_theory_unit_reports_the_ratio_it_says():
    r = c08.theory(get("silu"), c08.Config())
    m = r.metrics
    assert m["ratio_at_standard"] == pytest.approx(abs(residual_mean("silu")) / math.sqrt(1 / (2 * math.pi)), rel=1e-12)
    ratios = sorted(r.arrays["ratio"])
    assert m["ratio_median"] == ratios[len(ratios) // 2] and m["ratio_max"] == ratios[-1]
    assert m["mpmath_max_abs_error"] < 1e-9


def test_the_branch_computes_phi_minus_z_and_the_stem_is_plain_phi():
    cfg = c08.Config(blocks=2, width=8)
    net = c08.model(get("silu"), cfg)
    stem, *branches = [m for m in net.modules() if getattr(m, "_actlab_hidden", False)]
    assert not isinstance(stem, c08.Branch) and len(branches) == 2
    z = torch.linspace(-4, 4, 9).reshape(1, 9)
    for b in branches:
        assert isinstance(b, c08.Branch)
        assert torch.equal(b(z), torch.nn.functional.silu(z) - z)
    x = torch.randn(5, 40)
    h = net[1](net[0](x))  # stem
    block = net[2]
    assert torch.allclose(block(h), h + (torch.nn.functional.silu(block.f[0](h)) - block.f[0](h)), atol=1e-6)


def test_the_parts_encode_the_declared_ratio():
    exp = [p for p in STUDY.parts if p.cell.get("half") == "experiment"]
    assert all(p.delta == pytest.approx(math.log(2)) and p.direction == "lower" for p in exp)
    assert STUDY.primary.metric == "log_branch_abs_mean_trained"
    assert [p.target for p in STUDY.parts if p.rule == "exact"][1:] == [c08.RATIO, c08.RATIO]
