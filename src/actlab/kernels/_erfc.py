"""The Gaussian tail Phi(-|x|) in float32 for the fused exact-GELU kernels: its form, its coefficients
and the fit that produced them (so they are derived here, not copied from a table).

Form: with z = |x|/sqrt(2) and t = 1 / (1 + z/2) in (0, 1],

    Phi(-|x|) = erfc(z) / 2 = t * exp(-x^2/2) * Q(t),     Q a degree-10 polynomial.

Q(t) approximates erfcx(z) / (2t), where erfcx(z) = exp(z^2) erfc(z) is smooth and slowly varying:
Q(0) = 1/(2 sqrt(pi)) (the z -> inf asymptote) and Q(1) = 1/2.  The substitution t = 1/(1 + z/2) is
the one of Numerical Recipes' ``erfcc`` (Press et al., 2nd ed. 1992, s. 6.2), which writes the same
factor as exp(P(t)) with a published degree-9 P; a plain polynomial in t costs one exp fewer, and the
kernel needs exp(-x^2/2) anyway for the derivative Phi(x) + x phi(x).  So the fused backward pays one
exp, one division and ten FMAs per element -- the price of SiLU -- where SLEEF's double-float
``erfcf`` (what ``Vectorized::erfc`` calls) costs several times that.

:func:`fit` is a relative-error least-squares fit on 4000 Chebyshev nodes in t, reweighted (Lawson's
iteration) towards the minimax solution; its float64 maximum relative error is ~1e-8 and, after
rounding the coefficients to float32 and evaluating in float32, ~1.6e-7 (~3 ulp).  The tests re-run
the fit, check :data:`COEFFS` against it, and hold the kernel to mpmath over the whole float32 range.
"""

from __future__ import annotations

import math

import numpy as np

#: t = 1 / (1 + T_SCALE * z), z = |x| / sqrt(2); in x: t = 1 / (1 + X_SCALE * |x|)
T_SCALE = 0.5
X_SCALE = T_SCALE / math.sqrt(2)

#: Q's coefficients, lowest degree first, already rounded to float32 (the values the C++ kernel uses)
COEFFS = (
    0.141047403216362, 0.1410469263792038, 0.12344029545783997, 0.0876883715391159,
    0.04650064557790756, -0.02861778438091278, 0.06354875862598419, -0.22349512577056885,
    0.2430955022573471, -0.11543197929859161, 0.021176986396312714,
)


def fit(degree: int = 10, nodes: int = 4000, rounds: int = 30) -> np.ndarray:
    """Q's coefficients (float64, lowest first) by iteratively reweighted relative least squares."""
    from scipy.special import erfcx  # scipy comes with scikit-learn; only this derivation needs it

    k = np.arange(nodes)
    t = 0.5 - 0.5 * np.cos(np.pi * (k + 0.5) / nodes)  # Chebyshev nodes on (0, 1)
    target = erfcx((1 - t) / (T_SCALE * t)) / (2 * t)
    a = np.vander(t, degree + 1, increasing=True) / target[:, None]  # rows: relative error per coefficient
    w = np.ones_like(t)
    for _ in range(rounds):  # Lawson: weight up where the error is large, towards equal ripple
        c, *_ = np.linalg.lstsq(a * w[:, None], w, rcond=None)
        r = np.abs(a @ c - 1)
        w = w * np.sqrt(r / r.mean() + 1e-3)
    return c


def tail(x: np.ndarray, coeffs: tuple[float, ...] | np.ndarray = COEFFS) -> np.ndarray:
    """Phi(-|x|) from the form above, evaluated in float64 (for checking the coefficients)."""
    ax = np.abs(np.asarray(x, dtype=np.float64))
    t = 1 / (1 + X_SCALE * ax)
    return t * np.exp(-0.5 * ax * ax) * np.polynomial.polynomial.polyval(t, np.asarray(coeffs, dtype=np.float64))


def cpp_float(v: float) -> str:
    """A C++ float literal for v rounded to float32 (shortest repr of that float32, as a double)."""
    return f"{float(np.float32(v))!r}f"


def cpp_horner(var: str = "t", out: str = "q") -> str:
    """C++ lines evaluating Q by Horner's rule with ATen's vector FMA (the kernel source is built from this)."""
    c = [cpp_float(v) for v in COEFFS]
    lines = [f"V {out}({c[-1]});"]
    lines += [f"{out} = at::vec::fmadd({out}, {var}, V({v}));" for v in reversed(c[:-1])]
    return "\n  ".join(lines)
