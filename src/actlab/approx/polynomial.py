"""Polynomial approximants of an activation on [a, b]: Newton, Hermite, least squares, minimax.

Every method works in the scaled variable t = (2x − a − b)/(b − a) on [−1, 1] and returns the
polynomial's coefficients in the Chebyshev basis T_k(t).  That one representation is well conditioned
at any degree (the monomial basis is not: its coefficients grow like 2^N and cancel in float32), is
evaluated by Clenshaw's recurrence, and its coefficients are the learnable parameters of the
activation.  The *methods* differ only in how the polynomial is chosen:

* ``newton`` / ``newton-chebyshev`` -- interpolation through N + 1 equispaced / Chebyshev points by
  Newton's divided differences (the nodes taken in Leja order so the Newton form stays accurate at high
  degree; Reichel 1990).  Equispaced nodes show the Runge phenomenon; Chebyshev points do not
  (Trefethen, *Approximation Theory and Approximation Practice* (ATAP), ch. 11-13).
* ``hermite`` -- values *and* first derivatives at the k Chebyshev roots (first kind), degree
  N = 2k − 1, by confluent divided differences (repeated nodes take f' in place of a first difference).
* ``chebyshev`` -- least squares with the Chebyshev weight (1 − t²)^(−1/2), i.e. the truncated
  Chebyshev series (ATAP ch. 3-4), integrals by Gauss-Legendre in θ = arccos t, split at kinks.
* ``legendre`` -- least squares with the uniform weight (the truncated Legendre series), integrals by
  composite Gauss-Legendre split at kinks, so piecewise-polynomial activations are integrated exactly.
* ``minimax`` -- the best uniform approximation by the Remez exchange algorithm (ATAP ch. 10):
  solve for the polynomial that equioscillates on a reference of N + 2 points, move the reference to
  the extrema of the error, repeat until the levelled error equals the maximum error.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Sequence

import numpy as np
import numpy.polynomial.chebyshev as C
import numpy.polynomial.legendre as L
import torch

from ..zoo import SMOOTH, Activation, Param, Properties
from .base import Approximant

Fn = Callable[[np.ndarray], np.ndarray]

# --------------------------------------------------------------------------------------------
# torch evaluation (used by the spec: coefficients may be floats or learned tensors)
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=128)
def _cheb2mono(n: int) -> np.ndarray:
    """M with M[j, k] = coefficient of t^j in T_k(t), for k, j <= n."""
    return np.stack([C.cheb2poly(np.eye(n + 1)[k]).tolist() + [0.0] * (n - k) for k in range(n + 1)], axis=1)


def _stack(coeffs: Sequence[Any], like: torch.Tensor) -> torch.Tensor:
    parts = [c.to(like.dtype) if isinstance(c, torch.Tensor) else torch.tensor(float(c), dtype=like.dtype, device=like.device)
             for c in coeffs]
    return torch.stack(torch.broadcast_tensors(*parts))


def eval_cheb(coeffs: Sequence[Any], t: torch.Tensor) -> torch.Tensor:
    """Σ c_k T_k(t) for tensors ``t``, finite for every finite ``t``.

    Inside |t| <= T Clenshaw's recurrence (stable; ATAP ch. 3).  Outside, the monomial form by Horner:
    there the terms no longer cancel (|T_k(t)| grows like (|t| + √(t² − 1))^k, the monomial sum like
    (|t| + √(t² + 1))^k, a ratio of 1.03^N at |t| = 4), and Horner never forms inf − inf, so values
    too large for the dtype come out as the right signed infinity instead of NaN (Clenshaw's
    ``2t·b₁ − b₂`` would).  Each branch only sees its own inputs (the "double where"), so gradients
    stay finite.
    """
    n = len(coeffs) - 1
    c = _stack(coeffs, t)
    if n == 0:
        return c[0] + torch.zeros_like(t)
    big = 4.0 if n <= 32 else 2.0
    inside = t.abs() <= big
    ti = torch.where(inside, t, torch.zeros_like(t))
    b1 = torch.zeros_like(ti)
    b2 = torch.zeros_like(ti)
    for k in range(n, 0, -1):
        b1, b2 = c[k] + 2 * ti * b1 - b2, b1
    y_in = c[0] + ti * b1 - b2
    to = torch.where(inside, torch.full_like(t, big), t)
    m = torch.tensordot(torch.as_tensor(_cheb2mono(n), dtype=t.dtype, device=t.device), c, dims=1)
    y_out = m[n] + torch.zeros_like(to)
    for j in range(n - 1, -1, -1):
        y_out = y_out * to + m[j]
    return torch.where(inside, y_in, y_out)


def cheb_derivative(coeffs: Sequence[Any]) -> list[Any]:
    """Chebyshev coefficients of d/dt Σ c_k T_k(t) (c'_{k−1} = c'_{k+1} + 2k·c_k; works on tensors)."""
    n = len(coeffs) - 1
    if n == 0:
        return [0.0 * coeffs[0]]
    d: list[Any] = [0.0] * (n + 1)
    for k in range(n, 0, -1):
        d[k - 1] = d[k + 1] + 2 * k * coeffs[k] if k + 1 <= n else 2 * k * coeffs[k]
    d[0] = d[0] / 2
    return d[:n]


# --------------------------------------------------------------------------------------------
# nodes and divided differences
# --------------------------------------------------------------------------------------------


def chebyshev_points(n: int) -> np.ndarray:
    """n Chebyshev points of the second kind on [−1, 1] (the extrema of T_{n−1}, endpoints included)."""
    if n == 1:
        return np.zeros(1)
    pts = -np.cos(np.pi * np.arange(n) / (n - 1))
    pts[np.abs(pts) < 1e-15] = 0.0  # symmetric sets hit 0 exactly (cos(π/2) is 6e-17 in floating point)
    return pts


def chebyshev_roots(n: int) -> np.ndarray:
    """n Chebyshev points of the first kind (the roots of T_n): interior, so Hermite spends no slope
    condition on an endpoint (Hermite-Fejér interpolation; Fejér 1916)."""
    pts = -np.cos(np.pi * (2 * np.arange(n) + 1) / (2 * n))
    pts[np.abs(pts) < 1e-15] = 0.0
    return pts


def equispaced_points(n: int) -> np.ndarray:
    return np.zeros(1) if n == 1 else np.linspace(-1.0, 1.0, n)


def leja_order(points: np.ndarray) -> np.ndarray:
    """Indices ordering ``points`` greedily by the largest product of distances to the points before."""
    pts = np.asarray(points, dtype=float)
    order = [int(np.argmax(np.abs(pts)))]
    logdist = np.log(np.abs(pts - pts[order[0]]) + 1e-300)
    for _ in range(len(pts) - 1):
        logdist[order] = -np.inf
        i = int(np.argmax(logdist))
        order.append(i)
        logdist = logdist + np.log(np.abs(pts - pts[i]) + 1e-300)
    return np.array(order)


def divided_differences(z: np.ndarray, fz: np.ndarray, dfz: np.ndarray | None = None) -> np.ndarray:
    """Newton coefficients f[z₀], f[z₀, z₁], ... ; where z_i = z_{i−1} (a double node) f[z_i, z_i] = f'(z_i).

    Confluent divided differences give Hermite interpolation (values and slopes at double nodes).
    """
    z = np.asarray(z, dtype=float)
    d = np.array(fz, dtype=float)
    n = len(z)
    for j in range(1, n):
        prev = d.copy()
        for i in range(j, n):
            if z[i] == z[i - j]:
                if j != 1 or dfz is None:
                    raise ValueError("a node may appear at most twice and needs a derivative value")
                d[i] = dfz[i]
            else:
                d[i] = (prev[i] - prev[i - 1]) / (z[i] - z[i - j])
    return d


def newton_eval(z: np.ndarray, d: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Evaluate the Newton form Σ d_i Π_{j<i} (t − z_j) by nested multiplication."""
    t = np.asarray(t, dtype=float)
    y = np.full_like(t, d[-1])
    for i in range(len(d) - 2, -1, -1):
        y = y * (t - z[i]) + d[i]
    return y


