"""Determinism and tuning: a record is a function of its key alone.

* ``train`` gives a unit the same bits trained alone, inside a group of other arms and seeds, and in
  any group order (MLP and CNN shapes);
* through the sweep: ``-j 1``, ``-j 2`` (other groups, other processes) and a resume after deleting
  stored units give identical records, tuning included;
* the tuned policy takes the grid point with the best *mean* tuning metric (ties: the first point),
  and tuning units never see the test split.
"""

import math

import pytest
import torch

from actlab.data import load
from actlab.engine import Record, Schedule, Store, Tuned, build, run_sweep, train
from actlab.engine.protocol import canonical
from actlab.engine.sweep import select_hyper
from actlab.engine.tasks import Classification
from actlab.models import cnn1d, mlp

import engine_toy

UNITS = [("relu", 0), ("silu", 1), ("gelu", 0), ("relu", 2), ("prelu", 1)]
BUILDERS = {"mlp": lambda a: mlp(a, 40, 10, hidden=(32, 32), init="auto"),
            "cnn": lambda a: cnn1d(a, 40, 10, channels=8, init="auto")}


@pytest.fixture(scope="module")
def task():
    return Classification(load("mnist1d"))


def _train(builder, units, task, sched):
    return train([build(lambda a=a: builder(a), s) for a, s in units], [s for _, s in units], task, sched)


def _bits(r):
    return r.status, r.metrics, r.curves


@pytest.mark.parametrize("arch", sorted(BUILDERS))
def test_a_unit_has_the_same_bits_alone_in_a_group_and_in_any_order(arch, task):
    builder, sched = BUILDERS[arch], Schedule(steps=30, eval_every=10, batch_size=50, target=0.3)
    alone = [_train(builder, [u], task, sched)[0] for u in UNITS]
    group = _train(builder, UNITS, task, sched)
    reverse = _train(builder, UNITS[::-1], task, sched)[::-1]
    pair = _train(builder, [UNITS[3], UNITS[1]], task, sched)
    for u, a, g, r in zip(UNITS, alone, group, reverse):
        assert _bits(a) == _bits(g) == _bits(r), u
    assert [_bits(x) for x in pair] == [_bits(alone[3]), _bits(alone[1])]
    assert alone[0].metrics != alone[3].metrics  # the seed matters
    # the same seed gives two arms the same minibatches and initial-weight stream, not the same numbers
    assert alone[0].metrics != alone[2].metrics


def test_units_with_other_schedules_in_one_call_keep_their_bits(task):
    builder = BUILDERS["mlp"]
    s1, s2 = Schedule(steps=20, eval_every=10, lr=1e-2), Schedule(steps=20, eval_every=10, lr=3e-3)
    mixed = train([build(lambda: builder("relu"), 0), build(lambda: builder("silu"), 0)], [0, 0], task, [s1, s2])
    assert _bits(mixed[0]) == _bits(_train(builder, [("relu", 0)], task, s1)[0])
    assert _bits(mixed[1]) == _bits(_train(builder, [("silu", 0)], task, s2)[0])


def _records(store, study_id):
    return {(r.cell, r.hyper, r.arm, r.seed): _bits(r) for r in store.records(study_id)}


def test_the_sweep_gives_identical_records_with_j1_j2_and_after_a_resume(tmp_path):
    one, two = Store(tmp_path / "one.db"), Store(tmp_path / "two.db")
    run_sweep(engine_toy.STUDY, "quick", store=one, jobs=1)  # one group of 6 units
    s2 = run_sweep(engine_toy.STUDY, "quick", store=two, jobs=2)  # two groups of 3, in two worker processes
    assert s2.done == 6
    a = _records(one, "T00")
    assert len(a) == 6 and a == _records(two, "T00")
    gone = one.records("T00")[2]
    assert one.delete([gone]) == 1
    s3 = run_sweep(engine_toy.STUDY, "quick", store=one, jobs=1)  # the lone unit pending is a group of one
    assert (s3.skipped, s3.done) == (5, 1)
    assert _records(one, "T00") == a


def test_a_tuned_sweep_resumes_to_identical_records(tmp_path):
    study, store = engine_toy.TUNED, Store(tmp_path / "r.db")
    s1 = run_sweep(study, "quick", store=store, jobs=1)
    assert (s1.total, s1.tuned, s1.done) == (14, 8, 14)
    a = _records(store, "T01")
    # delete a tuning unit and two evaluation units, resume: the same records (and choices) come back
    recs = store.records("T01")
    gone = [next(r for r in recs if "phase" in r.factors), *[r for r in recs if "phase" not in r.factors][1:3]]
    assert store.delete(gone) == 3
    s2 = run_sweep(study, "quick", store=store, jobs=1)
    assert (s2.skipped, s2.done) == (11, 3) and s2.hyper == s1.hyper
    assert _records(store, "T01") == a


