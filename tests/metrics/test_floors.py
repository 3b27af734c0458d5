"""The shared floors of the deep-network studies: MLP options, unit activity, gradients, probes in training.

Planted effects: units made dead or saturated by construction must be counted exactly; statistics and
gradients are compared with a direct computation; a probe must not change training by one bit.
"""

import copy
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from actlab.engine import Classification, Schedule, build, train
from actlab.engine.ensemble import can_stack
from actlab.metrics import activity, layer_grad_norms, max_slope, minibatch_gradients
from actlab.models import Residual, hidden_activations, mlp
from actlab.theory.gradflow import max_slope as theory_max_slope
from actlab.zoo import get


def test_plain_mlp_still_stacks_and_the_options_build_what_they_say():
    assert can_stack([mlp("relu", 8, 3, (16, 16)), mlp("tanh", 8, 3, (16, 16))])
    bn = mlp("relu", 8, 3, (16, 16), norm="before")
    kinds = [type(m).__name__ for m in bn]
    assert kinds == ["Linear", "BatchNorm1d", "ActivationModule", "Linear", "BatchNorm1d", "ActivationModule", "Linear"]
    after = mlp("prelu", 8, 3, (16,), norm="after")
    assert [type(m).__name__ for m in after] == ["Linear", "ActivationModule", "BatchNorm1d", "Linear"]
    res = mlp("relu", 8, 3, (16, 16, 16), residual=True)
    assert [type(m).__name__ for m in res] == ["Linear", "ActivationModule", "Residual", "Residual", "Linear"]
    assert not can_stack([bn, bn]) and not can_stack([res, res])
    assert len(hidden_activations(res)) == 3 and len(hidden_activations(copy.deepcopy(bn))) == 2
    with pytest.raises(ValueError, match="norm must be"):
        mlp("relu", 8, 3, norm="layer")


def test_a_residual_block_adds_its_branch_to_its_input():
    torch.manual_seed(0)
    res = mlp("tanh", 4, 2, (6, 6), residual=True)
    x = torch.randn(5, 4)
    h = torch.tanh(res[0](x))
    block = res[2]
    assert isinstance(block, Residual)
    h2 = h + torch.tanh(block.f[0](h))
    torch.testing.assert_close(res(x), res[3](h2), rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["relu", "sigmoid", "tanh", "silu", "gelu", "elu"])
def test_max_slope_agrees_with_theory(name):
    got = float(max_slope(get(name).module()))
    want, _ = theory_max_slope(name)
    assert got == pytest.approx(want, rel=2e-4)  # a grid of step 0.01 around a smooth maximum


def _net(act, w1, b1):
    m = mlp(act, w1.shape[1], 2, (w1.shape[0],))
    with torch.no_grad():
        m[0].weight.copy_(w1)
        m[0].bias.copy_(b1)
    return m


def test_planted_dead_relu_units_are_counted_exactly():
    torch.manual_seed(1)
    x = torch.randn(400, 5)
    w = torch.randn(10, 5) * 0.1
    b = torch.zeros(10)
    b[:3] = -100.0  # pre-activation < 0 on every example: dead
    b[3] = 100.0    # always active: alive
    (layer,) = activity(_net("relu", w, b), x)
    assert layer.dead_fraction == pytest.approx(0.3, abs=0)
    z = x @ w.T + b
    assert layer.zero_fraction == pytest.approx(float((z <= 0).double().mean()), abs=0)
    assert layer.pre_mean == pytest.approx(float(z.mean()), rel=1e-5)
    assert layer.post_var == pytest.approx(float(torch.relu(z).var(unbiased=False)), rel=1e-5)
    assert layer.unit_mean[:3] == [0.0, 0.0, 0.0]


def test_planted_saturated_sigmoid_units_and_a_leaky_slope_that_is_not_small():
    torch.manual_seed(2)
    x = torch.randn(1000, 3)
    w = torch.randn(8, 3) * 0.1
    b = torch.zeros(8)
    b[:2] = 12.0  # sigmoid'(12) = 6e-6 < 1 % of 1/4: saturated on every example (and so "dead")
    b[2] = 8.0    # sigmoid'(8 + small) ~ 3e-4 < 2.5e-3: saturated too
    (layer,) = activity(_net("sigmoid", w, b), x)
    assert layer.saturated_fraction == pytest.approx(3 / 8, abs=0) and layer.zero_fraction == 0
    assert layer.dead_fraction == pytest.approx(3 / 8, abs=0)
    b2 = torch.full((8,), -100.0)  # leaky_relu with slope 0.01 = exactly 1 % of its max: not "below 1 %"
    (leaky,) = activity(_net("leaky_relu", w, b2), x)
    assert leaky.dead_fraction == 0 and leaky.zero_fraction == 0