# --------------------------------------------------------------------------------------------
# the methods (numpy, float64, on t in [−1, 1]); each returns Chebyshev coefficients and info
# --------------------------------------------------------------------------------------------


def _interp_newton(g: Fn, n: int, nodes: str) -> tuple[np.ndarray, dict[str, Any]]:
    t = (equispaced_points if nodes == "equispaced" else chebyshev_points)(n + 1)
    t = t[leja_order(t)]
    d = divided_differences(t, g(t))
    coef = C.chebinterpolate(lambda s: newton_eval(t, d, s), n)
    return coef, {"nodes_t": np.sort(t)}


def _hermite(g: Fn, dg: Fn, n: int) -> tuple[np.ndarray, dict[str, Any]]:
    if n % 2 == 0:
        raise ValueError(f"hermite matches values and slopes at k nodes, so its degree is odd (2k − 1); "
                         f"got {n}: use --degree {n + 1} or {max(n - 1, 1)}")
    k = (n + 1) // 2
    nodes = chebyshev_roots(k)
    nodes = nodes[leja_order(nodes)]
    z = np.repeat(nodes, 2)
    d = divided_differences(z, g(z), dg(z))
    coef = C.chebinterpolate(lambda s: newton_eval(z, d, s), n)
    return coef, {"nodes_t": np.sort(nodes)}


