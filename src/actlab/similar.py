"""``similar``: the nearest known activations of a function, up to the affine maps a network absorbs.

A layer before an activation scales and shifts its input, the layer after scales and shifts its
output, so f and c·g(a·z + b) + d are the same unit to a network.  The distance of f to g is the best
such fit, weighted by the pre-activation distribution z ~ N(mean, std²) and normalised by f's variance:

    D(f, g)² = min_{a, b, c, d} E_z[(f(z) − c·g(a·z + b) − d)²] / Var_z f(z)

(a relative L2 error: 0 for the same unit, 1 for the best constant).  For fixed (a, b) the best (c, d)
is a weighted linear regression, so D² = 1 − ρ² with ρ the weighted correlation of f(z) and
g(a·z + b): only (a, b) are searched.  The same transform is then scored on slopes, what training sees:
‖f' − c·a·g'(a·z + b)‖ / ‖f'‖.

Degeneracies, and how the fit excludes them:

* c·g constant: d absorbs constants, and a constant fit scores D = 1 (the normalisation by Var f).
* a → 0: g(a·z + b) ≈ g(b) + a·g'(b)·z is affine in z, so every smooth g would match f as well as a
  straight line does.  With s = a·std (how far g's input spreads), the search keeps 1/8 ≤ |s| ≤ 8: at
  |s| = 1/8 g is close to affine over the bulk of z, and a fit that ends on that bound is flagged
  ``at_bound``.  The line's own score -- D(f, identity) -- is reported as ``linear`` beside the
  neighbours, the floor below which a match says something about shape.
* a → ∞ (the other bound): softplus(a·z)/a → ReLU, so without |s| ≤ 8 every smoothed kink would sit at
  distance 0 from its kink; bounded, softplus stays close to ReLU but not identical.
* the centre b + a·mean of g's input is kept in [−10, 10] (g's tails beyond are as good as affine or
  constant for every zoo unit).

Numerics: a fixed weighted grid, the 240 cell midpoints of u ∈ [−6, 6] with Gaussian weights (the
midpoint rule on a uniform grid: it stays accurate at kinks, where Gauss-Hermite nodes converge slowly;
no node sits on a kink of the zoo, where derivative conventions differ).  The search
over (a, b) is a coarse grid over both signs of a (|s| = 2^(k/4), k = −12..12, which contains 1;
integer centres, which contain 0) whose 3 best points of each sign are the several starts, each refined
by 32 iterations of a 3×3 compass search (move to the best point and double the step, halve it when
none is better);
the zoo's matrix, batched over all pairs, uses a coarser grid (|s| by √2, integer centres) and its single
best start, 16 iterations; the top matches of a query are polished by Nelder-Mead from
the best start of each sign.  The zoo's pairwise matrix is cached per package version and registry in
a user cache directory (``$ACTLAB_CACHE_DIR``, else ``$XDG_CACHE_HOME/actlab`` or ``~/.cache/actlab``);
a cache directory that cannot be written is skipped, never an error.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

__all__ = ["Match", "Similarity", "similar", "pairwise", "zoo_map", "distance", "embed"]

S_MIN, S_MAX = 1 / 8, 8.0  # bounds on |a|·std (see the module docstring)
CENTRE = 10.0  # bound on |a·mean + b|
N_GRID, U_MAX = 240, 6.0
_ZOOM_LEVELS = 32  # pattern-search iterations of a query (steps halve ~12 times: to ~2⁻¹⁴)
#: the zoo's pairwise matrix (the map's): fewer iterations
_MAP_LEVELS = 16
#: a query refines the 3 best coarse points of each sign of a (on the finer coarse grid); the zoo's
#: matrix refines the single best (its distances feed a picture: ~1e−3 off where a valley misleads)
_QUERY_STARTS = 3
#: a rank tie (distances equal to this) goes to the spec with fewer parameters, then the name
_TIE = 1e-7  # D is the root of a residual: rounding (1e−16 in D²) shows as 1e−8


@dataclass(frozen=True)
class Match:
    """The best fit ``c·g(a·x + b) + d`` of the query by ``name``."""

    name: str
    family: str
    distance: float  # relative L2 on values
    slope_distance: float | None  # relative L2 on derivatives (None when f' is 0 on the grid)
    a: float
    b: float
    c: float
    d: float
    at_bound: bool  # |a|·std ended on 1/8 or 8: the fit is a limit, not a match (see module docstring)
    #: other activations whose best fit is the same function on the grid (acon_c and kan_spline are SiLU
    #: at their defaults): listed here instead of taking a rank each
    same_as: tuple[str, ...] = ()

    def formula(self) -> str:
        sign = "+" if self.d >= 0 else "−"
        inner = f"{self.a:.3g}·x" + (f" {'+' if self.b >= 0 else '−'} {abs(self.b):.3g}" if abs(self.b) >= 5e-4 else "")
        return f"{self.c:.3g}·{self.name}({inner}) {sign} {abs(self.d):.3g}"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "same_as": list(self.same_as), "fit": self.formula()}


@dataclass(frozen=True)
class Similarity:
    """What :func:`similar` found: the ranked matches, f's linear floor and the weight used."""

    query: str
    mean: float
    std: float
    linear: float  # D(f, identity): how well a straight line alone fits f
    matches: tuple[Match, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"query": self.query, "weight": {"mean": self.mean, "std": self.std}, "linear": self.linear,
                "matches": [m.as_dict() for m in self.matches]}


