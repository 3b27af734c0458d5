"""Toy studies for the engine tests (protocol version 2; not registered: addressed as ``engine_toy:STUDY``).

They are not ledger claims, so each passes ``claim=`` and ``kind=``.  A unit of the classifier toys
trains a tiny digits MLP (64-16-10) for a few steps through the one numerical path,
:func:`actlab.engine.train.train` on :class:`actlab.engine.tasks.Classification` (real training, so a
huge ``lr`` really diverges).  Every unit appends ``arm seed`` to ``$TOY_LOG`` when it starts.

* ``STUDY`` (T00): baseline relu, compared silu, one primary superiority part, groups of up to 8 units;
* ``SLOW`` (T00): units sleep, one unit per job (for kill/resume); ``$TOY_SLEEP`` (seconds per unit)
  replaces the configured sleep of any toy without changing its config;
* ``$TOY_DIE`` (a comma list of ``arm:seed``) makes those units SIGKILL the process that trains them,
  as an out-of-memory kill would;
* ``FAILING`` (T00): units of the configured arms raise (failed units, exit 1); ``$TOY_FAIL`` (a comma
  list of arms) makes units fail without changing the config, as a transient failure would;
* ``DIVERGING`` (T00): ``lr = 1e30``, every unit diverges;
* ``STREAMING`` (T00): ``run`` is a generator that trains and yields one unit at a time (each is stored as
  it is yielded), in groups of up to 8; ``$TOY_FAIL`` arms raise when their turn comes;
* ``TUNED`` (T01): the learning rate tuned per arm on the validation split;
* ``CELLS`` (T02): a design factor (hidden width), one part per cell;
* ``EXACT`` (T03): a deterministic profile (``seeds=None``) with an ``exact`` part (no training);
* ``PLANTED`` (T04): a tuned toy whose tuning metric is a known table of (arm, lr, seed) (no training);
* ``WITHIN`` (T05): the same, judged as a within-unit part: no baseline, one control;
* ``POLICIES`` (T06): ``PLANTED`` under two named policies, tuned (deciding) and shared (descriptive);
* ``HALVES`` (T07): a theory half (cell ``half=theory``: one deterministic unit per arm, an exact part)
  beside a tuned experiment half (``PLANTED`` 's table) in one study.
"""

from __future__ import annotations

import functools
import math
import os
import signal
import time
from dataclasses import dataclass
from typing import Sequence

import torch

from actlab.data import load
from actlab.engine import Part, Profile, Result, Shared, Study, Tuned, UnitSpec
from actlab.engine.tasks import Classification
from actlab.engine.train import Schedule, build, train
from actlab.models import mlp

CLAIM = "silu ends more accurate than relu on a tiny digits MLP (toy, not a ledger claim)"
WHY = "one test image in 360 is 0.3 points; a point is the smallest gap a toy should care about"


@dataclass(frozen=True)
class Config:
    steps: int = 20
    lr: float = 1e-2
    hidden: int = 16
    sleep: float = 0.0
    fail_for: tuple[str, ...] = ()
    widths: tuple[int, ...] = (8, 16)
    lrs: tuple[float, ...] = (1e-3, 1e-2)


@functools.lru_cache(maxsize=None)
def task() -> Classification:
    return Classification(load("digits"))


def _log(units: Sequence[UnitSpec]) -> None:
    path = os.environ.get("TOY_LOG")
    if path:
        with open(path, "a") as f:
            f.writelines(f"{u.arm} {u.seed}\n" for u in units)


