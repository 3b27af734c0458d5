"""Gradient flow through depth and time from the derivative moments (claims C02, C22).

Through depth (Schoenholz et al. 2017, sec. 4): in a wide MLP z^{l+1} = W^{l+1} phi(z^l) + b^{l+1},
W_ij ~ N(0, sigma_w^2/N), the backpropagated error delta^l = phi'(z^l) * (W^{l+1})^T delta^{l+1} has, in the
mean-field limit (weights used in the backward pass treated as independent of the forward pass),

    E|delta^l|^2 = sigma_w^2 E[phi'(sqrt(q^l) Z)^2] E|delta^{l+1}|^2 = chi^(l) E|delta^{l+1}|^2,

with q^l the pre-activation variance at layer l (q^{l+1} = V(q^l), see ``propagation``).  The expected
squared gradient norm at layer l relative to the last is the product of chi^(k) over k = l..L-1.

Through time: a vanilla RNN h_t = phi(z_t), z_t = W h_{t-1} + U x_t + b has the same mean-field recursion
with the input and bias variances folded into sigma_b^2 (Chen, Pennington & Schoenholz 2018), so the
gradient reaching T steps back is scaled by prod chi^(t).  A gate s = sigma(a) passes gradient through
sigma'(a) <= 1/4, so T gates in series scale it by at most (1/4)^T; tanh's slope is at most 1.

Pascanu, Mikolov & Bengio 2013, sec. 3.1: for x_{k+1} = W phi(x_k) + U u_k + b,
|| d x_{k+1} / d x_k || = || W diag(phi'(x_k)) || <= lambda_1 * gamma, lambda_1 the largest singular value
of W and gamma = sup |phi'|; ``pascanu_check`` verifies this on random recurrent matrices.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from .gaussian import check_std, pointwise
from .moments import gaussian_moments
from .propagation import Q_ZERO, _check_sigmas


def max_slope(act: Any, lo: float = -40.0, hi: float = 40.0) -> tuple[float, float]:
    """(sup |phi'(x)|, argmax) over [lo, hi]: a dense float64 grid, then a bounded local refinement."""
    a = pointwise(act)
    x = torch.linspace(lo, hi, 100_001, dtype=torch.float64)
    for k in a.kinks:  # evaluate both one-sided limits at each kink
        x = torch.cat([x, torch.tensor([k - 1e-12, k + 1e-12], dtype=torch.float64)])
    with torch.no_grad():
        d = a.derivative(x).abs()
    i = int(torch.argmax(d))
    x0, best = float(x[i]), float(d[i])
    h = (hi - lo) / 100_000

    def neg(v: float) -> float:
        with torch.no_grad():
            return -float(a.derivative(torch.tensor([v], dtype=torch.float64)).abs()[0])

    r = minimize_scalar(neg, bounds=(x0 - h, x0 + h), method="bounded", options={"xatol": 1e-12})
    if -r.fun > best:
        return float(-r.fun), float(r.x)
    return best, x0


def depth_profile(act: Any, depth: int, sigma_w: float, sigma_b: float = 0.0, q0: float = 1.0) -> dict[str, Any]:
    """Per-layer variance q^l, factor chi^(l) and E|delta^l|^2 / E|delta^L|^2 for an L-layer MLP (docstring).

    Layer 1's pre-activation variance is ``q0``; the result lists layers 1..L.
    """
    a = pointwise(act)
    _check_sigmas(sigma_w, sigma_b)
    check_std(q0, "q0")
    if not (isinstance(depth, int) and depth >= 1):
        raise ValueError(f"depth must be a positive integer, got {depth!r}")
    qs = [float(q0)]
    for _ in range(depth - 1):
        (s2,) = gaussian_moments(a, ("second",), 0.0, math.sqrt(max(qs[-1], Q_ZERO)))
        q = sigma_w**2 * float(s2) + sigma_b**2
        if not math.isfinite(q) or q > 1e200:
            raise ValueError(f"{a.name}: the variance overflows within {depth} layers at sigma_w={sigma_w:g}")
        qs.append(q)
    (d2,) = gaussian_moments(a, ("d1_second",), 0.0, np.sqrt(np.maximum(qs, Q_ZERO)))
    chi = sigma_w**2 * np.atleast_1d(d2)
    # E|delta^l|^2 / E|delta^L|^2 = prod_{k=l}^{L-1} chi^(k)
    ratio = np.ones(depth)
    for l in range(depth - 2, -1, -1):
        ratio[l] = ratio[l + 1] * chi[l]
    return {"activation": a.name, "sigma_w": float(sigma_w), "sigma_b": float(sigma_b), "q": qs,
            "chi": chi.tolist(), "grad_sq_ratio": ratio.tolist()}


def depth_profile_mc(act: Any, depth: int, width: int, sigma_w: float, sigma_b: float = 0.0, q0: float = 1.0,
                     nets: int = 32, seed: int = 0) -> dict[str, Any]:
    """Monte Carlo of :func:`depth_profile`: random float64 MLPs (batched), mean |delta^l|^2 / mean |delta^L|^2.

    The error at the last layer is a standard Gaussian vector; pre-activations of layer 1 are drawn
    N(0, q0).  Agreement with the mean-field prediction improves as 1/sqrt(width * nets).
    """
    a = pointwise(act)
    _check_sigmas(sigma_w, sigma_b)
    gen = torch.Generator().manual_seed(seed)
    dt = torch.float64
    z = (math.sqrt(q0) * torch.randn(nets, width, 1, generator=gen, dtype=dt)).requires_grad_(True)
    zs = [z]
    for _ in range(depth - 1):
        w = sigma_w / math.sqrt(width) * torch.randn(nets, width, width, generator=gen, dtype=dt)
        b = sigma_b * torch.randn(nets, width, 1, generator=gen, dtype=dt)
        nxt = torch.bmm(w, a(zs[-1])) + b
        nxt.retain_grad()
        zs.append(nxt)
    err = torch.randn(nets, width, 1, generator=gen, dtype=dt)
    (zs[-1] * err).sum().backward()
    sq = np.array([float((zl.grad**2).sum(dim=(1, 2)).mean()) for zl in zs])
    return {"activation": a.name, "grad_sq_ratio": (sq / sq[-1]).tolist(),
            "q": [float((zl.detach() ** 2).mean()) for zl in zs]}


def gate_chain(act: Any, steps: int, q: float = 1.0) -> dict[str, Any]:
    """Gradient through ``steps`` gates phi in series: the worst case (sup|phi'|)^T and the mean-field
    root-mean-square E[phi'(sqrt(q) Z)^2]^(T/2) (claim C02)."""
    a = pointwise(act)
    check_std(q, "q")
    if not (isinstance(steps, int) and steps >= 1):
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    gamma, at = max_slope(a)
    (d2,) = gaussian_moments(a, ("d1_second",), 0.0, math.sqrt(q))
    t = np.arange(1, steps + 1)
    return {"activation": a.name, "max_slope": gamma, "argmax": at, "rms_slope": math.sqrt(float(d2)),
            "bound": (gamma**t).tolist(), "rms": (math.sqrt(float(d2)) ** t).tolist()}


def pascanu_check(act: Any, n: int = 32, trials: int = 100, sigma_w: float = 1.5, q: float = 4.0,
                  seed: int = 0) -> dict[str, Any]:
    """Verify ||W diag(phi'(x))||_2 <= lambda_1(W) * sup|phi'| on random recurrent matrices.

    W ~ N(0, sigma_w^2/n) (n x n), x ~ N(0, q I).  Returns the largest observed ratio (<= 1 if the bound
    holds) and the mean ratio (how loose the bound is in practice).
    """
    a = pointwise(act)
    gamma, _ = max_slope(a)
    gen = torch.Generator().manual_seed(seed)
    w = sigma_w / math.sqrt(n) * torch.randn(trials, n, n, generator=gen, dtype=torch.float64)
    x = math.sqrt(q) * torch.randn(trials, n, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        jac = w * a.derivative(x)[:, None, :]  # W diag(phi'(x))
    norm = torch.linalg.matrix_norm(jac, ord=2)
    lam1 = torch.linalg.matrix_norm(w, ord=2)
    ratio = (norm / (lam1 * gamma)).numpy() if gamma > 0 else np.zeros(trials)
    return {"activation": a.name, "max_slope": gamma, "max_ratio": float(ratio.max()),
            "mean_ratio": float(ratio.mean()), "holds": bool(ratio.max() <= 1 + 1e-12), "trials": trials, "n": n}


def plot_profile(profiles: list[dict[str, Any]], xlabel: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for p in profiles:
        r = np.asarray(p["grad_sq_ratio"])
        ax.semilogy(np.arange(1, r.size + 1), np.maximum(r, 1e-300), label=p["activation"])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("E|grad|² relative to the last")
    ax.set_title("Expected gradient norm (mean field; Schoenholz et al. 2017)")
    ax.legend()
    return fig


__all__ = ["depth_profile", "depth_profile_mc", "gate_chain", "max_slope", "pascanu_check",
           "plot_profile"]
