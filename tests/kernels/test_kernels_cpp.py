"""The C++ CPU kernels for gated units: parity with the reference, conventions, gradcheck, the
automatic choice and the fallback.  The extension is built once per cache directory (the first test
that needs it pays the build, ~1 min on 2 cores); every later process reuses it."""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import actlab
from actlab.kernels import GatedMLP, gated, gated_reference

gated_mod = importlib.import_module("actlab.kernels.gated")
_cpu = importlib.import_module("actlab.kernels._cpu")

GATED = ["glu", "reglu", "geglu", "geglu(approximate='tanh')", "swiglu", "swiglu(beta=1.7)", "bilinear"]
DTYPES = [torch.float32, torch.float64]

needs_cpp = pytest.mark.skipif(not _cpu.available(), reason=f"C++ kernels not built here: {_cpu.reason()}")


def _tol(dtype):
    return {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-12, "atol": 1e-13}


def _check(act, a, b, dtype, backend="cpp"):
    a = a.detach().requires_grad_(True)
    b = b.detach().requires_grad_(True)
    c = gated(act, a, b, backend=backend)
    # float32 is held to the float64 reference: torch's own float32 GELU loses up to 0.5 % (relative)
    # in the left tail (x < -3), where the kernel's erfc form stays at rounding level
    a64, b64 = a.detach().double(), b.detach().double()
    r = gated_reference(act, a64, b64).to(dtype)
    torch.testing.assert_close(c, r, **_tol(dtype))
    dc = torch.randn(a.shape, dtype=dtype)
    da, db = torch.autograd.grad(c, (a, b), dc)
    ra, rb = gated_mod._ref_backward(act.gate, a64, b64, dc.double())
    torch.testing.assert_close(da, ra.to(dtype), **_tol(dtype))
    torch.testing.assert_close(db, rb.to(dtype), **_tol(dtype))


@needs_cpp
@pytest.mark.parametrize("name", GATED)
@pytest.mark.parametrize("dtype", DTYPES)
def test_cpp_matches_reference_random_and_odd_shapes(name, dtype):
    act = actlab.get(name)
    g = torch.Generator().manual_seed(7)
    # () and (1,): below one vector; 100_003: several threads' chunks and a ragged tail
    for shape in [(), (1,), (3, 17), (2, 5, 7), (100_003,), (33, 1031)]:
        a = torch.randn(shape, dtype=dtype, generator=g) * 3
        b = torch.randn(shape, dtype=dtype, generator=g)
        _check(act, a, b, dtype)


@needs_cpp
@pytest.mark.parametrize("name", GATED)
def test_cpp_non_contiguous_and_packed(name):
    act = actlab.get(name)
    dt = torch.float64
    base = torch.randn(3, 11, 150, dtype=dt)
    _check(act, base[:, :, ::2], base[:, :, 1::2], dt)  # strided last dim: copied to contiguous rows
    _check(act, base[:, :, :70], base[:, :, 75:145], dt)  # row-strided views: walked in place
    _check(act, base[0].t(), base[1].t(), dt)  # transposed
    x = torch.randn(4, 9, 2 * 67, dtype=dt, requires_grad=True)
    bb, aa = x.chunk(2, dim=-1)
    p, q = gated(act, x, backend="cpp"), gated_reference(act, aa, bb)
    torch.testing.assert_close(p, q)
    dc = torch.randn_like(p)
    torch.testing.assert_close(torch.autograd.grad(p, x, dc)[0], torch.autograd.grad(q, x, dc)[0])
    xt = torch.randn(2 * 5, 4, dtype=dt)
    torch.testing.assert_close(gated(act, xt, dim=0, backend="cpp"), act(xt, dim=0))


@needs_cpp
@pytest.mark.parametrize("name", GATED)
@pytest.mark.parametrize("dtype", DTYPES)
def test_cpp_special_values_follow_conventions(name, dtype):
    """NaN in -> NaN out; +-inf -> the gate's limits (values and closed-form derivative), as the spec path."""
    act = actlab.get(name)
    special = [float("nan"), -float("inf"), float("inf"), 0.0, -0.0, 1e-30, -1e-30, 30.0, -30.0, 800.0, -800.0,
               1e20, -1e20]
    # 9 entries per vector lane count and more, so specials land both in full vectors and in the tail
    a = torch.tensor(special * 3, dtype=dtype)
    b = torch.linspace(-2, 2, a.numel(), dtype=dtype)
    dc = torch.linspace(1, 3, a.numel(), dtype=dtype)
    al, bl = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
    c = gated(act, al, bl, backend="cpp")
    torch.testing.assert_close(c, gated_reference(act, a, b), equal_nan=True, **_tol(dtype))
    da, db = torch.autograd.grad(c, (al, bl), dc)
    ra, rb = gated_mod._ref_backward(act.gate, a, b, dc)
    torch.testing.assert_close(da, ra, equal_nan=True, **_tol(dtype))
    torch.testing.assert_close(db, rb, equal_nan=True, **_tol(dtype))
    # and the same as the torch path (which patches non-finite entries from the spec)
    al2, bl2 = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
    c2 = gated(act, al2, bl2, backend="torch")
    torch.testing.assert_close(c, c2, equal_nan=True, **_tol(dtype))
    for u, v in zip((da, db), torch.autograd.grad(c2, (al2, bl2), dc)):
        torch.testing.assert_close(u, v, equal_nan=True, **_tol(dtype))


