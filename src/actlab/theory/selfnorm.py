"""Self-normalisation (claim C23): solve for the parameters that make (mean, variance) a fixed point.

Klambauer, Unterthiner, Mayr & Hochreiter 2017 (Self-normalizing neural networks), sec. 3.  A unit
computes y = lambda*phi(z; theta), z = sum_i w_i x_i, with inputs of mean mu and variance nu.  With
omega = sum_i w_i and tau = sum_i w_i^2 and the central-limit approximation z ~ N(mu*omega, nu*tau), the
layer maps (mu, nu) to

    mu~(mu, nu) = E[y],   nu~(mu, nu) = E[y^2] - mu~^2.

"Normalised weights" means omega = 0, tau = 1 (the defaults).  The solver finds the free parameters
(lambda and one of phi's own, e.g. ELU's alpha) for which a target (mu, nu) is a fixed point -- nothing
typed in; for lambda*elu(x; alpha) and target (0, 1) it recovers SELU's constants.  It then reports the
Jacobian of (mu, nu) -> (mu~, nu~) at the fixed point, computed from the derivative of the Gaussian
density (d/dm E[f(m + s t)] = E[t f]/s, d/ds E[f] = E[(t^2 - 1) f]/s, exact even for a discontinuous
phi), its spectral radius (stable iff < 1) and its spectral norm (a contraction near the fixed point
iff < 1, Klambauer et al.'s criterion).

Alpha dropout (Klambauer et al., sec. 4): dropped units are set to alpha' = lim_{x->-inf} lambda*phi(x)
instead of 0 and an affine map a*x + b restores mean mu and variance nu.  With keep probability
k = 1 - rate, a dropped-out x' has mean k*mu + (1-k)*alpha' and variance k*nu + k(1-k)(alpha' - mu)^2, so

    a = sqrt(nu / (k*nu + k(1-k)(alpha' - mu)^2)),   b = mu - a*(k*mu + (1-k)*alpha').
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch
from scipy.optimize import root

from .._records import AsDict
from ..zoo import Activation
from .gaussian import check_std, pointwise
from .moments import gaussian_moments

_TERMS = ("mean", "second", "t_phi", "t_phi2", "t2_phi", "t2_phi2")


@dataclass(frozen=True)
class SelfNormalising(AsDict):
    """The solution: parameters, the fixed point, the Jacobian there and whether it contracts."""

    family: str
    free: tuple[str, ...]
    params: dict[str, float]
    activation: str
    target_mean: float
    target_var: float
    omega: float
    tau: float
    residual: float
    jacobian: list[list[float]]
    spectral_radius: float
    spectral_norm: float
    stable: bool
    contracts: bool
    iterations: int = field(default=0)


def _split(family: Any, free: Sequence[str] | None) -> tuple[Activation, tuple[str, ...]]:
    a = pointwise(family)
    if free is None:
        numeric = [p.name for p in a.spec.params if p.choices is None]
        if not numeric:
            raise ValueError(f"{a.name} has no numeric parameter; give the free parameters, e.g. free=('scale',)")
        free = ("scale", numeric[0])
    free = tuple(free)
    for n in free:
        if n != "scale" and n not in a.params:
            raise ValueError(f"{a.name} has no parameter {n!r} (free parameters are 'scale' or one of "
                             f"{', '.join(a.params) or 'none'})")
    return a, free


def _bind(a: Activation, free: tuple[str, ...], values: Sequence[float]) -> tuple[Activation, float]:
    scale = 1.0
    params = {}
    for n, v in zip(free, values):
        if n == "scale":
            scale = float(v)
        else:
            params[n] = float(v)
    return (a.with_params(**params) if params else a), scale


def moment_map(act: Any, mean: float, var: float, *, scale: float = 1.0, omega: float = 0.0, tau: float = 1.0,
               jacobian: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """(mu~, nu~) for inputs of mean ``mean`` and variance ``var`` (module docstring), and optionally the
    2x2 Jacobian d(mu~, nu~)/d(mu, nu)."""
    a = pointwise(act)
    check_std(var, "var")
    check_std(tau, "tau")
    m, s = mean * omega, math.sqrt(var * tau)
    e, e2, t1, t1b, t2, t2b = gaussian_moments(a, _TERMS, m, s).tolist()
    mu_t = scale * e
    nu_t = scale**2 * e2 - mu_t**2
    if not jacobian:
        return np.array([mu_t, nu_t]), None
    dm = np.array([omega, 0.0])  # d m / d(mu, nu)
    ds = np.array([0.0, tau / (2 * s)])  # d s / d(mu, nu)
    d_e = (t1 / s) * dm + ((t2 - e) / s) * ds
    d_e2 = (t1b / s) * dm + ((t2b - e2) / s) * ds
    d_mu = scale * d_e
    d_nu = scale**2 * d_e2 - 2 * mu_t * d_mu
    return np.array([mu_t, nu_t]), np.stack([d_mu, d_nu])


def solve(family: Any = "elu", *, target_mean: float = 0.0, target_var: float = 1.0,
          free: Sequence[str] | None = None, x0: Sequence[float] | None = None, omega: float = 0.0,
          tau: float = 1.0, tol: float = 1e-13) -> SelfNormalising:
    """Parameters of lambda*phi(x; theta) making (target_mean, target_var) a fixed point of the moment map.

    ``family`` is an activation (name, spec or Activation); ``free`` names the unknowns -- ``'scale'`` (the
    outer lambda) and parameters of the activation; by default ``('scale', <its first numeric parameter>)``,
    so ``solve('elu')`` solves for SELU's (lambda, alpha).  Parameters with a lower bound of 0 (and the
    scale) are solved in log space so the iteration stays in bounds.  Raises ``ValueError`` if the solver
    does not reach a residual below ``tol`` (no fixed point in range, or a bad starting point ``x0``).
    """
    a, free = _split(family, free)
    check_std(target_var, "target_var")
    if len(free) != 2:
        raise ValueError(f"two equations (mean, variance) need two free parameters, got {free}")
    logs = [n == "scale" or a.spec.param(n).lower == 0.0 for n in free]
    if x0 is None:
        x0 = [1.0 if n == "scale" else (float(a.params[n]) or 1.0) for n in free]
    if len(x0) != 2 or any(lg and not v > 0 for lg, v in zip(logs, x0)):
        raise ValueError(f"x0 must give two starting values, positive for {free}; got {x0!r}")
    u0 = np.array([math.log(v) if lg else v for lg, v in zip(logs, x0)])

    def values(u: np.ndarray) -> list[float]:
        return [math.exp(min(v, 700.0)) if lg else float(v) for lg, v in zip(logs, u)]

    def residual(u: np.ndarray) -> np.ndarray:
        try:
            act, scale = _bind(a, free, values(u))
            mv, _ = moment_map(act, target_mean, target_var, scale=scale, omega=omega, tau=tau)
        except ValueError:  # a parameter left its bounds: push back
            return np.array([1e6, 1e6])
        return (mv - np.array([target_mean, target_var])) / max(1.0, target_var)

    sol = root(residual, u0, method="hybr", options={"xtol": 1e-15, "maxfev": 400})
    res = float(np.max(np.abs(residual(sol.x))))
    if not np.all(np.isfinite(sol.x)) or res > tol:
        raise ValueError(f"no self-normalising parameters found for {a.spec.name} with free {free} at target "
                         f"mean {target_mean:g}, variance {target_var:g} (solver stopped at "
                         f"{dict(zip(free, values(sol.x)))} with residual {res:.1e}); try another target or x0")
    vals = values(sol.x)
    act, scale = _bind(a, free, vals)
    _, jac = moment_map(act, target_mean, target_var, scale=scale, omega=omega, tau=tau, jacobian=True)
    rho = float(np.max(np.abs(np.linalg.eigvals(jac))))
    norm = float(np.linalg.norm(jac, 2))
    return SelfNormalising(family=a.spec.name, free=free, params=dict(zip(free, vals)), activation=act.name,
                           target_mean=float(target_mean), target_var=float(target_var), omega=float(omega),
                           tau=float(tau), residual=res, jacobian=jac.tolist(), spectral_radius=rho,
                           spectral_norm=norm, stable=rho < 1, contracts=norm < 1, iterations=int(sol.nfev))


def saturation(act: Any, scale: float = 1.0) -> float:
    """alpha' = lim_{x -> -inf} scale*phi(x); ``ValueError`` if phi is unbounded below."""
    a = pointwise(act)
    v = float(a(torch.tensor([-math.inf], dtype=torch.float64))[0]) * scale
    if not math.isfinite(v):
        raise ValueError(f"{a.name} has no finite limit at -inf: alpha dropout needs a saturating activation")
    return v


@dataclass(frozen=True)
class AlphaDropout(AsDict):
    rate: float
    alpha_prime: float
    a: float
    b: float
    mean: float
    var: float


def alpha_dropout(rate: float, alpha_prime: float, mean: float = 0.0, var: float = 1.0) -> AlphaDropout:
    """Affine constants (a, b) of alpha dropout for dropout ``rate`` (module docstring)."""
    if not (math.isfinite(rate) and 0 <= rate < 1):
        raise ValueError(f"dropout rate must be in [0, 1), got {rate!r}")
    check_std(var, "var")
    k = 1.0 - rate
    a = math.sqrt(var / (k * var + k * (1 - k) * (alpha_prime - mean) ** 2))
    b = mean - a * (k * mean + (1 - k) * alpha_prime)
    return AlphaDropout(rate=float(rate), alpha_prime=float(alpha_prime), a=a, b=b, mean=float(mean), var=float(var))


def alpha_dropout_for(solution: SelfNormalising, rate: float) -> AlphaDropout:
    """Alpha-dropout constants for a solved family at its own target (mean, variance)."""
    act = pointwise(solution.activation)
    ap = saturation(act, solution.params.get("scale", 1.0))
    return alpha_dropout(rate, ap, solution.target_mean, solution.target_var)
