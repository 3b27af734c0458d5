"""Error reports for approximants: value and derivative errors inside [a, b] and outside it.

Inside means [a, b]; outside means the two flanks [a − w, a) and (b, b + w] with w = ``outside`` ×
(b − a) (half the interval's width by default) -- where an approximant fitted on [a, b] has to
extrapolate, which is where pre-activations go when a network drifts.  Errors are absolute, measured
in float64 on uniform grids (kinks of the target added); RMS is with respect to the uniform measure.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Sequence

import numpy as np

from ._checks import check_degree, check_interval, numpy_funcs, pointwise
from .base import Approximant

#: grid points per unit of the interval's width (and never fewer than 2001 inside)
_DENSITY = 2000


@dataclass(frozen=True)
class RegionErrors:
    """Maximum (with where it occurs) and RMS of |error| of the value and of the first derivative."""

    value_max: float
    value_argmax: float
    value_rms: float
    derivative_max: float
    derivative_argmax: float
    derivative_rms: float


@dataclass(frozen=True)
class ErrorReport:
    target: str
    method: str
    degree: Any
    interval: tuple[float, float]
    outside: tuple[tuple[float, float], tuple[float, float]]
    inside_errors: RegionErrors
    outside_errors: RegionErrors

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["degree"] = list(self.degree) if isinstance(self.degree, tuple) else self.degree
        d["inside"] = d.pop("inside_errors")
        d["outside"] = {"regions": [list(r) for r in self.outside], **d.pop("outside_errors")}
        d["interval"] = list(self.interval)
        return d


def _region(x: np.ndarray, f: np.ndarray, df: np.ndarray, p: np.ndarray, dp: np.ndarray) -> RegionErrors:
    e, de = np.abs(p - f), np.abs(dp - df)
    i, j = int(np.argmax(e)), int(np.argmax(de))
    return RegionErrors(
        value_max=float(e[i]), value_argmax=float(x[i]), value_rms=float(np.sqrt(np.mean(e**2))),
        derivative_max=float(de[j]), derivative_argmax=float(x[j]), derivative_rms=float(np.sqrt(np.mean(de**2))),
    )


def grids(interval: tuple[float, float], outside: float, kinks: Sequence[float] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Uniform grids inside [a, b] and on the two outside flanks."""
    a, b = interval
    w = outside * (b - a)
    n_in = max(2001, int(_DENSITY * (b - a)) + 1)
    inside = np.unique(np.r_[np.linspace(a, b, n_in), [k for k in kinks if a <= k <= b]])
    n_out = max(501, int(_DENSITY * w) + 1)
    left = np.linspace(a - w, a, n_out)[:-1]
    right = np.linspace(b, b + w, n_out)[1:]
    out = np.unique(np.r_[left, right, [k for k in kinks if a - w <= k < a or b < k <= b + w]])
    return inside, out


def error_report(approx: Approximant, *, outside: float = 0.5) -> ErrorReport:
    """Value and derivative errors of ``approx`` against its target inside [a, b] and outside it."""
    if not (isinstance(outside, (int, float)) and np.isfinite(outside) and outside > 0):
        raise ValueError(f"outside must be a positive width (a fraction of b − a), got {outside!r}")
    a, b = approx.interval
    w = outside * (b - a)
    f, df = numpy_funcs(approx.target)
    x_in, x_out = grids(approx.interval, outside, approx.target.kinks)
    regions = []
    for x in (x_in, x_out):
        regions.append(_region(x, f(x), df(x), approx(x), approx.derivative(x)))
    return ErrorReport(
        target=approx.target.name, method=approx.method, degree=approx.degree, interval=approx.interval,
        outside=((a - w, a), (b, b + w)), inside_errors=regions[0], outside_errors=regions[1],
    )