def test_activity_uses_batchnorm_running_statistics_and_leaves_the_model_as_it_was():
    torch.manual_seed(3)
    m = mlp("relu", 4, 2, (8,), norm="before")
    m.train()
    x = torch.randn(64, 4) * 3 + 1
    m(x)  # one training-mode pass moves the running statistics
    state = copy.deepcopy(m.state_dict())
    (layer,) = activity(m, x)
    assert m.training and all(torch.equal(state[k], v) for k, v in m.state_dict().items())
    bn = m[1]
    with torch.no_grad():
        z = (m[0](x) - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
    assert layer.pre_mean == pytest.approx(float(z.mean()), rel=1e-5, abs=1e-6)


def test_gradients_equal_backward_and_touch_no_grad_field():
    torch.manual_seed(4)
    m = mlp("gelu", 6, 3, (7, 5))
    x, y = torch.randn(20, 6), torch.randint(0, 3, (20,))
    norms = layer_grad_norms(m, F.cross_entropy, x, y)
    assert all(p.grad is None for p in m.parameters())
    F.cross_entropy(m(x), y).backward()
    want = [float(l.weight.grad.norm()) for l in m if isinstance(l, nn.Linear)]
    assert norms == pytest.approx(want, rel=1e-6)
    m.zero_grad(set_to_none=True)
    batches = [(x[:10], y[:10]), (x[10:], y[10:])]
    G = minibatch_gradients(m, F.cross_entropy, batches)
    assert G.shape == (2, sum(p.numel() for p in m.parameters()))
    F.cross_entropy(m(x[10:]), y[10:]).backward()
    torch.testing.assert_close(G[1], torch.cat([p.grad.reshape(-1) for p in m.parameters()]), rtol=1e-6, atol=1e-8)


class _Toy:
    """Linearly separable 2-class data: enough to train a few steps."""

    headline, higher_is_better = "acc", True

    def __init__(self):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(300, 6, generator=g)
        y = (x[:, 0] > 0).long()
        from types import SimpleNamespace

        self.task = Classification(SimpleNamespace(x_train=x[:200], y_train=y[:200], x_val=x[200:250],
                                                   y_val=y[200:250], x_test=x[250:], y_test=y[250:]))


def _probe(model, step):
    layers = activity(model, torch.randn(50, 6, generator=torch.Generator().manual_seed(7)))
    return ({"dead": sum(l.dead_fraction for l in layers), "pre_var": layers[0].pre_var},
            {"unit_mean": [l.unit_mean for l in layers]})


@pytest.mark.parametrize("norm", [None, "before"])
def test_a_probe_reads_at_the_declared_steps_and_never_changes_training(norm):
    task = _Toy().task
    sched = Schedule(steps=30, batch_size=16, lr=1e-2, eval_every=10)
    acts = ["relu", "tanh", "silu"]

    def models():
        return [build(lambda a=a: mlp(a, 6, 2, (8, 8), norm=norm), s) for s, a in enumerate(acts)]

    plain = train(models(), [0, 1, 2], task, sched)
    probed = train(models(), [0, 1, 2], task, sched, probe=_probe, probe_at=(0, 10))
    alone = [train([m], [s], task, sched, probe=_probe, probe_at=(0, 10))[0] for s, m in enumerate(models())]
    for p, q, r in zip(plain, probed, alone):
        assert {k: v for k, v in q.metrics.items() if "@" not in k} == p.metrics and q.curves == p.curves
        assert {k for k in q.metrics if "@" in k} == {f"{m}@{s}" for m in ("dead", "pre_var") for s in (0, 10, 30)}
        assert set(q.arrays) == {"unit_mean@0", "unit_mean@10", "unit_mean@30"}
        assert q.metrics == r.metrics and q.arrays == r.arrays  # the same numbers in a group and alone
    # at step 0 the probe sees the initial weights: the same as probing a freshly built model
    m0 = models()[1]
    want, _ = _probe(m0, 0)
    assert probed[1].metrics["pre_var@0"] == want["pre_var"]
    assert not math.isclose(probed[1].metrics["pre_var@30"], want["pre_var"], rel_tol=1e-9)
