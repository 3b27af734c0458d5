"""The safe rational function of Padé Activation Units, evaluated in torch (shared by the zoo's ``pau``
spec and ``actlab.approx``, which fits its coefficients).

R(x) = P(x) / Q(x),  P(x) = Σ_{j=0}^{m} a_j x^j,  Q(x) = 1 + |Σ_{k=1}^{n} b_k x^k|
(Molina, Schramowski & Kersting 2020, the "safe" PAU: Q >= 1, so R has no pole).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch



def _t(c: Any, like: torch.Tensor) -> torch.Tensor:
    return c.to(like.dtype) if isinstance(c, torch.Tensor) else torch.tensor(float(c), dtype=like.dtype, device=like.device)


def _horner(coeffs: Sequence[Any], x: torch.Tensor) -> torch.Tensor:
    """Σ c_j x^j; the zero polynomial for an empty list."""
    if not coeffs:
        return torch.zeros_like(x)
    y = _t(coeffs[-1], x) + torch.zeros_like(x)
    for c in reversed(coeffs[:-1]):
        y = y * x + _t(c, x)
    return y


class _Parts:
    """Q and the ratios f/Q for one input tensor, computed the safe way.

    For |x| <= 1 directly.  For |x| > 1 with s = 1/x: a degree-d polynomial is x^d·f̃(s) with the
    coefficients reversed, and Q = |x|^n·(|s|^n + |B̃(s)|), so f/Q = sgn(x)^d |x|^(d−n) f̃(s) / (|s|^n + |B̃(s)|):
    nothing overflows before the true value does, and at ±1e300 (where ``limits='auto'`` looks) the
    ratio is the right infinity or limit instead of inf/inf.
    """

    def __init__(self, b: Sequence[Any], x: torch.Tensor):
        self.n = len(b)
        self.inside = x.abs() <= 1
        self.xi = torch.where(self.inside, x, torch.zeros_like(x))
        self.xo = torch.where(self.inside, torch.ones_like(x), x)
        self.s = 1 / self.xo
        bi = _horner([0.0, *b], self.xi)
        self.q_in = 1 + bi.abs()
        bt = _horner(list(reversed(b)), self.s)
        self.den_out = (self.s.abs() ** self.n + bt.abs()).clamp_min(torch.finfo(x.dtype).tiny)
        self.sign_b = torch.where(self.inside, torch.sign(bi), torch.sign(bt) * torch.sign(self.xo) ** self.n)

    def ratio(self, coeffs: Sequence[Any]) -> torch.Tensor:
        """(Σ c_j x^j) / Q(x)."""
        d = len(coeffs) - 1
        if d < 0:
            return torch.zeros_like(self.xi)
        y_in = _horner(coeffs, self.xi) / self.q_in
        y_out = torch.sign(self.xo) ** d * self.xo.abs() ** (d - self.n) * _horner(list(reversed(coeffs)), self.s) / self.den_out
        return torch.where(self.inside, y_in, y_out)


def _deriv(coeffs: Sequence[Any]) -> list[Any]:
    return [j * coeffs[j] for j in range(1, len(coeffs))]


def rational_value(x: torch.Tensor, a: Sequence[Any], b: Sequence[Any]) -> torch.Tensor:
    return _Parts(b, x).ratio(a)


def rational_derivatives(x: torch.Tensor, a: Sequence[Any], b: Sequence[Any], order: int) -> torch.Tensor:
    """R' or R'' of the safe rational (at a root of B the derivative of |B| is taken as 0, like torch.abs).

    With g = sgn(B)·B'/Q (so Q'/Q = g):  R' = P'/Q − R·g,
    R'' = P''/Q − 2(P'/Q)g + 2R·g² − R·sgn(B)·B''/Q.
    """
    parts = _Parts(b, x)
    bb = [0.0, *b]
    r0, r1 = parts.ratio(a), parts.ratio(_deriv(a))
    g = parts.sign_b * parts.ratio(_deriv(bb))
    if order == 1:
        return r1 - r0 * g
    r2 = parts.ratio(_deriv(_deriv(a)))
    return r2 - 2 * r1 * g + 2 * r0 * g * g - r0 * parts.sign_b * parts.ratio(_deriv(_deriv(bb)))



def rational_kinks(a: Sequence[Any], b: Sequence[Any]) -> tuple[float, ...]:
    """Real roots r of B = Σ b_k x^k of odd multiplicity where R' jumps (by −2·P(r)·|B'(r)|)."""
    a, b = (np.array([float(v) for v in c], dtype=float) for c in (a, b))
    bb = np.r_[0.0, b]
    if not np.any(b):
        return ()
    roots = np.polynomial.polynomial.polyroots(np.trim_zeros(bb, "b"))
    out = []
    scale = max(1.0, float(np.max(np.abs(a))) if len(a) else 1.0)
    for r in roots:
        if abs(r.imag) > 1e-9 * (1 + abs(r.real)):
            continue
        r = float(r.real)
        jump = 2 * abs(np.polynomial.polynomial.polyval(r, a) * np.polynomial.polynomial.polyval(r, np.polynomial.polynomial.polyder(bb)))
        if jump > 1e-9 * scale:
            out.append(0.0 if abs(r) < 1e-12 else r)
    return tuple(sorted(set(out)))