def run(config: Config, units: Sequence[UnitSpec]) -> list[Result]:
    """Train one tiny MLP per unit (the units share a cell and phase)."""
    _log(units)
    fail = set(config.fail_for) | set(filter(None, os.environ.get("TOY_FAIL", "").split(",")))  # env: transient
    bad = [u.arm for u in units if u.arm in fail]
    if bad:
        raise RuntimeError(f"configured to fail for {bad[0]}")
    die = set(filter(None, os.environ.get("TOY_DIE", "").split(",")))
    if any(f"{u.arm}:{u.seed}" in die for u in units):
        os.kill(os.getpid(), signal.SIGKILL)
    sleep = float(os.environ.get("TOY_SLEEP") or config.sleep)
    if sleep:
        time.sleep(sleep * len(units))
    width = int(units[0].cell.get("width", config.hidden))
    models = [build(lambda u=u: mlp(u.activation, 64, 10, hidden=(width,)), u.seed) for u in units]
    scheds = [Schedule(steps=config.steps, batch_size=32, lr=float(u.hyper.get("lr", config.lr)), eval_every=10,
                       target=0.5) for u in units]
    return train(models, [u.seed for u in units], task(), scheds, phase=units[0].phase)


def _profiles(config: Config, *, seeds: int | None = 3, full_seeds: int | None = 4) -> dict[str, Profile]:
    import dataclasses

    return {"quick": Profile(config, seeds=seeds, runtime="~2 s", smoke=True),
            "full": Profile(dataclasses.replace(config, steps=config.steps + 10), seeds=full_seeds, runtime="~3 s")}


PRIMARY = Part("silu: higher final test accuracy", "test_acc", delta=0.01, why=WHY, worst=0.1, primary=True)
AUC = Part("silu: learns faster (area under the validation accuracy curve)", "val_auc", delta=0.01, why=WHY, worst=0.1)


def _study(id: str, config: Config, **kw) -> Study:
    kw.setdefault("parts", [PRIMARY, AUC])
    kw.setdefault("profiles", _profiles(config))
    kw.setdefault("max_batch", 8)
    return Study(id=id, claim=CLAIM, kind="experiment", run=kw.pop("run", run), baseline="relu", compared=("silu",),
                 datasets=("digits",), doc=__doc__ or "", **kw)


STUDY = _study("T00", Config())
SLOW = _study("T00", Config(steps=5, sleep=0.25), max_batch=1)
FAILING = _study("T00", Config(fail_for=("silu",)))
DIVERGING = _study("T00", Config(lr=1e30))
def run_streaming(config: Config, units: Sequence[UnitSpec]):
    """The same numbers as ``run``, unit by unit, yielded as each is trained."""
    for u in units:
        (r,) = run(config, [u])
        yield r


STREAMING = _study("T00", Config(), run=run_streaming)
TUNED = _study("T01", Config(), hyper=lambda c: Tuned(grid={"lr": c.lrs}, metric="val_acc", seeds=(1000, 1001)))
CELLS = _study("T02", Config(), cells=lambda c: [{"width": w} for w in c.widths],
               parts=[Part(f"width {w}: silu has higher final test accuracy", "test_acc", delta=0.01, why=WHY,
                           cell={"width": w}, worst=0.1, primary=w == 16) for w in (8, 16)])


# -- deterministic: one unit per arm, seed -1, judged by an exact part ----------------------------
def run_exact(config: Config, units: Sequence[UnitSpec]) -> list[Result]:
    _log(units)
    return [Result({"value_at_1": float(u.activation(torch.tensor([1.0]))[0])}) for u in units]


EXACT = Study(id="T03", claim="silu(1) equals 1 / (1 + exp(-1)) (toy, not a ledger claim)", kind="theory",
              profiles=_profiles(Config(), seeds=None, full_seeds=None), run=run_exact,
              parts=[Part("silu(1) = sigmoid(1)", "value_at_1", rule="exact", target=1 / (1 + math.exp(-1)),
                          delta=1e-6, why="float32 rounding of a value near 0.73 is below 1e-7", primary=True)],
              baseline="relu", compared=("silu",), doc=__doc__ or "")
# no baseline (a within-unit part), a control: ``-a`` replaces the control, never the named arm
WITHIN = Study(id="T05", claim="silu(1) equals 1 / (1 + exp(-1)), judged within (toy, not a ledger claim)",
               kind="theory", profiles=_profiles(Config(), seeds=None, full_seeds=None), run=run_exact,
               parts=[Part("silu(1) = sigmoid(1)", "value_at_1", rule="exact", within=True, target=1 / (1 + math.exp(-1)),
                           delta=1e-6, why="float32 rounding of a value near 0.73 is below 1e-7", primary=True)],
               baseline="", compared=("silu",), controls=("tanh",), doc=__doc__ or "")


