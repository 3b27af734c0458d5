"""``GatedMLP``: the Llama-style gated feed-forward block ``down(gate(x W_g) * (x W_u))``.

Eager PyTorch keeps four ffn-sized tensors for backward -- ``a = x W_g`` (for the gate's backward),
``gate(a)`` and ``b = x W_u`` (for the product's backward) and ``h = gate(a) * b`` (for the down
projection's weight gradient).  Liger-Kernel's fused SiLU-mul keeps three (a, b, h).  Two are enough:
keep ``a`` and ``b`` and recompute ``h`` inside the down projection's backward, where it is needed
for one matrix product and freed at once; the gate's gradient is then written over ``dh`` in place.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from ..zoo.activation import Activation
from ._conventions import check_float, transformed
from .gated import (Backend, Kind, _as_rows, _blocked_backward, _blocked_forward, _gate, _resolve, traced,
                    gated_reference, triton_args)

__all__ = ["GatedMLP", "gated_mlp", "GatedMLPFunction"]


def _h(gate: Activation, a: torch.Tensor, b: torch.Tensor, kind: Kind) -> torch.Tensor:
    h = torch.empty_like(a)
    if kind == "triton":
        from . import _triton

        _triton._launch_fwd(triton_args(gate), a, b, h)  # type: ignore[arg-type]
    else:
        a2, b2, h2 = _as_rows(a, b, h)
        _blocked_forward(gate, a2, b2, h2, kind)
    return h


#: rows (tokens) per chunk: h = gate(a)*b and the ffn-sized gradients exist one chunk at a time
ROWS = 512


def _grad_ab(gate: Activation, a: torch.Tensor, b: torch.Tensor, dh: torch.Tensor, kind: Kind) -> torch.Tensor:
    """Overwrite ``dh`` with da and return db (2-D row chunks)."""
    db = torch.empty_like(b)
    if kind == "triton":
        from . import _triton

        _triton._launch_bwd(triton_args(gate), a, b, dh, dh, db)  # type: ignore[arg-type]
    else:
        a2, b2, dh2, db2 = _as_rows(a, b, dh, db)
        _blocked_backward(gate, a2, b2, dh2, dh2, db2, kind)
    return db


class GatedMLPFunction(torch.autograd.Function):
    """The whole block as one Function; saves x, a, b (and the weights, which are parameters).

    Both passes walk the tokens in chunks of :data:`ROWS`, so ``h``, ``dh`` and the gate's
    gradients are never materialised for all tokens at once; the weight gradients accumulate.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, wg: torch.Tensor, wu: torch.Tensor, wd: torch.Tensor,  # type: ignore[override]
                bg: torch.Tensor | None, bu: torch.Tensor | None, bd: torch.Tensor | None,
                act: Activation, kind: Kind) -> torch.Tensor:
        x2 = x.reshape(-1, x.shape[-1])
        a = F.linear(x2, wg, bg)
        b = F.linear(x2, wu, bu)
        y = torch.empty(x2.shape[0], wd.shape[0], dtype=x.dtype, device=x.device)
        for r in range(0, x2.shape[0], ROWS):
            h = _h(act.gate, a[r:r + ROWS], b[r:r + ROWS], kind)
            torch.matmul(h, wd.t(), out=y[r:r + ROWS])
        if bd is not None:
            y += bd
        ctx.save_for_backward(x, a, b, wg, wu, wd)
        ctx.act, ctx.kind = act, kind
        ctx.biases = (bg is not None, bu is not None, bd is not None)
        return y.view(*x.shape[:-1], wd.shape[0])

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, dy: torch.Tensor) -> tuple[Any, ...]:  # type: ignore[override]
        x, a, b, wg, wu, wd = ctx.saved_tensors
        gate, kind = ctx.act.gate, ctx.kind
        need = ctx.needs_input_grad
        x2 = x.reshape(-1, x.shape[-1])
        dy2 = dy.reshape(-1, dy.shape[-1])
        dx = torch.empty_like(x2) if need[0] else None
        dwg = torch.zeros_like(wg) if need[1] else None
        dwu = torch.zeros_like(wu) if need[2] else None
        dwd = torch.zeros_like(wd) if need[3] else None
        dbg = torch.zeros(wg.shape[0], dtype=wg.dtype, device=wg.device) if ctx.biases[0] and need[4] else None
        dbu = torch.zeros(wu.shape[0], dtype=wu.dtype, device=wu.device) if ctx.biases[1] and need[5] else None
        dbd = dy2.sum(0) if ctx.biases[2] and need[6] else None
        for r in range(0, x2.shape[0], ROWS):
            ar, br, dyr, xr = a[r:r + ROWS], b[r:r + ROWS], dy2[r:r + ROWS], x2[r:r + ROWS]
            if dwd is not None:
                h = _h(gate, ar, br, kind)  # recomputed: the forward did not keep it
                dwd.addmm_(dyr.t(), h)
                del h
            da = dyr @ wd  # dh, overwritten with da below
            db = _grad_ab(gate, ar, br, da, kind)
            if dx is not None:
                torch.matmul(da, wg, out=dx[r:r + ROWS])
                dx[r:r + ROWS].addmm_(db, wu)
            if dwg is not None:
                dwg.addmm_(da.t(), xr)
            if dwu is not None:
                dwu.addmm_(db.t(), xr)
            if dbg is not None:
                dbg += da.sum(0)
            if dbu is not None:
                dbu += db.sum(0)
        dx = dx.view(x.shape) if dx is not None else None
        return dx, dwg, dwu, dwd, dbg, dbu, dbd, None, None


