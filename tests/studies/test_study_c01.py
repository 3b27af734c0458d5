"""C01's design facts: GELU and SiLU each against ReLU (never their average), on two tasks, faster and more
accurate, with the learning rate tuned per arm on the validation split deciding and a shared rate beside
it, descriptive."""

import dataclasses

import pytest
import torch.nn as nn

from actlab.engine import Record, Shared, Tuned
from actlab.engine.protocol import canonical, config_hash
from actlab.engine.verdicts import judge
from actlab.studies import DEFAULT_SET, get_study
from actlab.studies import c01_convergence as c01

STUDY = get_study("C01")


def test_registry_and_arms():
    assert get_study("c01") is STUDY and STUDY is c01.STUDY
    with pytest.raises(KeyError, match="did you mean"):
        get_study("C011")
    assert (STUDY.baseline, tuple(STUDY.compared)) == ("relu", ("gelu", "silu"))
    assert STUDY.arms == ["relu", "gelu", "silu", "leaky_relu", "softplus"]
    assert set(STUDY.arms) <= set(DEFAULT_SET)


def test_parts_each_task_both_faster_and_more_accurate_under_each_policy():
    parts = {(p.metric, p.cell["task"], p.cell["policy"]): p for p in STUDY.parts}
    assert set(parts) == {(m, t, pol) for m in ("test_acc", "val_auc") for t in c01.TASKS for pol in ("tuned", "shared")}
    assert STUDY.primary is parts[("test_acc", "mnist1d_mlp", "tuned")]
    for (_, _, pol), p in parts.items():
        assert p.rule == "superiority" and p.direction == "higher" and p.delta == 0.01 and not p.within
        assert STUDY.part_arms(p) == ("relu", ("gelu", "silu"))  # every part names both arms
        assert p.decides == (pol == "tuned")  # the tuned policy decides; the shared one is descriptive
    cells = [c for c, _ in STUDY.plan_cells(STUDY.profile("full").config)]
    assert sorted((c["task"], c["policy"]) for c in cells) == sorted(
        (t, pol) for t in c01.TASKS for pol in ("tuned", "shared"))
    with pytest.raises(ValueError, match="unknown task"):
        c01.Config(tasks=("mnist1d_rnn",))


def test_the_learning_rate_is_tuned_per_arm_on_validation_seeds_or_shared():
    full, quick = (STUDY.policies(STUDY.profile(p).config) for p in ("full", "quick"))
    assert set(full) == set(quick) == {"tuned", "shared"}
    tuned = full["tuned"]
    assert isinstance(tuned, Tuned) and isinstance(quick["tuned"], Tuned)
    assert dict(tuned.grid) == {"lr": (1e-3, 3e-3, 1e-2, 3e-2)} and tuned.seeds == (1000, 1001)
    assert tuned.metric == "val_acc" and tuned.direction == "higher"  # a validation metric, never test
    assert set(quick["tuned"].grid["lr"]) <= set(tuned.grid["lr"]) and len(quick["tuned"].grid["lr"]) >= 2
    assert not set(tuned.seeds) & set(range(STUDY.profile("full").seeds))
    assert full["shared"] == Shared({"lr": 1e-2})  # the rate of Greydanus & Kobak (2024), for every arm


def test_the_models_are_the_declared_architectures():
    cfg = STUDY.profile("full").config
    lin = [m for m in c01._model(cfg, "mnist1d_mlp", "relu") if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in lin] == [(40, 100), (100, 100), (100, 10)]
    conv = [m for m in c01._model(cfg, "mnist1d_cnn", "relu") if isinstance(m, nn.Conv1d)]
    assert [(m.out_channels, m.kernel_size[0], m.stride[0]) for m in conv] == [(25, 5, 2), (25, 3, 2), (25, 3, 2)]


def _records(gain, seeds=8, policies=("tuned", "shared")):
    """Evaluation records of relu, gelu and silu on both tasks; ``gain[arm]`` (or ``gain[(arm, policy)]``)
    added to relu's numbers."""
    h = config_hash("C01", STUDY.profile("full").config)
    out = []
    for t in c01.TASKS:
        for pol in policies:
            for s in range(seeds):
                base = 0.70 + 0.004 * ((5 * s) % 7)
                for arm in ("relu", "gelu", "silu"):
                    g = gain.get((arm, pol), gain.get(arm, 0.0))
                    v = base + g + (0.002 * ((3 * s + len(arm)) % 4) if arm != "relu" else 0.0)
                    out.append(Record("C01", h, canonical({"task": t, "policy": pol}), canonical({"lr": 0.01}), arm, s,
                                      "fp", "done", {"test_acc": v, "val_auc": v}))
    return out


def test_each_named_arm_is_judged_on_its_own_never_their_average():
    # gelu +5 points, silu -2 points: their average (+1.5 points) would clear delta; the claim must not
    v = judge(STUDY, _records({"gelu": 0.05, "silu": -0.02}), "full")
    assert v["status"] != "supported"
    for p in v["parts"]:
        by = {c["arm"]: c for c in p["contrasts"]}
        assert set(by) == {"gelu", "silu"} and p["status"] != "supported"
        assert by["gelu"]["estimate"] == pytest.approx(0.05 + 0.003, abs=0.002)
        assert by["gelu"]["status"] == "supported" and by["silu"]["status"] == "refuted"
    assert [c["arm"] for c in v["headline"]] == ["gelu", "silu"]
    # both better: supported (so the test above is not unsupported for another reason)
    assert judge(STUDY, _records({"gelu": 0.05, "silu": 0.03}), "full")["status"] == "supported"


def test_the_shared_policy_is_reported_but_does_not_decide():
    gain = {"gelu": 0.05, "silu": 0.03, ("gelu", "shared"): -0.05, ("silu", "shared"): -0.05}
    v = judge(STUDY, _records(gain), "full")
    assert v["status"] == "supported"
    shared = [p for p in v["parts"] if p["cell"]["policy"] == "shared"]
    assert len(shared) == 4 and all(p["status"] == "refuted" and not p["decides"] for p in shared)
    assert judge(STUDY, _records({"gelu": 0.05, "silu": 0.03}, policies=("tuned",)), "full")["status"] == "supported"


def test_controls_are_descriptive():
    recs = _records({"gelu": 0.05, "silu": 0.03})
    controls = [dataclasses.replace(r, arm=a, metrics={k: 0.0 for k in r.metrics})
                for r in recs if r.arm == "relu" for a in ("leaky_relu", "softplus")]
    v0, v1 = judge(STUDY, recs, "full"), judge(STUDY, recs + controls, "full")
    assert v0["parts"] == v1["parts"] and v1["status"] == "supported"
    assert [d["arm"] for d in v1["descriptive"]] == ["leaky_relu", "softplus"]
