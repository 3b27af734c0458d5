"""Gaussian expectations E[g(z)], z ~ N(mu, sigma^2), in three tiers.

1. ``expect`` -- composite Gauss-Legendre quadrature in the standard variable t = (z - mu)/sigma on
   [-T, T] (T = 12: the Gaussian mass outside is 3.6e-33), with panel edges placed at the spec's
   declared kinks (shifted and scaled to t).  Every piece is then smooth (analytic), so Gauss-Legendre
   converges geometrically on it and a ReLU-like or discontinuous function (heaviside, hardshrink) is
   integrated as exactly as a smooth one.  Plain Gauss-Hermite is *not* used for the whole line: its
   error on tanh at sigma = 5 is ~1e-4, because tanh's complex poles at +-i*pi/2 come within 0.3 of
   the real axis in t.  Panels are therefore both uniform in t and graded geometrically in z around
   the origin (see ``_edges``), and every answer is checked against the same rule with panels halved; the finer answer is returned once
   the two agree to ``rtol`` (relative to E|g|), else panels keep halving, and a ``ValueError`` is raised
   if they never agree -- never a silent wrong number.
2. ``expect_mpmath`` -- mpmath's tanh-sinh quadrature on the spec's ``mpmath`` reference, split at the
   kinks (the oracle for the tests, 25+ digits).
3. ``expect_mc`` -- Monte Carlo with its standard error (the loose tier; works for anything).

Theory functions take anything :func:`actlab.get` takes; gated units are rejected (analyse the gate).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ..zoo import Activation, get

#: truncation of the standard variable: P(|t| > 12) = 3.6e-33
T_MAX = 12.0
#: Gauss-Legendre nodes per panel
N_NODES = 16
#: base panel width in z units (1.5 standard units when sigma <= 1)
PANEL = 1.5

Integrand = Callable[[torch.Tensor, torch.Tensor], Sequence[torch.Tensor] | torch.Tensor]


def pointwise(act: Any) -> Activation:
    """``actlab.get(act)``, refusing gated units with a message that says what to analyse instead."""
    a = get(act)
    if a.is_gated:
        raise ValueError(f"{a.name} is a gated unit; analyse its gate: actlab.get({a.spec.name!r}).gate "
                         f"(here {a.gate.name})")
    return a


#: largest std (and |mean|) taken: the quadrature evaluates phi(z)^2 at |z| up to 12 std, which must
#: stay finite in float64 (1e308 overflowed to inf inside the panel layout)
STD_MAX = 1e150


def check_std(std: Any, what: str = "std") -> np.ndarray:
    s = np.asarray(std, dtype=float)
    if s.size == 0 or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"{what} must be positive and finite, got {std!r}")
    if np.any(s > STD_MAX):
        raise ValueError(f"{what}={float(np.max(s)):g} is too large: at most {STD_MAX:g} (squares of values "
                         f"12 {what} out must stay finite in float64)")
    return s


@functools.lru_cache(maxsize=8)
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    return x, w


def _edges(mean: np.ndarray, std: np.ndarray, kinks: np.ndarray) -> np.ndarray:
    """Sorted panel edges in t, shape (B, E): the same count for every row (clipped ones give empty panels).

    Three sets: a uniform grid of width ``PANEL`` in t (the Gaussian factor's own scale); a geometric
    grid in z, +-PANEL/3 * 2^j out to the edge of the domain (an activation's features live at |z| of
    order 1, so when sigma is large they occupy a small part of [-T, T] and need small panels there,
    while far out phi is nearly polynomial and wide panels suffice -- the cost does not grow with
    sigma); and the kinks.
    """
    b = mean.size
    tu = np.linspace(-T_MAX, T_MAX, int(round(2 * T_MAX / PANEL)) + 1)
    reach = float(np.max(np.abs(mean) + T_MAX * std))
    j = max(0, math.ceil(math.log2(max(reach, 1.0) / (PANEL / 3))))
    zg = (PANEL / 3) * 2.0 ** np.arange(j + 1)
    zpts = np.concatenate([-zg[::-1], [0.0], zg, kinks])
    tz = np.clip((zpts[None, :] - mean[:, None]) / std[:, None], -T_MAX, T_MAX)
    return np.sort(np.concatenate([np.broadcast_to(tu, (b, tu.size)), tz], axis=1), axis=1)


def _nodes(edges: np.ndarray, per_piece: int) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes t (B, n) and weights w (B, n) including the N(0,1) density."""
    b = edges.shape[0]
    lo, hi = edges[:, :-1], edges[:, 1:]
    frac = np.arange(per_piece + 1) / per_piece
    pe = lo[..., None] + (hi - lo)[..., None] * frac  # (B, P, per_piece+1) panel edges
    a, c = pe[..., :-1], pe[..., 1:]
    x, w = _legendre(N_NODES)
    half = (c - a)[..., None] / 2
    t = (a[..., None] + c[..., None]) / 2 + half * x
    wt = half * w * np.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)
    return t.reshape(b, -1), wt.reshape(b, -1)


