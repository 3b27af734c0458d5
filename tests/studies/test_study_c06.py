"""C06's design facts: the stand-ins hold the number of interpolation nodes (or the degree) fixed, and the
within-unit contrasts are clustered by seed."""

import dataclasses

import pytest

from actlab.approx import approximate
from actlab.engine import Record, UnitSpec
from actlab.engine.protocol import config_hash
from actlab.engine.verdicts import judge
from actlab.studies import c06_approximation as c06, get_study
from actlab.zoo import get

STUDY = get_study("C06")


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_stand_ins_have_equal_node_counts_and_equal_degree(k):
    arms = c06.stand_ins(dataclasses.replace(c06.Config(), nodes=k))
    assert arms == {"hermite": ("hermite", 2 * k - 1), "newton_equal_nodes": ("newton-chebyshev", k - 1),
                    "newton_equal_degree": ("newton-chebyshev", 2 * k - 1)}
    nodes = {name: len(approximate("gelu", m, d, (-4.0, 4.0)).info["nodes"]) for name, (m, d) in arms.items()}
    # Hermite: k nodes, a value and a slope at each; Newton: the same count of nodes, or twice as many
    assert nodes == {"hermite": k, "newton_equal_nodes": k, "newton_equal_degree": 2 * k}
    assert arms["hermite"][1] == arms["newton_equal_degree"][1]


def test_the_profiles_fit_on_the_declared_node_count():
    for p in STUDY.profiles.values():
        assert p.config.nodes == 4 and tuple(p.config.interval) == (-4.0, 4.0)
    with pytest.raises(ValueError, match="nodes must be >= 2"):
        c06.Config(nodes=1)


def test_parts_are_within_unit_contrasts_of_hermite_against_each_newton():
    names = [p.metric for p in STUDY.parts]
    assert names == [f"hermite-newton_equal_{w}/{m}" for w in ("nodes", "degree") for m in ("grad_cosine", "test_acc")]
    assert STUDY.primary.metric == "hermite-newton_equal_nodes/grad_cosine"
    assert all(p.within and p.direction == "higher" and p.rule == "superiority" for p in STUDY.parts)
    assert tuple(STUDY.compared) == ("gelu", "silu") and STUDY.baseline == ""


def test_a_unit_reports_each_contrast_as_the_difference_of_its_arms():
    cfg = dataclasses.replace(STUDY.profile("quick").config, steps=20, checkpoints=1, probe_size=32)
    (r,) = c06.run(cfg, [UnitSpec("gelu", get("gelu"), 0, {}, {})])
    m = r.metrics
    assert r.status == "done"
    for other in ("newton_equal_nodes", "newton_equal_degree"):
        for what in ("grad_cosine", "test_acc"):
            assert m[f"hermite-{other}/{what}"] == m[f"hermite/{what}"] - m[f"{other}/{what}"]
        assert -1.0 <= m[f"{other}/grad_cosine"] <= 1.0
    assert all(0.0 <= m[f"{a}/test_acc"] <= 1.0 for a in ("true", "hermite", "newton_equal_nodes"))


def _records(values):
    """``values[arm]``: one contrast value per seed for every part's metric."""
    h = config_hash("C06", STUDY.profile("full").config)
    return [Record("C06", h, "{}", "{}", arm, s, "fp", "done", {p.metric: v + 0.001 * (s % 3) for p in STUDY.parts})
            for arm, vs in values.items() for s, v in enumerate(vs)]


def test_within_parts_are_clustered_by_seed():
    # the observation is a seed's mean over gelu and silu: 8 observations, not 16
    v = judge(STUDY, _records({"gelu": [0.2] * 8, "silu": [0.1] * 8}), "full")
    (c,) = v["parts"][0]["contrasts"]
    assert c["arm"] == "gelu+silu" and c["n"] == 8 and c["estimate"] == pytest.approx(0.151, abs=1e-3)
    assert v["status"] == "supported"
    # a seed missing one of the arms is not an observation
    recs = [r for r in _records({"gelu": [0.2] * 8, "silu": [0.1] * 8}) if not (r.arm == "silu" and r.seed == 7)]
    assert judge(STUDY, recs, "full")["parts"][0]["contrasts"][0]["n"] == 7
