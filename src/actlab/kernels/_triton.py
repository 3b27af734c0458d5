"""Triton kernels for pointwise and gated activations (extra ``actlab[gpu]``).

Imported lazily: only when CUDA tensors reach a kernel path, or when a caller asks for
``backend="triton"`` with ``TRITON_INTERPRET=1`` (the interpreter runs the same kernels on the CPU,
which is how CI checks them without a GPU).  Every kernel reads each input once and writes each
output once, computing in float32 whatever the storage dtype.

Gate codes (see :func:`actlab.kernels.gated.triton_args`): 0 identity, 1 relu, 2 sigmoid,
3 silu(beta), 4 exact GELU, 5 tanh GELU.  Each kernel takes the gate as ``args = (code, beta,
[phi(-inf), phi(inf), phi'(-inf), phi'(inf)], apply limits)``, the zoo's conventions included, so
no host-side finiteness check (a device sync on CUDA) is needed.  Storage may be float32, float16 or
bfloat16; float64 keeps torch ops (these kernels compute in float32).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from . import _erfc

_BLOCK = 1024

# Q(t) of the Gaussian tail Phi(-|x|) = t exp(-x^2/2) Q(t), t = 1/(1 + X_SCALE |x|): the same form and
# float32 coefficients as the C++ kernel (derived and bounded in actlab/kernels/_erfc.py).  Triton
# reads module globals only as constexprs, one name each.
(_Q0, _Q1, _Q2, _Q3, _Q4, _Q5, _Q6, _Q7, _Q8, _Q9, _Q10) = (tl.constexpr(float(c)) for c in _erfc.COEFFS)
_X_SCALE = tl.constexpr(_erfc.X_SCALE)
_INV_SQRT_2PI = tl.constexpr(0.3989422804014327)
_TWO_K = tl.constexpr(2 * 0.7978845608028654)  # 2 sqrt(2/pi)
_GELU_C = tl.constexpr(0.044715)
_FLT_MAX = tl.constexpr(3.4028234663852886e38)


@triton.jit
def _gelu_tail(ax):
    """(Phi(-ax), exp(-ax^2/2)) for 0 <= ax <= 20 in float32, keeping relative accuracy in the tail."""
    hi = ax * ax
    lo = tl.math.fma(ax, ax, -hi)  # ax^2 - hi exactly: the large exponent enters exp() exact
    e = tl.exp(-0.5 * hi) * (1.0 - 0.5 * lo)
    t = 1.0 / (1.0 + ax * _X_SCALE)
    q = tl.math.fma(t, _Q10, _Q9)
    q = tl.math.fma(q, t, _Q8)
    q = tl.math.fma(q, t, _Q7)
    q = tl.math.fma(q, t, _Q6)
    q = tl.math.fma(q, t, _Q5)
    q = tl.math.fma(q, t, _Q4)
    q = tl.math.fma(q, t, _Q3)
    q = tl.math.fma(q, t, _Q2)
    q = tl.math.fma(q, t, _Q1)
    q = tl.math.fma(q, t, _Q0)
    return t * e * q, e


@triton.jit
def _gate_value_and_grad(a, beta, g_lo, g_hi, d_lo, d_hi, CODE: tl.constexpr, LIMITS: tl.constexpr):
    """(gate(a), gate'(a)) in float32, with the zoo's conventions: NaN -> NaN, +-inf -> the limits."""
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
        # no 1 + erf: it cancels in the left tail (1e-4 relative error at x = -3 in float32)
        tail, e = _gelu_tail(tl.minimum(tl.abs(a), 20.0))
        cdf = tl.where(a > 0, 1.0 - tail, tail)
        g = a * cdf
        d = cdf + a * _INV_SQRT_2PI * e
    else:
        # tanh GELU as a * sigmoid(2u): 0.5 (1 + tanh u) cancels in the left tail the same way
        s = tl.sigmoid((a + a * a * a * _GELU_C) * _TWO_K)
        xs = tl.minimum(tl.maximum(a, -100.0), 100.0)  # s (1 - s) is 0 beyond: no 0 * inf for huge x
        g = a * s
        d = s + xs * _TWO_K * s * (1.0 - s) * (1.0 + xs * xs * (3.0 * _GELU_C))
    if LIMITS:
        pos, neg = a > _FLT_MAX, a < -_FLT_MAX  # +-inf: beyond the largest finite float32
        g = tl.where(pos, g_hi, tl.where(neg, g_lo, g))
        d = tl.where(pos, d_hi, tl.where(neg, d_lo, d))
    g = tl.where(a != a, a, g)
    d = tl.where(a != a, a, d)
    return g, d


@triton.jit
def _pointwise_fwd_kernel(x_ptr, y_ptr, n, beta, g_lo, g_hi, d_lo, d_hi,
                          CODE: tl.constexpr, LIMITS: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    m = offs < n
    x = tl.load(x_ptr + offs, mask=m, other=0.0).to(tl.float32)
    g, _ = _gate_value_and_grad(x, beta, g_lo, g_hi, d_lo, d_hi, CODE, LIMITS)
    tl.store(y_ptr + offs, g.to(y_ptr.dtype.element_ty), mask=m)


@triton.jit
def _pointwise_bwd_kernel(x_ptr, dy_ptr, dx_ptr, n, beta, g_lo, g_hi, d_lo, d_hi,
                          CODE: tl.constexpr, LIMITS: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    m = offs < n
    x = tl.load(x_ptr + offs, mask=m, other=0.0).to(tl.float32)
    dy = tl.load(dy_ptr + offs, mask=m, other=0.0).to(tl.float32)
    _, d = _gate_value_and_grad(x, beta, g_lo, g_hi, d_lo, d_hi, CODE, LIMITS)
    tl.store(dx_ptr + offs, (dy * d).to(dx_ptr.dtype.element_ty), mask=m)


@triton.jit
def _tile(n_cols, BLOCK: tl.constexpr):
    """This program's (row, columns, in-bounds mask) of a (rows, n_cols) problem with contiguous rows."""
    row = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    return row, cols, cols < n_cols


@triton.jit
def _load_f32(ptr, row, stride, cols, m):
    return tl.load(ptr + row * stride + cols, mask=m, other=0.0).to(tl.float32)


@triton.jit
def _gated_fwd_kernel(a_ptr, b_ptr, c_ptr, n_cols, a_stride, b_stride, c_stride, beta, g_lo, g_hi, d_lo, d_hi,
                      CODE: tl.constexpr, LIMITS: tl.constexpr, BLOCK: tl.constexpr):
    row, cols, m = _tile(n_cols, BLOCK)
    a = _load_f32(a_ptr, row, a_stride, cols, m)
    b = _load_f32(b_ptr, row, b_stride, cols, m)
    g, _ = _gate_value_and_grad(a, beta, g_lo, g_hi, d_lo, d_hi, CODE, LIMITS)
    tl.store(c_ptr + row * c_stride + cols, (g * b).to(c_ptr.dtype.element_ty), mask=m)


@triton.jit
def _gated_bwd_kernel(a_ptr, b_ptr, dc_ptr, da_ptr, db_ptr, n_cols, a_stride, b_stride, dc_stride,
                      da_stride, db_stride, beta, g_lo, g_hi, d_lo, d_hi,
                      CODE: tl.constexpr, LIMITS: tl.constexpr, BLOCK: tl.constexpr):
    row, cols, m = _tile(n_cols, BLOCK)
    a = _load_f32(a_ptr, row, a_stride, cols, m)
    b = _load_f32(b_ptr, row, b_stride, cols, m)
    dc = _load_f32(dc_ptr, row, dc_stride, cols, m)
    g, d = _gate_value_and_grad(a, beta, g_lo, g_hi, d_lo, d_hi, CODE, LIMITS)
    tl.store(da_ptr + row * da_stride + cols, (dc * b * d).to(da_ptr.dtype.element_ty), mask=m)
    tl.store(db_ptr + row * db_stride + cols, (dc * g).to(db_ptr.dtype.element_ty), mask=m)


#: compiler options of every launch: FMA contraction on, said explicitly (Triton 3.9 warns when it is
#: left to its changing default); the tail form's exact x^2 split uses an explicit fma either way
COMPILE_OPTIONS = {"enable_fp_fusion": True}

#: (code, beta, [phi(-inf), phi(inf), phi'(-inf), phi'(inf)], apply limits) -- see the module docstring
Args = tuple[int, float, list[float], bool]


def _kw(args: Args) -> dict:
    code, beta, lim, has = args
    return {"beta": beta, "g_lo": lim[0], "g_hi": lim[1], "d_lo": lim[2], "d_hi": lim[3],
            "CODE": code, "LIMITS": has, "BLOCK": _BLOCK, **COMPILE_OPTIONS}


def _rows(t: torch.Tensor, cols: int) -> torch.Tensor:
    """(rows, cols) with unit column stride; copies only when the layout does not allow it."""
    t2 = t.reshape(-1, cols)
    return t2 if t2.stride(-1) == 1 else t2.contiguous()


def pointwise_forward(args: Args, x: torch.Tensor) -> torch.Tensor:
    xc = x.contiguous()
    y = torch.empty_like(xc)
    n = xc.numel()
    if n:
        _pointwise_fwd_kernel[(triton.cdiv(n, _BLOCK),)](xc, y, n, **_kw(args))
    return y


def pointwise_backward(args: Args, x: torch.Tensor, dy: torch.Tensor) -> torch.Tensor:
    xc, dyc = x.contiguous(), dy.contiguous()
    dx = torch.empty_like(xc)
    n = xc.numel()
    if n:
        _pointwise_bwd_kernel[(triton.cdiv(n, _BLOCK),)](xc, dyc, dx, n, **_kw(args))
    return dx


def _launch_fwd(args: Args, a2: torch.Tensor, b2: torch.Tensor, c2: torch.Tensor) -> None:
    rows, cols = a2.shape
    if rows and cols:
        grid = (rows, triton.cdiv(cols, _BLOCK))
        _gated_fwd_kernel[grid](a2, b2, c2, cols, a2.stride(0), b2.stride(0), c2.stride(0), **_kw(args))


def _launch_bwd(args: Args, a2: torch.Tensor, b2: torch.Tensor, dc2: torch.Tensor,
                da2: torch.Tensor, db2: torch.Tensor) -> None:
    rows, cols = a2.shape
    if rows and cols:
        grid = (rows, triton.cdiv(cols, _BLOCK))
        _gated_bwd_kernel[grid](a2, b2, dc2, da2, db2, cols, a2.stride(0), b2.stride(0), dc2.stride(0),
                                da2.stride(0), db2.stride(0), **_kw(args))


def _last(t: torch.Tensor) -> int:
    return t.shape[-1] if t.dim() else 1


def gated_forward(args: Args, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    cols = _last(a)
    c = torch.empty(a.shape, dtype=a.dtype, device=a.device)
    _launch_fwd(args, _rows(a, cols), _rows(b, cols), c.view(-1, cols))
    return c


def gated_backward(args: Args, a: torch.Tensor, b: torch.Tensor,
                   dc: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    cols = _last(a)
    da = torch.empty(a.shape, dtype=a.dtype, device=a.device)
    db = torch.empty(b.shape, dtype=b.dtype, device=b.device)
    _launch_bwd(args, _rows(a, cols), _rows(b, cols), _rows(dc, cols), da.view(-1, cols), db.view(-1, cols))
    return da, db


def packed_forward(args: Args, x: torch.Tensor) -> torch.Tensor:
    f = x.shape[-1] // 2
    x2 = _rows(x, 2 * f)
    c = torch.empty((*x.shape[:-1], f), dtype=x.dtype, device=x.device)
    _launch_fwd(args, x2[:, f:], x2[:, :f], c.view(-1, f))
    return c


def packed_backward(args: Args, x: torch.Tensor, dc: torch.Tensor) -> torch.Tensor:
    f = x.shape[-1] // 2
    x2 = _rows(x, 2 * f)
    dx = torch.empty(x.shape, dtype=x.dtype, device=x.device)
    dx2 = dx.view(-1, 2 * f)
    _launch_bwd(args, x2[:, f:], x2[:, :f], _rows(dc, f), dx2[:, f:], dx2[:, :f])
    return dx