def gated_mlp(x: torch.Tensor, w_gate: torch.Tensor, w_up: torch.Tensor, w_down: torch.Tensor,
              b_gate: torch.Tensor | None = None, b_up: torch.Tensor | None = None, b_down: torch.Tensor | None = None,
              *, activation: Any = "swiglu", backend: Backend = "auto") -> torch.Tensor:
    """``down(gate(x W_g^T + b_g) * (x W_u^T + b_u))``, keeping only x, a and b for backward.

    Double backward is not supported (the backward is written with in-place, non-differentiable
    kernels); use :func:`gated_mlp_reference` for higher-order derivatives.  Under ``torch.func``
    transforms the reference composition is used.
    """
    from ..zoo import get

    act = get(activation)
    _gate(act)
    check_float(act.name, x, w_gate, w_up, w_down)
    tensors = [t for t in (x, w_gate, w_up, w_down, b_gate, b_up, b_down) if t is not None]
    if len({t.dtype for t in tensors}) > 1:
        raise TypeError(f"{act.name} MLP: x, weights and biases must share one dtype, got "
                        f"{sorted({str(t.dtype) for t in tensors})}")
    if torch.compiler.is_compiling():  # traced: the compiler fuses the composition (see gated.traced)
        return F.linear(traced(act, F.linear(x, w_gate, b_gate), F.linear(x, w_up, b_up)), w_down, b_down)
    if transformed(*tensors):
        return gated_mlp_reference(x, w_gate, w_up, w_down, b_gate, b_up, b_down, activation=act)
    kind = _resolve(backend, act.gate, *tensors)
    return GatedMLPFunction.apply(x, w_gate, w_up, w_down, b_gate, b_up, b_down, act, kind)


def gated_mlp_reference(x: torch.Tensor, w_gate: torch.Tensor, w_up: torch.Tensor, w_down: torch.Tensor,
                        b_gate: torch.Tensor | None = None, b_up: torch.Tensor | None = None,
                        b_down: torch.Tensor | None = None, *, activation: Any = "swiglu") -> torch.Tensor:
    """The same block by plain autograd (the parity reference, and the path under ``torch.func``)."""
    from ..zoo import get

    act = get(activation)
    return F.linear(gated_reference(act, F.linear(x, w_gate, b_gate), F.linear(x, w_up, b_up)), w_down, b_down)


class GatedMLP(nn.Module):
    """Llama-style gated feed-forward block: ``down_proj(gate(gate_proj(x)) * up_proj(x))``.

    Its training step keeps only ``x``, ``a = gate_proj(x)`` and ``b = up_proj(x)`` for backward (eager
    PyTorch keeps ``a``, ``gate(a)``, ``b`` and the product): ``gate(a) * b`` is recomputed inside the
    down projection's backward.

    Args:
        hidden: model width (input and output features).
        ffn: feed-forward width.
        activation: a gated unit -- ``"swiglu"`` (Llama), ``"geglu"``, ``"reglu"``, ``"glu"``, ``"bilinear"``.
        bias: whether the three projections have biases (Llama: no).
        backend: ``"auto"``, ``"torch"``, ``"triton"`` or ``"cpp"`` (see :func:`actlab.kernels.gated`).

    Shape: ``(..., hidden) -> (..., hidden)``.
    """

    def __init__(self, hidden: int, ffn: int, activation: Any = "swiglu", bias: bool = False, *,
                 backend: Backend = "auto", device: Any = None, dtype: torch.dtype | None = None):
        super().__init__()
        from ..zoo import get

        for name, v in (("hidden", hidden), ("ffn", ffn)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"GatedMLP: {name} must be a positive integer, got {v!r}")
        self.activation = get(activation)
        _gate(self.activation)
        if backend not in ("auto", "torch", "triton", "cpp"):
            raise ValueError(f"backend={backend!r}: must be 'auto', 'torch', 'triton' or 'cpp'")
        self.backend: Backend = backend
        kw = {"device": device, "dtype": dtype}
        self.gate_proj = nn.Linear(hidden, ffn, bias=bias, **kw)
        self.up_proj = nn.Linear(hidden, ffn, bias=bias, **kw)
        self.down_proj = nn.Linear(ffn, hidden, bias=bias, **kw)

    def extra_repr(self) -> str:
        return f"activation={self.activation.name!r}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g, u, d = self.gate_proj, self.up_proj, self.down_proj
        return gated_mlp(x, g.weight, u.weight, d.weight, g.bias, u.bias, d.bias,
                         activation=self.activation, backend=self.backend)

    def forward_reference(self, x: torch.Tensor) -> torch.Tensor:
        """The same block by plain autograd (what an eager implementation keeps)."""
        g, u, d = self.gate_proj, self.up_proj, self.down_proj
        return gated_mlp_reference(x, g.weight, u.weight, d.weight, g.bias, u.bias, d.bias, activation=self.activation)
