"""Known approximations measured against the functions they stand in for.

* GELU's tanh form ½x(1 + tanh(√(2/π)(x + 0.044715x³))) and x·σ(1.702x) -- both proposed by
  Hendrycks & Gimpel 2016 (sec. 2) as fast stand-ins for x·Φ(x);
* hard-swish x·ReLU6(x + 3)/6 for SiLU/Swish and hard-sigmoid ReLU6(x + 3)/6 for the sigmoid --
  Howard et al. 2019 (Searching for MobileNetV3), piecewise versions that avoid the exponential.

For each pair: the maximum absolute error over the real line and where it occurs (all the places that
reach it, so symmetric errors show both), the same for the first derivative (the distortion of the
learning signal), and RMS errors under a standard normal input (what a unit-variance pre-activation
sees).  The maximum is located on a fine grid over [−span, span], refined by ternary search, then the
error there is recomputed with the specs' mpmath references at 30 digits.  Outside [−span, span] all
four differences decay (exponentially for the smooth pairs; the hard ones are exact beyond ±3 up to
the smooth function's tail), so span = 12 suffices.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy as np
from mpmath import mp

from ._checks import numpy_funcs, pointwise
from .polynomial import _ternary_max

#: (approximation, exact, source)
KNOWN: tuple[tuple[str, str, str], ...] = (
    ("gelu(approximate='tanh')", "gelu", "Hendrycks & Gimpel 2016 (tanh form)"),
    ("quick_gelu", "gelu", "Hendrycks & Gimpel 2016 (x·σ(1.702x))"),
    ("hardswish", "silu", "Howard et al. 2019 (MobileNetV3)"),
    ("hardsigmoid", "sigmoid", "Howard et al. 2019 (MobileNetV3)"),
)


@dataclass(frozen=True)
class KnownComparison:
    approximation: str
    exact: str
    source: str
    max_error: float
    argmax: tuple[float, ...]
    max_error_mpmath: float | None
    derivative_max_error: float
    derivative_argmax: tuple[float, ...]
    derivative_max_error_mpmath: float | None
    gaussian_rms_error: float
    gaussian_rms_derivative_error: float

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["argmax"] = list(self.argmax)
        d["derivative_argmax"] = list(self.derivative_argmax)
        return d


def _locate(err: Callable[[np.ndarray], np.ndarray], grid: np.ndarray, kinks: list[float]) -> tuple[float, tuple[float, ...]]:
    """Global maximum of err on the real line (within the grid's span) and every place reaching it."""
    e = err(grid)
    # local maxima of the grid values, refined inside their two neighbouring cells
    interior = np.flatnonzero((e[1:-1] >= e[:-2]) & (e[1:-1] >= e[2:])) + 1
    cand = interior[e[interior] >= 0.5 * np.max(e)]
    if len(cand) == 0:
        cand = np.array([int(np.argmax(e))])
    xs = _ternary_max(err, grid[cand - 1], grid[cand + 1], iters=80)
    xs = np.r_[xs, [k for k in kinks if grid[0] < k < grid[-1]]]
    vals = err(xs)
    top = float(np.max(vals))
    where = sorted({round(float(x), 6) for x, v in zip(xs, vals) if v >= top * (1 - 1e-9)})
    return top, tuple(where)


def compare(approximation: Any, exact: Any, source: str = "", *, span: float = 12.0) -> KnownComparison:
    """Measure ``approximation`` against ``exact`` over the real line (see the module docstring)."""
    app, ex = pointwise(approximation), pointwise(exact)
    if not (math.isfinite(span) and span > 0):
        raise ValueError(f"span must be a positive number, got {span!r}")
    fa, dfa = numpy_funcs(app)
    fe, dfe = numpy_funcs(ex)
    kinks = sorted(set(app.kinks) | set(ex.kinks))
    grid = np.unique(np.r_[np.linspace(-span, span, int(4000 * span) + 1), kinks])
    err = lambda x: np.abs(fa(x) - fe(x))  # noqa: E731
    derr = lambda x: np.abs(dfa(x) - dfe(x))  # noqa: E731
    vmax, vwhere = _locate(err, grid, kinks)
    dmax, dwhere = _locate(derr, grid, kinks)
    vmp = dmp = None
    if app.spec.mpmath is not None and ex.spec.mpmath is not None:
        with mp.workdps(30):
            ra = lambda x: app.spec.mpmath(mp.mpf(x), **app.params)  # noqa: E731
            re = lambda x: ex.spec.mpmath(mp.mpf(x), **ex.params)  # noqa: E731
            vmp = float(abs(ra(vwhere[0]) - re(vwhere[0])))
            xd = dwhere[0]
            if not any(abs(xd - k) < 1e-6 for k in kinks):  # mpmath's derivative needs a smooth neighbourhood
                dmp = float(abs(mp.diff(ra, mp.mpf(xd)) - mp.diff(re, mp.mpf(xd))))
    # E over z ~ N(0, 1) by the trapezoid rule on the fine grid (the weight is negligible beyond ±12)
    w = np.exp(-0.5 * grid**2) / math.sqrt(2 * math.pi)
    rms = math.sqrt(float(np.trapezoid(w * (fa(grid) - fe(grid)) ** 2, grid)))
    drms = math.sqrt(float(np.trapezoid(w * (dfa(grid) - dfe(grid)) ** 2, grid)))
    return KnownComparison(app.name, ex.name, source, vmax, vwhere, vmp, dmax, dwhere, dmp, rms, drms)


def compare_known(*, span: float = 12.0) -> list[KnownComparison]:
    """All the pairs in :data:`KNOWN`."""
    return [compare(a, e, s, span=span) for a, e, s in KNOWN]