def gaussian_errors(approx: Approximant, std: float = 1.0) -> dict[str, float]:
    """RMS of the value and derivative errors under x ~ N(0, std²): what a network's pre-activations see.

    Composite Gauss-Legendre on [−12·std, 12·std], split at the target's kinks (the weight beyond is
    below 1e-31, but a polynomial's growth there is included up to that point).
    """
    from .polynomial import _gauss, _split

    if not (isinstance(std, (int, float)) and math.isfinite(std) and std > 0):
        raise ValueError(f"std must be a positive number, got {std!r}")
    f, df = numpy_funcs(approx.target)
    edges = _split(list(approx.target.kinks) + list(np.linspace(-12 * std, 12 * std, 25)), -12 * std, 12 * std)
    x, w = _gauss(edges, 64)
    w = w * np.exp(-0.5 * (x / std) ** 2) / (std * math.sqrt(2 * math.pi))
    return {"value_rms": float(np.sqrt(np.sum(w * (approx(x) - f(x)) ** 2))),
            "derivative_rms": float(np.sqrt(np.sum(w * (approx.derivative(x) - df(x)) ** 2)))}


def convergence(activation: Any, methods: Iterable[str], degrees: Iterable[int], interval: Any = (-3.0, 3.0), *,
                outside: float = 0.5) -> list[dict[str, Any]]:
    """Error against degree for each method: the table that shows Runge (equispaced Newton) and its cure.

    Hermite is skipped at even degrees (its degree is 2k − 1); ``rational`` is not a degree sweep.
    """
    from . import METHODS, approximate

    act = pointwise(activation)
    ab = check_interval(interval)
    methods = list(methods)
    for m in methods:
        if m not in METHODS or m == "rational":
            raise ValueError(f"convergence sweeps polynomial methods; {m!r} is not one of {', '.join(METHODS[:-1])}")
    degrees = [check_degree(d) for d in degrees]
    if not degrees:
        raise ValueError("give at least one degree, e.g. --sweep 3,7,15,31")
    rows = []
    for m in methods:
        for d in degrees:
            if m == "hermite" and d % 2 == 0:
                continue
            r = error_report(approximate(act, m, d, ab), outside=outside)
            rows.append({"method": m, "degree": d,
                         "value_max": r.inside_errors.value_max, "derivative_max": r.inside_errors.derivative_max,
                         "value_rms": r.inside_errors.value_rms, "derivative_rms": r.inside_errors.derivative_rms,
                         "outside_value_max": r.outside_errors.value_max})
    return rows


def plot_approximant(approx: Approximant, *, outside: float = 0.5):
    """A figure: the target and the approximant (fitted interval shaded), |value error| and |derivative error|."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a, b = approx.interval
    w = outside * (b - a)
    x = np.linspace(a - w, b + w, 3001)
    f, df = numpy_funcs(approx.target)
    y, p = f(x), approx(x)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    ax = axes[0]
    ax.axvspan(a, b, color="0.92", label="fitted interval")
    ax.plot(x, y, "k", lw=2, label=approx.target.name)
    ax.plot(x, p, "C1--", lw=1.5, label=f"{approx.method} {approx.degree_text.replace('_', '/')}")
    lo, hi = float(np.min(y)), float(np.max(y))
    pad = 0.25 * (hi - lo + 1e-12)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_title("function")
    ax.legend(fontsize=8)
    tiny = 1e-17
    for ax, err, title in ((axes[1], np.abs(p - y), "|value error|"),
                           (axes[2], np.abs(approx.derivative(x) - df(x)), "|derivative error|")):
        ax.axvspan(a, b, color="0.92")
        ax.semilogy(x, err + tiny, "C3")
        ax.set_title(title)
    for ax in axes:
        ax.set_xlabel("x")
    fig.suptitle(f"{approx.method} approximation of {approx.target.name} on [{a:g}, {b:g}]")
    fig.tight_layout()
    return fig


def plot_convergence(rows: Sequence[dict[str, Any]], title: str = ""):
    """Maximum value and derivative error inside [a, b] against degree, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    methods = list(dict.fromkeys(r["method"] for r in rows))
    for i, m in enumerate(methods):
        rs = [r for r in rows if r["method"] == m]
        deg = [r["degree"] for r in rs]
        axes[0].semilogy(deg, [r["value_max"] + 1e-17 for r in rs], "o-", color=f"C{i}", label=m)
        axes[1].semilogy(deg, [r["derivative_max"] + 1e-17 for r in rs], "o-", color=f"C{i}", label=m)
    axes[0].set_title("max |value error| in [a, b]")
    axes[1].set_title("max |derivative error| in [a, b]")
    for ax in axes:
        ax.set_xlabel("degree")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
