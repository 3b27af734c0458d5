"""Triton kernels for pointwise and gated activations (extra ``actlab[gpu]``).

Imported lazily: only when CUDA tensors reach a kernel path, or when a caller asks for
``backend="triton"`` with ``TRITON_INTERPRET=1`` (the interpreter runs the same kernels on the CPU,
which is how CI checks them without a GPU).  Every kernel reads each input once and writes each
output once, computing in float32 whatever the storage dtype.

Gate codes (see :func:`actlab.kernels.gated.triton_gate_code`): 0 identity, 1 relu, 2 sigmoid,
3 silu(beta), 4 exact GELU, 5 tanh GELU, 6 tanh.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

_BLOCK = 1024
_SQRT_HALF = 0.7071067811865476
_INV_SQRT_2PI = 0.3989422804014327
_SQRT_2_PI = 0.7978845608028654
_GELU_C = 0.044715


@triton.jit
def _tanh(u):
    # tanh through the sigmoid, which every Triton backend (and the interpreter) provides
    return 2.0 * tl.sigmoid(2.0 * u) - 1.0


@triton.jit
def _gate_value_and_grad(a, beta, CODE: tl.constexpr):
    """(gate(a), gate'(a)) in float32."""
    if CODE == 0:
        g = a
        d = tl.full(a.shape, 1.0, tl.float32)
    elif CODE == 1:
        g = tl.where(a > 0, a, 0.0)
        d = tl.where(a > 0, 1.0, 0.0)
    elif CODE == 2:
        g = tl.sigmoid(a)
        d = g * (1.0 - g)
    elif CODE == 3:
        s = tl.sigmoid(beta * a)
        g = a * s
        d = s + beta * a * s * (1.0 - s)
    elif CODE == 4:
        cdf = 0.5 * (1.0 + tl.math.erf(a * 0.7071067811865476))
        g = a * cdf
        d = cdf + a * 0.3989422804014327 * tl.exp(-0.5 * a * a)
    elif CODE == 5:
        u = 0.7978845608028654 * (a + 0.044715 * a * a * a)
        t = _tanh(u)
        g = 0.5 * a * (1.0 + t)
        du = 0.7978845608028654 * (1.0 + 3.0 * 0.044715 * a * a)
        d = 0.5 * (1.0 + t) + 0.5 * a * (1.0 - t * t) * du
    else:
        g = _tanh(a)
        d = 1.0 - g * g
    # NaN in, NaN out (the where-based gates would otherwise map NaN to 0)
    g = tl.where(a != a, a, g)
    d = tl.where(a != a, a, d)
    return g, d


@triton.jit
def _pointwise_fwd_kernel(x_ptr, y_ptr, n, beta, CODE: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    m = offs < n
    x = tl.load(x_ptr + offs, mask=m, other=0.0).to(tl.float32)
    g, _ = _gate_value_and_grad(x, beta, CODE)
    tl.store(y_ptr + offs, g.to(y_ptr.dtype.element_ty), mask=m)


@triton.jit
def _pointwise_bwd_kernel(x_ptr, dy_ptr, dx_ptr, n, beta, CODE: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    m = offs < n
    x = tl.load(x_ptr + offs, mask=m, other=0.0).to(tl.float32)
    dy = tl.load(dy_ptr + offs, mask=m, other=0.0).to(tl.float32)
    _, d = _gate_value_and_grad(x, beta, CODE)
    tl.store(dx_ptr + offs, (dy * d).to(dx_ptr.dtype.element_ty), mask=m)


@triton.jit
def _gated_fwd_kernel(a_ptr, b_ptr, c_ptr, n_cols, a_stride, b_stride, c_stride, beta,
                      CODE: tl.constexpr, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    m = cols < n_cols
    a = tl.load(a_ptr + row * a_stride + cols, mask=m, other=0.0).to(tl.float32)
    b = tl.load(b_ptr + row * b_stride + cols, mask=m, other=0.0).to(tl.float32)
    g, _ = _gate_value_and_grad(a, beta, CODE)
    tl.store(c_ptr + row * c_stride + cols, (g * b).to(c_ptr.dtype.element_ty), mask=m)


@triton.jit
def _gated_bwd_kernel(a_ptr, b_ptr, dc_ptr, da_ptr, db_ptr, n_cols, a_stride, b_stride, dc_stride,
                      da_stride, db_stride, beta, CODE: tl.constexpr, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    m = cols < n_cols
    a = tl.load(a_ptr + row * a_stride + cols, mask=m, other=0.0).to(tl.float32)
    b = tl.load(b_ptr + row * b_stride + cols, mask=m, other=0.0).to(tl.float32)
    dc = tl.load(dc_ptr + row * dc_stride + cols, mask=m, other=0.0).to(tl.float32)
    g, d = _gate_value_and_grad(a, beta, CODE)
    tl.store(da_ptr + row * da_stride + cols, (dc * b * d).to(da_ptr.dtype.element_ty), mask=m)
    tl.store(db_ptr + row * db_stride + cols, (dc * g).to(db_ptr.dtype.element_ty), mask=m)


def _rows(t: torch.Tensor, cols: int) -> torch.Tensor:
    """(rows, cols) with unit column stride; copies only when the layout does not allow it."""
    t2 = t.reshape(-1, cols)
    return t2 if t2.stride(-1) == 1 else t2.contiguous()


def pointwise_forward(code: int, beta: float, x: torch.Tensor) -> torch.Tensor:
    xc = x.contiguous()
    y = torch.empty_like(xc)
    n = xc.numel()
    _pointwise_fwd_kernel[(triton.cdiv(n, _BLOCK),)](xc, y, n, beta, CODE=code, BLOCK=_BLOCK)
    return y


def pointwise_backward(code: int, beta: float, x: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    xc, dyc = x.contiguous(), dy.contiguous()
    dx = torch.empty_like(xc)
    n = xc.numel()
    _pointwise_bwd_kernel[(triton.cdiv(n, _BLOCK),)](xc, dyc, dx, n, beta, CODE=code, BLOCK=_BLOCK)
    return dx


def _launch_fwd(code: int, beta: float, a2: torch.Tensor, b2: torch.Tensor, c2: torch.Tensor) -> None:
    rows, cols = a2.shape
    if rows and cols:
        grid = (rows, triton.cdiv(cols, _BLOCK))
        _gated_fwd_kernel[grid](a2, b2, c2, cols, a2.stride(0), b2.stride(0), c2.stride(0), beta,
                                CODE=code, BLOCK=_BLOCK)


def _launch_bwd(code: int, beta: float, a2: torch.Tensor, b2: torch.Tensor, dc2: torch.Tensor,
                da2: torch.Tensor, db2: torch.Tensor) -> None:
    rows, cols = a2.shape
    if rows and cols:
        grid = (rows, triton.cdiv(cols, _BLOCK))
        _gated_bwd_kernel[grid](a2, b2, dc2, da2, db2, cols, a2.stride(0), b2.stride(0), dc2.stride(0),
                                da2.stride(0), db2.stride(0), beta, CODE=code, BLOCK=_BLOCK)


def _last(t: torch.Tensor) -> int:
    return t.shape[-1] if t.dim() else 1


def gated_forward(code: int, beta: float, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    cols = _last(a)
    c = torch.empty(a.shape, dtype=a.dtype, device=a.device)
    _launch_fwd(code, beta, _rows(a, cols), _rows(b, cols), c.view(-1, cols))
    return c


def gated_backward(code: int, beta: float, a: torch.Tensor, b: torch.Tensor,
                   dc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    cols = _last(a)
    da = torch.empty(a.shape, dtype=a.dtype, device=a.device)
    db = torch.empty(b.shape, dtype=b.dtype, device=b.device)
    _launch_bwd(code, beta, _rows(a, cols), _rows(b, cols), _rows(dc, cols), da.view(-1, cols), db.view(-1, cols))
    return da, db


def packed_forward(code: int, beta: float, x: torch.Tensor) -> torch.Tensor:
    f = x.shape[-1] // 2
    x2 = _rows(x, 2 * f)
    c = torch.empty((*x.shape[:-1], f), dtype=x.dtype, device=x.device)
    _launch_fwd(code, beta, x2[:, f:], x2[:, :f], c.view(-1, f))
    return c


def packed_backward(code: int, beta: float, x: torch.Tensor, dc: torch.Tensor) -> torch.Tensor:
    f = x.shape[-1] // 2
    x2 = _rows(x, 2 * f)
    dx = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    dx2 = dx.view(-1, 2 * f)
    _launch_bwd(code, beta, x2[:, f:], x2[:, :f], _rows(dc, f), dx2[:, f:], dx2[:, :f])
    return dx
