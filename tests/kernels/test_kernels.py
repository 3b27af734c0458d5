"""Kernels: parity with the reference path, saved bytes, functorch, errors, Triton (interpreter)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F
from torch.autograd.graph import saved_tensors_hooks

import actlab
from actlab.kernels import GatedMLP, gated, gated_reference, lean, plan
import importlib

gated_mod = importlib.import_module("actlab.kernels.gated")

GATED = ["glu", "reglu", "geglu", "geglu(approximate='tanh')", "swiglu", "bilinear", "swiglu(beta=1.7)"]
DTYPES = [torch.float32, torch.float64]


def _tol(dtype):
    return {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 1e-13}


def _shapes(seed):
    g = torch.Generator().manual_seed(seed)
    return [tuple(int(v) for v in torch.randint(1, 9, (int(torch.randint(1, 4, (1,), generator=g)),), generator=g))
            for _ in range(3)] + [(1,), (3, 17), ()]


def _saved(fn):
    seen = {}

    def pack(t):
        seen[t.untyped_storage().data_ptr()] = t.numel()
        return t

    with saved_tensors_hooks(pack, lambda t: t):
        fn()
    return seen


@pytest.mark.parametrize("name", GATED)
@pytest.mark.parametrize("dtype", DTYPES)
def test_gated_separate_matches_reference(name, dtype):
    act = actlab.get(name)
    for i, shape in enumerate(_shapes(len(name))):
        a = torch.randn(shape, dtype=dtype, requires_grad=True)
        b = torch.randn(shape, dtype=dtype, requires_grad=True)
        # held to the float64 reference: torch's float32 GELU loses up to 0.5 % in the left tail (x < -3),
        # where the C++ kernel stays at rounding level
        a64, b64 = a.detach().double().requires_grad_(True), b.detach().double().requires_grad_(True)
        c, r = gated(act, a, b), gated_reference(act, a64, b64)
        torch.testing.assert_close(c, r.to(dtype), **_tol(dtype))
        dc = torch.randn(shape, dtype=dtype)
        for u, v in zip(torch.autograd.grad(c, (a, b), dc), torch.autograd.grad(r, (a64, b64), dc.double())):
            torch.testing.assert_close(u, v.to(dtype), **_tol(dtype))


@pytest.mark.parametrize("name", GATED)
def test_gated_non_contiguous_large_and_packed(name, monkeypatch):
    monkeypatch.setattr(gated_mod, "BLOCK", 64)  # many blocks, partial last block, rows wider than a block
    act = actlab.get(name)
    base = torch.randn(2, 13, 150, dtype=torch.float64, requires_grad=True)
    a, b = base[:, :, ::2], base[:, :, 1::2]  # non-contiguous
    assert not a.is_contiguous()
    c, r = gated(act, a, b), gated_reference(act, a, b)
    torch.testing.assert_close(c, r)
    torch.testing.assert_close(torch.autograd.grad(c.sum(), base)[0], torch.autograd.grad(r.sum(), base)[0])
    x = torch.randn(3, 7, 2 * 67, dtype=torch.float64, requires_grad=True)
    bb, aa = x.chunk(2, dim=-1)
    p, q = gated(act, x), gated_reference(act, aa, bb)
    torch.testing.assert_close(p, q)
    dc = torch.randn_like(p)
    torch.testing.assert_close(torch.autograd.grad(p, x, dc)[0], torch.autograd.grad(q, x, dc)[0])
    xt = torch.randn(2 * 5, 4, dtype=torch.float64)  # packed along dim 0 of a transposed layout
    torch.testing.assert_close(gated(act, xt, dim=0), act(xt, dim=0))


@pytest.mark.parametrize("name", ["swiglu", "geglu", "reglu", "glu"])
def test_gated_gradcheck_and_double_backward(name):
    act = actlab.get(name)
    a = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: gated(act, a, b), (a, b))
    assert torch.autograd.gradgradcheck(lambda a, b: gated(act, a, b), (a, b))
    x = torch.randn(3, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: gated(act, x), (x,))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_gated_half_computes_in_float32(dtype):
    act = actlab.get("swiglu")
    a, b = torch.randn(300, dtype=dtype), torch.randn(300, dtype=dtype)
    expect = (torch.nn.functional.silu(a.float()) * b.float()).to(dtype)
    torch.testing.assert_close(gated(act, a, b), expect, rtol=0, atol=0)


def test_gated_nonfinite_follow_conventions():
    act = actlab.get("swiglu")
    a = torch.tensor([float("nan"), -float("inf"), float("inf"), 1.0], requires_grad=True)
    b = torch.ones(4, requires_grad=True)
    c = gated(act, a, b)
    assert torch.isnan(c[0]) and c[1] == 0 and c[2] == float("inf")
    da, db = torch.autograd.grad(c.sum(), (a, b))
    # the closed form's conventions (autograd through the reference's where-fixes would give NaN)
    ra, rb = act.gate.derivative(a.detach()), act.gate(a.detach())
    torch.testing.assert_close(da, ra, equal_nan=True)
    torch.testing.assert_close(db, rb, equal_nan=True)


def test_gated_keeps_two_tensors_eager_three():
    a = torch.randn(1000, requires_grad=True)
    b = torch.randn(1000, requires_grad=True)
    fused = _saved(lambda: gated("swiglu", a, b))
    eager = _saved(lambda: torch.nn.functional.silu(a) * b)
    assert sorted(fused.values()) == [1000, 1000]
    assert len([n for n in eager.values() if n == 1000]) == 3


def test_gated_under_vmap_and_grad():
    act = actlab.get("swiglu")
    a, b = torch.randn(4, 6, dtype=torch.float64), torch.randn(4, 6, dtype=torch.float64)
    torch.testing.assert_close(torch.func.vmap(lambda u, v: gated(act, u, v))(a, b), gated_reference(act, a, b))
    g = torch.func.grad(lambda u: gated(act, u, b[0]).sum())(a[0])
    torch.testing.assert_close(g, b[0] * act.gate.derivative(a[0]))
    x = torch.randn(4, 6, dtype=torch.float64)
    torch.testing.assert_close(torch.func.vmap(lambda t: gated(act, t))(x), gated(act, x))


def test_gated_clear_errors():
    with pytest.raises(TypeError, match="float"):
        gated("swiglu", torch.arange(4), torch.arange(4))
    with pytest.raises(ValueError, match="same shape"):
        gated("swiglu", torch.randn(3), torch.randn(4))
    with pytest.raises(ValueError, match="odd size"):
        gated("swiglu", torch.randn(3, 5))
    with pytest.raises(TypeError, match="not a gated unit"):
        gated("silu", torch.randn(4), torch.randn(4))
    if os.environ.get("TRITON_INTERPRET", "0") in ("", "0"):
        with pytest.raises(ValueError, match="CUDA"):
            gated("swiglu", torch.randn(4), torch.randn(4), backend="triton")
    with pytest.raises(ValueError, match="backend"):
        gated("swiglu", torch.randn(4), torch.randn(4), backend="cuda")


# -- pointwise --------------------------------------------------------------------------------------
POINTWISE = [s for s in actlab.list_activations() if not actlab.get(s).is_gated]


@pytest.mark.parametrize("name", POINTWISE)
def test_plan_keeps_at_most_the_input(name):
    act = actlab.get(name)
    x = torch.randn(257, requires_grad=True)
    plan(act)  # the one-off probe saves its own small tensors; measure the steady state
    kept = _saved(lambda: act(x))
    # activation-sized tensors only: PReLU's native form also keeps its (1-element) weight
    assert sum(v for v in kept.values() if v > 1) <= x.numel(), plan(act)


def test_plan_does_not_depend_on_the_grad_mode_of_the_first_call():
    act = actlab.get("quick_gelu")
    plan.cache_clear()
    with torch.no_grad():
        act(torch.randn(8))
    assert plan(act).saved_tensors > 1 and plan(act).kind == "lean"


def test_plan_is_measured_not_listed():
    assert plan(actlab.get("squareplus")).kind == "lean"  # composite: autograd would keep 4 tensors
    assert plan(actlab.get("squareplus")).saved_tensors > 1
    assert plan(actlab.get("silu")).kind == "native_fixed"  # F.silu(-inf) is NaN, the zoo says 0
    # torch's sigmoid forward is right everywhere, its backward (1 - y) y rounds sigmoid'(40) = 4.2e-18 to 0:
    # native forward without a finiteness check, closed-form backward
    p = plan(actlab.get("sigmoid"))
    assert (p.kind, p.native_forward, p.forward_check) == ("lean", True, False)
    assert plan(actlab.get("erf")).kind == "native"
    # torch's softplus returns x past 20 (not the spec's value): the spec's own formula, one native
    # logaddexp whose backward is right, runs natively instead
    p = plan(actlab.get("softplus"))
    assert p.kind == "native" and p.native is not F.softplus
    x = torch.tensor([40.0], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(actlab.get("sigmoid")(x).sum(), x)
    assert g.item() == pytest.approx(4.248354255291589e-18, rel=1e-12)  # mpmath: e^-40/(1+e^-40)^2


@pytest.mark.parametrize("name", ["squareplus", "silu", "gelu", "mish", "elu", "softsign"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_lean_matches_spec_and_gradchecks(name, dtype):
    act, f = actlab.get(name), lean(name)
    x = torch.randn(5, 7, dtype=dtype).t().requires_grad_()  # non-contiguous
    torch.testing.assert_close(f(x), act._value(x.detach()), **_tol(dtype))
    (g,) = torch.autograd.grad(f(x).sum(), x)
    torch.testing.assert_close(g, act.derivative(x.detach()), **_tol(dtype))
    if dtype == torch.float64:
        xs = torch.randn(6, dtype=dtype, requires_grad=True)
        assert torch.autograd.gradcheck(f, (xs,))
        assert torch.autograd.gradgradcheck(f, (xs,))
    v = torch.func.vmap(f)(x.detach())
    torch.testing.assert_close(v, f(x.detach()))
    torch.testing.assert_close(torch.func.grad(lambda t: f(t).sum())(x.detach()), g)


def test_lean_errors():
    with pytest.raises(TypeError, match="float"):
        lean("squareplus")(torch.arange(3))
    with pytest.raises(TypeError, match="gated"):
        lean("swiglu")


# -- GatedMLP ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("name", ["swiglu", "geglu", "reglu"])
def test_gated_mlp_matches_reference(name, bias, monkeypatch):
    mlp = importlib.import_module("actlab.kernels.mlp")

    monkeypatch.setattr(mlp, "ROWS", 7)  # several token chunks, a partial last one
    torch.manual_seed(0)
    m = GatedMLP(12, 20, name, bias=bias).double()
    x = torch.randn(3, 11, 12, dtype=torch.float64, requires_grad=True)
    y, r = m(x), m.forward_reference(x)
    torch.testing.assert_close(y, r)
    params = [x, *m.parameters()]
    dy = torch.randn_like(y)
    for u, v in zip(torch.autograd.grad(y, params, dy), torch.autograd.grad(r, params, dy)):
        torch.testing.assert_close(u, v)
    assert torch.autograd.gradcheck(lambda t: m(t), (x[:1, :3].detach().requires_grad_(),))


def test_gated_mlp_keeps_two_ffn_tensors_eager_four():
    torch.manual_seed(0)
    tokens, ffn = 64, 48
    m = GatedMLP(16, ffn)
    x = torch.randn(tokens, 16, requires_grad=True)
    ours = _saved(lambda: m(x))
    eager = _saved(lambda: m.down_proj(torch.nn.functional.silu(m.gate_proj(x)) * m.up_proj(x)))
    assert len([n for n in ours.values() if n == tokens * ffn]) == 2
    assert len([n for n in eager.values() if n == tokens * ffn]) == 4


def test_gated_mlp_functorch_and_errors():
    m = GatedMLP(6, 10).double()
    x = torch.randn(4, 6, dtype=torch.float64)
    torch.testing.assert_close(torch.func.vmap(m)(x.unsqueeze(1)).squeeze(1), m(x))
    params = dict(m.named_parameters())
    g = torch.func.grad(lambda p: torch.func.functional_call(m, p, (x,)).sum())(params)
    ref = torch.autograd.grad(m.forward_reference(x).sum(), list(params.values()))
    for u, v in zip(g.values(), ref):
        torch.testing.assert_close(u, v)
    xr = x.clone().requires_grad_()
    (gx,) = torch.autograd.grad(m(xr).sum(), xr, create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable|does not require grad"):
        torch.autograd.grad(gx.sum(), xr)
    with pytest.raises(TypeError, match="not a gated unit"):
        GatedMLP(4, 8, "silu")
    with pytest.raises(ValueError, match="positive integer"):
        GatedMLP(0, 8)
    with pytest.raises(TypeError, match="float"):
        m(torch.arange(6).reshape(1, 6))


# -- Triton kernels under the CPU interpreter -------------------------------------------------------
_TRITON_SCRIPT = textwrap.dedent("""
    import math, os
    DEV = os.environ.get("ACTLAB_TEST_DEVICE", "cpu")
    if DEV == "cpu":
        os.environ["TRITON_INTERPRET"] = "1"   # before triton is imported, as the interpreter requires
    import torch, actlab
    from actlab.kernels import gated, gated_reference, GatedMLP, _triton
    from actlab.kernels.gated import triton_args, _ref_backward
    import importlib
    lean_mod = importlib.import_module("actlab.kernels.lean")
    gated_mod = importlib.import_module("actlab.kernels.gated")
    assert DEV == "cpu" or gated_mod._triton_device(torch.ones(1, device=DEV))
    torch.manual_seed(0)
    F32 = dict(rtol=1e-5, atol=1e-6)
    for name in ["glu", "reglu", "geglu", "geglu(approximate='tanh')", "swiglu", "swiglu(beta=1.7)", "bilinear"]:
        act = actlab.get(name)
        base = torch.randn(3, 2 * 37 + 1, device=DEV) * 3
        a = base[:, 1:38].requires_grad_(); b = base[:, 38:].clone().requires_grad_()
        c = gated(act, a, b, backend="triton")
        # float32 kernels held to the float64 reference
        a64, b64 = a.detach().double(), b.detach().double()
        torch.testing.assert_close(c, gated_reference(act, a64, b64).float(), **F32)
        dc = torch.randn_like(c)
        ra, rb = _ref_backward(act.gate, a64, b64, dc.double())
        for u, v in zip(torch.autograd.grad(c, (a, b), dc), (ra, rb)):
            torch.testing.assert_close(u, v.float(), **F32)
        x = torch.randn(2, 5, 22, device=DEV, requires_grad=True)
        p, q = gated(act, x, backend="triton"), gated(act, x, backend="torch")
        torch.testing.assert_close(p, q, **F32)
        torch.testing.assert_close(torch.autograd.grad(p.sum(), x)[0], torch.autograd.grad(q.sum(), x)[0], **F32)
        # the conventions inside the kernel: NaN -> NaN, +-inf -> the limits, huge finite values
        sp = torch.tensor([math.nan, -math.inf, math.inf, 0.0, -0.0, 1e-30, 30.0, -30.0, 800.0, -800.0, 1e20, -1e20], device=DEV)
        bs = torch.linspace(-2, 2, sp.numel(), device=DEV); dcs = torch.linspace(1, 3, sp.numel(), device=DEV)
        al, bl = sp.clone().requires_grad_(), bs.clone().requires_grad_()
        c = gated(act, al, bl, backend="triton")
        torch.testing.assert_close(c, gated_reference(act, sp, bs), equal_nan=True, **F32)
        ra, rb = _ref_backward(act.gate, sp, bs, dcs)
        for u, v in zip(torch.autograd.grad(c, (al, bl), dcs), (ra, rb)):
            torch.testing.assert_close(u, v, equal_nan=True, **F32)
        # float64 is not theirs: a clear error, and auto keeps torch ops
        try:
            gated(act, a64, b64, backend="triton")
            raise AssertionError("float64 accepted by backend='triton'")
        except ValueError as e:
            assert "float64" in str(e), e
    # the exact-GELU tail keeps float32's relative accuracy (1 + erf would lose 1e-4 at x = -3)
    x = torch.linspace(-13.0, -3.0, 4001, device=DEV)
    args = triton_args(actlab.get("gelu"))
    x64 = x.double()
    ref = 0.5 * x64 * torch.erfc(-x64 / math.sqrt(2))
    dref = 0.5 * torch.erfc(-x64 / math.sqrt(2)) + x64 * torch.exp(-0.5 * x64 * x64) / math.sqrt(2 * math.pi)
    y, d = _triton.pointwise_forward(args, x), _triton.pointwise_backward(args, x, torch.ones_like(x))
    # a GPU's exp is ex2.approx of x * log2(e): its argument's rounding costs |x^2/2| 2^-24 relative,
    # 5e-6 at x = -13 (the interpreter's numpy exp is correctly rounded)
    bound = 2e-6 if DEV == "cpu" else 1e-5
    assert ((y.double() - ref).abs() / ref.abs()).max() < bound
    assert ((d.double() - dref).abs() / dref.abs()).max() < bound
    # pointwise activations on the Triton path (what CUDA tensors get): values, gradients, conventions,
    # double backward through the closed form
    if DEV == "cpu":  # what CUDA tensors get, forced for the interpreter's CPU tensors
        gated_mod._triton_device = lambda t: t.dtype in (torch.float32, torch.float16, torch.bfloat16)
    calls = []
    orig = _triton.pointwise_forward
    _triton.pointwise_forward = lambda *a: calls.append(1) or orig(*a)
    for name in ["gelu", "gelu(approximate='tanh')", "silu", "silu(beta=1.7)"]:
        act = actlab.get(name)
        x = torch.cat([torch.randn(1500, device=DEV) * 4, torch.tensor([math.nan, -math.inf, math.inf, 1e20, -1e20], device=DEV)])
        xr = x.clone().requires_grad_()
        n0 = len(calls); y = act(xr)
        assert len(calls) == n0 + 1, name + ": the Triton kernel was not used"
        x64 = x.double()
        torch.testing.assert_close(y, act(x64).float(), equal_nan=True, **F32)
        (g,) = torch.autograd.grad(y, xr, torch.ones_like(y))
        torch.testing.assert_close(g, act.derivative(x64).float(), equal_nan=True, **F32)
        xs = torch.randn(50, device=DEV, requires_grad=True)
        (g1,) = torch.autograd.grad(act(xs).sum(), xs, create_graph=True)
        (g2,) = torch.autograd.grad(g1.sum(), xs)
        torch.testing.assert_close(g2, act.spec.second_derivative(xs.detach(), **act.params), **F32)
        h = act(torch.randn(64, device=DEV).to(torch.bfloat16)); assert h.dtype == torch.bfloat16
        assert act(torch.randn(8, device=DEV, dtype=torch.float64)).dtype == torch.float64  # float64: torch ops
    # gated units called as activations fuse on the Triton path too; broadcasting keeps the composition
    fused = []
    orig_g = _triton.gated_forward
    _triton.gated_forward = lambda *a: fused.append(1) or orig_g(*a)
    act = actlab.get("swiglu")
    a = torch.randn(4, 30, device=DEV, requires_grad=True); b = torch.randn(4, 30, device=DEV, requires_grad=True)
    y = act(a, b)
    assert fused == [1]
    torch.testing.assert_close(y, act.gate(a) * b, **F32)
    for u, v in zip(torch.autograd.grad(y.sum(), (a, b)), torch.autograd.grad((act.gate(a) * b).sum(), (a, b))):
        torch.testing.assert_close(u, v, **F32)
    torch.testing.assert_close(act(torch.cat([b, a], -1)), y, **F32)  # packed: second half gates
    assert len(fused) == 2
    y = act(a, b[:1])
    assert len(fused) == 2 and y.shape == a.shape
    a = torch.randn(64, device=DEV, dtype=torch.bfloat16); b = torch.randn(64, device=DEV, dtype=torch.bfloat16)
    torch.testing.assert_close(gated("swiglu", a, b, backend="triton"), gated("swiglu", a, b, backend="torch"))
    m = GatedMLP(8, 12, backend="triton", device=DEV); x = torch.randn(5, 8, device=DEV, requires_grad=True)
    y, r = m(x), m.forward_reference(x)
    torch.testing.assert_close(y, r)
    torch.testing.assert_close(torch.autograd.grad(y.sum(), x)[0], torch.autograd.grad(r.sum(), x)[0])
    print("TRITON-OK")
