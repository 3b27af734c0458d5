"""Memory-lean pointwise activations: keep only the input, recompute in backward.

Which path ``Activation.__call__`` takes is decided once per activation (and parameter values) by
*measuring* the candidate native form on a probe, not from a list of names:

``native``
    The spec's ``torch_functional`` (at default parameters) or its ``fn`` already keeps at most one
    input-sized tensor for backward *and* gives the zoo's values and gradients everywhere, NaN and
    +-inf included (sigmoid, tanh, softplus ...): it runs as is, forward and backward.
``native_fixed``
    The native form is lean and right on finite inputs but breaks a convention at NaN/+-inf
    (``F.silu(-inf)`` is NaN, ReLU's gradient at NaN is 1).  All-finite inputs (one cheap sum to find
    out) run the native kernels, backward included; others go through :class:`LeanFunction`, which
    patches the non-finite entries from the spec and uses the closed-form derivative.
``lean``
    :class:`LeanFunction`, which keeps only ``x`` and whose backward is the closed-form derivative:
    for a composite formula (squareplus, relu_squared, ...) for which autograd keeps several
    intermediates, and for a native form whose *backward* is wrong somewhere -- in relative terms,
    so a tail derivative rounded to 0 counts (torch's ``sigmoid_backward`` computes ``(1 - y) y``,
    0 at x = 40 where the derivative is 4.2e-18).  Its forward is the native kernel where that gives
    the spec's values (``native_forward``), checked for non-finite entries only where the native
    form breaks a convention there (``forward_check``), else the spec's formula.
``autograd``
    No closed-form derivative is declared: the spec's formula under autograd.

On CUDA, an activation the Triton kernels implement (SiLU, both GELUs) and whose plan is not
``native`` runs :class:`TritonPointwiseFunction` instead: one kernel each way with the conventions
applied inside, so no finiteness check -- which on a GPU is a host-device sync on every call.

Under ``torch.func`` transforms the same Function runs with branch-free conventions (a
``generate_vmap_rule`` rule); with ``create_graph=True`` its backward is written in differentiable
operations, so double backward works.
"""

from __future__ import annotations

import functools
import importlib
import math
from dataclasses import dataclass
from typing import Any, Callable, Literal

import torch
from torch.autograd.graph import saved_tensors_hooks

from ..zoo.activation import Activation, compute_dtype as _compute_dtype, set_dispatch
from ._conventions import check_float, derivative, transformed, value
from .gated import _all_finite, triton_args

# the module (``actlab.kernels.gated`` the attribute is the function): its device predicate is looked
# up at call time, so one switch covers pointwise and gated dispatch
_gated = importlib.import_module(".gated", __package__)

__all__ = ["Plan", "plan", "apply", "lean", "LeanFunction", "TritonPointwiseFunction"]

Kind = Literal["native", "native_fixed", "lean", "autograd"]

_FINITE_PROBE = (-1e4, -40.0, -20.0, -10.0, -3.0, -1.5, -1.0, -0.5, -0.1, -1e-3, -1e-6, 0.0, 1e-6, 1e-3, 0.1, 0.5,
                 1.0, 1.5, 3.0, 10.0, 20.0, 20.5, 25.0, 40.0, 1e4)  # 20.5, 25: past torch's softplus threshold
_SPECIAL_PROBE = (math.nan, -math.inf, math.inf)


@dataclass(frozen=True)
class Plan:
    """How an activation is evaluated under autograd, and the measurements behind the choice."""

    kind: Kind
    native: Callable[[torch.Tensor], torch.Tensor] | None
    saved_tensors: int  # input-sized tensors the native/formula form keeps for backward
    finite_match: bool  # values and gradients of the native form on finite inputs
    special_match: bool  # ... and at NaN/+-inf
    forward_special: bool = False  # the native forward values are right at NaN/+-inf too (only the gradients are not)
    native_forward: bool = False  # lean plan: the forward values come from ``native``
    forward_check: bool = True  # ... patched at non-finite entries (the native values are wrong there)


def _candidates(act: Activation) -> list[Callable[[torch.Tensor], torch.Tensor]]:
    """The native forms worth measuring: torch's own function (at the default parameters), then the
    spec's formula itself (a single native op such as ``torch.logaddexp`` may already be lean, and
    gives the spec's values by definition)."""
    s = act.spec
    fn, params = s.fn, dict(act.params)
    out: list[Callable[[torch.Tensor], torch.Tensor]] = []
    if s.torch_functional is not None and act.params == s.defaults:
        out.append(s.torch_functional)
    out.append(lambda x: fn(x, **params))  # type: ignore[misc]
    return out


