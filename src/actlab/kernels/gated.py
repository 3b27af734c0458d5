"""Fused gated units ``gate(a) * b`` for separate ``(a, b)`` and packed ``[..., 2f]`` layouts.

Eager ``F.silu(a) * b`` runs two kernels forward and three backward and keeps three tensors
(a, silu(a), b): about 14 element-passes per element where 8 suffice (read a, b, write c forward;
read a, b, dc, write da, db backward).  The fused Function keeps only ``a`` and ``b`` and recomputes
``gate(a)`` in backward.

How it is fused depends on the device:

* CUDA tensors use the Triton kernels (:mod:`actlab.kernels._triton`, imported lazily), one read of
  each input and one write of each output.
* CPU tensors of float32/float64 use the C++ kernels (:mod:`actlab.kernels._cpu`, compiled at first
  use and cached on disk): one vectorised, multi-threaded loop per pass, again one read of each input
  and one write of each output.
* Otherwise (half formats on CPU, no compiler, ``ACTLAB_NO_CPP=1``, a gate the kernels lack) the
  computation is *cache-blocked* torch ops: the tensors are walked in blocks of ``BLOCK`` elements,
  every intermediate of a block lives in cache (L2), and each output is written once into a buffer
  allocated once.  This path is correct everywhere but slower than eager on CPU (issue 7: a
  recompute-based backward in torch ops makes more memory passes than eager autograd).

Reduced precision inputs are computed in float32 per block and cast back.  Inside ``torch.func``
transforms, and for double backward, the same Function uses differentiable reference formulas.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Iterator, Literal

import torch
import torch.nn.functional as F

from ..zoo.activation import Activation, compute_dtype as _compute_dtype
from . import _cpu
from ._conventions import check_float, derivative, transformed, value

__all__ = ["gated", "gated_reference", "GatedFunction", "PackedGatedFunction", "BLOCK", "triton_args"]

#: elements per cache block (4 float32 operands of 64 Ki elements = 1 MiB, the L2 of one core here)
BLOCK = 1 << 16

#: storage dtypes the Triton kernels take (they compute in float32; float64 keeps torch ops)
TRITON_DTYPES = (torch.float32, torch.float16, torch.bfloat16)

Backend = Literal["auto", "torch", "triton", "cpp"]
Kind = Literal["torch", "triton", "cpp"]  # a resolved backend

GateFwd = Callable[[torch.Tensor], torch.Tensor]
GateBwd = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], None]  # (grad_of_gate, a, out) -> writes out


def _gate(act: Activation) -> Activation:
    if not isinstance(act, Activation) or not act.is_gated:
        raise TypeError(f"{act!r} is not a gated unit (glu, reglu, geglu, swiglu, bilinear)")
    return act.gate


@functools.lru_cache(maxsize=256)
def _native_gate(gate: Activation) -> tuple[GateFwd, GateBwd] | None:
    """Single-kernel forward and backward of the gate (aten ops), if it has them and they agree with the spec.

    Used on finite blocks only (non-finite inputs take the spec's path with its conventions).  The
    agreement is checked here on a probe, so a wrong entry falls back instead of giving wrong numbers.
    """
    name, p = gate.spec.name, gate.params
    aten = torch.ops.aten
    pair: tuple[GateFwd, GateBwd] | None
    if name == "silu" and p.get("beta") == 1.0:
        pair = (F.silu, lambda g, a, out: aten.silu_backward.grad_input(g, a, grad_input=out))
    elif name == "gelu":
        ap = str(p["approximate"])
        pair = (lambda a: F.gelu(a, approximate=ap),
                lambda g, a, out: aten.gelu_backward.grad_input(g, a, approximate=ap, grad_input=out))
    elif name == "sigmoid":
        pair = (torch.sigmoid, lambda g, a, out: aten.sigmoid_backward.grad_input(g, torch.sigmoid(a), grad_input=out))
    elif name == "relu":
        pair = (torch.relu, lambda g, a, out: aten.threshold_backward.grad_input(g, a, 0, grad_input=out))
    elif name == "identity":
        pair = (lambda a: a, lambda g, a, out: out.copy_(g))
    else:
        return None
    x = torch.tensor(sorted({-30.0, -5.0, -1.0, -0.3, 0.0, 0.3, 1.0, 5.0, 30.0, *gate.kinks}), dtype=torch.float64)
    out = torch.empty_like(x)
    pair[1](torch.ones_like(x), x, out)
    ok = torch.allclose(pair[0](x), value(gate, x), rtol=1e-9, atol=1e-12) and \
        torch.allclose(out, derivative(gate, x), rtol=1e-9, atol=1e-12)
    return pair if ok else None


def triton_args(gate: Activation) -> tuple[int, float, list[float], bool] | None:
    """The Triton kernels' arguments for a gate -- (code, beta, limits, apply limits) -- or None if they
    do not implement it.  The codes are the C++ kernels' gate ids (see :mod:`actlab.kernels._triton`)."""
    return _cpu.gate_args(gate)


# -- reference (differentiable, functorch-safe) ---------------------------------------------------
def gated_reference(act: Activation, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``gate(a) * b`` by plain autograd, computed in float32 for half inputs: the parity reference."""
    cd = _compute_dtype(a.dtype)
    return (value(_gate(act), a.to(cd)) * b.to(cd)).to(a.dtype)


def traced(act: Activation, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``gate(a) * b`` as a traced graph (``torch.compile``/``torch.export``): the gate's formula with its
    branch-free conventions and closed-form backward, which the compiler fuses with the product into one
    kernel each way -- the fusion the C++/Triton kernels do by hand, without an opaque call that would
    break the graph."""
    cd = _compute_dtype(a.dtype)
    return (_gate(act)(a.to(cd)) * b.to(cd)).to(a.dtype)


def _ref_backward(gate: Activation, a: torch.Tensor, b: torch.Tensor, dc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    cd = _compute_dtype(a.dtype)
    ac, bc, gc = a.to(cd), b.to(cd), dc.to(cd)
    da = gc * bc * derivative(gate, ac)
    db = gc * value(gate, ac)
    return da.to(a.dtype), db.to(b.dtype)


# -- cache-blocked CPU path -----------------------------------------------------------------------
def _blocks(rows: int, cols: int) -> Iterator[tuple[slice, slice]]:
    if cols >= BLOCK:
        for r in range(rows):
            for c in range(0, cols, BLOCK):
                yield slice(r, r + 1), slice(c, c + BLOCK)
    else:
        step = max(1, BLOCK // max(cols, 1))
        for r in range(0, rows, step):
            yield slice(r, r + step), slice(None)


def _all_finite(a: torch.Tensor) -> bool:
    """One cheap read pass: the sum is finite iff no entry is NaN/inf -- or the finite sum overflowed,
    which only sends the call down the (equally correct) spec path.  ``isfinite(a).all()`` would
    allocate full-size temporaries and costs ~10x more on CPU."""
    a = a.detach()  # a check, not part of the graph: autograd must not record (or save) anything for it
    return bool(torch.isfinite(a.sum(dtype=torch.float64 if a.dtype == torch.float64 else torch.float32)))


def _rows_ok(t: torch.Tensor) -> torch.Tensor:
    """``t`` if its rows are contiguous (what the C++ kernels walk), else a contiguous copy."""
    return t if t.stride(-1) == 1 or t.shape[-1] == 1 else t.contiguous()


def _blocked_forward(gate: Activation, a2: torch.Tensor, b2: torch.Tensor, c2: torch.Tensor, kind: Kind = "torch") -> None:
    """c2 = gate(a2) * b2 (2-D views of equal shape): by the C++ kernel, or block by block in torch ops."""
    if kind == "cpp":
        _cpu.forward(_cpu.gate_args(gate), _rows_ok(a2), _rows_ok(b2), c2)  # type: ignore[arg-type]
        return
    native = _native_gate(gate) if _all_finite(a2) else None
    half = a2.dtype != _compute_dtype(a2.dtype)
    with torch.no_grad():
        for rs, cs in _blocks(*a2.shape):
            ab, bb = a2[rs, cs], b2[rs, cs]
            if half:
                ab, bb = ab.float(), bb.float()
            g = native[0](ab) if native is not None else value(gate, ab)
            torch.mul(g, bb, out=c2[rs, cs])


def _blocked_backward(gate: Activation, a2: torch.Tensor, b2: torch.Tensor, dc2: torch.Tensor,
                      da2: torch.Tensor, db2: torch.Tensor, kind: Kind = "torch") -> None:
    """da2 = dc2 * b2 * gate'(a2), db2 = dc2 * gate(a2); gate(a) is recomputed (``da2`` may be ``dc2``)."""
    if kind == "cpp":
        _cpu.backward(_cpu.gate_args(gate), _rows_ok(a2), _rows_ok(b2), _rows_ok(dc2), da2, db2)  # type: ignore[arg-type]
        return
    native = _native_gate(gate) if _all_finite(a2) else None
    half = a2.dtype != _compute_dtype(a2.dtype)
    with torch.no_grad():
        for rs, cs in _blocks(*a2.shape):
            ab, bb, gb = a2[rs, cs], b2[rs, cs], dc2[rs, cs]
            da_out, db_out = da2[rs, cs], db2[rs, cs]
            if half:
                ab, bb, gb = ab.float(), bb.float(), gb.float()
            if native is not None:
                torch.mul(gb, native[0](ab), out=db_out)
                t = gb * bb
                if half:
                    native[1](t, ab, t)
                    da_out.copy_(t)
                else:
                    native[1](t, ab, da_out)
            else:
                torch.mul(gb, value(gate, ab), out=db_out)
                torch.mul(gb * bb, derivative(gate, ab), out=da_out)


def _as_rows(*ts: torch.Tensor) -> list[torch.Tensor]:
    """Equal-shape 2-D views: ``(1, numel)`` when all are contiguous (plain 1-D blocking), else
    ``(rows, last dim)`` (a copy only for a tensor that has no such view)."""
    if all(t.is_contiguous() for t in ts):
        return [t.view(1, -1) for t in ts]
    last = ts[0].shape[-1] if ts[0].dim() else 1
    return [t.reshape(-1, last) for t in ts]


def _cpp_ok(gate: Activation, *ts: torch.Tensor) -> str | None:
    """Why the C++ kernels cannot take these tensors (None if they can)."""
    if not all(t.device.type == "cpu" for t in ts):
        return f"tensors on {ts[0].device}"
    if ts[0].dtype not in _cpu.DTYPES:
        return f"{ts[0].dtype} (they take float32 and float64)"
    if _cpu.gate_args(gate) is None:
        return f"the gate {gate.name}"
    return None


def _resolve(backend: Backend, gate: Activation, *ts: torch.Tensor) -> Kind:
    """The backend that runs: ``auto`` is Triton for CUDA float32/16/bf16, C++ for CPU float32/64, else torch ops."""
    if backend == "torch":
        return "torch"
    if backend == "cpp":
        why = _cpp_ok(gate, *ts)
        if why is not None:
            raise ValueError(f"backend='cpp' does not support {why}; use backend='auto' or 'torch'")
        if not _cpu.available():
            raise RuntimeError(f"backend='cpp': the C++ kernels could not be built here ({_cpu.reason()})")
        return "cpp"
    from . import triton_available

    interp = triton_available(interpret_only=True)
    if backend == "triton":
        if triton_args(gate) is None:
            raise ValueError(f"the Triton kernels do not implement the gate {gate.name}; use backend='torch'")
        if ts[0].dtype not in TRITON_DTYPES:
            raise ValueError(f"backend='triton' computes in float32 and takes float32, float16 and bfloat16, "
                             f"not {ts[0].dtype}; use backend='auto' or 'torch' for float64")
        if not all(t.is_cuda for t in ts) and not interp:
            raise ValueError("backend='triton' needs CUDA tensors (or TRITON_INTERPRET=1 for the CPU interpreter); "
                             f"got a tensor on {ts[0].device}")
        if not triton_available():
            raise RuntimeError("backend='triton' needs the triton package: pip install 'actlab[gpu]'")
        return "triton"
    if (all(t.is_cuda for t in ts) and ts[0].dtype in TRITON_DTYPES and triton_args(gate) is not None
            and triton_available()):
        return "triton"
    if _cpp_ok(gate, *ts) is None and _cpu.available():
        return "cpp"
    return "torch"


@functools.lru_cache(maxsize=1)
def _triton_ok() -> bool:
    from . import triton_available

    return triton_available()


def _triton_device(x: torch.Tensor) -> bool:
    """Whether ``x`` should take the Triton kernels unasked (a CUDA tensor of a dtype they take, triton present)."""
    return x.is_cuda and x.dtype in TRITON_DTYPES and _triton_ok()


def dispatch(act: Activation, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor | None:
    """``act(a, b)`` fused when the Triton kernels take it (CUDA, equal shapes and dtypes), else None.

    CPU tensors keep the composition: the C++ kernels are built on first use (about a minute), which
    a plain call should not trigger; ask for them with :func:`gated`.
    """
    if (a.shape != b.shape or a.dtype != b.dtype or transformed(a, b) or triton_args(act.gate) is None
            or not (_triton_device(a) and _triton_device(b))):
        return None
    return GatedFunction.apply(a, b, act, "triton")


# -- autograd Functions ---------------------------------------------------------------------------
class GatedFunction(torch.autograd.Function):
    """``gate(a) * b`` for separate tensors of one shape; keeps only ``a`` and ``b``."""

    generate_vmap_rule = True

    @staticmethod
    def forward(a: torch.Tensor, b: torch.Tensor, act: Activation, kind: Kind) -> torch.Tensor:  # type: ignore[override]
        gate = act.gate
        if transformed(a, b):
            return gated_reference(act, a, b)
        if kind == "triton":
            from . import _triton

            return _triton.gated_forward(triton_args(gate), a, b)  # type: ignore[arg-type]
        c = torch.empty(a.shape, dtype=a.dtype, device=a.device)
        a2, b2 = _as_rows(a, b)
        _blocked_forward(gate, a2, b2, c.view(a2.shape), kind)
        return c

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        a, b, act, kind = inputs
        ctx.save_for_backward(a, b)
        ctx.act, ctx.kind = act, kind

    @staticmethod
    def backward(ctx: Any, dc: torch.Tensor) -> tuple[Any, ...]:  # type: ignore[override]
        a, b = ctx.saved_tensors
        gate = ctx.act.gate
        if torch.is_grad_enabled() or transformed(a, b, dc):
            da, db = _ref_backward(gate, a, b, dc)
            return da, db, None, None
        if ctx.kind == "triton":
            from . import _triton

            da, db = _triton.gated_backward(triton_args(gate), a, b, dc)  # type: ignore[arg-type]
            return da, db, None, None
        da = torch.empty(a.shape, dtype=a.dtype, device=a.device)
        db = torch.empty(b.shape, dtype=b.dtype, device=b.device)
        a2, b2, dc2 = _as_rows(a, b, dc)
        _blocked_backward(gate, a2, b2, dc2, da.view(a2.shape), db.view(a2.shape), ctx.kind)
        return da, db, None, None


class PackedGatedFunction(torch.autograd.Function):
    """``gate(x[..., f:]) * x[..., :f]`` for packed ``x`` of last dimension ``2f``; keeps only ``x``.

    The gradient is written straight into the two halves of one ``[..., 2f]`` buffer (no ``cat``).
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, act: Activation, kind: Kind) -> torch.Tensor:  # type: ignore[override]
        gate = act.gate
        f = x.shape[-1] // 2
        if transformed(x):
            b, a = x.chunk(2, dim=-1)
            return gated_reference(act, a, b)
        if kind == "triton":
            from . import _triton

            return _triton.packed_forward(triton_args(gate), x)  # type: ignore[arg-type]
        x2 = x.reshape(-1, 2 * f)
        c = torch.empty((*x.shape[:-1], f), dtype=x.dtype, device=x.device)
        _blocked_forward(gate, x2[:, f:], x2[:, :f], c.view(-1, f), kind)
        return c

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        x, act, kind = inputs
        ctx.save_for_backward(x)
        ctx.act, ctx.kind = act, kind

    @staticmethod
    def backward(ctx: Any, dc: torch.Tensor) -> tuple[Any, ...]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        gate = ctx.act.gate
        f = x.shape[-1] // 2
        if torch.is_grad_enabled() or transformed(x, dc):
            b, a = x.chunk(2, dim=-1)
            da, db = _ref_backward(gate, a, b, dc)
            return torch.cat([db, da], dim=-1), None, None
        if ctx.kind == "triton":
            from . import _triton

            return _triton.packed_backward(triton_args(gate), x, dc), None, None  # type: ignore[arg-type]
        x2 = x.reshape(-1, 2 * f)
        dx = torch.empty(x.shape, dtype=x.dtype, device=x.device)
        dx2 = dx.view(-1, 2 * f)
        _blocked_backward(gate, x2[:, f:], x2[:, :f], dc.reshape(-1, f), dx2[:, f:], dx2[:, :f], ctx.kind)
        return dx, None, None


def gated(activation: Any, a: torch.Tensor, b: torch.Tensor | None = None, *, dim: int = -1,
          backend: Backend = "auto") -> torch.Tensor:
    """Fused ``gate(a) * b`` (or packed ``x``: second half gates, as ``torch.nn.functional.glu``).

    Args:
        activation: a gated unit (``"swiglu"``, ``"geglu(approximate='tanh')"``, an ``Activation`` ...);
            inside ``torch.compile`` pass an ``Activation`` made outside (``actlab.get`` parses a name
            with Python's parser, which a graph cannot hold).  Traced, the unit is the composition
            ``gate(a) * b`` for the compiler to fuse (:func:`traced`).
        a: the gate input, or the packed tensor when ``b`` is None.
        b: the value input, same shape as ``a``.
        dim: the packed dimension (packed layout only).
        backend: ``"auto"`` (Triton for CUDA tensors when installed, the C++ kernels for CPU
            float32/float64 when they build, cache-blocked torch ops otherwise), ``"torch"``,
            ``"triton"`` (CUDA, or any device with ``TRITON_INTERPRET=1``) or ``"cpp"``.
    """
    from ..zoo import get

    act = get(activation)
    gate = _gate(act)
    if backend not in ("auto", "torch", "triton", "cpp"):
        raise ValueError(f"backend={backend!r}: must be 'auto', 'torch', 'triton' or 'cpp'")
    if b is None:
        check_float(act.name, a)
        if a.dim() == 0:
            raise ValueError(f"{act.name}: a packed input needs at least one dimension")
        if a.shape[dim] % 2:
            raise ValueError(f"{act.name}: dimension {dim} has odd size {a.shape[dim]}; cannot split in halves")
        x = a if dim in (-1, a.dim() - 1) else a.movedim(dim, -1)
        if torch.compiler.is_compiling():
            b_, a_ = x.chunk(2, dim=-1)
            y = traced(act, a_, b_)
            return y if x is a else y.movedim(-1, dim)
        y = PackedGatedFunction.apply(x, act, _resolve(backend, gate, x))
        return y if x is a else y.movedim(-1, dim)
    check_float(act.name, a, b)
    if a.shape != b.shape:
        raise ValueError(f"{act.name}: a and b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.dtype != b.dtype:
        raise TypeError(f"{act.name}: a and b must have the same dtype, got {a.dtype} and {b.dtype}")
    if torch.compiler.is_compiling():
        return traced(act, a, b)
    return GatedFunction.apply(a, b, act, _resolve(backend, gate, a, b))


def bytes_moved(numel: int, itemsize: int) -> dict[str, int]:
    """Minimum bytes a gated unit on ``numel`` output elements must move (the issue's 3 + 5 passes)."""
    return {"forward": 3 * numel * itemsize, "backward": 5 * numel * itemsize,
            "forward+backward": 8 * numel * itemsize}


