"""Input checks shared by every approximation method (bad input is a ValueError that names the fix)."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import torch

#: Highest polynomial degree accepted.  Beyond it the float32 evaluation (Clenshaw inside
#: |t| <= 2, see ``polynomial._eval_cheb``) could overflow, and no activation needs it.
MAX_DEGREE = 64


def check_degree(degree: Any, what: str = "degree") -> int:
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)):
        if isinstance(degree, float) and degree.is_integer():
            degree = int(degree)
        else:
            raise ValueError(f"{what} must be a whole number, got {degree!r}: use e.g. --degree 7")
    degree = int(degree)
    if degree < 0:
        raise ValueError(f"{what} must be >= 0, got {degree}: use e.g. --degree 7")
    if degree > MAX_DEGREE:
        raise ValueError(f"{what} {degree} is above the maximum {MAX_DEGREE}: use a lower degree")
    return degree


def check_interval(interval: Any) -> tuple[float, float]:
    if isinstance(interval, str):
        return parse_interval(interval)
    try:
        a, b = (float(v) for v in interval)
    except (TypeError, ValueError):
        raise ValueError(f"interval must be two numbers (a, b), got {interval!r}: use e.g. --interval=-3,3") from None
    if not (math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"interval [{a:g}, {b:g}] must have finite bounds: use e.g. --interval=-3,3")
    if not a < b:
        raise ValueError(f"interval [{a:g}, {b:g}] is empty: the lower bound must be below the upper, e.g. --interval=-3,3")
    return a, b


def parse_interval(text: str) -> tuple[float, float]:
    """``"-3,3"`` or ``"[-3, 3]"`` -> ``(-3.0, 3.0)``."""
    parts = [p.strip() for p in text.strip().strip("[]()").split(",")]
    if len(parts) != 2:
        raise ValueError(f"cannot read interval {text!r}: write a,b such as --interval=-3,3")
    try:
        vals = tuple(float(p) for p in parts)
    except ValueError:
        raise ValueError(f"cannot read interval {text!r}: write a,b such as --interval=-3,3") from None
    return check_interval(vals)


def pointwise(act: Any) -> Any:
    """The :class:`~actlab.Activation` for ``act``; gated units have no scalar graph to approximate."""
    from ..zoo import get

    act = get(act)
    if act.is_gated:
        raise ValueError(f"{act.name} is a gated unit; approximate its gate instead ({act.spec.gate})")
    return act


def numpy_funcs(act: Any) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    """phi and phi' of an activation as float64 numpy functions (the fitting code is numpy)."""

    def f(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return act(torch.as_tensor(np.asarray(x, dtype=np.float64))).numpy().copy()

    def df(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return act.derivative(torch.as_tensor(np.asarray(x, dtype=np.float64))).numpy().copy()

    return f, df
