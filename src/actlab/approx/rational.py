"""Rational approximants and Padé Activation Units (PAU).

R(x) = P(x) / Q(x),  P(x) = Σ_{j=0}^{m} a_j x^j,  Q(x) = 1 + |Σ_{k=1}^{n} b_k x^k|

is the "safe" PAU of Molina, Schramowski & Kersting 2020 (Padé Activation Units, ICLR): Q >= 1 on
the whole real line, so R has no pole wherever its coefficients move during training.  The price is a
kink of Q wherever B(x) = Σ b_k x^k changes sign (x = 0 among them when b₁ ≠ 0); R itself has a kink
there only where P(r)·B'(r) ≠ 0, which is what ``kinks`` declares.  Degrees (5, 4) are the paper's
default.  Coefficients are monomial in x, as in the paper, and learnable: ``approx.module()`` is a
PAU initialised from the fitted activation.

The fit is least squares on a uniform grid of [a, b]: a linearised start (minimise
‖P − f·(1 + B)‖, linear in a and b) and a polynomial start, each refined by Levenberg-Marquardt on
the safe form; the better one wins.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..zoo import Activation, Param
from .base import Approximant

#: largest numerator / denominator degree: beyond it the monomial least-squares fit is too
#: ill-conditioned to be trusted (and PAUs never need it; the paper uses (5, 4)).
MAX_RATIONAL_DEGREE = 12


def check_rational_degree(degree: Any) -> tuple[int, int]:
    """(m, n) from ``(5, 4)``, ``"5,4"``, ``"5/4"`` or an int m (meaning (m, m − 1)); ValueError otherwise."""
    if degree is None:
        return (5, 4)
    if isinstance(degree, str):
        parts = degree.replace("/", ",").split(",")
        try:
            vals = tuple(int(p.strip()) for p in parts)
        except ValueError:
            raise ValueError(f"cannot read rational degree {degree!r}: write m,n such as --degree 5,4") from None
        degree = vals[0] if len(vals) == 1 else vals
    if isinstance(degree, bool):
        raise ValueError(f"rational degree must be (m, n), got {degree!r}: use e.g. --degree 5,4")
    if isinstance(degree, (int, np.integer)):
        degree = (int(degree), max(int(degree) - 1, 0))
    try:
        m, n = (int(v) for v in degree)
    except (TypeError, ValueError):
        raise ValueError(f"rational degree must be (m, n), got {degree!r}: use e.g. --degree 5,4") from None
    if m < 0 or n < 0:
        raise ValueError(f"rational degree ({m}, {n}) has no safe fit: both degrees must be >= 0, e.g. --degree 5,4")
    if m > MAX_RATIONAL_DEGREE or n > MAX_RATIONAL_DEGREE:
        raise ValueError(f"rational degree ({m}, {n}) has no safe fit: the least-squares fit is ill-conditioned above "
                         f"{MAX_RATIONAL_DEGREE}; use e.g. --degree 5,4")
    return m, n


# torch evaluation lives with the zoo's ``pau`` spec (the zoo cannot import upwards); re-exported here
from ..zoo.rational import rational_derivatives, rational_kinks, rational_value  # noqa: E402,F401

# --------------------------------------------------------------------------------------------
# fitting
# --------------------------------------------------------------------------------------------


def _np_parts(u: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = np.polynomial.polynomial.polyval(u, a)
    bq = np.polynomial.polynomial.polyval(u, np.r_[0.0, b])
    return p, bq, 1 + np.abs(bq)


def fit_rational(act: Activation, degree: tuple[int, int], interval: tuple[float, float]) -> "RationalApproximant":
    from scipy.optimize import least_squares

    from ._checks import numpy_funcs

    m, n = degree
    a_, b_ = interval
    f, _ = numpy_funcs(act)
    x = np.unique(np.r_[np.linspace(a_, b_, 2001), [k for k in act.kinks if a_ < k < b_]])
    y = f(x)
    # work in u = x/s (|u| <= 1) for conditioning; a_j(x) = a_j(u)/s^j, b_k(x) = b_k(u)/s^k
    s = max(abs(a_), abs(b_))
    u = x / s
    vu = np.polynomial.polynomial.polyvander(u, max(m, n))

    def resid(theta: np.ndarray) -> np.ndarray:
        p, _, q = _np_parts(u, theta[: m + 1], theta[m + 1:])
        return p / q - y

    def jac(theta: np.ndarray) -> np.ndarray:
        p, bq, q = _np_parts(u, theta[: m + 1], theta[m + 1:])
        ja = vu[:, : m + 1] / q[:, None]
        jb = -(p * np.sign(bq) / q**2)[:, None] * vu[:, 1: n + 1]
        return np.hstack([ja, jb])

    starts = []
    lin = np.hstack([vu[:, : m + 1], -y[:, None] * vu[:, 1: n + 1]])
    starts.append(np.linalg.lstsq(lin, y, rcond=None)[0])
    poly = np.linalg.lstsq(vu[:, : m + 1], y, rcond=None)[0]
    starts.append(np.r_[poly, np.full(n, 1e-2)])
    best: tuple[float, np.ndarray] | None = None
    for theta0 in starts:
        if not np.all(np.isfinite(theta0)):
            continue
        if n + m + 1 <= len(u):
            sol = least_squares(resid, theta0, jac=jac, method="lm", xtol=1e-13, ftol=1e-13, gtol=1e-13, max_nfev=4000)
            theta = sol.x
        else:  # pragma: no cover - 2001 points always suffice for the allowed degrees
            theta = theta0
        r = resid(theta)
        if not np.all(np.isfinite(r)):
            continue
        cost = float(np.sqrt(np.mean(r**2)))
        if best is None or cost < best[0]:
            best = (cost, theta)
    if best is None:
        raise ValueError(f"rational degree ({m}, {n}) has no safe fit for {act.name} on [{a_:g}, {b_:g}]: "
                         "try --degree 5,4 or a narrower interval")
    theta = best[1]
    a_x = theta[: m + 1] / s ** np.arange(m + 1)
    b_x = theta[m + 1:] / s ** np.arange(1, n + 1)
    return RationalApproximant(act, "rational", interval, (m, n), a_x, b_x, {"fit_rms_error": best[0]})


class RationalApproximant(Approximant):
    """A safe Padé activation unit fitted to an activation; ``a0..am``, ``b1..bn`` are learnable."""

    kind = "rational"
    reference = "Molina, Schramowski & Kersting 2020 (Padé Activation Units, safe PAU)"

    def __init__(self, target: Activation, method: str, interval: tuple[float, float], degree: tuple[int, int],
                 a: np.ndarray, b: np.ndarray, info: dict[str, Any] | None = None):
        super().__init__(target, method, interval, degree, info)
        self.a = np.asarray(a, dtype=float).copy()
        self.b = np.asarray(b, dtype=float).copy()

    def params(self) -> tuple[Param, ...]:
        ps = [Param(f"a{j}", float(v), f"numerator coefficient of x^{j}", learnable=True, learn_by_default=True)
              for j, v in enumerate(self.a)]
        ps += [Param(f"b{k}", float(v), f"denominator coefficient of x^{k}", learnable=True, learn_by_default=True)
               for k, v in enumerate(self.b, start=1)]
        return tuple(ps)

    def formula(self) -> str:
        m, n = self.degree
        return f"R(x) = Σ_{{j=0}}^{{{m}}} a_j x^j / (1 + |Σ_{{k=1}}^{{{n}}} b_k x^k|)"

    def _split(self, p: dict[str, Any]) -> tuple[list[Any], list[Any]]:
        m, n = self.degree
        return [p[f"a{j}"] for j in range(m + 1)], [p[f"b{k}"] for k in range(1, n + 1)]

    def _torch_fns(self) -> tuple[Any, Any, Any]:
        def fn(x: torch.Tensor, **p: Any) -> torch.Tensor:
            return rational_value(x, *self._split(p))

        def d1(x: torch.Tensor, **p: Any) -> torch.Tensor:
            return rational_derivatives(x, *self._split(p), 1)

        def d2(x: torch.Tensor, **p: Any) -> torch.Tensor:
            return rational_derivatives(x, *self._split(p), 2)

        return fn, d1, d2

    def _kinks(self, **p: float) -> tuple[float, ...]:
        """Real roots r of B of odd multiplicity where R' jumps (by −2·P(r)·|B'(r)|)."""
        return rational_kinks(*self._split(p))

    def denominator(self, x: Any) -> np.ndarray:
        """Q(x) = 1 + |B(x)| in float64 (>= 1 everywhere: no poles)."""
        _, _, q = _np_parts(np.asarray(x, dtype=float), self.a, self.b)
        return q


def pau(init: Any = "leaky_relu", degree: Any = (5, 4), interval: tuple[float, float] = (-3.0, 3.0), *,
        num_parameters: int = 1):
    """A learnable safe Padé Activation Unit (``nn.Module``) initialised by fitting ``init`` on ``interval``.

    Molina et al. 2020 initialise PAUs by fitting leaky ReLU; any activation works here.
    """
    from ._checks import check_interval, pointwise

    approx = fit_rational(pointwise(init), check_rational_degree(degree), check_interval(interval))
    return approx.module(learn=True, num_parameters=num_parameters)
