from __future__ import annotations

import torch

from actlab.zoo.check import check_activation, problems


def test_registered_activations_pass():
    for name in ("relu", "gelu", "silu", "softplus", "swiglu"):
        assert problems(name) == [], name


def test_problems_are_found_and_explained():
    def exploding(x):
        return torch.exp(x)

    assert any("not finite" in m for m in problems(exploding))

    def not_elementwise(x):
        return x - x.mean()

    assert any("elementwise" in m for m in problems(not_elementwise))

    def detached(x):
        return torch.as_tensor(x.detach().numpy() ** 2)

    assert any("autograd" in m or ".detach()" in m for m in problems(detached))

    def upcasts(x):
        return x.double() * 2

    assert any("cast the result back" in m for m in problems(upcasts))

    def constant(x):
        return torch.ones_like(x) + 0 * x

    assert any("cannot learn" in m for m in problems(constant))

    def crashes(x):
        raise RuntimeError("boom")

    msgs = problems(crashes)
    assert len(msgs) == 1 and "RuntimeError: boom" in msgs[0]


def test_findings_record_passes_too():
    names = {f.check for f in check_activation("tanh") if f.ok}
    assert {"finite", "differentiable", "elementwise", "nan"} <= names