# -- planted tuning: the tuning metric is a known table, so the right choice is known -------------
LRS = (1e-3, 1e-2, 1e-1)
# (arm, lr) -> value per tuning seed (1000, 1001).  relu: seed 1000 alone would pick 1e-1, the mean picks
# 1e-2.  silu: 1e-3 and 1e-1 tie on the mean (the first grid point wins), 1e-2 is worse.
TABLE = {("relu", 1e-3): (0.50, 0.50), ("relu", 1e-2): (0.60, 0.90), ("relu", 1e-1): (0.95, 0.20),
         ("silu", 1e-3): (0.70, 0.70), ("silu", 1e-2): (0.40, 0.40), ("silu", 1e-1): (0.60, 0.80)}
BEST = {"relu": 1e-2, "silu": 1e-3}


def run_planted(config: Config, units: Sequence[UnitSpec]) -> list[Result]:
    _log(units)
    out = []
    for u in units:
        lr = float(u.hyper["lr"])
        if u.phase == "tune":
            out.append(Result({"val_score": TABLE[(u.arm, lr)][u.seed - 1000]}))
        else:
            out.append(Result({"test_score": -abs(math.log10(lr) + 2) + 0.01 * u.seed, "lr": lr}))
    return out


PLANTED = Study(id="T04", claim="tuning picks the best mean validation score (toy, not a ledger claim)",
                kind="experiment", profiles=_profiles(Config(), seeds=2, full_seeds=2), run=run_planted,
                parts=[Part("silu: higher test score", "test_score", delta=0.01, why=WHY, primary=True)],
                baseline="relu", compared=("silu",), max_batch=4,
                hyper=Tuned(grid={"lr": LRS}, metric="val_score", seeds=(1000, 1001)), doc=__doc__ or "")
# two named policies: every evaluated cell gets the factor ``policy``; the shared one is descriptive
POLICIES = Study(id="T06", claim="tuning picks the best mean validation score, beside a shared rate (toy)",
                 kind="experiment", profiles=_profiles(Config(), seeds=2, full_seeds=2), run=run_planted,
                 parts=[Part("silu: higher test score (tuned)", "test_score", delta=0.01, why=WHY, primary=True,
                             cell={"policy": "tuned"}),
                        Part("silu: higher test score (shared lr)", "test_score", delta=0.01, why=WHY, decides=False,
                             cell={"policy": "shared"})],
                 baseline="relu", compared=("silu",), max_batch=4, doc=__doc__ or "",
                 hyper={"tuned": Tuned(grid={"lr": LRS}, metric="val_score", seeds=(1000, 1001)),
                        "shared": Shared({"lr": 1e-1})})


# -- a theory half beside an experiment half ------------------------------------------------------
def run_halves(config: Config, units: Sequence[UnitSpec]) -> list[Result]:
    if units[0].cell.get("half") == "theory":
        return run_exact(config, units)
    return run_planted(config, units)


HALVES = Study(id="T07", claim="silu(1) = sigmoid(1), and tuning picks the best mean score (toy)",
               kind="theory + experiment", profiles=_profiles(Config(), seeds=2, full_seeds=2), run=run_halves,
               cells=lambda c: [{"half": "theory"}, {"half": "experiment"}],
               parts=[Part("silu(1) = sigmoid(1)", "value_at_1", rule="exact", target=1 / (1 + math.exp(-1)),
                           delta=1e-6, why="float32 rounding of a value near 0.73 is below 1e-7",
                           cell={"half": "theory"}),
                      Part("silu: higher test score", "test_score", delta=0.01, why=WHY, primary=True,
                           cell={"half": "experiment"})],
               baseline="relu", compared=("silu",), max_batch=4, doc=__doc__ or "",
               hyper=Tuned(grid={"lr": LRS}, metric="val_score", seeds=(1000, 1001)))
