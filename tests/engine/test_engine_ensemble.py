import dataclasses

import pytest
import torch

from actlab.data import load
from actlab.engine import Ensemble, Schedule, build, can_stack, fit, fit_many
from actlab.models import cnn1d, mlp

UNITS = [("relu", 0), ("relu", 1), ("prelu", 0), ("silu", 1), ("gelu(approximate='tanh')", 2), ("elu", 0)]


@pytest.fixture(scope="module")
def mnist1d():
    return load("mnist1d")


def _as(data, dtype):
    return dataclasses.replace(data, x_train=data.x_train.to(dtype), x_test=data.x_test.to(dtype))


def _both(builder, data, sched):
    single = [fit(build(lambda: builder(a), s), s, data, sched) for a, s in UNITS]
    many = fit_many([build(lambda: builder(a), s) for a, s in UNITS], [s for _, s in UNITS], data, sched)
    return single, many


@pytest.mark.parametrize("arch", ["mlp", "cnn1d"])
def test_ensemble_training_equals_one_at_a_time_in_float64(arch, mnist1d):
    # float64 removes rounding noise, which Adam amplifies chaotically over hundreds of steps in float32
    builder = (lambda a: mlp(a, 40, 10, hidden=(32, 32))) if arch == "mlp" else (lambda a: cnn1d(a, 40, 10, channels=8))
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        single, many = _both(builder, _as(mnist1d, torch.float64), Schedule(steps=60, eval_every=20, target_acc=0.3))
    finally:
        torch.set_default_dtype(old)
    for a, b in zip(single, many):
        assert a.status == b.status == "done"
        assert a.metrics.keys() == b.metrics.keys()
        for k in a.metrics:
            assert a.metrics[k] == pytest.approx(b.metrics[k], rel=1e-9, abs=1e-9), k
        assert a.curves["train_loss"]["value"] == pytest.approx(b.curves["train_loss"]["value"], rel=1e-9)


def test_ensemble_matches_in_float32_over_a_few_steps(mnist1d):
    single, many = _both(lambda a: cnn1d(a, 40, 10, channels=8), mnist1d, Schedule(steps=10, eval_every=5))
    for a, b in zip(single, many):
        assert a.metrics["final_train_loss"] == pytest.approx(b.metrics["final_train_loss"], rel=1e-5)
        assert a.metrics["test_acc"] == pytest.approx(b.metrics["test_acc"], abs=2e-3)


def test_ensemble_forward_and_unstack():
    models = [build(lambda: mlp(a, 8, 3, hidden=(5,)), s) for a, s in UNITS]
    ens = Ensemble(models)
    x = torch.randn(len(models), 4, 8)
    y = ens(x)
    for i, m in enumerate(models):
        torch.testing.assert_close(y[i], m(x[i]))
        torch.testing.assert_close(ens.unstack(i)(x[i]), m(x[i]))


def test_unstackable_models_are_trained_one_at_a_time(mnist1d):
    # a gated unit doubles the layer width, so it cannot share the stack; fit_many still trains it
    models = [build(lambda: mlp(a, 40, 10, hidden=(8,)), 0) for a in ("relu", "swiglu", "silu")]
    assert not can_stack(models) and can_stack([models[0], models[2]])
    res = fit_many(models, [0, 0, 0], mnist1d, Schedule(steps=5, eval_every=5))
    assert [r.status for r in res] == ["done"] * 3


def test_divergence_in_one_model_leaves_the_others_alone(mnist1d):
    # lr so large that every model diverges alone: all are reported diverged, none raises
    res = fit_many([build(lambda: mlp("relu", 40, 10, hidden=(8,)), s) for s in (0, 1)], [0, 1], mnist1d,
                   Schedule(steps=20, eval_every=5, lr=1e30))
    assert [r.status for r in res] == ["diverged", "diverged"]
    assert all("not finite" in r.error for r in res)
