"""Every registered activation inside compiled and exported models (issue 15).

For each spec, one graph holds the module form and the functional form, forward and backward:
``torch.compile(fullgraph=True)`` must trace it with zero graph breaks, and the compiled values and
gradients must equal eager's -- which the contract suite holds to mpmath and to the closed-form
derivative -- on an input that includes NaN, +-inf, far tails and the kinks, so the conventions are
checked inside the graph, not only in eager.  The suite uses the ``aot_eager`` backend (Dynamo and
AOTAutograd trace exactly what inductor would receive, without generating C++), tiny tensors and
``dynamic=False``; a few activations also go through inductor, whose generated kernels must give the
same numbers.  ``torch.export`` exports a model using each activation, and the exported program
must compute what the model does.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn

import actlab
from actlab.zoo import all_specs

# Dynamo instantiates autograd.Function classes while tracing them and torch warns about its own
# instantiation (torch 2.13); inductor's own imports use the deprecated torch.jit.script_method
pytestmark = [pytest.mark.filterwarnings("ignore:.*should not be instantiated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:.*torch.jit.script_method. is deprecated:DeprecationWarning")]

SPECS = all_specs()
ids = [s.name for s in SPECS]
SPECIAL = [math.nan, -math.inf, math.inf, -1e4, -40.0, -3.0, -1.0, -0.5, -1e-3, 0.0, 1e-3, 0.5, 1.0, 3.0, 40.0, 1e4]


def _input(act: actlab.Activation, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    if act.is_gated:  # packed layout (..., 2f): value half then gating half
        g = torch.tensor(SPECIAL, dtype=dtype)
        return torch.cat([torch.linspace(-2, 2, g.numel(), dtype=dtype), g]).reshape(1, -1)
    pts = sorted(set(SPECIAL[3:]) | set(act.kinks) | {k + 1e-3 for k in act.kinks} | {k - 1e-3 for k in act.kinks})
    return torch.tensor(SPECIAL[:3] + pts, dtype=dtype)


def _module(act: actlab.Activation) -> nn.Module:
    learnable = any(p.learnable for p in act.spec.params)
    return act.module(learn=True) if learnable else act.module()


def _forms(act: actlab.Activation):
    """The module form and the functional form.  Without learned parameters the module's forward *is*
    the functional form (``self.activation(x)``), so tracing it traces both; the functional form is
    traced on its own only where the module computes differently (learned parameters)."""
    m = _module(act)
    learned = bool(list(m.parameters()))

    def f(x_module: torch.Tensor, x_functional: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return m(x_module), (act(x_functional) if learned else x_functional * 1)

    return m, f


def _weights(y: torch.Tensor) -> torch.Tensor:
    return torch.linspace(0.5, 1.5, y.numel(), dtype=y.dtype).reshape(y.shape)


def _value_and_grad(fn, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    xg = x.detach().clone().requires_grad_(True)
    y = fn(xg)
    (g,) = torch.autograd.grad((y * _weights(y)).nansum(), xg)
    return y.detach(), g


def _check_compiled(specs) -> list[str]:
    """Compile the module and functional forms of ``specs`` as *one* graph (compiling is mostly fixed
    cost per graph: one graph for the registry takes a fraction of one per activation) and compare
    with eager; return what failed, naming each activation (a failing graph is retried one
    activation at a time so the culprit is named)."""
    acts = [actlab.get(s) for s in specs]
    forms = [_forms(a) for a in acts]
    xs = [_input(a) for a in acts]

    def f(xm: list[torch.Tensor], xf: list[torch.Tensor]) -> list[tuple[torch.Tensor, ...]]:
        return [fw[1](a, b) for fw, a, b in zip(forms, xm, xf)]

    def run(fn) -> list[list[torch.Tensor]]:
        xm = [x.detach().clone().requires_grad_(True) for x in xs]
        xf = [x.detach().clone().requires_grad_(True) for x in xs]
        outs = fn(xm, xf)
        # one backward over every output (a compiled graph's backward gets every output's gradient, so
        # separate ones would feed it zeros, and 0 * inf is NaN); a weight per element so each entry's
        # gradient is seen, nansum so NaN outputs do not hide the others
        loss = sum(((o * _weights(o)).nansum() for pair in outs for o in pair), torch.zeros((), dtype=torch.float64))
        grads = torch.autograd.grad(loss, xm + xf)
        n = len(xs)
        return [[outs[i][0].detach(), outs[i][1].detach(), grads[i], grads[n + i]] for i in range(n)]

    try:
        # fullgraph=True: any graph break raises, so this is the zero-graph-breaks check
        got = run(torch.compile(f, backend="aot_eager", fullgraph=True, dynamic=False))
    except Exception as e:  # noqa: BLE001  (name the activation that breaks the graph)
        if len(specs) == 1:
            return [f"{specs[0].name}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"]
        torch._dynamo.reset()
        return [msg for s in specs for msg in _check_compiled([s])]
    want = run(f)
    bad = []
    for spec, act, (m, _), x, g, w in zip(specs, acts, forms, xs, got, want):
        if not list(m.parameters()):  # the compiled module is the functional form: eager act(x) is the reference
            ym, ((yf, gf),) = g[0], [_value_and_grad(act, x)]
            g, w = [ym, ym, g[2], g[2]], [w[0], yf, w[2], gf]
        for part, gt, wt in zip(("module value", "functional value", "module grad", "functional grad"), g, w):
            if not torch.allclose(gt, wt, rtol=1e-12, atol=1e-300, equal_nan=True):
                bad.append(f"{spec.name} {part}: compiled {gt.tolist()} eager {wt.tolist()}")
        # the module form gives the functional form's numbers inside the graph too (learned parameters
        # start at the spec's defaults)
        if not torch.allclose(g[0], g[1], rtol=1e-12, atol=1e-300, equal_nan=True):
            bad.append(f"{spec.name}: compiled module {g[0].tolist()} != compiled functional {g[1].tolist()}")
    return bad


def test_every_activation_compiles_fullgraph_with_conventions_forward_and_backward():
    bad = _check_compiled(SPECS)
    assert not bad, "\n".join(bad)


def test_a_graph_break_is_caught_and_named():
    """Fault injection: an activation whose formula branches on data cannot compile with fullgraph, and
    the check names it."""
    from actlab.zoo import ActivationSpec

    def branchy(x):
        return x * 2 if bool((x > 0).all()) else x

    spec = ActivationSpec(name="branchy", summary="s", formula="f", family="test", reference="r", fn=branchy,
                          derivative=lambda x: torch.full_like(x, 2.0), limits=None)
    bad = _check_compiled([spec])
    assert len(bad) == 1 and bad[0].startswith("branchy:")


def _export_model(act: actlab.Activation) -> nn.Module:
    width = 8
    return nn.Sequential(nn.Linear(4, width), _module(act), nn.Linear(width // 2 if act.is_gated else width, 2)).double()


def test_every_activation_exports_in_a_model():
    """One model holding a small Linear -> activation -> Linear block per registered activation is
    exported once (``strict=False``, the default kind); the exported program computes what the model
    does, on an input with an infinite entry so the conventions are exported too."""
    torch.manual_seed(0)
    blocks = nn.ModuleDict({s.name: _export_model(actlab.get(s)) for s in SPECS})

    class All(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = blocks

        def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
            return [b(x) for b in self.blocks.values()]

    x = torch.randn(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 4
    x[0, 0] = math.inf
    model = All()
    try:
        ep = torch.export.export(model, (x,), strict=False)
    except Exception:  # name the activations that do not export
        failed = []
        for name, block in blocks.items():
            try:
                torch.export.export(block, (x,), strict=False)
            except Exception as e:  # noqa: BLE001
                failed.append(f"{name}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        raise AssertionError("\n".join(failed)) from None
    for name, got, want in zip(blocks, ep.module()(x), model(x)):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-300, equal_nan=True, msg=lambda m: f"{name}: {m}")


def test_inductor_kernels_keep_the_values_and_conventions():
    """Generated C++ (inductor), float32, one graph for relu (module), silu and gelu (functional): values
    equal eager's, NaN and +-inf included (silu(-inf) is 0 here, NaN in torch's kernel)."""
    relu_m, silu, gelu = actlab.get("relu").module(), actlab.get("silu"), actlab.get("gelu")

    def f(x: torch.Tensor) -> torch.Tensor:
        return torch.stack([relu_m(x), silu(x), gelu(x)])

    x = _input(silu, torch.float32)
    with torch.no_grad():  # forward only: one C++ compile (the backward graphs are checked above, by aot_eager)
        got, want = torch.compile(f, fullgraph=True, dynamic=False)(x), f(x)
    torch.testing.assert_close(got, want, rtol=2e-6, atol=1e-30, equal_nan=True)
    assert got[1:, 1].tolist() == [0.0, 0.0] and got[:, 2].tolist() == [math.inf] * 3  # -inf, +inf


def test_torch_func_transforms_still_work():
    """vmap/grad/jacrev over the functional form take the branch-free path (no data-dependent branch)."""
    from torch.func import grad, jacrev, vmap

    for name in ("silu", "relu", "squareplus", "gelu"):
        act = actlab.get(name)
        x = torch.tensor([-math.inf, -2.0, 0.5, 3.0, math.inf], dtype=torch.float64)
        d = vmap(grad(lambda t: act(t)))(x)
        torch.testing.assert_close(d, act.derivative(x), rtol=1e-12, atol=0)
        torch.testing.assert_close(torch.diagonal(jacrev(act)(x[1:-1])), act.derivative(x[1:-1]), rtol=1e-12, atol=0)


def test_fused_gated_kernels_and_gated_mlp_compile_fullgraph():
    """``kernels.gated`` (separate and packed) and ``GatedMLP`` call our C++/Triton kernels in eager mode,
    which a graph cannot hold; traced, they become the composition the compiler fuses, with the same
    values and gradients as eager."""
    from actlab.kernels import GatedMLP, gated

    torch.manual_seed(0)
    mlp = GatedMLP(6, 10, "swiglu").double()
    a, b = (torch.randn(3, 5, dtype=torch.float64) for _ in range(2))
    a[0, 0], a[1, 1] = math.inf, -math.inf

    geglu, swiglu = actlab.get("geglu"), actlab.get("swiglu")  # resolved outside: parsing a name cannot be traced

    def f(x, a, b):
        return mlp(x).sum() + gated(geglu, a, b).sum() + gated(swiglu, torch.cat([b, a], -1)).sum()

    x = torch.randn(4, 6, dtype=torch.float64)
    compiled = torch.compile(f, backend="aot_eager", fullgraph=True, dynamic=False)
    for fn in (compiled, f):
        ins = [t.clone().requires_grad_(True) for t in (x, a, b)]
        out = fn(*ins)
        grads = torch.autograd.grad(out, ins)
        if fn is compiled:
            got = (out.detach(), grads)
        else:
            want = (out.detach(), grads)
    torch.testing.assert_close(got[0], want[0], rtol=1e-12, atol=0, equal_nan=True)
    for g, w in zip(got[1], want[1]):
        torch.testing.assert_close(g, w, rtol=1e-10, atol=1e-300, equal_nan=True)
