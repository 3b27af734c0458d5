"""Vectorised ensembles: the stacked program computes what a plain per-model loop computes.

``train`` always trains a model that stacks inside an :class:`Ensemble` (alone: an ensemble of one).  A
model wrapped with a trailing ``nn.Identity`` cannot stack, so ``train`` runs it through the plain loop:
the two paths are compared here in float64 (rounding differences, amplified by Adam, would otherwise
swamp the check); bit-identity of a unit across groups is ``test_train.py``'s.
"""

import dataclasses

import pytest
import torch
import torch.nn as nn

from actlab.data import load
from actlab.engine import Ensemble, Schedule, build, can_stack, train
from actlab.engine.tasks import Classification
from actlab.models import cnn1d, mlp

UNITS = [("relu", 0), ("relu", 1), ("prelu", 0), ("silu", 1), ("gelu(approximate='tanh')", 2), ("elu", 0)]


@pytest.fixture(scope="module")
def mnist1d():
    return load("mnist1d")


def _as(data, dtype):
    return dataclasses.replace(data, **{f"x_{s}": getattr(data, f"x_{s}").to(dtype) for s in ("train", "val", "test")})


def plain(model: nn.Sequential) -> nn.Sequential:
    """The same layers, but unstackable: ``train`` runs it through the plain per-model loop."""
    out = nn.Sequential(*model, nn.Identity())
    assert not can_stack([out])
    return out


def _both(builder, task, sched, units=UNITS):
    seeds = [s for _, s in units]
    stacked = train([build(lambda a=a: builder(a), s) for a, s in units], seeds, task, sched)
    alone = train([plain(build(lambda a=a: builder(a), s)) for a, s in units], seeds, task, sched)
    return stacked, alone


@pytest.mark.parametrize("arch", ["mlp", "cnn1d"])
def test_ensemble_training_equals_the_plain_loop_in_float64(arch, mnist1d):
    builder = (lambda a: mlp(a, 40, 10, hidden=(32, 32))) if arch == "mlp" else (lambda a: cnn1d(a, 40, 10, channels=8))
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        stacked, alone = _both(builder, Classification(_as(mnist1d, torch.float64)),
                               Schedule(steps=40, eval_every=20, target=0.3))
    finally:
        torch.set_default_dtype(old)
    for a, b in zip(stacked, alone):
        assert a.status == b.status == "done"
        assert a.metrics.keys() == b.metrics.keys() and "test_acc" in a.metrics
        for k in a.metrics:
            assert a.metrics[k] == pytest.approx(b.metrics[k], rel=1e-9, abs=1e-9), k
        assert a.curves.keys() == b.curves.keys()
        for k in a.curves:
            assert a.curves[k]["step"] == b.curves[k]["step"]
            assert a.curves[k]["value"] == pytest.approx(b.curves[k]["value"], rel=1e-9, abs=1e-9), k


def test_ensemble_matches_the_plain_loop_in_float32_over_a_few_steps(mnist1d):
    stacked, alone = _both(lambda a: cnn1d(a, 40, 10, channels=8), Classification(mnist1d), Schedule(steps=10, eval_every=5))
    for a, b in zip(stacked, alone):
        assert a.metrics["final_train_loss"] == pytest.approx(b.metrics["final_train_loss"], rel=1e-5)
        assert a.metrics["test_acc"] == pytest.approx(b.metrics["test_acc"], abs=2e-3)


def test_ensemble_forward_and_unstack():
    models = [build(lambda a=a: mlp(a, 8, 3, hidden=(5,)), s) for a, s in UNITS]
    ens = Ensemble(models)
    x = torch.randn(len(models), 4, 8)
    y = ens(x)
    for i, m in enumerate(models):
        torch.testing.assert_close(y[i], m(x[i]))
        torch.testing.assert_close(ens.unstack(i)(x[i]), m(x[i]))


def test_unstackable_models_train_alone_and_leave_the_others_their_numbers(mnist1d):
    # a gated unit doubles the layer width, so it cannot share the stack; train still trains it
    task, sched = Classification(mnist1d), Schedule(steps=5, eval_every=5)
    make = lambda a: build(lambda: mlp(a, 40, 10, hidden=(8,)), 0)  # noqa: E731
    models = [make(a) for a in ("relu", "swiglu", "silu")]
    assert not can_stack(models) and can_stack([models[0], models[2]])
    res = train(models, [0, 0, 0], task, sched)
    assert [r.status for r in res] == ["done"] * 3
    without = train([make("relu"), make("silu")], [0, 0], task, sched)
    assert [(r.metrics, r.curves) for r in (res[0], res[2])] == [(r.metrics, r.curves) for r in without]
    (gated,) = train([make("swiglu")], [0], task, sched)
    assert (gated.metrics, gated.curves) == (res[1].metrics, res[1].curves)


def test_divergence_in_one_model_leaves_the_others_alone(mnist1d):
    task, sched = Classification(mnist1d), Schedule(steps=20, eval_every=5)
    make = lambda s: build(lambda: mlp("relu", 40, 10, hidden=(8,)), s)  # noqa: E731
    blown = make(1)
    with torch.no_grad():
        for p in blown.parameters():
            p.mul_(1e30)  # logits of 1e30 and more: the loss is not finite from the first step
    ok, bad = train([make(0), blown], [0, 1], task, sched)
    assert bad.status == "diverged" and "not finite at step" in bad.error and "test_acc" not in bad.metrics
    (alone,) = train([make(0)], [0], task, sched)
    assert ok.status == "done" and (ok.metrics, ok.curves) == (alone.metrics, alone.curves)
    # lr so large that every model diverges: all are reported diverged, none raises
    res = train([make(s) for s in (0, 1)], [0, 1], task, Schedule(steps=20, eval_every=5, lr=1e30))
    assert [r.status for r in res] == ["diverged", "diverged"] and all("not finite" in r.error for r in res)


def test_train_checks_its_arguments(mnist1d):
    task = Classification(mnist1d)
    m = build(lambda: mlp("relu", 40, 10, hidden=(8,)), 0)
    with pytest.raises(ValueError, match="phase"):
        train([m], [0], task, Schedule(steps=1), phase="test")
    with pytest.raises(ValueError, match="one seed and one schedule per model"):
        train([m], [0, 1], task, Schedule(steps=1))
    with pytest.raises(ValueError, match="Schedule.steps"):
        Schedule(steps=0)
    with pytest.raises(ValueError, match="Schedule.lr"):
        Schedule(lr=float("nan"))