def test_tuning_units_never_evaluate_the_test_split(tmp_path, task):
    store = Store(tmp_path / "r.db")
    s = run_sweep(engine_toy.TUNED, "quick", store=store, jobs=1)
    recs = store.records("T01")
    tune = [r for r in recs if r.factors.get("phase") == "tune"]
    main = [r for r in recs if "phase" not in r.factors]
    assert len(tune) == 2 * 2 * 2 and len(main) == 2 * 3 and s.failed == 0
    assert {r.seed for r in tune} == {1000, 1001} and {r.seed for r in main} == {0, 1, 2}
    assert all(r.metrics and not any(k.startswith("test_") for k in r.metrics) for r in tune)
    assert all("val_acc" in r.metrics for r in tune)
    assert all("test_acc" in r.metrics for r in main)
    # each (cell, arm) trained its evaluation seeds with the grid point tuning chose
    for r in main:
        assert r.hyperparameters == s.hyper["{}"][r.arm]
        assert r.hyperparameters == select_hyper(engine_toy.TUNED.policy(engine_toy.Config()), recs, {}, r.arm)

    class Spy(Classification):
        splits: list = []

        def evaluate(self, forward, split):
            self.splits.append(split)
            return super().evaluate(forward, split)

    spy = Spy(task.data)
    m = build(lambda: mlp("relu", 40, 10, hidden=(8,)), 0)
    train([m], [0], spy, Schedule(steps=20, eval_every=10), phase="tune")
    assert spy.splits == ["val", "val"]
    train([build(lambda: mlp("relu", 40, 10, hidden=(8,)), 0)], [0], spy, Schedule(steps=20, eval_every=10))
    assert spy.splits[2:] == ["val", "val", "test"]


def test_the_tuned_policy_picks_the_best_mean_tuning_metric(tmp_path):
    store = Store(tmp_path / "r.db")
    s = run_sweep(engine_toy.PLANTED, "quick", store=store, jobs=1)
    assert s.hyper == {"{}": {arm: {"lr": lr} for arm, lr in engine_toy.BEST.items()}}
    main = [r for r in store.records("T04") if "phase" not in r.factors]
    assert {(r.arm, r.metrics["lr"]) for r in main} == set(engine_toy.BEST.items())
    assert {r.hyper for r in main if r.arm == "relu"} == {canonical({"lr": 1e-2})}


def test_named_policies_are_a_design_factor_and_only_the_deciding_one_decides(tmp_path):
    store = Store(tmp_path / "r.db")
    s = run_sweep(engine_toy.POLICIES, "quick", store=store, jobs=1)
    tuned, shared = canonical({"policy": "tuned"}), canonical({"policy": "shared"})
    assert s.total == 2 * 3 * 2 + 2 * 2 * 2 and s.done == s.total
    assert s.hyper == {tuned: {arm: {"lr": lr} for arm, lr in engine_toy.BEST.items()}}
    recs = store.records("T06")
    assert {r.cell for r in recs} == {tuned, shared, canonical({"policy": "tuned", "phase": "tune"})}
    assert {r.hyper for r in recs if r.cell == shared} == {canonical({"lr": 1e-1})}
    from actlab.engine.verdicts import judge, verdict

    v = verdict(engine_toy.POLICIES, "quick", recs)
    assert [p["decides"] for p in v["parts"]] == [True, False]
    v_tuned = judge(engine_toy.POLICIES, [r for r in recs if r.cell != shared], "quick")
    assert v_tuned["status"] == v["status"] and v_tuned["parts"][0] == v["parts"][0]
    assert v["policy"] == {"tuned": engine_toy.POLICIES.policies(engine_toy.Config())["tuned"].describe(),
                           "shared": {"policy": "shared", "values": {"lr": 1e-1}}}


def _tune_rec(arm, lr, seed, value, status="done"):
    return Record("T", "h", canonical({"phase": "tune"}), canonical({"lr": lr}), arm, seed, "fp", status,
                  {} if value is None else {"v": value})


