"""C23's science: SELU's constants are derived by the solver (not typed in) and match the published ones;
(0, 1) is a stable fixed point of the moment map; the init and the band are what the header declares."""

import math

import pytest
import torch.nn as nn

from actlab.engine import UnitSpec
from actlab.studies import c23_selfnorm as c23, get_study
from actlab.theory.selfnorm import moment_map
from actlab.zoo import get

STUDY = get_study("C23")


def _theory(arm):
    return c23._theory(UnitSpec(arm, get(arm), -1, {"half": "theory"}, {}))


def test_the_solved_constants_are_the_published_ones_and_the_fixed_point_is_stable():
    m = _theory("selu").metrics
    # published: Klambauer et al. 2017, and torch.nn.SELU's constants
    assert abs(m["solved_lambda"] - 1.0507009873554805) < 1e-12
    assert abs(m["solved_alpha"] - 1.6732632423543772) < 1e-12
    assert m["solved_spectral_radius"] < 1 and m["solved_spectral_norm"] < 1 and m["fixed_point_residual"] < 1e-12
    # the stability is a property of the map, not of the numbers reported: a small step off (0, 1) comes back closer
    (mu, nu), _ = moment_map("selu", 0.0, 1.3)
    assert abs(nu - 1) < 0.3 * m["solved_spectral_radius"] + 1e-9 and abs(mu) < 0.05
    # ReLU's map does not fix (0, 1): the exact part would refute it
    assert _theory("relu").metrics["fixed_point_residual"] > 0.1


def test_the_theory_parts_judge_the_selu_arm_on_the_solver():
    parts = [p for p in STUDY.parts if p.cell.get("half") == "theory"]
    assert {p.metric for p in parts} == {"solved_lambda", "solved_alpha", "solved_spectral_radius",
                                         "fixed_point_residual"}
    assert all(p.rule == "exact" and tuple(p.compared) == ("selu",) for p in parts)


def test_declared_init_lecun_for_selu_he_for_relu_and_elu():
    cfg = c23.Config(width=256)
    for arm, var in (("selu", 1.0), ("relu", 2.0), ("elu", 2.0)):
        lin = [m for m in c23.model(cfg, 3, arm) if isinstance(m, nn.Linear)]
        hidden = lin[1]  # 256 -> 256
        got = float(hidden.weight.detach().var()) * hidden.in_features
        assert got == pytest.approx(var, rel=0.05), arm
        assert float(lin[-1].weight.detach().var()) * lin[-1].in_features == pytest.approx(1.0, rel=0.1)  # read-out LeCun


def test_band_excess_is_one_at_the_band_edge():
    assert c23.band_excess([0.0, 0.0], [1.0, 2.0]) == pytest.approx(1.0)
    assert c23.band_excess([0.25, 0.0], [1.0, 1.0]) == pytest.approx(1.0)
    assert c23.band_excess([0.1], [0.5 ** 0.5]) == pytest.approx(0.5)
    assert c23.band_excess([0.0], [0.0]) == math.inf


def test_the_primary_part_is_selu_at_depth_64_after_training_inside_the_band():
    p = STUDY.primary
    assert (p.metric, p.rule, p.direction, p.delta, p.within) == ("band_excess_end", "noninferiority", "lower", 1.0,
                                                                  True)
    assert p.cell == {"half": "experiment", "depth": 64} and tuple(p.compared) == ("selu",)
