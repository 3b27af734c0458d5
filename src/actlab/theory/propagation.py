"""Signal propagation in wide random networks: q*, chi_1, depth scales and the edge of chaos.

Mean-field theory of Poole et al. 2016 (Exponential expressivity in deep neural networks through
transient chaos) and Schoenholz et al. 2017 (Deep information propagation).  A fully connected layer
z^{l+1} = W phi(z^l) + b with W_ij ~ N(0, sigma_w^2/N), b_i ~ N(0, sigma_b^2) and N -> infinity maps the
pre-activation variance q^l of one input by the *variance map*

    V(q) = sigma_w^2 E[phi(sqrt(q) Z)^2] + sigma_b^2,   Z ~ N(0, 1),

and the correlation c of two inputs by the *correlation map*
C(c) = (sigma_w^2 E[phi(u1) phi(u2)] + sigma_b^2)/q*, u1 = sqrt(q*) Z1, u2 = sqrt(q*)(c Z1 + sqrt(1-c^2) Z2).

* q* is the stable fixed point of V (V(q*) = q*, V'(q*) < 1).
* chi_1 = sigma_w^2 E[phi'(sqrt(q*) Z)^2] = C'(1) is the slope of C at c = 1; chi_1 < 1 is the ordered phase
  (inputs become correlated), chi_1 > 1 the chaotic phase; chi_1 = 1 is the edge of chaos.  chi_1 is also
  the per-layer factor of the mean squared backpropagated gradient (Schoenholz et al., sec. 4).
* xi_q = -1/log V'(q*) is the depth over which the variance approaches q*; V'(q*) is computed as
  sigma_w^2 E[t phi phi'(sqrt(q*) t)]/sqrt(q*) (valid for continuous phi; a finite difference otherwise).
* xi_c = -1/log chi_c with chi_c = sigma_w^2 E[phi'(u1) phi'(u2)] at the stable fixed point c* of C:
  c* = 1 and chi_c = chi_1 in the ordered phase; c* < 1 in the chaotic phase.  xi_c diverges at the edge.

The edge-of-chaos curve is found parametrically in q* (Poole et al., Fig. 2): chi_1 = 1 gives
sigma_w^2 = 1/E[phi'(sqrt(q*) Z)^2], and the fixed-point equation then gives
sigma_b^2 = q* - sigma_w^2 E[phi(sqrt(q*) Z)^2]; for a requested sigma_b the q* solving this is found.
Known answers: ReLU sigma_w^2 = 2 at sigma_b = 0 (He init); tanh sigma_w = 1 at sigma_b = 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from scipy.optimize import brentq

from .._records import AsDict
from ..zoo import Activation
from .gaussian import check_std, expect, pointwise
from .moments import gaussian_moments

#: q grid used to bracket fixed points and edge points (log-spaced)
Q_LO, Q_HI = 1e-10, 1e8
#: stand-in for the limit q -> 0+ (a zero-variance Gaussian has no density to integrate against)
Q_ZERO = 1e-24


def _check_sigmas(sigma_w: float, sigma_b: float) -> None:
    check_std(sigma_w, "sigma_w (weight standard deviation)")
    if not (math.isfinite(sigma_b) and sigma_b >= 0):
        raise ValueError(f"sigma_b (bias standard deviation) must be >= 0 and finite, got {sigma_b!r}")


def _continuous(a: Activation) -> bool:
    p = a.properties
    return p is not None and p.smoothness >= 0


def variance_map(act: Any, q: Any, sigma_w: float, sigma_b: float) -> np.ndarray:
    """V(q) = sigma_w^2 E[phi(sqrt(q) Z)^2] + sigma_b^2 (vectorised over q)."""
    a = pointwise(act)
    _check_sigmas(sigma_w, sigma_b)
    q = np.asarray(q, dtype=float)
    (s2,) = gaussian_moments(a, ("second",), 0.0, np.sqrt(check_std(q, "q")))
    return sigma_w**2 * s2 + sigma_b**2


def variance_map_slope(act: Any, q: float, sigma_w: float) -> float:
    """V'(q) (see the module docstring for how it is computed)."""
    a = pointwise(act)
    check_std(q, "q")
    if _continuous(a):
        (tpd,) = gaussian_moments(a, ("t_phi_dphi",), 0.0, math.sqrt(q))
        return float(sigma_w**2 * tpd / math.sqrt(q))
    h = 1e-4
    up, dn = gaussian_moments(a, ("second",), 0.0, np.sqrt([q * (1 + h), q * (1 - h)]))[0]
    return float(sigma_w**2 * (up - dn) / (2 * h * q))