def _saved_count(fn: Callable[[torch.Tensor], torch.Tensor]) -> int:
    """Number of input-sized tensors autograd keeps for ``fn`` (saved-tensor hooks on a probe)."""
    x = torch.linspace(-3, 3, 257, dtype=torch.float64, requires_grad=True)
    count = [0]

    def pack(t: torch.Tensor) -> torch.Tensor:
        count[0] += t.numel() == x.numel()
        return t

    # enable_grad: the plan is cached, so a first call under torch.no_grad() must not measure "nothing saved"
    with torch.enable_grad(), saved_tensors_hooks(pack, lambda t: t):
        fn(x)
    return count[0]


def _grad(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.enable_grad():
        xd = x.detach().requires_grad_(True)
        y = fn(xd)
        (g,) = torch.autograd.grad(y, xd, torch.ones_like(y))
    return y.detach(), g


def _same(u: torch.Tensor, v: torch.Tensor, rtol: float = 1e-9) -> bool:
    # relative only: a native backward that rounds a tail derivative to 0 (sigmoid'(40) = 4.2e-18 from
    # (1 - y) * y with y = 1) is wrong there, however small the absolute difference
    return bool(torch.allclose(u, v, rtol=rtol, atol=1e-300, equal_nan=True))


#: forward values must agree to ~50 ulps of float64: torch's softplus (x past 20, off by 2e-9 absolute,
#: 1e-10 relative) and tanhshrink (x - tanh x cancels near 0) are not the spec's values, a few ulps
#: of a differently ordered formula are
_VALUE_RTOL = 1e-14


@functools.lru_cache(maxsize=1024)
def plan(act: Activation) -> Plan:
    """Measure the native form of ``act`` once and choose its autograd path (see the module docstring)."""
    if act.is_gated:
        raise TypeError(f"{act.name} is a gated unit; use actlab.kernels.gated")
    has_d = act.spec.derivative is not None
    ref_d = (lambda x: derivative(act, x)) if has_d else (lambda x: _grad(lambda t: act.value(t), x)[1])
    pts = sorted(set(_FINITE_PROBE) | set(act.kinks))
    xf = torch.tensor(pts, dtype=torch.float64)
    xs = torch.tensor(_SPECIAL_PROBE, dtype=torch.float64)
    forward_only: Plan | None = None
    for cand in _candidates(act):
        try:
            saved = _saved_count(cand)
            yf, gf = _grad(cand, xf)
            ys, gs = _grad(cand, xs)
        except (RuntimeError, TypeError, ValueError):
            continue
        fwd_finite = _same(yf, act.value(xf), _VALUE_RTOL)
        fwd_special = _same(ys, act.value(xs), _VALUE_RTOL)
        finite = fwd_finite and _same(gf, ref_d(xf))
        special = fwd_special and _same(gs, ref_d(xs))
        if saved <= 1 and finite and special:
            return Plan("native", cand, saved, finite, special)
        if not has_d:
            return Plan("autograd", None, saved, finite, special)
        if saved <= 1 and finite:
            return Plan("native_fixed", cand, saved, finite, special, forward_special=fwd_special)
        if fwd_finite and (forward_only is None or (forward_only.forward_check and fwd_special)):
            forward_only = Plan("lean", cand, saved, finite, special, native_forward=True, forward_check=not fwd_special)
    if forward_only is not None:
        return forward_only
    return Plan("lean" if has_d else "autograd", None, -1, False, False)


def _closed_form_grad(act: Activation, x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """grad * phi'(x) with the spec's closed form, in differentiable ops (half formats: float32 compute)."""
    cd = _compute_dtype(x.dtype)
    return (grad.to(cd) * derivative(act, x.to(cd))).to(grad.dtype)


class LeanFunction(torch.autograd.Function):
    """phi(x) keeping only ``x`` for backward.

    ``native`` (optional) is a lean native form used for the forward values on plain tensors, with
    the non-finite entries patched from the spec; otherwise the spec's formula.  Backward is always
    ``grad * phi'(x)`` with the spec's closed-form derivative.
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, act: Activation, native: Callable | None,  # type: ignore[override]
                check: bool) -> torch.Tensor:
        if native is None or torch.compiler.is_compiling() or transformed(x):
            return value(act, x)
        cd = _compute_dtype(x.dtype)
        y = native(x.to(cd))  # half formats: float32 compute, one rounding (the zoo's convention)
        if check and not _all_finite(x):
            y = torch.where(torch.isfinite(x), y, value(act, x.to(cd)))
        return y.to(x.dtype)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        x, act = inputs[0], inputs[1]
        ctx.save_for_backward(x)
        ctx.act = act

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, None, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        # Always the spec's closed form, bit for bit (the zoo contract: the functional backward *is*
        # the declared derivative).  Written in differentiable operations: double backward works.
        return _closed_form_grad(ctx.act, x, grad), None, None, None


class TritonPointwiseFunction(torch.autograd.Function):
    """phi(x) by the Triton kernels (one read and one write each way); keeps only ``x``.

    With ``create_graph=True`` the backward is the spec's closed form in torch ops instead, so
    double backward works as on every other path.
    """

    @staticmethod
    def forward(x: torch.Tensor, act: Activation, args: Any) -> torch.Tensor:  # type: ignore[override]
        from . import _triton

        return _triton.pointwise_forward(args, x)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        x, act, args = inputs
        ctx.save_for_backward(x)
        ctx.act, ctx.args = act, args

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        if torch.is_grad_enabled():
            return _closed_form_grad(ctx.act, x, grad), None, None
        from . import _triton

        return _triton.pointwise_backward(ctx.args, x, grad), None, None


def apply(act: Activation, x: torch.Tensor) -> torch.Tensor:
    """``act(x)`` on the path :func:`plan` chose (what ``Activation.__call__`` uses).

    For the native plans, an all-finite input (one cheap reduction to find out) runs the native kernel
    *with its own backward*: it was measured to agree with the closed form on the probe, keeps at most
    the input, and is 10-60x faster on CPU than ``grad * phi'(x)`` written in torch ops.  NaN/+-inf
    inputs and functorch transforms take :class:`LeanFunction`, which applies the zoo's conventions.
    """
    if torch.compiler.is_compiling():
        # Traced (torch.compile / torch.export): no measured plan, no finiteness check.  The formula
        # with branch-free conventions is what the compiler fuses into one kernel anyway, and the
        # closed-form backward keeps the gradients equal to ``derivative``.
        return LeanFunction.apply(x, act, None, False) if act.spec.derivative is not None else value(act, x)
    p = plan(act)
    if p.kind == "autograd":
        return value(act, x)
    if p.kind != "native" and not transformed(x) and _gated._triton_device(x):
        args = triton_args(act)
        if args is not None:
            return TritonPointwiseFunction.apply(x, act, args)
    # no finiteness check where the native values are right everywhere: always for "native", and for
    # "native_fixed" when only the forward runs (no graph recorded: inference, torch.no_grad) and its
    # values keep the conventions (ReLU's values do; only its gradient at NaN does not)
    unchecked = p.kind == "native" or (p.forward_special and not (x.requires_grad and torch.is_grad_enabled()))
    if p.kind in ("native", "native_fixed") and not transformed(x) and (unchecked or _all_finite(x)):
        cd = _compute_dtype(x.dtype)
        return p.native(x.to(cd)).to(x.dtype) if cd != x.dtype else p.native(x)  # type: ignore[misc]
    if p.kind == "lean" and not p.native_forward:
        return LeanFunction.apply(x, act, None, False)
    return LeanFunction.apply(x, act, p.native, p.forward_check)


def lean(activation: Any) -> Callable[[torch.Tensor], torch.Tensor]:
    """The closed-form memory-lean function of any pointwise spec with a derivative, whatever the plan.

    >>> f = lean("squareplus"); y = f(x)   # keeps only x for backward
    """
    from ..zoo import get

    act = get(activation)
    if act.is_gated:
        raise TypeError(f"{act.name} is a gated unit; use actlab.kernels.gated")
    if act.spec.derivative is None:
        raise TypeError(f"{act.name} declares no closed-form derivative, so there is nothing to recompute from; "
                        "add derivative= to its spec")

    def f(x: torch.Tensor) -> torch.Tensor:
        check_float(act.name, x)
        return LeanFunction.apply(x, act, None, False)

    f.__name__ = f"lean_{act.spec.name}"
    return f


# Activation.__call__ now takes the measured path, and fuses gated units on CUDA (the zoo does not import kernels)
set_dispatch(apply, _gated.dispatch)
