"""The learnable shape families (issue 13) used as activations anywhere: per-channel modules, inside a
model through replace_activations, trained; and what their defaults are."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn
from mpmath import mp

import actlab


@pytest.mark.parametrize("name", ["pau", "kan_spline", "srelu", "apl", "xielu", "snake", "dyt", "star_relu"])
def test_per_channel_module_trains_each_channel(name):
    act = actlab.get(name)
    m = act.module(num_parameters=3)
    x = torch.randn(8, 3, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float32) * 2
    target = torch.zeros(8, 3, 5)
    target[:, 1] = 1.0  # only channel 1 is pushed: its parameters move, the others' gradients differ
    loss = (m(x) - target).square().mean()
    loss.backward()
    for n, p in m.named_parameters():
        assert p.shape == (3,) and torch.isfinite(p.grad).all(), n
    assert any(not torch.allclose(p.grad[0], p.grad[1]) for _, p in m.named_parameters())


@pytest.mark.parametrize("name", ["pau", "kan_spline"])
def test_learnable_shapes_drop_into_a_model(name):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 1))
    replaced = actlab.replace_activations(model, "relu", name)
    assert replaced == ["1"]
    x, y = torch.randn(64, 4), torch.randn(64, 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(30):
        opt.zero_grad()
        loss = (model(x) - y).square().mean()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < first
    shape_params = [n for n, _ in model[1].named_parameters()]
    assert shape_params and all(model[1].get_parameter(n).grad is not None for n in shape_params)


def test_pau_default_is_the_pade_approximant_of_tanh():
    """Lambert's continued fraction x/(1 + x²/(3 + x²/(5 + x²/(7 + x²/9)))) *is* tanh's [5/4] Padé
    approximant; the default PAU equals it up to the float32 rounding of its coefficients (kept so the
    module's float32 parameters start exactly at the default)."""
    mp.dps = 50
    act = actlab.get("pau")
    p = {k: mp.mpf(v) for k, v in act.params.items()}
    for x in ("0.3", "1", "2", "3", "-2.5"):
        x = mp.mpf(x)
        cf = x / (1 + x**2 / (3 + x**2 / (5 + x**2 / (7 + x**2 / 9))))
        assert abs(act.spec.mpmath(x, **p) - cf) < 2e-7 * abs(cf)
    x = mp.mpf("0.01")  # and the fraction is tanh to O(x^11) there: the Padé property
    cf = x / (1 + x**2 / (3 + x**2 / (5 + x**2 / (7 + x**2 / 9))))
    assert abs(cf - mp.tanh(x)) < x**11
    assert act.kinks == ()  # B = (4/9)x² + x⁴/63 ≥ 0: the safe |B| never bends
    assert float(act(torch.tensor([3.0], dtype=torch.float64))) == pytest.approx(float(torch.tanh(torch.tensor(3.0))), abs=5e-4)


def test_kan_spline_default_is_silu_and_its_basis_is_a_partition_of_unity():
    act = actlab.get("kan_spline")
    x = torch.linspace(-6, 6, 1201, dtype=torch.float64)
    torch.testing.assert_close(act(x), torch.nn.functional.silu(x), rtol=0, atol=0)
    ones = actlab.get("kan_spline", w_base=0.0, **{f"c{i}": 1.0 for i in range(11)})
    inner = x[(x >= -2) & (x <= 2)]  # all 11 cubic bases sum to 1 on the grid [−2, 2]
    torch.testing.assert_close(ones(inner), torch.ones_like(inner), rtol=0, atol=1e-14)


def test_rrelu_is_the_evaluation_form_of_torchs():
    act = actlab.get("rrelu")
    x = torch.linspace(-4, 4, 81, dtype=torch.float64)
    torch.testing.assert_close(act(x), torch.nn.functional.rrelu(x, training=False), rtol=0, atol=1e-15)
    assert act.properties.dphi0 == pytest.approx((1 / 8 + 1 / 3) / 2)
    assert actlab.nn.activation_module_types("rrelu") == (nn.RReLU,)
