"""Claim C06, the learning half: does a polynomial stand-in for an activation need the derivative too?

This module is the per-arm trainer only; the study, its design and its verdict live in
:mod:`actlab.studies.c06_approximation` (``actlab run C06``), so the claim has one home.

The same MLP (40 → 100 → 100 → 10) is trained on MNIST-1D with the true activation and with
polynomial approximants of one degree fitted on one interval: value-only interpolation through
equispaced points (``newton``, the claim's Newton polynomial) and through Chebyshev points
(``newton-chebyshev``), and Hermite interpolation matching values *and* slopes (``hermite``).
For each approximant model we measure test accuracy and, at checkpoints along its own training, the
cosine between its loss gradient (all weights, one fixed probe batch) and the gradient the *true*
activation gives at the same weights -- how faithful the learning signal is.

Training is a plain seeded CPU loop (Adam, minibatches drawn by a seeded generator):
``run(config, arm, seed) -> dict of metrics``.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn

from .._records import AsDict

#: the arms of the experiment: "true" plus polynomial methods (value-only and derivative-matched)
DEFAULT_ARMS = ("true", "newton", "newton-chebyshev", "hermite")
VALUE_ONLY = ("newton", "newton-chebyshev")


@dataclass(frozen=True)
class Config(AsDict):
    activation: Any = "gelu"  # a zoo name or spec string, or an Activation (a user's, which has no name to parse)
    degree: int = 7
    interval: tuple[float, float] = (-4.0, 4.0)
    arms: tuple[str, ...] = DEFAULT_ARMS
    hidden: tuple[int, ...] = (100, 100)
    steps: int = 3000
    batch_size: int = 128
    lr: float = 1e-3
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    checkpoints: int = 10          # gradient cosines measured this many times along training
    probe_size: int = 512          # fixed training examples for the gradient comparison
    dataset: str = "mnist1d"


def check_config(cfg: Config) -> None:
    from . import METHODS
    from ._checks import check_degree, check_interval

    check_degree(cfg.degree)
    check_interval(cfg.interval)
    for a in cfg.arms:
        if a != "true" and (a not in METHODS or a == "rational"):
            raise ValueError(f"unknown arm {a!r}: use true or a polynomial method ({', '.join(METHODS[:-1])})")
    if "hermite" in cfg.arms and cfg.degree % 2 == 0:
        raise ValueError(f"hermite needs an odd degree; got {cfg.degree}: use --degree {cfg.degree + 1}")
    if cfg.steps < 1 or cfg.batch_size < 1 or not cfg.seeds or cfg.checkpoints < 1 or cfg.probe_size < 1:
        raise ValueError("steps, batch_size, checkpoints, probe_size must be >= 1 and seeds non-empty")
    if not (cfg.lr > 0 and math.isfinite(cfg.lr)):
        raise ValueError(f"lr must be a positive number, got {cfg.lr}")


def arm_activation(cfg: Config, arm: str):
    """The activation an arm trains with (the approximants are fitted here, deterministically)."""
    from ..zoo import get

    if arm == "true":
        return get(cfg.activation)
    return _fitted(cfg.activation, arm, cfg.degree, tuple(cfg.interval)).activation


@functools.lru_cache(maxsize=64)
def _fitted(activation: Any, method: str, degree: int, interval: tuple[float, float]):
    from . import approximate

    return approximate(activation, method, degree, interval)


class MLP(nn.Module):
    """Linear → φ → ... → Linear; ``phi`` is one parameter-free module shared by the hidden layers."""

    def __init__(self, sizes: list[int], phi: nn.Module):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.phi = phi

    def forward(self, x: torch.Tensor, record: list[torch.Tensor] | None = None) -> torch.Tensor:
        for layer in self.layers[:-1]:
            x = layer(x)
            if record is not None:
                record.append(x.detach())
            x = self.phi(x)
        return self.layers[-1](x)


def _flat_grad(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    model.zero_grad(set_to_none=True)
    nn.functional.cross_entropy(model(x), y).backward()
    return torch.cat([p.grad.reshape(-1) for p in model.parameters()])


def gradient_cosine(model: MLP, true_phi: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """cos(∇L with the model's activation, ∇L with the true activation) at the model's weights."""
    own = model.phi
    g_own = _flat_grad(model, x, y)
    model.phi = true_phi
    try:
        g_true = _flat_grad(model, x, y)
    finally:
        model.phi = own
        model.zero_grad(set_to_none=True)
    if not (torch.isfinite(g_own).all() and torch.isfinite(g_true).all()):
        return math.nan
    return float(nn.functional.cosine_similarity(g_own, g_true, dim=0))


def run(config: Config, activation: Any, seed: int) -> dict[str, Any]:
    """Train one model with ``activation`` (an arm name or anything ``actlab.get`` accepts); return its metrics.

    Runs on one CPU thread: a 40-100-100-10 MLP gains nothing from more, and intra-op threads that
    spin-wait slow it down by 10-100x when the cores are shared (measured: 140 ms per backward at a
    load of 8 on 2 cores, against ~1 ms on one thread).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(config, activation, seed)
    finally:
        torch.set_num_threads(threads)


def _run(config: Config, activation: Any, seed: int) -> dict[str, Any]:
    from .. import data
    from ..zoo import get

    t0 = time.perf_counter()
    from . import METHODS

    is_arm = isinstance(activation, str) and (activation == "true" or activation in METHODS[:-1])
    act = arm_activation(config, activation) if is_arm else get(activation)
    true_act = get(config.activation)
    ds = data.load(config.dataset)
    torch.manual_seed(seed)
    sizes = [ds.input_dim, *config.hidden, ds.num_classes]
    model = MLP(sizes, act.module(learn=False))
    true_phi = true_act.module(learn=False)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    gen = torch.Generator().manual_seed(10_000 + seed)
    probe_idx = torch.randperm(len(ds.x_train), generator=gen)[: config.probe_size]
    px, py = ds.x_train[probe_idx], ds.y_train[probe_idx]
    marks = {max(1, round(config.steps * (i + 1) / config.checkpoints)) for i in range(config.checkpoints)}
    cosines: list[float] = []
    diverged_at = None
    loss_v = math.nan
    step = 0
    for step in range(1, config.steps + 1):
        idx = torch.randint(len(ds.x_train), (config.batch_size,), generator=gen)
        loss = nn.functional.cross_entropy(model(ds.x_train[idx]), ds.y_train[idx])
        if not torch.isfinite(loss):
            diverged_at = step  # keep the last finite weights; the step is not taken
            break
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_v = loss.item()
        if step in marks:
            cosines.append(gradient_cosine(model, true_phi, px, py))
    with torch.no_grad():
        pre: list[torch.Tensor] = []
        logits = model(ds.x_test, record=pre)
        acc = float((logits.argmax(dim=1) == ds.y_test).float().mean()) if torch.isfinite(logits).all() else math.nan
        a, b = config.interval
        allpre = torch.cat([p.reshape(-1) for p in pre])
        outside = float(((allpre < a) | (allpre > b)).float().mean())
    finite = [c for c in cosines if math.isfinite(c)]
    return {
        "seed": seed,
        "activation": act.name,
        "test_accuracy": acc,
        "final_train_loss": loss_v,
        "grad_cosine_mean": sum(finite) / len(finite) if finite else math.nan,
        "grad_cosine_final": cosines[-1] if cosines else math.nan,
        "grad_cosine_min": min(finite) if finite else math.nan,
        "preact_outside_interval": outside,
        "diverged_at": diverged_at,
        "steps": step if diverged_at is None else diverged_at - 1,
        "seconds": time.perf_counter() - t0,
    }