def _split(kinks_t: Sequence[float], lo: float, hi: float) -> list[float]:
    inner = sorted(k for k in kinks_t if lo < k < hi)
    return [lo, *inner, hi]


def _gauss(edges: Sequence[float], m: int) -> tuple[np.ndarray, np.ndarray]:
    """Composite Gauss-Legendre nodes and weights, m points on each piece between ``edges``."""
    s, w = L.leggauss(m)
    xs, ws = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        xs.append((hi - lo) / 2 * s + (hi + lo) / 2)
        ws.append((hi - lo) / 2 * w)
    return np.concatenate(xs), np.concatenate(ws)


def _chebyshev_ls(g: Fn, n: int, kinks_t: Sequence[float]) -> tuple[np.ndarray, dict[str, Any]]:
    # c_k = (2/π) ∫_0^π g(cos θ) cos kθ dθ  (c_0 with 1/π): the Chebyshev-weighted projection.
    # A kink of g at t_k is a kink of the integrand at θ = arccos t_k, so the θ-range is split there.
    edges = _split([math.acos(k) for k in kinks_t if -1 < k < 1], 0.0, math.pi)
    theta, w = _gauss(edges, n + 200)
    gv = g(np.cos(theta))
    k = np.arange(n + 1)
    coef = (2 / np.pi) * (np.cos(np.outer(k, theta)) * (w * gv)).sum(axis=1)
    coef[0] /= 2
    return coef, {}


def _legendre_ls(g: Fn, n: int, kinks_t: Sequence[float]) -> tuple[np.ndarray, dict[str, Any]]:
    # c_k = (2k + 1)/2 ∫ g P_k dt: the uniform-weight projection; exact for piecewise polynomials of
    # degree < 2(n + 100) − n between kinks.
    t, w = _gauss(_split(kinks_t, -1.0, 1.0), n + 100)
    gv = g(t)
    vand = L.legvander(t, n)
    leg = (vand * (w * gv)[:, None]).sum(axis=0) * (2 * np.arange(n + 1) + 1) / 2
    coef = C.chebinterpolate(lambda s: L.legval(s, leg), n)
    return coef, {"legendre_coefficients": leg}


