"""Gaussian moments of an activation and of its derivative.

For z ~ N(mu, sigma^2) (sigma > 0) and t = (z - mu)/sigma:

* ``mean`` = E[phi(z)], ``second`` = E[phi(z)^2], ``var`` = second - mean^2;
* ``d1_mean`` = E[phi'(z)] (the "average slope"), ``d1_second`` = E[phi'(z)^2];
* ``t_phi`` = E[t phi(z)] (equals sigma*E[phi'] by Stein's lemma when phi is continuous -- it differs
  for the step, whose derivative is a Dirac delta the pointwise phi' does not see);
* ``t_phi_dphi`` = E[t phi(z) phi'(z)] (gives d E[phi^2]/d sigma = 2 E[t phi phi'] for continuous phi).

phi'(z) is the pointwise derivative (``act.derivative``), i.e. the derivative almost everywhere; the
value at a kink has probability zero and does not matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from .._records import AsDict
from .gaussian import Integrand, check_std, expect, expect_mc, expect_mpmath, pointwise

#: integrand builders on (phi, dphi, t); the moment names used throughout actlab.theory
_TERMS: dict[str, tuple[bool, Callable[..., torch.Tensor]]] = {
    "mean": (False, lambda p, d, t: p),
    "second": (False, lambda p, d, t: p * p),
    "d1_mean": (True, lambda p, d, t: d),
    "d1_second": (True, lambda p, d, t: d * d),
    "t_phi": (False, lambda p, d, t: t * p),
    "t_phi_dphi": (True, lambda p, d, t: t * p * d),
    # density-derivative forms (valid for discontinuous phi): dE[f]/dmu = E[t f]/sigma,
    # dE[f]/dsigma = E[(t^2 - 1) f]/sigma
    "t_phi2": (False, lambda p, d, t: t * p * p),
    "t2_phi": (False, lambda p, d, t: t * t * p),
    "t2_phi2": (False, lambda p, d, t: t * t * p * p),
}


def integrand(act: Any, names: tuple[str, ...]) -> Integrand:
    """The ``expect`` integrand computing the named moments of ``act`` in one pass."""
    a = pointwise(act)
    need_d = any(_TERMS[n][0] for n in names)

    def g(z: torch.Tensor, t: torch.Tensor) -> list[torch.Tensor]:
        p = a(z)
        d = a.derivative(z) if need_d else None
        return [_TERMS[n][1](p, d, t) for n in names]

    return g


def gaussian_moments(act: Any, names: tuple[str, ...], mean: Any = 0.0, std: Any = 1.0, *,
                     unresolved: str = "raise") -> np.ndarray:
    """Array (len(names), *broadcast shape) of the named moments (see the module docstring) by quadrature
    (``unresolved="nan"``: rows the quadrature cannot resolve are NaN instead of an error)."""
    a = pointwise(act)
    for n in names:
        if n not in _TERMS:
            raise ValueError(f"unknown moment {n!r}: choose from {', '.join(_TERMS)}")
    return expect(integrand(a, names), mean, std, a.kinks, unresolved=unresolved)


@dataclass(frozen=True)
class Moments(AsDict):
    """Gaussian moments of phi and phi' under z ~ N(mu, sigma^2) (definitions in the module docstring)."""

    activation: str
    mu: float
    sigma: float
    method: str
    mean: float
    second: float
    var: float
    d1_mean: float
    d1_second: float
    t_phi: float
    t_phi_dphi: float


_ALL = ("mean", "second", "d1_mean", "d1_second", "t_phi", "t_phi_dphi")


def moments(act: Any, mean: float = 0.0, std: float = 1.0, *, method: str = "quadrature",
            n: int = 1_000_000, seed: int = 0) -> Moments:
    """All moments of ``act`` under N(mean, std^2).

    ``method``: ``"quadrature"`` (default; 1e-10 or better), ``"mpmath"`` (the spec's mpmath reference
    for the phi moments, the quadrature for the phi' ones -- the test oracle) or ``"mc"`` (Monte Carlo
    with ``n`` samples; loose).
    """
    a = pointwise(act)
    check_std(std)
    if method == "quadrature":
        v = dict(zip(_ALL, gaussian_moments(a, _ALL, mean, std).tolist()))
    elif method == "mc":
        est, _ = expect_mc(integrand(a, _ALL), mean, std, n=n, seed=seed)
        v = dict(zip(_ALL, est.tolist()))
    elif method == "mpmath":
        ref = a.spec.mpmath
        if ref is None:
            raise ValueError(f"{a.name} declares no mpmath reference; use method='quadrature' or 'mc'")
        v = dict(zip(_ALL, gaussian_moments(a, _ALL, mean, std).tolist()))
        p = a.params
        k = a.kinks
        v["mean"] = expect_mpmath(lambda x: ref(x, **p), mean, std, k, dps=20)
        v["second"] = expect_mpmath(lambda x: ref(x, **p) ** 2, mean, std, k, dps=20)
        v["t_phi"] = expect_mpmath(lambda x: (x - mean) / std * ref(x, **p), mean, std, k, dps=20)
    else:
        raise ValueError(f"unknown method {method!r}: use 'quadrature', 'mpmath' or 'mc'")
    return Moments(activation=a.name, mu=float(mean), sigma=float(std), method=method,
                   var=v["second"] - v["mean"] ** 2, **v)


def slope_table(acts: list[Any], mean: float = 0.0, std: float = 1.0) -> list[dict[str, Any]]:
    """The "average slope" table: E[phi'] and E[phi'^2] under N(mean, std^2) for each activation (C22)."""
    rows = []
    for act in acts:
        a = pointwise(act)
        d1, d2 = gaussian_moments(a, ("d1_mean", "d1_second"), mean, std).tolist()
        rows.append({"activation": a.name, "d1_mean": d1, "d1_second": d2})
    return rows