def _gelu_mp(xs):
    """Exact GELU and its derivative at float32 points, from mpmath (30 digits)."""
    from mpmath import mp

    with mp.workdps(30):
        v = [(float(mp.mpf(x) * mp.ncdf(x)), float(mp.ncdf(x) + mp.mpf(x) * mp.npdf(x)),
              float(abs(mp.ncdf(x)) + abs(mp.mpf(x) * mp.npdf(x)))) for x in xs.tolist()]
    return (torch.tensor(c, dtype=torch.float64) for c in zip(*v))


@needs_cpp
def test_cpp_exact_gelu_float32_is_accurate_in_both_tails():
    """The float32 exact-GELU gate keeps a few ulp of *relative* accuracy everywhere, the far left tail
    included (torch's float32 erf form is 1e-4 off at x = -3 and 100 % off by x = -10).  Bound: 2e-6,
    ~30 ulp: the tail form is 1.6e-7 (see actlab.kernels._erfc) plus a few roundings; the derivative
    is held to 2e-6 relative to |Phi| + |x phi|, the size of the two terms that cancel near its zero
    at x = -0.75."""
    act = actlab.get("geglu")
    x = torch.cat([torch.linspace(-13.5, 13.5, 5401), torch.tensor([-1e-6, 1e-6, -0.7518, 25.0, -25.0])])
    ref, dref, scale = _gelu_mp(x)
    a, b = x.clone().requires_grad_(True), torch.ones_like(x)
    c = gated(act, a, b, backend="cpp")
    (da,) = torch.autograd.grad(c, a, torch.ones_like(x))
    normal = ref.abs() > 1.2e-38  # below, float32 is subnormal and relative accuracy is not defined
    rel = (c.double() - ref).abs() / ref.abs()
    assert rel[normal].max() < 2e-6, f"forward: {rel[normal].max():.2e} at x = {x[normal][rel[normal].argmax()]}"
    tiny = 2.0 ** -149  # the smallest float32 subnormal: there, a few of them of absolute error
    assert (c.double() - ref)[~normal].abs().max() < 32 * tiny
    dnormal = scale > 1.2e-38
    drel = (da.double() - dref).abs() / scale
    assert drel[dnormal].max() < 2e-6, f"derivative: {drel[dnormal].max():.2e} at x = {x[dnormal][drel[dnormal].argmax()]}"
    assert (da.double() - dref)[~dnormal].abs().max() < 32 * tiny


def test_erfc_tail_coefficients_are_the_fit_and_meet_their_bound():
    """The kernels' tail coefficients are what _erfc.fit() derives, and the form is within 1e-7 of
    mpmath over x in [0, 40] (float64 evaluation; float32 rounding adds ~3 ulp on top)."""
    import numpy as np
    from mpmath import mp

    from actlab.kernels import _erfc

    fitted = np.float32(_erfc.fit())
    assert np.array_equal(fitted, np.float32(_erfc.COEFFS)), (fitted, _erfc.COEFFS)
    xs = np.concatenate([np.linspace(0, 40, 801), [1e-8, 0.5, 1.0, 2.0, 5.0]])
    with mp.workdps(30):
        ref = np.array([float(mp.ncdf(-x)) for x in xs])
    ok = ref > 1e-300
    rel = np.abs(_erfc.tail(xs[ok]) / ref[ok] - 1)
    assert rel.max() < 1e-7, rel.max()
    # and the C++ literal of each coefficient is that float32 exactly
    assert all(float(np.float32(v)) == v for v in _erfc.COEFFS)
    assert _erfc.cpp_float(1 / 3) == "0.3333333432674408f"


@needs_cpp
@pytest.mark.parametrize("name", GATED)
def test_cpp_gradcheck_float64(name):
    act = actlab.get(name)
    a = torch.randn(3, 7, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, 7, dtype=torch.float64, requires_grad=True)
    if name == "reglu":  # keep away from the kink, where finite differences are not the derivative
        a = (a.detach() + torch.where(a.detach() >= 0, 0.1, -0.1)).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda u, v: gated(act, u, v, backend="cpp"), (a, b))
    x = torch.randn(2, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: gated(act, t, backend="cpp"), (x,))


