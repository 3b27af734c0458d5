"""Shared helpers of the report tests (imported by name: this folder is on sys.path under pytest).

Two ways to get records, both fast:

* :func:`write_records`: v2 :class:`Record` objects with chosen metrics written straight into a store,
  for the registered studies (C01, C06) -- their real parts, cells and profiles, no training;
* :data:`TOY`: a study outside the ledger (``T90``) whose ``run`` evaluates the activation at a few
  points instead of training (microseconds a unit), for the paths that run sweeps (tour, evaluate).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from actlab.engine import Part, Profile, Record, Result, Shared, Store, Study, UnitSpec, config_hash
from actlab.engine.protocol import canonical, config_dict

TOY_ARMS = ("relu", "gelu", "silu", "tanh")  # baseline, the two named arms, one control


# -- the toy study ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ToyConfig:
    points: int = 41
    noise: float = 0.002
    diverge: tuple[str, int] = ("tanh", 1)  # (arm, seed) of the one unit that diverges


def _noise(arm: str, seed: int, scale: float) -> float:
    return random.Random(f"{arm}/{seed}").gauss(0.0, scale)


def toy_run(config: ToyConfig, units: Sequence[UnitSpec]) -> list[Result]:
    """score = mean |φ| on [−2, 0) (the negative response, + seeded noise); loss = 1 − score/2."""
    out = []
    x = torch.linspace(-2.0, 2.0, config.points, dtype=torch.float64)
    for u in units:
        y = u.activation(x).detach().to(torch.float64)
        score = float(y[x < 0].abs().mean()) + _noise(u.arm, u.seed, config.noise)
        if (u.arm, u.seed) == tuple(config.diverge):
            out.append(Result({"score": math.nan, "loss": math.nan}, status="diverged", error="diverged: toy"))
            continue
        out.append(Result({"score": score, "loss": 1.0 - score / 2}))
    return out


TOY = Study(
    id="T90",
    claim="toy claim: GELU and SiLU respond more to negative inputs than ReLU",
    kind="experiment",
    profiles={"quick": Profile(ToyConfig(), seeds=3, runtime="~1 s", smoke=True),
              "full": Profile(ToyConfig(noise=0.001), seeds=4, runtime="~1 s")},
    run=toy_run,
    parts=[Part("higher score", "score", delta=0.01, why="a toy margin of 0.01", primary=True, worst=-1.0),
           Part("no worse loss", "loss", rule="noninferiority", direction="lower", delta=0.05,
                why="a toy margin of 0.05 on the loss")],
    baseline="relu",
    compared=("gelu", "silu"),
    controls=("tanh",),
    hyper=Shared({"lr": 0.1}),
    init="none: the toy evaluates the activation, it trains nothing",
)


def run_toy(path: Path, profile: str = "quick", activations: Sequence[str] | None = None) -> Any:
    from actlab.engine import run_sweep

    with Store(path) as db:
        return run_sweep(TOY, profile, activations=activations, store=db, jobs=1)


# -- records written directly -----------------------------------------------------------------------
def noise(*key: Any, sd: float = 0.003) -> float:
    return random.Random("/".join(map(str, key))).gauss(0.0, sd)


def make_records(study: Study, profile: str, metrics: Callable[[dict, str, int], dict | None], *,
                 arms: Sequence[str] | None = None, fingerprint: str | None = None,
                 hyper: dict | None = None, diverged: Sequence[tuple[str, int]] = ()) -> list[Record]:
    """One main-phase record per cell x arm x pre-registered seed of ``study`` 's ``profile``.

    ``metrics(cell, arm, seed)`` gives the unit's metrics (None: no record); a unit in ``diverged`` is
    stored as diverged with no metrics.
    """
    from actlab.engine.fingerprint import study_fingerprint

    prof = study.profile(profile)
    h = config_hash(study.id, prof.config)
    fp = fingerprint or study_fingerprint(study)
    seeds = range(prof.seeds) if prof.seeds is not None else [-1]
    out = []
    t = time.time() - 3600
    for cell, _ in study.plan_cells(prof.config):
        for arm in arms or study.arms:
            for s in seeds:
                m = metrics(cell, arm, s)
                if m is None:
                    continue
                status = "diverged" if (arm, s) in diverged else "done"
                out.append(Record(study.id, h, canonical(cell), canonical(hyper or {}), arm, s, fp, status,
                                  {} if status == "diverged" else m, started=t, finished=t + 2.5, seconds=2.5,
                                  host="testhost", env={"torch": torch.__version__, "python": "3.x",
                                                        "platform": "test", "backend": "local"},
                                  profile=profile, claim=study.claim))
    return out


def write_records(path: Path, study: Study, profile: str, records: Sequence[Record]) -> Path:
    with Store(path) as db:
        db.add_config(config_hash(study.id, study.profile(profile).config), study.id, profile,
                      config_dict(study.profile(profile).config))
        db.put(records)
    return path


# C01: test accuracy and validation AUC per task and arm (gelu and silu clearly ahead of relu)
C01_EFFECT = {"relu": 0.0, "gelu": 0.03, "silu": 0.025, "leaky_relu": 0.004, "softplus": -0.012}


def c01_metrics(cell: dict, arm: str, seed: int) -> dict:
    base = 0.80 if cell["task"] == "mnist1d_mlp" else 0.90
    e = C01_EFFECT.get(arm, -0.02)
    return {"test_acc": base + e + noise("acc", cell["task"], arm, seed),
            "val_auc": base - 0.1 + e + noise("auc", cell["task"], arm, seed),
            "best_val_acc": base + e, "final_train_loss": 0.3 - e, "steps_to_target": 500.0, "reached_target": 1.0}


# C06: within-unit contrasts (Hermite minus Newton) per target activation
def c06_metrics(cell: dict, arm: str, seed: int) -> dict:
    m = {}
    for other, cos in (("newton_equal_nodes", 0.15), ("newton_equal_degree", 0.02)):
        m[f"hermite-{other}/grad_cosine"] = cos + noise("cos", other, arm, seed, sd=0.01)
        m[f"hermite-{other}/test_acc"] = 0.002 + noise("acc", other, arm, seed, sd=0.004)
    m["hermite/grad_cosine"] = 0.9 + noise("h", arm, seed, sd=0.01)
    m["newton_equal_nodes/grad_cosine"] = m["hermite/grad_cosine"] - m["hermite-newton_equal_nodes/grad_cosine"]
    m["newton_equal_degree/grad_cosine"] = m["hermite/grad_cosine"] - m["hermite-newton_equal_degree/grad_cosine"]
    for k in ("true", "hermite", "newton_equal_nodes", "newton_equal_degree"):
        m[f"{k}/test_acc"] = 0.6
    return m


def study(sid: str) -> Study:
    from actlab.studies import get_study

    return get_study(sid)
