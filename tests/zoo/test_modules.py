"""Activation modules behave like torch's own (issue 15): they pickle, deep-copy, save and load, print
like torch's, keep a user module's parameters wherever actlab builds it, and the learned form gives
the functional form's values and gradients everywhere, NaN and +-inf included."""

from __future__ import annotations

import copy
import io
import math
import pickle
import sys
from pathlib import Path

import pytest
import torch
import torch.nn as nn

import actlab
from actlab.zoo import all_specs

sys.path.insert(0, str(Path(__file__).parent))  # so "myacts:LearnableSwish" imports as a user's would

SPECS = all_specs()
ids = [s.name for s in SPECS]
LEARNABLE = [s for s in SPECS if any(p.learnable for p in s.params)]
SPECIAL = torch.tensor([math.nan, -math.inf, math.inf, -1e4, -40.0, -3.0, -0.5, 0.0, 0.5, 3.0, 40.0, 1e4],
                       dtype=torch.float64)


def _x(act: actlab.Activation) -> torch.Tensor:
    if act.is_gated:
        return torch.cat([torch.linspace(-2, 2, SPECIAL.numel(), dtype=torch.float64), SPECIAL]).reshape(1, -1)
    return SPECIAL.clone()


def _forms(spec):
    act = actlab.get(spec)
    return act, [act.module(), act.module(learn=True)] if any(p.learnable for p in spec.params) else [act.module()]


@pytest.mark.parametrize("spec", SPECS, ids=ids)
def test_pickle_deepcopy_and_torch_save_round_trip(spec, tmp_path):
    act, mods = _forms(spec)
    x = _x(act)
    for m in mods:
        m = m.double()
        with torch.no_grad():  # trained values, not the defaults, must survive
            for p in m.parameters():
                p.mul_(0.75)
        want = m(x)
        for clone in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
            assert repr(clone) == repr(m)
            torch.testing.assert_close(clone(x), want, rtol=0, atol=0, equal_nan=True)
            for (n1, p1), (n2, p2) in zip(m.named_parameters(), clone.named_parameters()):
                assert n1 == n2 and p1 is not p2 and torch.equal(p1, p2)
        model = nn.Sequential(nn.Identity(), m)
        torch.save(model, tmp_path / "m.pt")
        loaded = torch.load(tmp_path / "m.pt", weights_only=False)
        torch.testing.assert_close(loaded(x), want, rtol=0, atol=0, equal_nan=True)
        buf = io.BytesIO()
        torch.save(m.state_dict(), buf)
        fresh = (act.module(learn=True) if m._learned else act.module()).double()
        fresh.load_state_dict(torch.load(io.BytesIO(buf.getvalue())))
        torch.testing.assert_close(fresh(x), want, rtol=0, atol=0, equal_nan=True)
    assert pickle.loads(pickle.dumps(act)) == act


def test_repr_reads_like_torch():
    assert repr(actlab.get("relu").module()) == "ReLU()" or repr(actlab.get("relu").module()).startswith("ReLU(")
    assert repr(actlab.get("prelu").module()) == "PReLU(num_parameters=1)" == repr(nn.PReLU())
    assert repr(actlab.get("prelu").module(num_parameters=3)) == "PReLU(num_parameters=3)" == repr(nn.PReLU(3))
    assert repr(actlab.get("leaky_relu(negative_slope=0.2)").module()) == repr(nn.LeakyReLU(0.2))
    assert repr(actlab.get("elu").module()) == repr(nn.ELU())
    assert repr(actlab.get("gelu").module()) == repr(nn.GELU())
    assert repr(actlab.get("silu").module(learn=True)) == "SiLU(num_parameters=1, learn=['beta'])"
    assert repr(actlab.get("swiglu").module()).startswith("SwiGLU(")
    assert repr(nn.Sequential(actlab.get("relu").module())) == repr(nn.Sequential(nn.ReLU())).replace("ReLU()", repr(actlab.get("relu").module()))