# --------------------------------------------------------------------------------------------------
# the weighted grid and function evaluation
# --------------------------------------------------------------------------------------------------

def _grid() -> tuple[torch.Tensor, torch.Tensor]:
    # midpoints of N cells of [−U, U]: no node at 0 or at a multiple of the centre step, where the kinks
    # of the zoo (and of the coarse grid's transforms of them) sit and derivative conventions differ
    h = 2 * U_MAX / N_GRID
    u = -U_MAX + h * (torch.arange(N_GRID, dtype=torch.float64) + 0.5)
    w = torch.exp(-0.5 * u * u)
    return u, w / w.sum()


def _check_weight(mean: float, std: float) -> tuple[float, float]:
    try:
        mean, std = float(mean), float(std)
    except (TypeError, ValueError):
        raise ValueError(f"--mean and --std must be numbers, got {mean!r}, {std!r}") from None
    if not math.isfinite(mean) or not (math.isfinite(std) and std > 0):
        raise ValueError(f"the pre-activation weight needs a finite mean and a finite std > 0, got mean={mean}, std={std}")
    return mean, std


def _candidates() -> list[Any]:
    """The zoo's pointwise activations at their default parameters, in registry order."""
    from .zoo import all_specs, get

    return [get(s) for s in all_specs() if s.kind == "pointwise"]


def _query(obj: Any) -> Any:
    """An :class:`Activation` fit to compare: pointwise and elementwise (bad input raises ValueError)."""
    from .zoo import get
    from .zoo.check import check_activation

    act = get(obj)
    if act.is_gated:
        raise ValueError(f"{act.name} is a gated unit (two inputs); compare its gate instead: {act.gate.name}")
    if act.spec.user:
        fatal = ("runs", "returns a tensor", "elementwise shape", "elementwise")
        for f in check_activation(act):
            if f.check in fatal and not f.ok:
                raise ValueError(f"{act.name} cannot be compared: {f.message}")
    return act


def _eval(act: Any, v: torch.Tensor, derivative: bool = False) -> torch.Tensor:
    """φ (the spec's formula itself: inputs here are finite float64, so no convention applies, and the
    kernels' per-activation dispatch probe is not worth its start-up here) or φ' in float64."""
    with torch.no_grad():
        y = act.derivative(v) if derivative else act.spec.fn(v, **act.params)
    return y.to(torch.float64)


