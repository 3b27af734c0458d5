"""Closed-form relations between an activation and what a network built on it does, before any training.

Each function names the quantity it computes, never a claim: a claim's theory half lives in its study
(``actlab run CXX``), which calls these and judges them with an exact rule.  The ledger claim a quantity
bears on is named in its docstring for the reader:

* :func:`residual_mean` — E[phi(z) - z], the mean a residual branch adds (claim C08);
* :func:`bn_scale` — the BatchNorm scale that normalises phi's output (C19);
* :func:`gradient_noise`, :func:`gradient_noise_sweep` — relative minibatch-gradient variance from the
  moments of phi' (C20);
* :func:`icnn_admissible` — may phi be used in an input-convex network (C26);
* :func:`update_jacobian` — spectral radius of a learned update's Jacobian at its fixed point (C15);
* :func:`second_derivative_mlp` — u''(x) of random scalar MLPs (C14).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import torch

from .gaussian import check_std, pointwise
from .moments import gaussian_moments


def residual_mean(act: Any, mean: float = 0.0, std: float = 1.0) -> float:
    """C08: E[phi(z) - z] for z ~ N(mean, std^2) -- the mean a residual block computing phi(z) - z adds."""
    a = pointwise(act)
    (m,) = gaussian_moments(a, ("mean",), mean, std)
    return float(m) - float(mean)


def bn_scale(act: Any, std: float = 1.0) -> dict[str, float]:
    """C19: the BatchNorm scale gamma* that restores unit variance after phi applied to N(0, std^2).

    A BatchNorm with scale gamma after phi outputs gamma*(phi - E phi)/sqrt(Var phi) at init; the scale that
    *undoes* BatchNorm's division (so the next layer sees the raw phi signal's size) or, equivalently, the
    factor that normalises phi's output to unit variance is gamma* = 1/sqrt(Var[phi(z)]).  For PReLU with
    slope a and std = 1: Var = (1 + a^2)/2 - (1 - a)^2/(2 pi), a direct function of a.  The second-moment
    version 1/sqrt(E[phi^2]) (= the gain) is returned beside it.
    """
    a = pointwise(act)
    check_std(std)
    m, s2 = gaussian_moments(a, ("mean", "second"), 0.0, std).tolist()
    var = s2 - m * m
    if not var > 0:
        raise ValueError(f"{a.name} has zero output variance under N(0, {std:g}^2)")
    return {"activation": a.name, "mean": m, "var": var, "gamma_var": 1 / math.sqrt(var),
            "gamma_second": 1 / math.sqrt(s2)}


def gradient_noise(act: Any, batch: int = 1, delta_rel_var: float = 0.0, mean: float = 0.0,
                   std: float = 1.0) -> float:
    """C20: relative variance Var[g_B]/E[g_B]^2 of a minibatch gradient under a stated noise model.

    Model and assumptions: the gradient with respect to a unit's bias (or, up to an input factor, its
    incoming weight) for example i is g_i = delta_i * phi'(z_i), where (i) the pre-activations z_i are
    i.i.d. N(mean, std^2) over examples; (ii) the backpropagated error delta_i is independent of z_i with
    mean m != 0 and relative variance r = Var[delta]/m^2 (``delta_rel_var``); (iii) the minibatch
    gradient g_B is the mean of ``batch`` i.i.d. g_i.  Then E[g] = m E[phi'], E[g^2] = m^2 (1 + r) E[phi'^2] and

        Var[g_B]/E[g_B]^2 = ((1 + r) E[phi'^2]/E[phi']^2 - 1) / batch.

    For PReLU(a) at N(0, 1): E[phi'] = (1 + a)/2, E[phi'^2] = (1 + a^2)/2, so with r = 0 the relative
    variance is ((1 - a)/(1 + a))^2 / batch: 1 for ReLU, 0.96 for leaky 0.01, 1/9 for a = 0.5.
    """
    a = pointwise(act)
    if not (isinstance(batch, int) and batch >= 1):
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    if not (math.isfinite(delta_rel_var) and delta_rel_var >= 0):
        raise ValueError(f"delta_rel_var must be >= 0, got {delta_rel_var!r}")
    d1, d2 = gaussian_moments(a, ("d1_mean", "d1_second"), mean, std).tolist()
    if d1 == 0:
        raise ValueError(f"{a.name} has E[phi'] = 0 under this input: the mean gradient vanishes, the relative "
                         "variance is infinite")
    return ((1 + delta_rel_var) * d2 / (d1 * d1) - 1) / batch


def gradient_noise_sweep(family: str = "prelu", param: str = "negative_slope",
                         values: Sequence[float] = tuple(np.linspace(0.0, 1.0, 11)), **kw: Any) -> list[dict[str, float]]:
    """C20 evaluated over a parameter (by default PReLU's slope from 0 to 1)."""
    base = pointwise(family)
    return [{param: float(v), "rel_var": gradient_noise(base.with_params(**{param: float(v)}), **kw)}
            for v in values]


def _numeric_shape(a: Any, lo: float = -15.0, hi: float = 15.0, n: int = 30_001) -> tuple[bool, bool]:
    """(monotone, convex) checked on a float64 grid (steps of 1e-3, kinks included).

    Tolerances: a first difference below -1e-9*(1 + |phi|) breaks monotonicity and a second difference
    below -1e-9*(1 + |phi|) breaks convexity; real violations on this grid are >= 1e-7 (tanh's curvature
    gives -8e-7, ELU alpha = 1.5 at its kink -5e-4), float64 rounding is <= 1e-13.
    """
    x = torch.cat([torch.linspace(lo, hi, n, dtype=torch.float64),
                   torch.tensor([k + e for k in a.kinks for e in (-1e-3, 0.0, 1e-3)], dtype=torch.float64)])
    x = torch.sort(x).values
    keep = torch.cat([torch.tensor([True]), (x[1:] - x[:-1]) > 1e-6])  # merge near-duplicates (rounding)
    x = x[keep]
    with torch.no_grad():
        y = a(x)
    tol = 1e-9 * (1 + y.abs())
    d1 = y[1:] - y[:-1]
    mono = bool(torch.all(d1 >= -tol[1:]))
    # second divided difference on a non-uniform grid, scaled to the uniform-step equivalent
    h1, h2 = x[1:-1] - x[:-2], x[2:] - x[1:-1]
    d2 = 2 * ((y[2:] - y[1:-1]) / h2 - (y[1:-1] - y[:-2]) / h1) / (h1 + h2) * (1e-3) ** 2
    conv = bool(torch.all(d2 >= -tol[1:-1]))
    return mono, conv


def icnn_admissible(act: Any) -> dict[str, Any]:
    """C26: may ``act`` be used in an input-convex network (Amos, Xu & Kolter 2017)?

    An ICNN keeps its output convex in the input only if every activation is convex and non-decreasing.
    The verdict comes from the spec's declared properties at these parameters (ELU: convex iff alpha <= 1),
    and is cross-checked numerically on a grid; ``consistent`` is False if declaration and grid disagree.
    User callables (nothing declared) are decided on the grid alone.
    """
    a = pointwise(act)
    mono_n, conv_n = _numeric_shape(a)
    p = a.properties
    if p is None:
        mono, conv, source = mono_n, conv_n, "numerical"
    else:
        mono, conv, source = p.monotone, p.convex, "declared"
    return {"activation": a.name, "admissible": bool(mono and conv), "monotone": bool(mono), "convex": bool(conv),
            "source": source, "consistent": (mono, conv) == (mono_n, conv_n)}


def update_jacobian(act: Any, dim: int = 32, scale: float = 1.0, seed: int = 0) -> dict[str, Any]:
    """C15: spectral radius of a learned update's Jacobian at its fixed point, as a function of phi'(0).

    Model: a network used as the update rule of an iterative solver, x_{k+1} = G(x_k) = x_k + W2 (phi(W1 x_k)
    - phi(0)), with W1, W2 ~ N(0, scale^2/dim).  x* = 0 is a fixed point for every phi, and the Jacobian there
    is J = I + phi'(0) W2 W1, so rho(J) -- which decides whether the iteration converges near x* -- is a
    function of phi'(0) alone (SiLU 0.5, ELU/tanh 1; a kink contributes the one-sided value torch uses).
    J is computed by autodiff and compared with the prediction.
    """
    a = pointwise(act)
    if not (isinstance(dim, int) and dim >= 1):
        raise ValueError(f"dim must be a positive integer, got {dim!r}")
    gen = torch.Generator().manual_seed(seed)
    w1 = scale / math.sqrt(dim) * torch.randn(dim, dim, generator=gen, dtype=torch.float64)
    w2 = scale / math.sqrt(dim) * torch.randn(dim, dim, generator=gen, dtype=torch.float64)
    zero = torch.zeros(dim, dtype=torch.float64)
    phi0 = a(torch.zeros(1, dtype=torch.float64))

    def update(x: torch.Tensor) -> torch.Tensor:
        return x + w2 @ (a(w1 @ x) - phi0)

    jac = torch.autograd.functional.jacobian(update, zero)
    dphi0 = float(a.derivative(torch.zeros(1, dtype=torch.float64))[0])
    pred = torch.eye(dim, dtype=torch.float64) + dphi0 * (w2 @ w1)
    rho = float(torch.linalg.eigvals(jac).abs().max())
    return {"activation": a.name, "dphi0": dphi0, "spectral_radius": rho,
            "predicted": float(torch.linalg.eigvals(pred).abs().max()),
            "max_abs_error": float((jac - pred).abs().max())}


def second_derivative_mlp(act: Any, width: int = 32, depth: int = 3, points: int = 256, nets: int = 4,
                          seed: int = 0) -> dict[str, Any]:
    """C14: u''(x) of random scalar MLPs u: R -> R by double autodiff, at random points.

    A ReLU network is piecewise linear, so u'' = 0 wherever it is defined (almost everywhere); a smooth
    activation gives non-zero curvature.  Reports max |u''| and mean |u''| over ``points`` x ``nets``.
    """
    a = pointwise(act)
    gen = torch.Generator().manual_seed(seed)
    dt = torch.float64
    vals = []
    for _ in range(nets):
        layers = []
        fan = 1
        for _ in range(depth):
            layers.append((torch.randn(width, fan, generator=gen, dtype=dt) * math.sqrt(2.0 / fan),
                           0.1 * torch.randn(width, 1, generator=gen, dtype=dt)))
            fan = width
        w_out = torch.randn(1, width, generator=gen, dtype=dt) / math.sqrt(width)
        x = (2 * torch.rand(1, points, generator=gen, dtype=dt) - 1).requires_grad_(True)
        h = x
        for w, b in layers:
            h = a(w @ h + b)
        u = (w_out @ h).sum()
        (du,) = torch.autograd.grad(u, x, create_graph=True)
        (d2u,) = torch.autograd.grad(du.sum(), x, allow_unused=True)
        vals.append(torch.zeros_like(x) if d2u is None else d2u.detach())
    v = torch.cat(vals, dim=1).abs()
    return {"activation": a.name, "max_abs_uxx": float(v.max()), "mean_abs_uxx": float(v.mean()),
            "zero_almost_everywhere": bool(float(v.max()) == 0.0)}