@needs_cpp
def test_auto_uses_cpp_on_cpu_and_torch_for_half(monkeypatch):
    calls = {"forward": 0, "backward": 0}
    for fn in ("forward", "backward"):
        orig = getattr(_cpu, fn)

        def spy(*args, _orig=orig, _fn=fn):
            calls[_fn] += 1
            return _orig(*args)

        monkeypatch.setattr(_cpu, fn, spy)
    a = torch.randn(64, requires_grad=True)
    b = torch.randn(64, requires_grad=True)
    gated("swiglu", a, b).sum().backward()
    assert calls == {"forward": 1, "backward": 1}
    gated("geglu", torch.randn(4, 8, requires_grad=True)).sum().backward()  # packed
    assert calls == {"forward": 2, "backward": 2}
    m = GatedMLP(8, 16, "swiglu")
    m(torch.randn(5, 8, requires_grad=True)).sum().backward()
    assert calls["forward"] >= 4 and calls["backward"] >= 3  # forward h, backward h recompute, grads
    before = dict(calls)
    gated("swiglu", torch.randn(64, dtype=torch.bfloat16), torch.randn(64, dtype=torch.bfloat16))
    gated("swiglu", a, b, backend="torch")
    assert calls == before
    assert gated_mod._resolve("auto", actlab.get("swiglu").gate, a, b) == "cpp"


@needs_cpp
def test_gated_mlp_cpp_matches_torch_path():
    torch.manual_seed(0)
    x = torch.randn(7, 12, dtype=torch.float64, requires_grad=True)
    m = GatedMLP(12, 20, "geglu", bias=True, dtype=torch.float64)
    y = m(x)
    grads = torch.autograd.grad(y.sum(), [x, *m.parameters()])
    yr = m.forward_reference(x)
    torch.testing.assert_close(y, yr)
    for u, v in zip(grads, torch.autograd.grad(yr.sum(), [x, *m.parameters()])):
        torch.testing.assert_close(u, v)


def test_backend_cpp_clear_errors():
    with pytest.raises(ValueError, match="float32 and float64"):
        gated("swiglu", torch.randn(4, dtype=torch.float16), torch.randn(4, dtype=torch.float16), backend="cpp")


def _fresh_state(monkeypatch):
    for k, v in {"tried": False, "module": None, "seconds": None, "reason": None}.items():
        monkeypatch.setitem(_cpu._state, k, v)


def test_no_cpp_env_forces_torch_path(monkeypatch, caplog):
    _fresh_state(monkeypatch)
    monkeypatch.setenv("ACTLAB_NO_CPP", "1")
    with caplog.at_level(logging.INFO, logger="actlab.kernels"):
        assert _cpu.load() is None
        act = actlab.get("swiglu")
        a = torch.randn(50, dtype=torch.float64, requires_grad=True)
        b = torch.randn(50, dtype=torch.float64, requires_grad=True)
        assert gated_mod._resolve("auto", act.gate, a, b) == "torch"
        _check(act, a, b, torch.float64, backend="auto")
        with pytest.raises(RuntimeError, match="could not be built"):
            gated(act, a, b, backend="cpp")
    lines = [r for r in caplog.records if "ACTLAB_NO_CPP" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.INFO


def test_build_failure_falls_back_with_one_log_line(monkeypatch, caplog):
    _fresh_state(monkeypatch)
    monkeypatch.delenv("ACTLAB_NO_CPP", raising=False)

    def broken():
        raise RuntimeError("Error building extension 'x': c++: command not found")

    monkeypatch.setattr(_cpu, "_build", broken)
    with caplog.at_level(logging.INFO, logger="actlab.kernels"):
        a = torch.randn(3, 9, requires_grad=True)
        b = torch.randn(3, 9, requires_grad=True)
        _check(actlab.get("geglu"), a, b, torch.float32, backend="auto")
        _check(actlab.get("glu"), a, b, torch.float32, backend="auto")
    msgs = [r.getMessage() for r in caplog.records if r.name == "actlab.kernels"]
    assert len(msgs) == 1 and "unavailable" in msgs[0] and "command not found" in msgs[0]


@needs_cpp
def test_build_is_reused_by_another_process():
    """A second process loads the cached library: it does not rebuild (the .so is untouched)."""
    sos = sorted(_cpu.cache_dir().glob("actlab_gated_*/*.so"), key=lambda p: p.stat().st_mtime)
    so = sos[-1]
    before = so.stat().st_mtime_ns
    code = textwrap.dedent("""
        import torch
        from actlab.kernels import _cpu, gated
        assert _cpu.available(), _cpu.reason()
        a = torch.randn(10, requires_grad=True)
        gated("swiglu", a, a.detach()).sum().backward()
        print(_cpu.load().__file__)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "ACTLAB_CACHE": str(_cpu.cache_dir().parent)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(so)
    assert so.stat().st_mtime_ns == before


def test_a_first_build_says_so_in_one_line(monkeypatch, tmp_path, capsys):
    """The first call that builds the C++ kernels stalls for about a minute: it prints one line saying
    why (issue 15); a cached build prints nothing.  The compiler is replaced by a recorder here."""
    import torch.utils.cpp_extension as ext

    calls = []
    monkeypatch.setenv("ACTLAB_CACHE", str(tmp_path))
    monkeypatch.setattr(ext, "load_inline", lambda **kw: calls.append(kw) or object())
    _cpu._build()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(calls) == 1 and len(err) == 1 and err[0].startswith("actlab: compiling the C++ gated kernels")
    build = Path(calls[0]["build_directory"])
    (build / f"{calls[0]['name']}.so").write_bytes(b"")  # what a finished build leaves
    _cpu._build()
    assert capsys.readouterr().err == "" and len(calls) == 2
