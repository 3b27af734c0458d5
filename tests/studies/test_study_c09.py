"""C09's design facts: a unit that never reaches the threshold is censored at the budget, the threshold
is the same normalised MSE at every r, and the time-to-event parts judge censored races correctly."""

import pytest
import torch

from actlab.engine import Record, UnitSpec
from actlab.engine.protocol import canonical, config_hash
from actlab.engine.verdicts import judge
from actlab.studies import c09_identity as c09, get_study
from actlab.zoo import get

STUDY = get_study("C09")


def test_the_threshold_is_a_normalised_mse():
    for r in (0.5, 8.0):
        t = c09.Identity(r)
        assert t.target == pytest.approx(1e-3 * r * r / 3)
        ev = t.evaluate(lambda x: torch.zeros(1, *x.shape), "val")  # predicting 0: MSE = E[x^2] ~ r^2/3
        assert float(ev["nmse"][0]) == pytest.approx(1.0, rel=0.15)


def test_a_unit_that_never_reaches_the_threshold_is_censored_at_the_budget():
    cfg = c09.Config(steps=40, eval_every=20)
    res = c09.run(cfg, [UnitSpec("tanh", get("tanh"), 0, {"h": 1, "r": 8.0}, {"lr": 1e-4})])[0]
    assert res.metrics["reached_target"] == 0.0 and res.metrics["budget_to_target"] == 1.0
    assert res.metrics["steps_to_target"] == 40.0


def _records(t_silu, t_tanh, seeds=12):
    h = config_hash("C09", STUDY.profile("full").config)
    out = []
    for s in range(seeds):
        for arm, t in (("silu", t_silu), ("tanh", t_tanh)):
            v = t(s)
            out.append(Record("C09", h, canonical({"h": 1, "r": 1.0}), canonical({"lr": 0.1}), arm, s, "fp", "done",
                              {"budget_to_target": min(v, 1.0), "reached_target": float(v < 1.0)}))
    return out


def _primary(recs):
    v = judge(STUDY, recs, "full")
    return next(p for p in v["parts"] if p["name"] == STUDY.primary.name)


def test_a_censored_baseline_counts_at_the_horizon():
    # silu reaches at 0.2-0.4 of the budget, tanh never: a saving of >= 0.6 > delta 0.25 -> supported
    p = _primary(_records(lambda s: 0.2 + 0.02 * (s % 10), lambda s: 2.0))
    assert p["status"] == "supported"
    # tanh reaches first: refuted (the opposite direction), even though silu also reaches
    p = _primary(_records(lambda s: 0.6 + 0.01 * (s % 5), lambda s: 0.1 + 0.01 * (s % 3)))
    assert p["status"] == "refuted"
    # both censored everywhere: degenerate, never a decision
    p = _primary(_records(lambda s: 2.0, lambda s: 2.0))
    assert p["status"] == "inconclusive" and p["excluded"]