def chi1(act: Any, q: Any, sigma_w: float) -> np.ndarray:
    """sigma_w^2 E[phi'(sqrt(q) Z)^2] at variance q (vectorised)."""
    a = pointwise(act)
    q = np.maximum(np.asarray(q, dtype=float), Q_ZERO)
    (d2,) = gaussian_moments(a, ("d1_second",), 0.0, np.sqrt(q))
    return sigma_w**2 * d2


@dataclass(frozen=True)
class FixedPoint(AsDict):
    """The variance fixed point of a random network and what follows from it (module docstring)."""

    activation: str
    sigma_w: float
    sigma_b: float
    q: float
    chi1: float
    slope: float
    stable: bool
    marginal: bool
    xi_q: float
    phase: str


def _depth(rate: float) -> float:
    if not rate > 0:
        return 0.0
    if rate >= 1:
        return math.inf
    return -1.0 / math.log(rate)


def _phase(c1: float, tol: float = 1e-9) -> str:
    if abs(c1 - 1) <= tol:
        return "critical"
    return "ordered" if c1 < 1 else "chaotic"


def fixed_point(act: Any, sigma_w: float, sigma_b: float, *, q0: float = 1.0) -> FixedPoint:
    """The stable fixed point q* of the variance map (the one nearest q0 if there are several).

    q* = 0 is returned when sigma_b = 0 and V(q) < q for all q > 0 (the signal dies; chi_1 is then its
    q -> 0+ limit).  When V(q) = q for every q (ReLU at sigma_w^2 = 2, sigma_b = 0) every q is a fixed point:
    q* = q0 and ``marginal`` is True.  A variance that grows without bound raises ``ValueError``.
    """
    a = pointwise(act)
    _check_sigmas(sigma_w, sigma_b)
    check_std(q0, "q0")
    qs = np.logspace(math.log10(Q_LO), math.log10(Q_HI), 73)
    # the scan only brackets roots: a q the quadrature cannot resolve (sin at q = 1e6 oscillates over
    # thousands of periods) is left out (NaN: no sign, no bracket), every root is then solved exactly
    (s2,) = gaussian_moments(a, ("second",), 0.0, np.sqrt(qs), unresolved="nan")
    g = sigma_w**2 * s2 + sigma_b**2 - qs
    zero = np.abs(g) <= 1e-10 * qs
    marginal = False
    if np.all(zero):
        q, marginal = q0, True
    else:
        sgn = np.where(zero, 0, np.sign(g))
        stable = [i for i in range(len(qs) - 1) if sgn[i] > 0 and sgn[i + 1] < 0]
        if stable:
            def f(lq: float) -> float:
                qq = math.exp(lq)
                return float(variance_map(a, qq, sigma_w, sigma_b) - qq) / qq

            roots = [math.exp(brentq(f, math.log(qs[i]), math.log(qs[i + 1]), xtol=1e-15, rtol=1e-15))
                     for i in stable]
            q = min(roots, key=lambda r: abs(math.log(r / q0)))
        elif sgn[-1] > 0 or (sgn[-1] == 0 and np.any(sgn > 0)):
            raise ValueError(f"{a.name}: no finite variance fixed point at sigma_w={sigma_w:g}, sigma_b={sigma_b:g} "
                             f"(the variance map exceeds q up to q={Q_HI:g}: the signal grows without bound); "
                             "lower sigma_w")
        elif np.all(sgn <= 0) and sgn[0] < 0 and sigma_b == 0:
            q = 0.0
        else:
            raise ValueError(f"{a.name}: the variance fixed point at sigma_w={sigma_w:g}, sigma_b={sigma_b:g} lies "
                             f"outside q in [{Q_LO:g}, {Q_HI:g}]; rescale the problem")
    c1 = float(chi1(a, q, sigma_w))
    slope = variance_map_slope(a, max(q, Q_ZERO), sigma_w)
    return FixedPoint(activation=a.name, sigma_w=float(sigma_w), sigma_b=float(sigma_b), q=float(q), chi1=c1,
                      slope=slope, stable=slope < 1 or marginal, marginal=marginal, xi_q=_depth(slope),
                      phase=_phase(c1))


