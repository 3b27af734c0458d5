"""Approximation of activations: polynomial (Newton, Hermite, least squares, minimax) and rational (PAU).

>>> from actlab import approx
>>> p = approx.approximate("gelu", "hermite", degree=7, interval=(-4, 4))
>>> act = p.register("gelu_h7")          # now actlab.get("gelu_h7") works
>>> report = approx.error_report(p)      # value and derivative errors inside and outside [a, b]

Every approximant is itself an activation (:class:`Approximant.to_spec`): its coefficients are
learnable parameters, so ``p.module(learn=True)`` trains them and the rational approximant is a Padé
Activation Unit initialised from any activation.  Claim C06 (value-only vs derivative-matched
approximants in training) lives in :mod:`actlab.approx.experiment`.
"""

from __future__ import annotations

from typing import Any

from ._checks import MAX_DEGREE, check_degree, check_interval, parse_interval, pointwise
from .base import Approximant
from .polynomial import METHODS as POLYNOMIAL_METHODS
from .polynomial import PolynomialApproximant, polynomial_properties
from .rational import MAX_RATIONAL_DEGREE, RationalApproximant, check_rational_degree, fit_rational, pau
from .report import ErrorReport, convergence, error_report, plot_approximant, plot_convergence
from .known import KNOWN, KnownComparison, compare, compare_known

#: every method :func:`approximate` accepts
METHODS = (*POLYNOMIAL_METHODS, "rational")

#: the default interval: where a unit-variance pre-activation spends 99.7 % of its time
DEFAULT_INTERVAL = (-3.0, 3.0)

#: the default polynomial degree (odd, so that Hermite can use it too)
DEFAULT_DEGREE = 7


def approximate(activation: Any, method: str = "chebyshev", degree: Any = None,
                interval: Any = DEFAULT_INTERVAL) -> Approximant:
    """Approximate ``activation`` on ``interval`` by ``method``.

    Args:
        activation: anything :func:`actlab.get` accepts (pointwise).
        method: one of :data:`METHODS`.
        degree: polynomial degree (default 7; Hermite needs an odd one), or ``(m, n)`` numerator and
            denominator degrees for ``rational`` (default ``(5, 4)``).
        interval: ``(a, b)`` with finite a < b, or the text ``"a,b"``.
    """
    if method not in METHODS:
        from ..zoo.registry import suggest

        raise ValueError(f"unknown method {method!r}{suggest(str(method), METHODS)}; methods: {', '.join(METHODS)}")
    act = pointwise(activation)
    ab = check_interval(interval)
    if method == "rational":
        return fit_rational(act, check_rational_degree(degree), ab)
    from .polynomial import fit

    return fit(act, method, check_degree(DEFAULT_DEGREE if degree is None else degree), ab)


__all__ = ["Approximant", "DEFAULT_DEGREE", "DEFAULT_INTERVAL", "ErrorReport", "KNOWN", "KnownComparison", "MAX_DEGREE",
           "MAX_RATIONAL_DEGREE", "METHODS", "PolynomialApproximant", "RationalApproximant", "approximate",
           "check_degree", "check_interval", "check_rational_degree", "compare", "compare_known", "convergence",
           "error_report", "parse_interval", "pau", "plot_approximant", "plot_convergence", "polynomial_properties"]