def expect(g: Integrand, mean: Any = 0.0, std: Any = 1.0, kinks: Sequence[float] = (), *,
           rtol: float = 1e-11, max_level: int = 6, unresolved: str = "raise") -> np.ndarray:
    """E[g_i(z)] for z ~ N(mean, std^2), for several integrands at once.

    ``g(z, t)`` receives the float64 tensors z = mean + std*t and t (shape (B, n)) and returns one tensor
    or a sequence of tensors of that shape.  ``mean``/``std`` broadcast to a batch shape S; the result has
    shape (F, *S) for F integrands (or S for a single tensor).  ``kinks`` are the points in z where some
    g_i is not smooth.  Convergence: see the module docstring; ``rtol`` is relative to E|g_i| (so an
    exactly-zero mean such as E[tanh] is judged against the size of tanh, not against 0).  Each row
    (mean, std) is judged on its own and kept from the level where it converged, so one hard row
    neither holds back nor refines the others.  ``unresolved``: ``"raise"`` (a ``ValueError`` with the
    figures of the worst row) or ``"nan"`` (unconverged rows are NaN -- for scans that only need the
    rows they can resolve, such as a fixed-point bracket search).
    """
    if unresolved not in ("raise", "nan"):
        raise ValueError(f"unresolved={unresolved!r}: must be 'raise' or 'nan'")
    m, s = np.broadcast_arrays(np.asarray(mean, dtype=float), check_std(std))
    if not np.all(np.isfinite(m)) or np.any(np.abs(m) > STD_MAX):
        raise ValueError(f"mean must be finite and at most {STD_MAX:g} in magnitude, got {mean!r}")
    shape = m.shape
    m, s = m.reshape(-1), s.reshape(-1)
    k = np.asarray(sorted(set(float(v) for v in kinks)), dtype=float)
    edges_all = _edges(m, s, k)
    single = False
    prev: np.ndarray | None = None
    result: np.ndarray | None = None
    todo = np.arange(m.size)  # rows not converged yet
    change = np.zeros(0)
    for level in range(max_level + 1):
        t, w = _nodes(edges_all[todo], 2**level)
        tt = torch.from_numpy(t)
        z = torch.from_numpy(m[todo, None] + s[todo, None] * t)
        with torch.no_grad():
            out = g(z, tt)
        if isinstance(out, torch.Tensor):
            single, out = True, [out]
        vals = np.stack([np.broadcast_to(o.detach().numpy(), t.shape) for o in out])  # (F, b, n)
        if not np.all(np.isfinite(vals)):
            raise ValueError("the integrand is not finite on the quadrature nodes (|t| <= 12); "
                             "its Gaussian expectation may not exist")
        cur = (vals * w).sum(-1)
        cur_abs = (np.abs(vals) * w).sum(-1)
        if result is None:
            result = np.full((cur.shape[0], m.size), np.nan)
        if prev is not None:
            change = np.abs(cur - prev) / np.maximum(cur_abs, 1e-300)  # (F, b)
            ok = np.all(np.abs(cur - prev) <= rtol * cur_abs + 1e-300, axis=0)
            result[:, todo[ok]] = cur[:, ok]
            todo, cur, change = todo[~ok], cur[:, ~ok], change[:, ~ok]
            if todo.size == 0:
                res = result.reshape((-1, *shape))
                return res[0] if single else res
        prev = cur
    assert result is not None
    if unresolved == "nan":
        res = result.reshape((-1, *shape))
        return res[0] if single else res
    worst = int(np.argmax(change.max(axis=0)))
    i = todo[worst]
    raise ValueError(f"Gaussian quadrature did not converge at mean={m[i]:.6g}, std={s[i]:.6g}: after {max_level} "
                     f"refinements ({_nodes(edges_all[i:i + 1], 2**max_level)[0].shape[1]} nodes) the last one still "
                     f"changed the result by {float(change[:, worst].max()):.1e} relative to E|g| (needed "
                     f"{rtol:.0e}); the integrand varies faster than the panels resolve at this std (an "
                     "oscillating function far out), or has kinks or singularities it does not declare. "
                     "Use Monte Carlo (method='mc') for a rough value")


def expect_mpmath(f: Callable[[Any], Any], mean: float = 0.0, std: float = 1.0, kinks: Sequence[float] = (),
                  dps: int = 30) -> float:
    """E[f(z)], z ~ N(mean, std^2), by mpmath tanh-sinh quadrature split at ``kinks`` (``f`` takes an mpf)."""
    from mpmath import mp

    check_std(std)
    with mp.workdps(dps):
        mu, sd = mp.mpf(mean), mp.mpf(std)
        c = 1 / (sd * mp.sqrt(2 * mp.pi))
        pts = [-mp.inf, *[mp.mpf(v) for v in sorted(set(kinks))], mp.inf]
        val = mp.quad(lambda x: f(x) * c * mp.exp(-((x - mu) / sd) ** 2 / 2), pts)
        return float(val)


def expect_mc(g: Integrand, mean: float = 0.0, std: float = 1.0, n: int = 1_000_000, seed: int = 0,
              ) -> tuple[np.ndarray, np.ndarray]:
    """Monte Carlo estimate of E[g_i(z)] and its standard error (same ``g`` convention as ``expect``)."""
    check_std(std)
    gen = torch.Generator().manual_seed(seed)
    t = torch.randn(1, n, generator=gen, dtype=torch.float64)
    z = mean + std * t
    with torch.no_grad():
        out = g(z, t)
    if isinstance(out, torch.Tensor):
        out = [out]
    vals = np.stack([np.broadcast_to(o.detach().numpy(), (1, n))[0] for o in out])
    return vals.mean(-1), vals.std(-1, ddof=1) / math.sqrt(n)