@pytest.mark.parametrize("spec", LEARNABLE, ids=[s.name for s in LEARNABLE])
def test_learned_form_equals_functional_everywhere(spec):
    """Values and input gradients of module(learn=True) at the defaults equal act(x)'s, NaN and +-inf
    included; one more point after changing the parameter shows the limits follow the parameter."""
    act = actlab.get(spec)
    x = _x(act)
    m = act.module(learn=True).double()
    xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ya, yb = m(xa), act(xb)
    torch.testing.assert_close(ya, yb, rtol=1e-12, atol=1e-300, equal_nan=True)
    w = torch.linspace(0.5, 1.5, ya.numel(), dtype=torch.float64).reshape(ya.shape)
    (ga,) = torch.autograd.grad((ya * w).nansum(), xa)
    (gb,) = torch.autograd.grad((yb * w).nansum(), xb)
    torch.testing.assert_close(ga, gb, rtol=1e-9, atol=1e-300, equal_nan=True)


def test_learned_limits_follow_the_learned_parameter():
    m = actlab.get("prelu").module().double()
    x = torch.tensor([-math.inf, math.inf, math.nan], dtype=torch.float64)
    with torch.no_grad():
        m.negative_slope.fill_(-0.5)
    torch.testing.assert_close(m(x), actlab.get("prelu(negative_slope=-0.5)")(x), rtol=0, atol=0, equal_nan=True)
    s = actlab.get("silu").module(learn=True).double()
    with torch.no_grad():
        s.beta.fill_(2.0)
    torch.testing.assert_close(s(x), actlab.get("silu(beta=2.0)")(x), rtol=0, atol=0, equal_nan=True)


def test_user_module_keeps_and_trains_its_parameters():
    from myacts import LearnableSwish

    for target in ("myacts:LearnableSwish", LearnableSwish, LearnableSwish(0.5)):
        m = actlab.get(target).module()
        assert [n for n, _ in m.named_parameters()] == ["inner.beta"]
        before = m.inner.beta.item()
        opt = torch.optim.SGD(m.parameters(), lr=0.1)
        x = torch.linspace(-3, 3, 31)
        (m(x) - 2 * x).square().mean().backward()
        opt.step()
        assert m.inner.beta.item() != before
        # a fresh copy each time: two modules never share a parameter
        assert actlab.get(target).module().inner.beta is not actlab.get(target).module().inner.beta
        torch.testing.assert_close(pickle.loads(pickle.dumps(m))(x), m(x))
    assert actlab.get("myacts:LearnableSwish").module(learn=False).inner.beta.requires_grad is False


def test_replace_activations_with_a_user_module_adds_its_parameters():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU())
    n0 = sum(p.numel() for p in model.parameters())
    assert actlab.replace_activations(model, old="relu", new="myacts:LearnableSwish") == ["1", "3"]
    assert sum(p.numel() for p in model.parameters()) == n0 + 2
    assert model[1].inner.beta is not model[3].inner.beta
    model(torch.randn(5, 3)).sum().backward()
    assert model[1].inner.beta.grad is not None and model[3].inner.beta.grad is not None


def test_user_function_module_pickles_and_plain_lambda_says_why():
    m = actlab.get("myacts:swishlike").module()
    x = torch.linspace(-2, 2, 9)
    torch.testing.assert_close(pickle.loads(pickle.dumps(m))(x), x * torch.sigmoid(1.5 * x))
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        pickle.dumps(actlab.get(lambda t: t * 2).module())


def test_a_study_model_with_a_user_module_trains_its_parameter_and_stacks():
    """What the studies build: models.mlp / cnn1d with the user's module, and the engine's ensemble of
    several seeds; one optimiser step changes every copy's beta (C01 used to train silu's numbers)."""
    from actlab.engine.ensemble import Ensemble
    from actlab.models.mlp import mlp

    torch.manual_seed(0)
    models = [mlp("myacts:LearnableSwish", 6, 3, hidden=(8, 8)) for _ in range(2)]
    betas = [n for n, _ in models[0].named_parameters() if n.endswith("inner.beta")]
    assert len(betas) == 2
    ens = Ensemble(models)
    opt = torch.optim.SGD(ens.parameters(), lr=0.5)
    x = torch.randn(2, 16, 6)
    before = [p.detach().clone() for n, p in ens.named_parameters() if n.endswith("inner.beta")]
    assert len(before) == 4
    ens(x).square().mean().backward()
    opt.step()
    after = [p.detach() for n, p in ens.named_parameters() if n.endswith("inner.beta")]
    assert all(not torch.equal(a, b) for a, b in zip(after, before))
    back = dict(ens.unstack(1).named_parameters())  # model 1 with the ensemble's trained weights
    trained = [acts[1].inner.beta for acts in ens.layers if isinstance(acts, nn.ModuleList)]
    assert [back[n].item() for n in betas] == [t.item() for t in trained]
