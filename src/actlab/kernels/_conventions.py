"""The zoo's numerical conventions, in a form every kernel path can use (including under ``vmap``).

``Activation._value`` applies the +-inf limits behind ``if torch.isinf(x).any()``: cheap on plain
tensors (the fix-up pass is skipped in the common all-finite case) but data-dependent control flow,
which ``torch.func.vmap`` rejects.  Under functorch transforms the same rules are applied without a
branch (two ``where`` passes).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch

from ..zoo.activation import Activation, _compute_dtype, _eval, _limits

_wrapped = torch._C._functorch.is_functorch_wrapped_tensor


def transformed(*tensors: torch.Tensor | None) -> bool:
    """True if any tensor is a functorch wrapper (inside vmap/grad/jacrev...)."""
    return any(t is not None and _wrapped(t) for t in tensors)


def _eval_branchless(fn: Callable[..., Any], x: torch.Tensor, params: dict[str, Any], limits: bool) -> torch.Tensor:
    cd = _compute_dtype(x.dtype)
    xc = x.to(cd)
    y = fn(xc, **params)
    if limits:
        lo, hi = _limits(fn, tuple(sorted(params.items())))
        y = torch.where(xc == -math.inf, lo, torch.where(xc == math.inf, hi, y))
    return torch.where(torch.isnan(xc), xc, y).to(x.dtype)


def value(act: Activation, x: torch.Tensor) -> torch.Tensor:
    """phi(x) with the zoo's conventions; safe under functorch transforms."""
    if transformed(x):
        return _eval_branchless(act.spec.fn, x, act.params, act.spec.limits is not None)  # type: ignore[arg-type]
    return act._value(x)


def derivative(act: Activation, x: torch.Tensor) -> torch.Tensor:
    """phi'(x) (closed form) with the zoo's conventions; safe under functorch transforms."""
    d = act.spec.derivative
    if d is None:
        raise TypeError(f"{act.name} declares no closed-form derivative")
    if transformed(x):
        return _eval_branchless(d, x, act.params, act.spec.limits is not None)
    return _eval(d, x, act.params, act.spec.limits is not None)


def check_float(name: str, *tensors: torch.Tensor) -> None:
    """Clear errors for what the kernels do not support."""
    for t in tensors:
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} takes torch.Tensor inputs, got {type(t).__name__}")
        if not t.is_floating_point():
            raise TypeError(f"{name} supports float16, bfloat16, float32 and float64 tensors, got {t.dtype}; "
                            "convert with .float()")
    devs = {t.device for t in tensors}
    if len(devs) > 1:
        raise ValueError(f"{name}: inputs are on different devices {sorted(map(str, devs))}; move them to one device")