def test_select_hyper_counts_divergence_as_the_worst_and_waits_for_every_final_unit():
    policy = Tuned(grid={"lr": (1e-3, 1e-2)}, metric="v", seeds=(1000, 1001))
    recs = [_tune_rec("relu", 1e-3, 1000, 0.5), _tune_rec("relu", 1e-3, 1001, 0.5),
            _tune_rec("relu", 1e-2, 1000, 0.9), _tune_rec("relu", 1e-2, 1001, None, "diverged")]
    assert select_hyper(policy, recs, {}, "relu") == {"lr": 1e-3}
    recs[-1] = _tune_rec("relu", 1e-2, 1001, math.nan)  # a non-finite metric is no better
    assert select_hyper(policy, recs, {}, "relu") == {"lr": 1e-3}
    recs[-1] = _tune_rec("relu", 1e-2, 1001, 0.2)
    assert select_hyper(policy, recs, {}, "relu") == {"lr": 1e-2}  # mean 0.55 > 0.5
    assert select_hyper(policy, recs[:-1], {}, "relu") is None  # a tuning unit is missing
    failed = recs[:-1] + [_tune_rec("relu", 1e-2, 1001, None, "failed")]
    assert select_hyper(policy, failed, {}, "relu") is None  # ... or failed: it will be retried
    assert select_hyper(policy, recs, {}, "silu") is None
    lower = Tuned(grid={"lr": (1e-3, 1e-2)}, metric="v", direction="lower", seeds=(1000, 1001))
    assert select_hyper(lower, recs, {}, "relu") == {"lr": 1e-3}
    with pytest.raises(ValueError, match=">= 1000"):
        Tuned(grid={"lr": (1e-3,)}, metric="v", seeds=(0, 1))


def test_a_failed_tuning_unit_holds_back_its_arms_evaluation_until_it_is_retried(tmp_path, monkeypatch):
    store = Store(tmp_path / "r.db")
    monkeypatch.setenv("TOY_FAIL", "silu")  # transient: not part of the config
    s = run_sweep(engine_toy.TUNED, "quick", store=store, jobs=1)
    assert s.failed == 4 and any("silu {}: tuning incomplete" in e for e in s.errors)
    assert "silu" not in s.hyper["{}"]
    main = [r for r in store.records("T01") if "phase" not in r.factors]
    assert sorted({r.arm for r in main}) == ["relu"] and len(main) == 3
    monkeypatch.delenv("TOY_FAIL")
    s = run_sweep(engine_toy.TUNED, "quick", store=store, jobs=1)
    assert (s.failed, s.done) == (0, 4 + 3) and set(s.hyper["{}"]) == {"relu", "silu"}
    assert all(r.status == "done" for r in store.records("T01")) and len(store.records("T01")) == 14


def test_every_default_activation_keeps_its_bits_in_a_group_at_awkward_sizes(task):
    """Sizes whose element counts are not a multiple of the SIMD width: torch computes the tail of a
    tensor with scalar code whose exp/log1p differ in the last bit, so one activation call over a whole
    run of models would put different elements in the tail than an ensemble of one (it did: softplus,
    silu, elu, selu, sigmoid and tanh-GELU trained to other numbers in a group)."""
    from actlab.zoo import DEFAULT_SET

    builder = lambda a: mlp(a, 40, 10, hidden=(33, 17), init="auto")  # noqa: E731
    sched = Schedule(steps=25, eval_every=25, batch_size=37)
    units = [(a, s) for a in DEFAULT_SET for s in (0, 1)]
    alone = [_train(builder, [u], task, sched)[0] for u in units]
    group = _train(builder, units, task, sched)
    bad = [u for u, a, g in zip(units, alone, group) if _bits(a) != _bits(g)]
    assert not bad, f"units whose numbers depend on their group: {bad}"


def test_per_channel_learned_activations_train_alone_instead_of_failing_in_an_ensemble():
    """A per-channel ActivationModule (num_parameters > 1) broadcasts its parameters along dimension 1, which
    the ensemble's (E, B, C) slices do not have: such models do not stack, and train() trains them alone."""
    import torch.nn as nn

    from actlab.engine.ensemble import can_stack
    from actlab.engine.train import Schedule, build, train
    from actlab.zoo import get

    def model():
        return nn.Sequential(nn.Linear(64, 16), get("prelu").module(num_parameters=16), nn.Linear(16, 10))

    assert not can_stack([model(), model()]) and can_stack([nn.Sequential(nn.Linear(64, 16), get("prelu").module(),
                                                                        nn.Linear(16, 10))] * 2)
    from actlab.data import load
    from actlab.engine.tasks import Classification

    task = Classification(load("digits"))
    res = train([build(model, 0), build(model, 1)], [0, 1], task, Schedule(steps=5, batch_size=8, eval_every=5))
    assert [r.status for r in res] == ["done", "done"] and all(0 <= r.metrics["test_acc"] <= 1 for r in res)