""")


def test_triton_kernels_match_torch_under_interpreter():
    pytest.importorskip("triton")
    env = {**os.environ, "TRITON_INTERPRET": "1", "ACTLAB_TEST_DEVICE": "cpu"}
    proc = subprocess.run([sys.executable, "-c", _TRITON_SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0 and "TRITON-OK" in proc.stdout, proc.stderr[-3000:]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (CI has none; run on one when lent)")
def test_triton_kernels_on_a_real_gpu():
    """The same checks compiled for the GPU (no interpreter): auto picks Triton for CUDA tensors."""
    pytest.importorskip("triton")
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"} | {"ACTLAB_TEST_DEVICE": "cuda"}
    proc = subprocess.run([sys.executable, "-c", _TRITON_SCRIPT], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0 and "TRITON-OK" in proc.stdout, proc.stderr[-3000:]


def _compile_for_gpu(kernel, ptrs: dict, scalars: dict, constexprs: dict, arch: int, aligned: bool = False):
    """Compile a Triton kernel ahead of time for an NVIDIA architecture -- no GPU or driver needed.

    ``aligned``: tell the compiler what Triton's launcher infers at run time for the usual tensors
    (pointers and integer arguments divisible by 16)."""
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from actlab.kernels._triton import COMPILE_OPTIONS

    sig = {**ptrs, **scalars, **{k: "constexpr" for k in constexprs}}
    attrs = {}
    if aligned:
        attrs = {(i,): [["tt.divisibility", 16]] for i, (name, ty) in enumerate(sig.items())
                 if ty.startswith("*") or ty in ("i32", "i64")}
    src = ASTSource(fn=kernel, signature=sig, constexprs=constexprs, attrs=attrs)
    return triton.compile(src, target=GPUTarget("cuda", arch, 32), options=dict(COMPILE_OPTIONS))


_GATE_SCALARS = {"beta": "fp32", "g_lo": "fp32", "g_hi": "fp32", "d_lo": "fp32", "d_hi": "fp32"}


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
def test_triton_kernels_compile_to_gpu_code_without_a_gpu(dtype):
    """The interpreter runs the kernels as Python; this compiles them through Triton's real pipeline
    (TTIR -> PTX -> cubin with the bundled ptxas) for Hopper (sm_90) and Ampere (sm_80), every gate,
    both kernels and both layouts' storage types -- so a construct the GPU compiler rejects fails here,
    in CI, not first on a GPU."""
    pytest.importorskip("triton")
    from actlab.kernels import _triton as T

    p = f"*{dtype}"
    fwd = ({"a_ptr": p, "b_ptr": p, "c_ptr": p}, {"n_cols": "i32", "a_stride": "i64", "b_stride": "i64",
                                                   "c_stride": "i64", **_GATE_SCALARS})
    bwd = ({"a_ptr": p, "b_ptr": p, "dc_ptr": p, "da_ptr": p, "db_ptr": p},
           {"n_cols": "i32", "a_stride": "i64", "b_stride": "i64", "dc_stride": "i64", "da_stride": "i64",
            "db_stride": "i64", **_GATE_SCALARS})
    pw_fwd = ({"x_ptr": p, "y_ptr": p}, {"n": "i64", **_GATE_SCALARS})
    pw_bwd = ({"x_ptr": p, "dy_ptr": p, "dx_ptr": p}, {"n": "i64", **_GATE_SCALARS})
    for code in range(6):
        for kernel, (ptrs, scalars) in ((T._gated_fwd_kernel, fwd), (T._gated_bwd_kernel, bwd),
                                        (T._pointwise_fwd_kernel, pw_fwd), (T._pointwise_bwd_kernel, pw_bwd)):
            if kernel in (T._pointwise_fwd_kernel, T._pointwise_bwd_kernel) and code not in (3, 4, 5):
                continue  # pointwise dispatch only takes SiLU and the GELUs
            k = _compile_for_gpu(kernel, ptrs, scalars, {"CODE": code, "LIMITS": True, "BLOCK": 1024}, 90)
            assert k.asm["cubin"] and ".target sm_90" in k.asm["ptx"]
    # the other architecture the kernels are meant for, once
    k = _compile_for_gpu(T._gated_bwd_kernel, *bwd, {"CODE": 4, "LIMITS": True, "BLOCK": 1024}, 80)
    assert ".target sm_80" in k.asm["ptx"]
    # memory-bound kernels need full-width accesses: on aligned tensors every global load and store
    # is a 128-bit vector one (8 bf16 or 4 fp32 per thread and instruction)
    for kernel, (ptrs, scalars) in ((T._gated_fwd_kernel, fwd), (T._gated_bwd_kernel, bwd), (T._pointwise_fwd_kernel, pw_fwd)):
        ptx = _compile_for_gpu(kernel, ptrs, scalars, {"CODE": 4, "LIMITS": True, "BLOCK": 1024}, 90, aligned=True).asm["ptx"]
        loads = [ln for ln in ptx.splitlines() if "ld.global" in ln]
        stores = [ln for ln in ptx.splitlines() if "st.global" in ln]
        assert loads and stores and all(".v4" in ln for ln in loads + stores), (loads, stores)
