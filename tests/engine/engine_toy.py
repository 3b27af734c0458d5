"""A tiny study for engine tests (not registered: addressed as ``engine_toy:STUDY``).

Each unit trains a small MLP on digits for a few steps (real training, so ``lr`` can make it diverge),
optionally sleeps (to be killed mid-sweep) and appends ``activation seed`` to ``$TOY_LOG`` when it starts.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from actlab.data import load
from actlab.engine import Result, Schedule, Study, build, fit, fit_many, paired_verdict
from actlab.models import mlp


@dataclass(frozen=True)
class Config:
    steps: int = 20
    lr: float = 1e-2
    sleep: float = 0.0
    fail_for: tuple[str, ...] = ()


def _log(activation, seed: int) -> None:
    path = os.environ.get("TOY_LOG")
    if path:
        with open(path, "a") as f:
            f.write(f"{activation.name} {seed}\n")


def run(config: Config, activation, seed: int) -> Result:
    _log(activation, seed)
    if activation.name in config.fail_for:
        raise RuntimeError(f"configured to fail for {activation.name}")
    time.sleep(config.sleep)
    data = load("digits")
    model = build(lambda: mlp(activation, 64, 10, hidden=(16,)), seed)
    return fit(model, seed, data, Schedule(steps=config.steps, eval_every=10, lr=config.lr, batch_size=32, target_acc=0.5))


def run_batch(config: Config, units) -> list[Result]:
    for act, seed in units:
        _log(act, seed)
        if act.name in config.fail_for:
            raise RuntimeError(f"configured to fail for {act.name}")
    data = load("digits")
    models = [build(lambda: mlp(a, 64, 10, hidden=(16,)), s) for a, s in units]
    return fit_many(models, [s for _, s in units], data,
                    Schedule(steps=config.steps, eval_every=10, lr=config.lr, batch_size=32, target_acc=0.5))


def verdict(records, config):
    return paired_verdict(records, study="T00", claim="silu beats relu (toy)", metric="test_acc", direction="higher",
                          baseline="relu", compared=["silu"])


STUDY = Study(id="T00", claim="toy study for engine tests", kind="experiment", profiles={"quick": Config()},
              seeds={"quick": 3}, expected={"quick": "1 s"}, run=run, verdict=verdict, activations=("relu", "silu"))

BATCHED = Study(id="T01", claim="toy study, vectorised", kind="experiment", profiles={"quick": Config()},
                seeds={"quick": 3}, expected={"quick": "1 s"}, run=run, verdict=verdict, run_batch=run_batch,
                max_batch=8, activations=("relu", "silu"))


def write_records(path: str, writer: int, n: int) -> None:
    """One process of the concurrent-writers test: n records, one transaction each."""
    from actlab.engine import Record, Store

    store = Store(path)
    for i in range(n):
        store.put([Record("T00", "h", f"act{writer}", i, "v", "done", {"x": float(i)}, {}, finished=time.time())])
    store.close()

SLOW = Study(id="T00", claim="toy study, slow units (for kill/resume)", kind="experiment",
             profiles={"quick": Config(steps=5, sleep=0.25)}, seeds={"quick": 3}, expected={"quick": "3 s"}, run=run,
             verdict=verdict, activations=("relu", "silu"))
