"""Training loops shared by studies: one model at a time, or many as one :class:`Ensemble`.

Both loops consume the same random streams, so a model trained inside an ensemble gets the same
minibatches and (to float tolerance) the same numbers as when trained alone:

* the caller builds each model under :func:`seeded` (initial weights from the unit's seed);
* minibatch indices are drawn up front from a generator seeded by ``seed_for(seed, "batches")``,
  uniformly with replacement, ``batch_size`` per step (as MNIST-1D's reference training does).

A model whose training loss becomes NaN or inf is *diverged*: it is reported with status
``"diverged"`` and the step where it happened, never raised as an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from .ensemble import Ensemble, _signature, can_stack
from .protocol import Result

__all__ = ["Schedule", "build", "seed_for", "seeded", "fit", "fit_many"]


def seed_for(seed: int, *salt: object) -> int:
    """A 63-bit seed derived from a unit's seed and a label: independent streams, reproducible."""
    h = hashlib.sha256(repr((int(seed), *salt)).encode()).digest()
    return int.from_bytes(h[:8], "little") >> 1


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Run a block with torch's global RNG seeded, restoring the caller's RNG state afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


@dataclass(frozen=True)
class Schedule:
    """How a classifier is trained: Adam, fixed steps, evaluation on the test set every ``eval_every``."""

    steps: int = 6000
    batch_size: int = 100
    lr: float = 1e-2
    weight_decay: float = 0.0
    eval_every: int = 250
    target_acc: float = 0.6  # "steps to target": the first evaluation step reaching this test accuracy

    def __post_init__(self) -> None:
        for k in ("steps", "batch_size", "eval_every"):
            if getattr(self, k) < 1:
                raise ValueError(f"Schedule.{k} must be >= 1, got {getattr(self, k)}")


def _indices(seed: int, n: int, sched: Schedule) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed_for(seed, "batches"))
    return torch.randint(0, n, (sched.steps, sched.batch_size), generator=g)


def _summarise(sched: Schedule, steps: list[int], acc: list[float], loss: list[float], diverged_at: int | None,
               prefix: str) -> Result:
    reached = next((s for s, a in zip(steps, acc) if a >= sched.target_acc), None)
    metrics = {
        f"{prefix}test_acc": acc[-1] if acc else math.nan,
        f"{prefix}best_test_acc": max(acc) if acc else math.nan,
        # never reaching the target is censored at one evaluation past the budget (documented in C01)
        f"{prefix}steps_to_target": float(reached if reached is not None else sched.steps + sched.eval_every),
        f"{prefix}reached_target": float(reached is not None),
        f"{prefix}final_train_loss": loss[-1] if loss else math.nan,
    }
    curves = {f"{prefix}test_acc": {"step": steps, "value": acc}, f"{prefix}train_loss": {"step": steps, "value": loss}}
    if diverged_at is not None:
        return Result(metrics, curves, status="diverged", error=f"{prefix or ''}training loss not finite at step {diverged_at}")
    return Result(metrics, curves)


def fit(model: nn.Module, seed: int, data, sched: Schedule, prefix: str = "") -> Result:
    """Train one classifier; metrics are prefixed with ``prefix`` (e.g. ``"mnist1d_mlp/"``)."""
    idx = _indices(seed, len(data.x_train), sched)
    opt = torch.optim.Adam(model.parameters(), lr=sched.lr, weight_decay=sched.weight_decay)
    steps, acc, loss, run = [], [], [], 0.0
    diverged_at = None
    for t in range(sched.steps):
        b = idx[t]
        out = model(data.x_train[b])
        l = F.cross_entropy(out, data.y_train[b])
        opt.zero_grad(set_to_none=True)
        l.backward()
        opt.step()
        run += l.detach()
        if (t + 1) % sched.eval_every == 0 or t + 1 == sched.steps:
            n_in = (t % sched.eval_every) + 1
            mean_loss = float(run) / n_in
            run = 0.0
            with torch.no_grad():
                a = (model(data.x_test).argmax(-1) == data.y_test).float().mean().item()
            steps.append(t + 1)
            acc.append(a)
            loss.append(mean_loss)
            if not math.isfinite(mean_loss):
                diverged_at = t + 1
                break
    return _summarise(sched, steps, acc, loss, diverged_at, prefix)


def fit_many(models: Sequence[nn.Module], seeds: Sequence[int], data, sched: Schedule, prefix: str = "",
             batched: bool = True) -> list[Result]:
    """Train many classifiers; as one :class:`Ensemble` when ``batched`` and the models stack."""
    if len(models) != len(seeds):
        raise ValueError("fit_many needs one seed per model")
    if not batched or len(models) == 1:
        return [fit(m, s, data, sched, prefix) for m, s in zip(models, seeds)]
    # models that stack (same shapes: e.g. gated units are wider) are trained together, others alone
    groups: dict[str, list[int]] = {}
    for i, m in enumerate(models):
        groups.setdefault(repr(_signature(m)) if can_stack([m]) else f"alone{i}", []).append(i)
    out: list[Result | None] = [None] * len(models)
    for idx in groups.values():
        if len(idx) == 1:
            out[idx[0]] = fit(models[idx[0]], seeds[idx[0]], data, sched, prefix)
        else:
            for i, r in zip(idx, _fit_ensemble([models[i] for i in idx], [seeds[i] for i in idx], data, sched, prefix)):
                out[i] = r
    return out  # type: ignore[return-value]


def _fit_ensemble(models: Sequence[nn.Module], seeds: Sequence[int], data, sched: Schedule, prefix: str) -> list[Result]:
    ens = Ensemble(models)
    E = len(models)
    idx = torch.stack([_indices(s, len(data.x_train), sched) for s in seeds], 1)  # (steps, E, B)
    opt = torch.optim.Adam(ens.parameters(), lr=sched.lr, weight_decay=sched.weight_decay)
    x_test = data.x_test.unsqueeze(0).expand(E, *data.x_test.shape)
    steps: list[list[int]] = [[] for _ in range(E)]
    acc: list[list[float]] = [[] for _ in range(E)]
    loss: list[list[float]] = [[] for _ in range(E)]
    diverged: list[int | None] = [None] * E
    run = torch.zeros(E)
    for t in range(sched.steps):
        b = idx[t]  # (E, B)
        out = ens(data.x_train[b])  # (E, B, classes)
        per = F.cross_entropy(out.flatten(0, 1), data.y_train[b].flatten(), reduction="none").view(E, -1).mean(1)
        opt.zero_grad(set_to_none=True)
        per.sum().backward()  # each model's gradient is its own: the models share nothing
        opt.step()
        run += per.detach()
        if (t + 1) % sched.eval_every == 0 or t + 1 == sched.steps:
            n_in = (t % sched.eval_every) + 1
            mean_loss = (run / n_in).tolist()
            run = torch.zeros(E)
            with torch.no_grad():
                a = (ens(x_test).argmax(-1) == data.y_test).float().mean(1).tolist()
            for e in range(E):
                if diverged[e] is not None:
                    continue
                steps[e].append(t + 1)
                acc[e].append(a[e])
                loss[e].append(mean_loss[e])
                if not math.isfinite(mean_loss[e]):
                    diverged[e] = t + 1
            if all(d is not None for d in diverged):
                break
    return [_summarise(sched, steps[e], acc[e], loss[e], diverged[e], prefix) for e in range(E)]


def build(builder: Callable[[], nn.Module], seed: int, *salt: object) -> nn.Module:
    """``builder()`` with initial weights drawn from ``seed_for(seed, *salt)``."""
    with seeded(seed_for(seed, "init", *salt)):
        return builder()
