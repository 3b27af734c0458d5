"""The training loop shared by studies: many models of one architecture on one :class:`~.tasks.Task`.

One numerical path per unit.  A model that :func:`~.ensemble.can_stack` always trains inside an
:class:`~.ensemble.Ensemble` -- alone it is an ensemble of one -- and the batched program gives every
member the same bits whatever else shares its group (``tests/engine/test_train.py`` holds this bit
for bit), so a record depends on its key only: not on ``-j``, on which units were pending, or on a
resume.  A model that cannot stack always trains alone in a plain loop.

Randomness: the caller builds each model under :func:`build` (initial weights from the unit's seed);
minibatch indices are drawn up front from ``seed_for(seed, "batches")``, uniformly with replacement,
``batch_size`` per step (as MNIST-1D's reference training does), so seeds pair arms exactly: the same
seed gives every arm the same initial-weight stream and the same minibatches.

Evaluation.  Every ``eval_every`` steps the validation split is evaluated; the test split is evaluated
once, at the end, and only in the ``"main"`` phase (tuning never sees it).  Metrics, prefixed by the
caller: ``val_<m>`` (last), ``best_val_<m>``, ``val_auc`` (mean of the headline validation metric over
the evaluation points: the normalised area under the validation curve, a "how fast" measure with no
threshold), ``steps_to_target`` / ``reached_target`` (first evaluation step whose headline validation
metric reaches ``target``; ``steps`` and 0 when never), ``test_<m>``, ``final_train_loss``.

A model whose training loss becomes NaN or inf is *diverged*: reported with status ``"diverged"`` and
the step, never raised as an error; its later evaluations are not taken.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import torch
import torch.nn as nn

from .ensemble import Ensemble, _signature, can_stack
from .protocol import Result

__all__ = ["Schedule", "build", "seed_for", "seeded", "train"]


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


def build(builder: Callable[[], nn.Module], seed: int, *salt: object) -> nn.Module:
    """``builder()`` with initial weights drawn from ``seed_for(seed, "init", *salt)``."""
    with seeded(seed_for(seed, "init", *salt)):
        return builder()


@dataclass(frozen=True)
class Schedule:
    """Adam for a fixed number of steps; validation every ``eval_every``; ``target`` for steps-to-target."""

    steps: int = 6000
    batch_size: int = 100
    lr: float = 1e-2
    weight_decay: float = 0.0
    eval_every: int = 50
    target: float | None = None

    def __post_init__(self) -> None:
        for k in ("steps", "batch_size", "eval_every"):
            if getattr(self, k) < 1:
                raise ValueError(f"Schedule.{k} must be >= 1, got {getattr(self, k)}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"Schedule.lr must be a positive number, got {self.lr}")


def _indices(seed: int, n: int, sched: Schedule) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed_for(seed, "batches"))
    return torch.randint(0, n, (sched.steps, sched.batch_size), generator=g)


#: ``probe(model, step) -> (metrics, arrays)``: what a study measures inside a model during training
Probe = Callable[[nn.Module, int], "tuple[dict[str, float], dict[str, object]]"]


def train(models: Sequence[nn.Module], seeds: Sequence[int], task, scheds: Sequence[Schedule] | Schedule, *,
          phase: str = "main", prefix: str = "", probe: Probe | None = None,
          probe_at: Sequence[int] = ()) -> list[Result]:
    """Train each model on ``task`` (its own seed and schedule); results in the order given.

    Models that stack and share a schedule train as one ensemble; the grouping is for speed only (see
    the module docstring).  ``phase="tune"`` skips the test split.

    ``probe`` (a study's measurement inside the model: per-layer statistics, dead units, gradients) is
    called with each model -- an ordinary module holding the current weights, whatever the grouping --
    before the steps in ``probe_at`` (0: at initialisation) and after the last step; its metrics and
    arrays are stored as ``<name>@<step>``.  A probe runs on a copy and never changes training.
    """
    if phase not in ("main", "tune"):
        raise ValueError(f"phase must be 'main' or 'tune', got {phase!r}")
    if isinstance(scheds, Schedule):
        scheds = [scheds] * len(models)
    if not (len(models) == len(seeds) == len(scheds)):
        raise ValueError("train needs one seed and one schedule per model")
    groups: dict[tuple, list[int]] = {}
    for i, m in enumerate(models):
        key = (repr(_signature(m)), scheds[i]) if can_stack([m]) else ("alone", i)
        groups.setdefault(key, []).append(i)
    out: list[Result | None] = [None] * len(models)
    for key, idx in groups.items():
        if key[0] == "alone":
            i = idx[0]
            res = _loop([models[i]], [seeds[i]], task, scheds[i], phase, prefix, stacked=False, probe=probe,
                        probe_at=probe_at)
        else:
            res = _loop([models[i] for i in idx], [seeds[i] for i in idx], task, scheds[idx[0]], phase, prefix,
                        stacked=True, probe=probe, probe_at=probe_at)
        for i, r in zip(idx, res):
            out[i] = r
    return out  # type: ignore[return-value]


class _Single(nn.Module):
    """A model that cannot stack, with the ensemble's (E=1, B, ...) interface."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x[0]).unsqueeze(0)


def _probe(net: nn.Module, stacked: bool, E: int, probe: Probe, step: int, prefix: str,
           metrics: list[dict[str, float]], arrays: list[dict[str, object]]) -> None:
    import copy

    for e in range(E):
        model = net.unstack(e) if stacked else copy.deepcopy(net.model)
        was = torch.is_grad_enabled()
        with seeded(seed_for(step, "probe")):  # a probe that draws (dropout, a subsample) draws the same
            m, a = probe(model, step)
        torch.set_grad_enabled(was)
        metrics[e].update({f"{prefix}{k}@{step}": float(v) for k, v in m.items()})
        arrays[e].update({f"{prefix}{k}@{step}": v for k, v in a.items()})


def _loop(models: Sequence[nn.Module], seeds: Sequence[int], task, sched: Schedule, phase: str, prefix: str,
          stacked: bool, probe: Probe | None = None, probe_at: Sequence[int] = ()) -> list[Result]:
    net: nn.Module = Ensemble(models) if stacked else _Single(models[0])
    E = len(models)
    pm: list[dict[str, float]] = [{} for _ in range(E)]
    pa: list[dict[str, object]] = [{} for _ in range(E)]
    at = {int(s) for s in probe_at if 0 <= int(s) < sched.steps} if probe is not None else set()
    idx = torch.stack([_indices(s, task.n_train, sched) for s in seeds], 1)  # (steps, E, B)
    opt = torch.optim.Adam(net.parameters(), lr=sched.lr, weight_decay=sched.weight_decay)

    def forward(x: torch.Tensor) -> torch.Tensor:
        return net(x.unsqueeze(0).expand(E, *x.shape))

    steps: list[list[int]] = [[] for _ in range(E)]
    curves: dict[str, list[list[float]]] = {}
    loss_curve: list[list[float]] = [[] for _ in range(E)]
    diverged: list[int | None] = [None] * E
    run = torch.zeros(E)
    for t in range(sched.steps):
        if t in at:
            _probe(net, stacked, E, probe, t, prefix, pm, pa)
        x, y = task.batch(idx[t])
        per = task.loss(net(x), y)  # (E,): each model's mean loss; their sum gives each its own gradient
        opt.zero_grad(set_to_none=True)
        per.sum().backward()
        opt.step()
        run += per.detach()
        if (t + 1) % sched.eval_every == 0 or t + 1 == sched.steps:
            n_in = (t % sched.eval_every) + 1
            mean_loss = (run / n_in).tolist()
            run = torch.zeros(E)
            net.eval()  # BatchNorm's running statistics, not the evaluation set's, and no update of them
            ev = {k: v.tolist() for k, v in task.evaluate(forward, "val").items()}
            net.train()
            for e in range(E):
                if diverged[e] is not None:
                    continue
                steps[e].append(t + 1)
                loss_curve[e].append(mean_loss[e])
                for k, v in ev.items():
                    curves.setdefault(k, [[] for _ in range(E)])[e].append(v[e])
                if not math.isfinite(mean_loss[e]):
                    diverged[e] = t + 1
            if all(d is not None for d in diverged):
                break
    if probe is not None:
        _probe(net, stacked, E, probe, t + 1, prefix, pm, pa)
    net.eval()
    test = {k: v.tolist() for k, v in task.evaluate(forward, "test").items()} if phase == "main" else {}
    out = [_summarise(e, sched, task, steps[e], {k: c[e] for k, c in curves.items()}, loss_curve[e],
                      {k: v[e] for k, v in test.items()}, diverged[e], prefix) for e in range(E)]
    for e, r in enumerate(out):
        r.metrics.update(pm[e])
        r.arrays.update(pa[e])
    return out


def _summarise(e: int, sched: Schedule, task, steps: list[int], val: dict[str, list[float]], loss: list[float],
               test: dict[str, float], diverged_at: int | None, prefix: str) -> Result:
    head = val.get(task.headline, [])
    better = (lambda a, b: a >= b) if task.higher_is_better else (lambda a, b: a <= b)
    reached = next((s for s, v in zip(steps, head) if sched.target is not None and better(v, sched.target)), None)
    metrics: dict[str, float] = {}
    for k, vs in val.items():
        metrics[f"{prefix}val_{k}"] = vs[-1] if vs else math.nan
        metrics[f"{prefix}best_val_{k}"] = (max(vs) if task.higher_is_better else min(vs)) if vs else math.nan
    # over the full budget: a diverged model's missing evaluations count as its last value would not, so 0
    n_evals = math.ceil(sched.steps / sched.eval_every)
    metrics[f"{prefix}val_auc"] = (sum(head) / n_evals) if head and diverged_at is None else math.nan
    if sched.target is not None:
        metrics[f"{prefix}steps_to_target"] = float(reached if reached is not None else sched.steps)
        metrics[f"{prefix}reached_target"] = float(reached is not None)
    metrics[f"{prefix}final_train_loss"] = loss[-1] if loss else math.nan
    if diverged_at is None:
        for k, v in test.items():
            metrics[f"{prefix}test_{k}"] = v
    curves = {f"{prefix}val_{k}": {"step": steps, "value": vs} for k, vs in val.items()}
    curves[f"{prefix}train_loss"] = {"step": steps, "value": loss}
    if diverged_at is not None:
        return Result(metrics, curves, status="diverged", error=f"{prefix}training loss not finite at step {diverged_at}")
    return Result(metrics, curves)
