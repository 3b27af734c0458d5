"""Dying ReLU at initialisation (background of claim C03; Lu, Shin, Su & Karniadakis 2019).

Closed form.  Take a bias-free ReLU MLP with L hidden layers of width N, weights drawn independently from
any distribution symmetric about 0 with no atom at 0 (e.g. He-normal), and a fixed input x != 0.

* Layer 1: each unit's pre-activation w_j . x is symmetric and continuous, so P(w_j . x <= 0) = 1/2, and the
  N rows w_j are independent, so P(all N units are 0) = 2^-N.
* Layer l > 1, given that layer l-1 output h != 0: the rows of W_l are independent of h, so the same
  argument gives P(layer l outputs 0 | h != 0) = 2^-N.
* Once a layer outputs 0, every later layer does too (no bias), the network's output is constant and
  every gradient is 0: the input is killed.

By the chain rule of probability P(alive after L layers) = (1 - 2^-N)^L, so

    P(killed) = 1 - (1 - 2^-N)^L  (~ L 2^-N when that is small).

Monte Carlo (any activation, any init): a network is *born dead* on x if some hidden layer has
phi'(z_j) = 0 for every unit j, which stops all gradients below it and (for ReLU, no bias) zeroes the output;
``born_dead_mc`` estimates that probability over random networks with its binomial standard error.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from .gaussian import pointwise


def dead_probability(width: int, depth: int) -> float:
    """1 - (1 - 2^-N)^L for a bias-free ReLU MLP of width N and depth L (module docstring)."""
    for name, v in (("width", width), ("depth", depth)):
        if not (isinstance(v, (int, np.integer)) and v >= 1):
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    # -expm1(L * log1p(-2^-N)) keeps full precision when 2^-N is tiny
    return float(-math.expm1(depth * math.log1p(-(2.0 ** -width))))


def born_dead_mc(act: Any = "relu", width: int = 2, depth: int = 10, *, trials: int = 20_000,
                 gain: float = math.sqrt(2.0), sigma_b: float = 0.0, seed: int = 0) -> dict[str, Any]:
    """Monte Carlo probability that a random MLP is born dead on a fixed input (module docstring).

    Weights ~ N(0, gain^2/fan_in) (He init by default), biases ~ N(0, sigma_b^2); the input is a fixed
    standard-normal vector of dimension ``width`` (seeded).  Returns the estimate, its standard error and,
    for ReLU without bias, the closed form.
    """
    a = pointwise(act)
    for name, v in (("width", width), ("depth", depth), ("trials", trials)):
        if not (isinstance(v, int) and v >= 1):
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if not gain > 0:
        raise ValueError(f"gain must be positive, got {gain!r}")
    gen = torch.Generator().manual_seed(seed)
    dt = torch.float64
    x = torch.randn(width, 1, generator=gen, dtype=dt)
    h = x.expand(trials, width, 1)
    dead = torch.zeros(trials, dtype=torch.bool)
    with torch.no_grad():
        for _ in range(depth):
            w = gain / math.sqrt(width) * torch.randn(trials, width, width, generator=gen, dtype=dt)
            z = torch.bmm(w, h)
            if sigma_b > 0:
                z = z + sigma_b * torch.randn(trials, width, 1, generator=gen, dtype=dt)
            dead |= torch.all(a.derivative(z) == 0, dim=1).squeeze(-1)
            h = a(z)
    p = float(dead.double().mean())
    se = math.sqrt(max(p * (1 - p), 1.0 / trials) / trials)
    closed = dead_probability(width, depth) if (a.spec.name == "relu" and sigma_b == 0) else None
    return {"activation": a.name, "width": width, "depth": depth, "trials": trials, "p_dead": p, "stderr": se,
            "closed_form": closed}


def plot_dying(widths: list[int], depths: list[int], act: Any = "relu", trials: int = 4000, seed: int = 0):
    """P(born dead) against depth for several widths: closed form (lines) and Monte Carlo (markers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ls = np.arange(1, max(depths) + 1)
    for i, n in enumerate(widths):
        color = f"C{i}"
        ax.plot(ls, [dead_probability(n, int(l)) for l in ls], color=color, label=f"N = {n}: 1 − (1 − 2⁻ᴺ)ᴸ")
        mc = [born_dead_mc(act, n, d, trials=trials, seed=seed + d) for d in depths]
        ax.errorbar(depths, [m["p_dead"] for m in mc], yerr=[2 * m["stderr"] for m in mc], fmt="o", color=color,
                    ms=4, capsize=2)
    ax.set_xlabel("depth L")
    ax.set_ylabel("P(born dead)")
    ax.set_title(f"Dying at initialisation ({pointwise(act).name}; markers: Monte Carlo ± 2 s.e.)")
    ax.legend(fontsize=8)
    return fig