def _standardise(h: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Rows weighted-centred and scaled to unit weighted norm; rows that are constant (to rounding) or
    not finite on the grid become 0 (they fit nothing: correlation 0)."""
    m = (h * w).sum(-1, keepdim=True)
    hc = h - m
    norm = torch.sqrt((hc * hc * w).sum(-1, keepdim=True))
    good = torch.isfinite(norm) & (norm > 1e-12 * m.abs()) & (norm > 1e-300)
    out = hc * torch.where(good, 1 / norm, torch.zeros_like(norm))
    if not bool(good.all()):  # inf·0 = NaN in a bad row
        out = torch.where(good, out, torch.zeros_like(out))
    return out


# --------------------------------------------------------------------------------------------------
# the search over (a, b) for one candidate g and many queries at once
# --------------------------------------------------------------------------------------------------

def _coarse(fine: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Starting points: both signs of s, log2|s| from −3 to 3 (by 1/4 or 1/2), integer centres −10 … 10;
    s = 1 and centre 0 are always among them."""
    q = 4 if fine else 2
    la = torch.arange(-3 * q, 3 * q + 1, dtype=torch.float64) / q
    sg = torch.tensor([1.0, -1.0], dtype=torch.float64)
    cen = torch.arange(-10, 11, dtype=torch.float64)
    S, L, C = torch.meshgrid(sg, la, cen, indexing="ij")
    return S.reshape(-1), L.reshape(-1), C.reshape(-1)


def _fit(g: Any, fs: torch.Tensor, u: torch.Tensor, w: torch.Tensor, *, both_signs: bool = False,
         levels: int = _ZOOM_LEVELS, starts: int = 1, fine: bool = False
         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Best (sign, log2|s|, centre) and ρ² of g(s·u + centre) against each standardised row of ``fs``:
    the ``starts`` best coarse points of each sign (of either, without ``both_signs``) refined by a 3×3
    pattern search halving its step ``levels`` times.

    Returns tensors of shape (Q,) -- or (Q, 2), the best of each sign of s, with ``both_signs``.
    """
    S, L, C = _coarse(fine)
    H = _standardise(_eval(g, (S * 2**L)[:, None] * u[None, :] + C[:, None]), w)
    r2 = ((fs * w) @ H.T) ** 2  # (Q, P)
    Q, P = r2.shape
    half = P // 2
    if both_signs:
        idx = torch.cat([r2[:, :half].topk(starts, dim=1).indices, r2[:, half:].topk(starts, dim=1).indices + half], dim=1)
    else:
        idx = r2.topk(starts, dim=1).indices  # (Q, K)
    s, la, ce = S[idx], L[idx], C[idx]
    best = torch.gather(r2, 1, idx)
    K = idx.shape[1]
    fq = fs[:, None, :].expand(Q, K, fs.shape[1])
    l0, c0 = (0.25 if fine else 0.5), 0.5
    step_l, step_c = torch.full_like(la, l0), torch.full_like(la, c0)
    off = torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64)
    dl, dc = (t.reshape(-1) for t in torch.meshgrid(off, off, indexing="ij"))
    # compass search: move to the best of the 3×3 pattern and double the step (up to the start's), halve
    # it when the centre is best -- a long curved valley (elu against a moved elu) is followed, not
    # frozen in
    for _ in range(levels):
        lt = (la[..., None] + step_l[..., None] * dl).clamp(math.log2(S_MIN), math.log2(S_MAX))  # (Q, K, 9)
        ct = (ce[..., None] + step_c[..., None] * dc).clamp(-CENTRE, CENTRE)
        v = (s[..., None] * 2**lt)[..., None] * u + ct[..., None]  # (Q, K, 9, N)
        h = _standardise(_eval(g, v.reshape(-1, u.numel())), w).reshape(*v.shape)
        rr = ((h * (fq[:, :, None, :] * w)).sum(-1)) ** 2  # (Q, K, 9)
        rr[..., 4] = torch.maximum(rr[..., 4], best)  # the centre keeps its value: no move on rounding noise
        j = rr.argmax(-1, keepdim=True)
        la, ce = torch.gather(lt, -1, j)[..., 0], torch.gather(ct, -1, j)[..., 0]
        best = torch.gather(rr, -1, j)[..., 0]
        stay = j[..., 0] == 4
        step_l = torch.where(stay, step_l / 2, (step_l * 2).clamp(max=l0))
        step_c = torch.where(stay, step_c / 2, (step_c * 2).clamp(max=c0))
    groups = 2 if both_signs else 1
    best = best.reshape(Q, groups, starts)
    j = best.argmax(-1, keepdim=True)
    pick = lambda t: torch.gather(t.reshape(Q, groups, starts), -1, j)[..., 0]  # noqa: E731
    s, la, ce, best = pick(s), pick(la), pick(ce), pick(best)
    if not both_signs:
        s, la, ce, best = s[:, 0], la[:, 0], ce[:, 0], best[:, 0]
    return s, la, ce, best


def _r2(g: Any, f: torch.Tensor, u: torch.Tensor, w: torch.Tensor, s: float, la: float, ce: float) -> float:
    h = _standardise(_eval(g, (s * 2**la) * u + ce)[None, :], w)[0]
    return float(((f * w) * h).sum()) ** 2


def _polish(g: Any, f: torch.Tensor, u: torch.Tensor, w: torch.Tensor, s: float, la: float, ce: float
            ) -> tuple[float, float, float]:
    """Nelder-Mead on (log2|s|, centre) within the bounds, from a searched start."""
    from scipy.optimize import minimize

    lo, hi = math.log2(S_MIN), math.log2(S_MAX)

    def obj(p: np.ndarray) -> float:
        pl, pc = float(np.clip(p[0], lo, hi)), float(np.clip(p[1], -CENTRE, CENTRE))
        return 1.0 - _r2(g, f, u, w, s, pl, pc)

    start = 1.0 - _r2(g, f, u, w, s, la, ce)
    res = minimize(obj, np.array([la, ce]), method="Nelder-Mead",
                   options={"xatol": 1e-7, "fatol": 1e-15, "maxfev": 200,
                            "initial_simplex": np.array([[la, ce], [la + 1e-3, ce], [la, ce + 1e-3]])})
    if res.fun < start:
        la, ce = float(np.clip(res.x[0], lo, hi)), float(np.clip(res.x[1], -CENTRE, CENTRE))
    return la, ce, 1.0 - _r2(g, f, u, w, s, la, ce)


def _match(g: Any, fz: torch.Tensor, dfz: torch.Tensor | None, u: torch.Tensor, w: torch.Tensor,
           mean: float, std: float, s: float, la: float, ce: float) -> Match:
    """The full transform (a, b, c, d) in the query's coordinates, and both scores."""
    sc = s * 2**la
    a = sc / std
    b = ce - a * mean
    v = sc * u + ce
    h = _eval(g, v)
    hm, fm = float((h * w).sum()), float((fz * w).sum())
    var_h = float(((h - hm) ** 2 * w).sum())
    var_f = float(((fz - fm) ** 2 * w).sum())
    c = float(((h - hm) * (fz - fm) * w).sum()) / var_h if var_h > 0 else 0.0
    d = fm - c * hm
    resid = float(((fz - c * h - d) ** 2 * w).sum())
    dist = math.sqrt(max(resid / var_f, 0.0))
    slope = None
    if dfz is not None:
        den = float((dfz * dfz * w).sum())
        if den > 0:
            dg = _eval(g, v, derivative=True)
            slope = math.sqrt(float(((dfz - c * a * dg) ** 2 * w).sum()) / den)
    at_bound = abs(la - math.log2(S_MIN)) < 1e-6 or abs(la - math.log2(S_MAX)) < 1e-6
    return Match(g.name, g.spec.family, dist, slope, a, b, c, d, at_bound)


class _one_thread:
    """torch single-threaded for the duration: the batches here are many small ops, where intra-op
    threads on a busy machine cost far more than they give (measured: the zoo's matrix took 4.4 s on
    one thread, 60 s with two threads on two loaded cores)."""

    def __enter__(self) -> None:
        self.n = torch.get_num_threads()
        torch.set_num_threads(1)

    def __exit__(self, *exc: Any) -> None:
        torch.set_num_threads(self.n)


def _threads_one(fn):
    import functools

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with _one_thread():
            return fn(*args, **kwargs)

    return wrapped


def _n_params(act: Any) -> int:
    return len(act.spec.params)


# --------------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------------

@_threads_one
def similar(obj: Any, k: int = 5, *, mean: float = 0.0, std: float = 1.0, candidates: Sequence[Any] | None = None,
            exclude_self: bool = True) -> Similarity:
    """The ``k`` nearest zoo activations of ``obj`` (anything :func:`actlab.get` accepts) up to affine
    changes of input and output, under z ~ N(mean, std²).  See the module docstring for the metric.

    Raises ``ValueError`` for a gated unit, a non-elementwise function, one that is not finite on the
    weighted grid, or one that is constant there.
    """
    from .zoo import get

    mean, std = _check_weight(mean, std)
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    f = _query(obj)
    u, w = _grid()
    z = mean + std * u
    try:
        fz = _eval(f, z)
    except Exception as e:  # a user's function may fail in any way
        raise ValueError(f"{f.name} failed on the weighted grid: {type(e).__name__}: {e}") from None
    if fz.shape != z.shape:
        raise ValueError(f"{f.name} is not elementwise: output shape {tuple(fz.shape)} for input {tuple(z.shape)}")
    bad = ~torch.isfinite(fz)
    if bad.any():
        raise ValueError(f"{f.name} is not finite at x = {z[bad][:3].tolist()} (pre-activations ~ N({mean:g}, {std:g}²)); "
                         "guard its tails or narrow --std")
    fs = _standardise(fz[None, :], w)
    if not fs.abs().sum() > 0:
        raise ValueError(f"{f.name} is constant on the weighted grid (x ~ N({mean:g}, {std:g}²)): there is no shape to compare")
    try:
        dfz = _eval(f, z, derivative=True)
        dfz = dfz if torch.isfinite(dfz).all() else None
    except Exception:
        dfz = None
    pool = [get(c) for c in candidates] if candidates is not None else _candidates()
    if exclude_self and not f.spec.user:
        pool = [g for g in pool if g.name != f.name]
    if not pool:
        raise ValueError("no candidates to compare against")
    rough = []
    for g in pool:
        s, la, ce, r2 = _fit(g, fs, u, w, both_signs=True, starts=_QUERY_STARTS, fine=True)
        rough.append((g, s[0], la[0], ce[0], r2[0]))
    lin = math.sqrt(max(1.0 - float(((fs[0] * w) * _standardise(z[None, :], w)[0]).sum()) ** 2, 0.0))
    # polish the 3k (at least 10) best of the pattern search (from the better sign's end point) with Nelder-Mead
    order = sorted(rough, key=lambda t: 1.0 - float(t[4].max()))[: max(3 * k, 10)]
    found = []
    for g, s, la, ce, r2 in order:
        i = int(r2.argmax())
        pl, pc, _ = _polish(g, fs[0], u, w, float(s[i]), float(la[i]), float(ce[i]))
        found.append((_match(g, fz, dfz, u, w, mean, std, float(s[i]), pl, pc), g))
    # ties (equal to rounding) go to the plainer fit: input scale nearest 1, smallest shift, fewest parameters
    found.sort(key=lambda t: (round(t[0].distance / _TIE) if t[0].distance > _TIE else 0,
                              round(abs(math.log2(abs(t[0].a) * std)), 3), round(abs(t[0].b), 3), _n_params(t[1]), t[0].name))
    sd = math.sqrt(float(((fz - (fz * w).sum()) ** 2 * w).sum()))
    kept: list[tuple[Match, torch.Tensor]] = []
    for m, g in found:
        curve = m.c * _eval(g, m.a * z + m.b) + m.d
        for j, (km, kc) in enumerate(kept):
            if math.sqrt(float(((curve - kc) ** 2 * w).sum())) < _TIE * sd:  # the same function to rounding
                kept[j] = (Match(**{**asdict(km), "same_as": (*km.same_as, m.name)}), kc)
                break
        else:
            kept.append((m, curve))
    found = [m for m, _ in kept]
    return Similarity(f.name, mean, std, lin, tuple(found[:k]))


def distance(f: Any, g: Any, *, mean: float = 0.0, std: float = 1.0) -> Match:
    """The fit of ``f`` by ``g`` alone (both anything :func:`actlab.get` accepts)."""
    return similar(f, 1, mean=mean, std=std, candidates=[g], exclude_self=False).matches[0]


# --------------------------------------------------------------------------------------------------
# the zoo's pairwise matrix, cached, and its map
# --------------------------------------------------------------------------------------------------

def cache_dir() -> Path:
    env = os.environ.get("ACTLAB_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base).expanduser() if base else Path.home() / ".cache") / "actlab"


def _cache_key(acts: Sequence[Any], mean: float, std: float) -> str:
    from . import __version__

    h = hashlib.sha256()
    h.update(f"{__version__}|{mean!r}|{std!r}|{N_GRID}|{U_MAX}|{S_MIN}|{S_MAX}|{CENTRE}|{_MAP_LEVELS}".encode())
    for a in acts:
        h.update(f"{a.name}|{a.spec.fingerprint}|".encode())
    # the zoo's and this module's source: a development tree changes them without a version bump
    for p in sorted(Path(__file__).parent.joinpath("zoo").glob("*.py")) + [Path(__file__)]:
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


@_threads_one
def pairwise(*, mean: float = 0.0, std: float = 1.0, use_cache: bool = True) -> dict[str, Any]:
    """Distances between every pair of the zoo's pointwise activations (row: the fitted f, column: the
    fitting g), with the transforms' scale of a·std.  Cached per package version (see :func:`cache_dir`)."""
    mean, std = _check_weight(mean, std)
    acts = _candidates()
    names = [a.name for a in acts]
    path = cache_dir() / f"similar-{_cache_key(acts, mean, std)}.npz"
    if use_cache and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                if list(z["names"]) == names:
                    return {"names": names, "families": [a.spec.family for a in acts], "distance": z["distance"],
                            "cached": str(path)}
        except (OSError, ValueError, KeyError):
            pass  # a damaged cache file is recomputed
    u, w = _grid()
    z = mean + std * u
    fs = torch.cat([_standardise(_eval(a, z)[None, :], w) for a in acts])
    D = np.zeros((len(acts), len(acts)))
    for j, g in enumerate(acts):
        _, _, _, r2 = _fit(g, fs, u, w, levels=_MAP_LEVELS)
        D[:, j] = np.sqrt(np.clip(1.0 - r2.numpy(), 0.0, None))
    out = {"names": names, "families": [a.spec.family for a in acts], "distance": D, "cached": None}
    if use_cache:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez(tmp, names=np.array(names), distance=D)
            os.replace(tmp, path)
            out["cached"] = str(path)
        except OSError:
            pass  # read-only or full cache directory: the matrix is simply not kept
    return out


def embed(D: np.ndarray) -> np.ndarray:
    """Classical (Torgerson) multidimensional scaling of a symmetric distance matrix into 2-D: the
    top two eigenvectors of the double-centred −D²/2, signs fixed so the first row's coordinates are ≥ 0."""
    n = D.shape[0]
    J = np.eye(n) - np.ones((n, n)) / n
    B = -0.5 * J @ (D**2) @ J
    vals, vecs = np.linalg.eigh(B)
    top = np.argsort(vals)[::-1][:2]
    X = vecs[:, top] * np.sqrt(np.clip(vals[top], 0.0, None))
    return X * np.where(X[0] < 0, -1.0, 1.0)


@_threads_one
def zoo_map(query: Any = None, *, mean: float = 0.0, std: float = 1.0, use_cache: bool = True) -> dict[str, Any]:
    """Points of a 2-D embedding of the symmetrised pairwise distances (D + Dᵀ)/2 of the zoo, plus the
    query (anything :func:`actlab.get` accepts) when given: its distances to every activation both
    ways (f by g and g by f)."""
    pw = pairwise(mean=mean, std=std, use_cache=use_cache)
    names, fams, D = list(pw["names"]), list(pw["families"]), np.array(pw["distance"])
    qname = None
    if query is not None:
        f = _query(query)
        acts = _candidates()
        qname = f.name
        if qname in names:
            pass  # a zoo member is already on the map
        else:
            u, w = _grid()
            z = mean + std * u
            fz = _eval(f, z)
            if not torch.isfinite(fz).all():
                raise ValueError(f"{f.name} is not finite on the weighted grid")
            fs = _standardise(fz[None, :], w)
            if not fs.abs().sum() > 0:
                raise ValueError(f"{f.name} is constant on the weighted grid: there is no shape to compare")
            row = np.array([math.sqrt(max(1.0 - float(_fit(g, fs, u, w, levels=_MAP_LEVELS)[3][0]), 0.0)) for g in acts])
            gs = torch.cat([_standardise(_eval(a, z)[None, :], w) for a in acts])
            col = np.sqrt(np.clip(1.0 - _fit(f, gs, u, w, levels=_MAP_LEVELS)[3].numpy(), 0.0, None))
            D = np.block([[D, col[:, None]], [row[None, :], np.zeros((1, 1))]])
            names.append(qname)
            fams.append("query")
    S = (D + D.T) / 2
    X = embed(S)
    return {"names": names, "families": fams, "xy": X, "distance": S, "query": qname, "cached": pw["cached"]}


def map_figure(m: dict[str, Any], title: str | None = None):
    """A labelled scatter of :func:`zoo_map`'s points, one colour per family, the query in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fams = sorted(set(f for f in m["families"] if f != "query"))
    cmap = plt.get_cmap("tab10")
    X = m["xy"]
    # left: the whole zoo; right: the dense core (the 70% of points nearest the median point), where the
    # common units sit
    centre = np.median(X, axis=0)
    r = np.linalg.norm(X - centre, axis=1)
    core = r <= np.quantile(r, 0.7)
    fig, axes = plt.subplots(1, 2, figsize=(16, 7.5))
    for ax, sel_pts, fs in ((axes[0], np.ones(len(X), bool), 6.5), (axes[1], core, 7.5)):
        for i, fam in enumerate(fams):
            sel = [j for j, f in enumerate(m["families"]) if f == fam and sel_pts[j]]
            ax.scatter(X[sel, 0], X[sel, 1], s=22, color=cmap(i % 10), label=fam, zorder=2)
        for j, n in enumerate(m["names"]):
            if not sel_pts[j]:
                continue
            q = n == m["query"]
            ax.annotate(n, X[j], fontsize=fs + 2 if q else fs, color="red" if q else "0.2", xytext=(3, 2),
                        textcoords="offset points", weight="bold" if q else "normal", zorder=3)
        if m["query"] is not None:
            j = m["names"].index(m["query"])
            if sel_pts[j]:
                ax.scatter([X[j, 0]], [X[j, 1]], s=160, marker="*", color="red", zorder=4, label=f"query: {m['query']}")
        ax.set_xlabel("MDS 1")
        ax.set_ylabel("MDS 2")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="best")
    axes[0].set_title("all pointwise activations")
    axes[1].set_title("the dense core, enlarged")
    fig.suptitle(title or "the zoo up to affine maps: classical MDS of the symmetrised distances")
    fig.tight_layout()
    return fig