def _ternary_max(h: Fn, lo: np.ndarray, hi: np.ndarray, iters: int = 60) -> np.ndarray:
    """Vectorised ternary search for the maximiser of unimodal h on each [lo_i, hi_i]."""
    lo, hi = lo.copy(), hi.copy()
    for _ in range(iters):
        m1 = lo + (hi - lo) / 3
        m2 = hi - (hi - lo) / 3
        left = h(m1) < h(m2)
        lo = np.where(left, m1, lo)
        hi = np.where(left, hi, m2)
    mid = (lo + hi) / 2
    return mid


def _alternating_extrema(grid: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Indices of max |e| on each run of constant sign of e (an alternating sequence by construction)."""
    s = np.sign(e)
    s[s == 0] = 1
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    ends = np.r_[starts[1:], len(e)]
    return np.array([a + int(np.argmax(np.abs(e[a:b]))) for a, b in zip(starts, ends)])


def _trim(ts: list[float], es: list[float], keep: int) -> tuple[list[float], list[float]]:
    """Drop extrema until ``keep`` remain, never breaking alternation and never dropping the largest."""
    ts, es = list(ts), list(es)
    while len(ts) > keep:
        if len(ts) - keep == 1:
            drop = [0] if abs(es[0]) < abs(es[-1]) else [len(ts) - 1]
        else:
            options = [(max(abs(es[i]), abs(es[i + 1])), [i, i + 1]) for i in range(len(ts) - 1)]
            options.append((max(abs(es[0]), abs(es[-1])), [0, len(ts) - 1]))
            drop = min(options, key=lambda o: o[0])[1]
        for i in sorted(drop, reverse=True):
            del ts[i], es[i]
    return ts, es


def _minimax(g: Fn, n: int, kinks_t: Sequence[float], *, tol: float = 1e-9, max_iter: int = 100) -> tuple[np.ndarray, dict[str, Any]]:
    m = max(4000, 60 * (n + 2))
    grid = np.unique(np.concatenate([np.linspace(-1, 1, m), -np.cos(np.pi * np.arange(m) / (m - 1)),
                                     [k for k in kinks_t if -1 < k < 1]]))
    gg = g(grid)
    scale = max(1.0, float(np.max(np.abs(gg))))
    ref = -np.cos(np.pi * np.arange(n + 2) / (n + 1))  # Chebyshev extreme points: the classical start
    signs = (-1.0) ** np.arange(n + 2)
    best: tuple[float, np.ndarray, float, np.ndarray] | None = None
    converged, it = False, 0
    for it in range(1, max_iter + 1):
        a = np.hstack([C.chebvander(ref, n), signs[:, None]])
        sol = np.linalg.solve(a, g(ref))
        coef, level = sol[:-1], sol[-1]
        e = gg - C.chebval(grid, coef)
        idx = _alternating_extrema(grid, e)
        lo = grid[np.maximum(idx - 1, 0)]
        hi = grid[np.minimum(idx + 1, len(grid) - 1)]
        err = lambda s, c=coef: np.abs(g(s) - C.chebval(s, c))  # noqa: E731
        t_new = _ternary_max(err, lo, hi)
        # keep the grid point when refinement does not improve it (a kink, an endpoint)
        t_new = np.where(err(t_new) >= np.abs(e[idx]), t_new, grid[idx])
        # the maximum error: the grid's, or larger where refinement found an extremum between grid points
        emax = max(float(np.max(np.abs(e))), float(np.max(err(t_new))))
        if best is None or emax < best[0]:
            best = (emax, coef, level, ref)
        if emax <= 1e-14 * scale:  # at rounding level: g is (numerically) a polynomial of degree <= n
            converged = True
            break
        if emax - abs(level) <= tol * emax:
            converged = True
            break
        # Too few sign changes happens when the reference is degenerate: a symmetric start for an odd or
        # even g gives a levelled error of 0, the error then vanishes *at* the reference (endpoints
        # included) and changes sign only n + 1 times.  An endpoint outside the first/last run is a valid
        # alternation point of opposite sign, so pad with it and exchange on.
        t_new = list(t_new)
        if len(t_new) < n + 2 and t_new[0] > -1:
            t_new.insert(0, -1.0)
        if len(t_new) < n + 2 and t_new[-1] < 1:
            t_new.append(1.0)
        if len(t_new) < n + 2:
            break  # the error does not alternate n + 2 times: nothing left to exchange
        t_new = np.array(t_new)
        e_new = g(t_new) - C.chebval(t_new, coef)
        ts, _ = _trim(list(t_new), list(e_new), n + 2)
        new_ref = np.array(ts)
        if np.array_equal(new_ref, ref):
            break
        ref = new_ref
    assert best is not None
    emax, coef, level, ref = best
    return coef, {"levelled_error": abs(float(level)), "max_error_t": emax, "reference_t": ref,
                  "iterations": it, "converged": converged}


METHODS = ("newton", "newton-chebyshev", "hermite", "chebyshev", "legendre", "minimax")

_REFERENCES = {
    "newton": "Newton divided differences; Runge 1901; Trefethen, ATAP ch. 13",
    "newton-chebyshev": "Newton divided differences at Chebyshev points; Trefethen, ATAP ch. 2, 8; Reichel 1990 (Leja order)",
    "hermite": "Hermite interpolation by confluent divided differences; Trefethen, ATAP",
    "chebyshev": "Chebyshev projection (truncated Chebyshev series); Trefethen, ATAP ch. 3-4",
    "legendre": "Legendre (uniform-weight) least squares; Trefethen, ATAP ch. 17",
    "minimax": "Remez exchange (Remez 1934); Trefethen, ATAP ch. 10",
}


def fit(act: Activation, method: str, degree: int, interval: tuple[float, float]) -> "PolynomialApproximant":
    """Fit a polynomial of ``degree`` to ``act`` on ``interval`` by ``method`` (inputs already checked)."""
    from ._checks import numpy_funcs

    a, b = interval
    half, mid = (b - a) / 2, (a + b) / 2
    f, df = numpy_funcs(act)
    g = lambda t: f(mid + half * np.asarray(t, dtype=float))  # noqa: E731
    dg = lambda t: half * df(mid + half * np.asarray(t, dtype=float))  # noqa: E731
    kinks_t = [(k - mid) / half for k in act.kinks]
    if method == "newton":
        coef, info = _interp_newton(g, degree, "equispaced")
    elif method == "newton-chebyshev":
        coef, info = _interp_newton(g, degree, "chebyshev")
    elif method == "hermite":
        coef, info = _hermite(g, dg, degree)
    elif method == "chebyshev":
        coef, info = _chebyshev_ls(g, degree, kinks_t)
    elif method == "legendre":
        coef, info = _legendre_ls(g, degree, kinks_t)
    elif method == "minimax":
        coef, info = _minimax(g, degree, kinks_t)
    else:  # pragma: no cover - approximate() validates the method
        raise ValueError(f"unknown polynomial method {method!r}")
    if not np.all(np.isfinite(coef)):
        raise ValueError(f"{method} fit of {act.name} of degree {degree} is not finite: lower the degree or narrow the interval")
    out: dict[str, Any] = {}
    for k, v in info.items():
        if k.endswith("_t"):
            k = k[:-2]
            v = (mid + half * np.asarray(v)) if k in ("nodes", "reference") else v
        out[k] = v.tolist() if isinstance(v, np.ndarray) else v
    return PolynomialApproximant(act, method, interval, degree, coef, out)


class PolynomialApproximant(Approximant):
    """p(x) = Σ_{k=0}^{N} c_k T_k(t), t = (2x − a − b)/(b − a); the c_k are learnable parameters.

    The same polynomial outside [a, b] (how it extrapolates is part of the error report).
    """

    kind = "polynomial"

    def __init__(self, target: Activation, method: str, interval: tuple[float, float], degree: int,
                 coef: np.ndarray, info: dict[str, Any] | None = None):
        super().__init__(target, method, interval, degree, info)
        self.coef = np.asarray(coef, dtype=float).copy()
        self.reference = _REFERENCES.get(method, "actlab.approx")

    def params(self) -> tuple[Param, ...]:
        return tuple(Param(f"c{k}", float(c), f"coefficient of T_{k}(t)", learnable=True)
                     for k, c in enumerate(self.coef))

    def formula(self) -> str:
        a, b = self.interval
        return f"p(x) = Σ_{{k=0}}^{{{self.degree}}} c_k T_k(t),  t = (2x − ({a:g}) − ({b:g}))/({b - a:g})"

    def _torch_fns(self) -> tuple[Any, Any, Any]:
        a, b = self.interval
        n = len(self.coef) - 1
        scale, shift = 2.0 / (b - a), -(a + b) / (b - a)
        names = [f"c{k}" for k in range(n + 1)]

        def fn(x: torch.Tensor, **p: Any) -> torch.Tensor:
            return eval_cheb([p[k] for k in names], x * scale + shift)

        def d1(x: torch.Tensor, **p: Any) -> torch.Tensor:
            return scale * eval_cheb(cheb_derivative([p[k] for k in names]), x * scale + shift)

        def d2(x: torch.Tensor, **p: Any) -> torch.Tensor:
            return scale**2 * eval_cheb(cheb_derivative(cheb_derivative([p[k] for k in names])), x * scale + shift)

        return fn, d1, d2

    def chebyshev(self, coeffs: dict[str, float] | None = None) -> C.Chebyshev:
        """The polynomial as a numpy ``Chebyshev`` on the domain [a, b]."""
        c = self.coef if coeffs is None else np.array([coeffs[f"c{k}"] for k in range(len(self.coef))], dtype=float)
        return C.Chebyshev(c, domain=list(self.interval))

    def monomial_coefficients(self) -> np.ndarray:
        """Coefficients of 1, x, x², ... (ill-conditioned at high degree; for display and tests)."""
        return self.chebyshev().convert(kind=np.polynomial.Polynomial).coef

    def _properties(self, **coeffs: float) -> Properties:
        return polynomial_properties(self.chebyshev(coeffs))


def _real_range(p: C.Chebyshev, tol: float) -> tuple[float, float]:
    """inf and sup of polynomial p over the real line."""
    c = p.coef.copy()
    nz = np.flatnonzero(c)
    if len(nz) == 0:
        return 0.0, 0.0
    deg, lead = int(nz[-1]), float(c[nz[-1]])
    if deg == 0:
        return lead, lead
    if deg % 2 == 1:
        return -math.inf, math.inf
    crit = p.deriv().roots()
    crit = crit.real[np.abs(crit.imag) <= tol * (1 + np.abs(crit.real))]
    vals = p(crit) if len(crit) else np.array([p(0.0)])
    return (float(np.min(vals)), math.inf) if lead > 0 else (-math.inf, float(np.max(vals)))


def polynomial_properties(p: C.Chebyshev) -> Properties:
    """Properties of a polynomial on the whole real line (where ``Properties`` defines them)."""
    scale = max(1.0, float(np.max(np.abs(p.coef))))
    tol = 1e-12 * scale
    # trailing coefficients at rounding level (a fit of the identity leaves c₃ ~ 1e-17) would decide
    # the degree, hence boundedness and convexity on the real line: they are zeros of the fit
    p = p.trim(1e-14 * scale)
    lo, hi = _real_range(p, 1e-9)
    d1_lo, _ = _real_range(p.deriv(), 1e-9)
    d2_lo, _ = _real_range(p.deriv(2), 1e-9)
    phi0 = float(p(0.0))
    return Properties(
        monotone=d1_lo >= -tol,
        convex=d2_lo >= -tol,
        bounded_below=math.isfinite(lo),
        bounded_above=math.isfinite(hi),
        smoothness=SMOOTH,
        zero_centred=abs(phi0) <= tol and lo < -tol and hi > tol,
        self_gated=False,  # x·g(x) with g rising from 0 to 1 would be bounded by |x|: no polynomial of degree >= 2
        phi0=phi0,
        dphi0=float(p.deriv()(0.0)),
    )
