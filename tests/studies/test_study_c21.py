"""C21's science: the knob's derivative is exactly 0 on positive inputs (closed form, autograd, and inside a
network, tolerance 0); the sign split of a network's knob gradient adds up to the whole gradient; and the same
instruments register a positive-input gradient for a knob that has one (silu's learned beta)."""

import torch
import torch.nn.functional as F

from actlab.studies import c21_knob as c21
from actlab.zoo import get

X = torch.logspace(-6, 1.3, 500, dtype=torch.float64)


def test_the_knob_derivative_is_exactly_zero_for_positive_inputs():
    act = get("relu_elu")
    for b in (0.0, 0.3, 0.5, 1.0):  # closed form: phi(x; b) = x for x > 0, whatever b
        assert torch.equal(act.with_params(knob=b)(X), X)
    for dtype in (torch.float64, torch.float32):
        m = c21.module(act, X.numel()).to(dtype)
        knob = next(p for p in m.parameters())
        (g,) = torch.autograd.grad((m(X.to(dtype).reshape(1, -1)) * torch.randn(1, X.numel(), dtype=dtype)).sum(), knob)
        assert torch.count_nonzero(g) == 0  # tolerance 0
        (g,) = torch.autograd.grad(m((-X).to(dtype).reshape(1, -1)).sum(), knob)
        assert torch.allclose(g, torch.expm1(-X).to(dtype), rtol=1e-6, atol=0)  # dphi/db = e^x - 1 below 0


def _net(act):
    torch.manual_seed(0)
    return c21._net(act, c21.Config(hidden=(16, 16)))


def test_the_sign_split_adds_up_to_the_knob_gradient_and_zero_holds_in_a_network():
    x, y = torch.randn(300, 40), torch.randint(0, 10, (300,))
    for name in ("relu_elu", "silu"):
        net = _net(get(name))
        rows = c21.split_gradients(net, x, y)
        knobs = [p for a in c21.hidden_activations(net) for p in a.parameters()]
        full = torch.autograd.grad(F.cross_entropy(net(x), y), knobs)
        for r, g in zip(rows, full):
            if name == "relu_elu":
                assert (r["pos"] == 0).all() and r["neg"].max() > 0
                assert torch.allclose(torch.from_numpy(r["neg"]), g.abs().double(), rtol=1e-5, atol=1e-9)
            else:  # a knob positive inputs move: the instrument sees it
                assert r["pos"].max() > 1e-4


def test_the_theory_unit_decides_the_claim_and_its_positive_control_fails_it():
    cfg = c21.Config(hidden=(16, 16), probe_size=200, points=200)
    m = c21.theory(get("relu_elu"), cfg).metrics
    assert m["function_pos_max"] == m["autograd_pos_max"] == m["network_pos_grad_max"] == m["mpmath_pos_max"] == 0.0
    assert m["autograd_neg_max"] >= 0.01 and m["network_neg_grad_max"] >= 1e-8
    s = c21.theory(get("silu"), cfg).metrics
    assert s["autograd_pos_max"] > 0.01 and s["network_pos_grad_max"] > 0