# -- correlations --------------------------------------------------------------------------------

def _bivariate(a: Activation, q: float, c: float, first: str, second: str) -> float:
    """E[f(u1) g(u2)] for the pair of the module docstring; f, g in {'phi', 'dphi'}.

    The inner expectation over Z2 given Z1 is itself a (kink-split) Gaussian expectation, smooth in Z1
    when |c| < 1, so the outer one only has the kinks of f.
    """
    f1 = a.derivative if first == "dphi" else a
    f2 = a.derivative if second == "dphi" else a
    sq = math.sqrt(q)
    s_in = sq * math.sqrt(max(1.0 - c * c, 0.0))
    kinks = a.kinks

    def outer(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        means = c * z.reshape(-1).numpy()
        inner = expect(lambda z2, t2: f2(z2), means, s_in, kinks)
        return f1(z) * torch.from_numpy(np.asarray(inner).reshape(z.shape))

    return float(expect(outer, 0.0, sq, kinks, rtol=1e-10))


def correlation_map(act: Any, c: float, q: float, sigma_w: float, sigma_b: float) -> float:
    """C(c) at variance q (module docstring); c in [-1, 1)."""
    a = pointwise(act)
    if not -1 < c < 1:
        raise ValueError(f"correlation c must be in (-1, 1), got {c!r}")
    return (sigma_w**2 * _bivariate(a, q, c, "phi", "phi") + sigma_b**2) / q


@dataclass(frozen=True)
class DepthScales(AsDict):
    activation: str
    sigma_w: float
    sigma_b: float
    q: float
    chi1: float
    c_star: float
    chi_c: float
    xi_q: float
    xi_c: float
    phase: str


def depth_scales(act: Any, sigma_w: float, sigma_b: float) -> DepthScales:
    """q*, chi_1, the correlation fixed point c*, chi_c and the depth scales xi_q, xi_c (Schoenholz et al.)."""
    a = pointwise(act)
    fp = fixed_point(a, sigma_w, sigma_b)
    if fp.q == 0:
        c_star, chi_c = 1.0, fp.chi1
    elif fp.phase != "chaotic":
        c_star, chi_c = 1.0, fp.chi1
    else:
        def h(c: float) -> float:
            return correlation_map(a, c, fp.q, sigma_w, sigma_b) - c

        hi = 1 - 1e-6
        lo = 0.0 if h(0.0) >= 0 else -1 + 1e-6
        if h(lo) < 0 or h(hi) > 0:
            raise ValueError(f"{a.name}: could not bracket the correlation fixed point at sigma_w={sigma_w:g}, "
                             f"sigma_b={sigma_b:g}")
        c_star = lo if h(lo) == 0 else brentq(h, lo, hi, xtol=1e-12)
        chi_c = sigma_w**2 * _bivariate(a, fp.q, c_star, "dphi", "dphi")
    return DepthScales(activation=a.name, sigma_w=fp.sigma_w, sigma_b=fp.sigma_b, q=fp.q, chi1=fp.chi1,
                       c_star=float(c_star), chi_c=float(chi_c), xi_q=fp.xi_q, xi_c=_depth(chi_c), phase=fp.phase)


# -- edge of chaos -------------------------------------------------------------------------------

@dataclass(frozen=True)
class EdgePoint(AsDict):
    """A point of the edge of chaos: chi_1 = 1 at the variance fixed point q."""

    activation: str
    sigma_w: float
    sigma_b: float
    q: float
    chi1: float
    slope: float = 1.0
    stable: bool = True


def _slopes(a: Activation, q: np.ndarray, w2: np.ndarray) -> np.ndarray:
    """V'(q) for an array of q (see ``variance_map_slope``)."""
    if _continuous(a):
        (tpd,) = gaussian_moments(a, ("t_phi_dphi",), 0.0, np.sqrt(q))
        return w2 * tpd / np.sqrt(q)
    return np.array([variance_map_slope(a, float(qq), math.sqrt(ww)) for qq, ww in zip(q, w2)])


def _edge_params(a: Activation, q: np.ndarray, unresolved: str = "raise") -> tuple[np.ndarray, np.ndarray]:
    s2, d2 = gaussian_moments(a, ("second", "d1_second"), 0.0, np.sqrt(q), unresolved=unresolved)
    if np.any(d2 <= 0):
        raise ValueError(f"{a.name} has E[phi'^2] = 0 at some variance: chi_1 = 0, no edge of chaos")
    sw2 = 1.0 / d2
    return sw2, q - sw2 * s2


def _illinois(f: Callable[[np.ndarray], np.ndarray], lo: np.ndarray, hi: np.ndarray, flo: np.ndarray,
              fhi: np.ndarray, tol: float = 1e-13, iters: int = 60) -> np.ndarray:
    """Vectorised Illinois (modified regula falsi) root finding on brackets [lo, hi] with f(lo)*f(hi) < 0.

    Stops when every bracket is narrower than ``tol`` or the iterate stops moving (the function's own
    rounding noise is reached); raises ``ValueError`` if that takes more than ``iters`` steps.
    """
    x = lo.copy()
    side = np.zeros_like(lo)
    for _ in range(iters):
        prev = x
        x = (lo * fhi - hi * flo) / (fhi - flo)
        fx = f(x)
        left = np.sign(fx) == np.sign(flo)
        # replace lo (halving f at hi if hi was kept twice running), or replace hi (vice versa)
        lo, flo, fhi = np.where(left, x, lo), np.where(left, fx, flo), np.where(left & (side > 0), fhi / 2, fhi)
        hi, fhi, flo = np.where(~left, x, hi), np.where(~left, fx, fhi), np.where(~left & (side < 0), flo / 2, flo)
        side = np.where(left, 1.0, -1.0)
        if np.all((hi - lo <= tol) | (fx == 0) | (np.abs(x - prev) <= 1e-15 * (1 + np.abs(x)))):
            return x
    raise ValueError("edge-of-chaos root finding did not converge; report this activation")


def edge_of_chaos(act: Any, sigma_b: Any, *, strict: bool = True) -> list[EdgePoint | None]:
    """Edge-of-chaos points (sigma_w, q*) for each requested bias std ``sigma_b`` (a number or a sequence).

    For sigma_b = 0 the answer may be the limit q* -> 0 (tanh: sigma_w = 1/|phi'(0)| = 1) or a whole line
    of q* (ReLU: every q*, sigma_w^2 = 2; q* = 1 is reported).  A sigma_b the curve does not reach raises
    ``ValueError`` (ReLU has no edge of chaos for sigma_b > 0: its variance then grows without bound), or
    gives ``None`` for that entry when ``strict`` is False.
    """
    a = pointwise(act)
    sbs = np.atleast_1d(np.asarray(sigma_b, dtype=float))
    if not np.all(np.isfinite(sbs)) or np.any(sbs < 0):
        raise ValueError(f"sigma_b (bias standard deviation) must be >= 0 and finite, got {sigma_b!r}")
    lq = np.linspace(math.log(Q_LO), math.log(Q_HI), 73)
    qs = np.exp(lq)
    sw2, sb2 = _edge_params(a, qs, unresolved="nan")  # a scan, as in fixed_point: unresolved q are skipped
    line = np.abs(sb2) <= 1e-10 * qs  # sigma_b^2(q) = 0 identically (positively homogeneous phi)
    out: list[EdgePoint | None] = [None] * len(sbs)
    todo = []
    for i, sb in enumerate(sbs):
        target = sb * sb
        if target == 0 and np.all(line):
            q = 1.0
            out[i] = EdgePoint(a.name, float(math.sqrt(_edge_params(a, np.array([q]))[0][0])), 0.0, q, 1.0)
            continue
        if target == 0 and line[0] and not np.any(sb2[1:] < -1e-10 * qs[1:]):
            out[i] = EdgePoint(a.name, float(math.sqrt(_edge_params(a, np.array([Q_ZERO]))[0][0])), 0.0, 0.0, 1.0)
            continue
        h = sb2 - target
        cross = np.nonzero(np.sign(h[:-1]) * np.sign(h[1:]) < 0)[0]
        if cross.size == 0:
            if not strict:
                continue
            raise ValueError(f"{a.name}: no edge of chaos at sigma_b={sb:g} (sigma_b^2 on the edge spans "
                             f"[{max(np.nanmin(sb2), 0):.3g}, {np.nanmax(sb2):.3g}] for q* in [{Q_LO:g}, {Q_HI:g}])")
        todo.extend((i, j) for j in cross)
    if todo:
        idx = np.array([j for _, j in todo])
        targets = np.array([sbs[i] ** 2 for i, _ in todo])

        def f(x: np.ndarray) -> np.ndarray:
            return _edge_params(a, np.exp(x))[1] - targets

        lo, hi = lq[idx], lq[idx + 1]
        root = _illinois(f, lo, hi, sb2[idx] - targets, sb2[idx + 1] - targets)
        q = np.exp(root)
        w2, _ = _edge_params(a, q)
        c1 = chi1(a, q, 1.0) * w2
        sl = _slopes(a, q, w2)
        # several crossings: the edge is where q* is a *stable* fixed point (the first such in q);
        # if none is stable the first crossing is returned with stable=False
        for k in sorted(range(len(todo)), key=lambda k: (todo[k][0], not sl[k] < 1, q[k])):
            i = todo[k][0]
            if out[i] is None:
                out[i] = EdgePoint(a.name, float(math.sqrt(w2[k])), float(sbs[i]), float(q[k]), float(c1[k]),
                                   float(sl[k]), bool(sl[k] < 1))
    return out  # type: ignore[return-value]


def phase_diagram(act: Any, sigma_w: np.ndarray, sigma_b: np.ndarray, iters: int = 400) -> np.ndarray:
    """chi_1 on the grid sigma_w x sigma_b (shape (len(sigma_b), len(sigma_w))).

    q* is reached by iterating the variance map from q = 1 on the whole grid at once (vectorised); where
    the variance grows past 1e8 chi_1 is evaluated there (positively homogeneous phi: chi_1 does not depend
    on q).  Meant for plots; :func:`fixed_point` is the exact solver.
    """
    a = pointwise(act)
    sw, sb = np.meshgrid(np.asarray(sigma_w, float), np.asarray(sigma_b, float))
    check_std(sw, "sigma_w")
    w2, b2 = sw.reshape(-1) ** 2, sb.reshape(-1) ** 2
    q = np.ones_like(w2)
    active = np.arange(q.size)
    for _ in range(iters):  # iterate only the points that have not converged yet
        qa = q[active]
        (s2,) = gaussian_moments(a, ("second",), 0.0, np.sqrt(np.maximum(qa, Q_ZERO)))
        qn = np.minimum(w2[active] * s2 + b2[active], 1e8)
        q[active] = qn
        moving = np.abs(qn - qa) > 1e-8 * np.maximum(qa, 1e-12)
        active = active[moving & (qn > 1e-12) & (qn < 1e8)]
        if active.size == 0:
            break
    return (chi1(a, q, 1.0) * w2).reshape(sw.shape)


def plot_phase(act: Any, sigma_w: np.ndarray, sigma_b: np.ndarray):
    """A figure: log chi_1 over (sigma_w, sigma_b), ordered (blue) vs chaotic (red), with the edge of chaos."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    a = pointwise(act)
    chi = phase_diagram(a, sigma_w, sigma_b)
    lc = np.log(np.maximum(chi, 1e-12))
    fig, ax = plt.subplots(figsize=(6, 4.5))
    lim = min(max(float(np.max(np.abs(lc))), 1e-3), 2.0)
    im = ax.pcolormesh(sigma_w, sigma_b, lc, cmap="coolwarm", norm=TwoSlopeNorm(0.0, -lim, lim), shading="auto")  # clipped at |log χ₁| = 2 for contrast
    fig.colorbar(im, ax=ax, label="log χ₁  (<0 ordered, >0 chaotic)")
    pts = edge_of_chaos(a, np.linspace(float(np.min(sigma_b)), float(np.max(sigma_b)), 40), strict=False)
    pts = [p for p in pts if p is not None and np.min(sigma_w) <= p.sigma_w <= np.max(sigma_w)]
    if pts:
        ax.plot([p.sigma_w for p in pts], [p.sigma_b for p in pts], "k-", lw=2, label="edge of chaos (χ₁ = 1)")
        ax.legend(loc="upper left")
    ax.set_xlabel("σ_w (weight std)")
    ax.set_ylabel("σ_b (bias std)")
    ax.set_title(f"{a.name}: ordered / chaotic phases (Poole et al. 2016)")
    return fig
