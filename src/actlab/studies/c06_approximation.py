"""C06 -- approximating an activation for learning: must the derivative be matched too (Hermite)?

Claim (ledger): interpolating polynomials (Newton) approximate activations, but for learning the
derivative must be matched too (Hermite).  The claim is about the *information* interpolation uses,
so the comparison that tests it holds the number of interpolation nodes fixed: Hermite at k nodes
matches k values and k slopes (degree 2k - 1) at the k Chebyshev roots; Newton through k Chebyshev
points (the extrema, which include the interval's ends) matches k values only (degree k - 1).  Equal degree (Newton through 2k nodes, degree 2k - 1) is the second comparison: there
Hermite spends half its nodes on slopes, so it is a test of "slopes or more nodes", reported separately.

One unit = one target activation (``gelu``, ``silu``) and one seed.  The same MLP (40-100-100-10,
MNIST-1D, Adam) is trained four times from the same initial weights and minibatch order: with the true
activation and with the three polynomial stand-ins fitted on [-4, 4] (Chebyshev-type nodes for all
three: roots for Hermite, extrema for Newton, as :mod:`actlab.approx.polynomial` builds them).  For each stand-in: test accuracy, and the cosine
between its loss gradient and the true activation's gradient at the same weights (mean over
checkpoints along training).  The trainer is :func:`actlab.approx.experiment.run`; fitting and error
analysis live in :mod:`actlab.approx`.

Parts: within-unit contrasts (Hermite minus Newton, same activation and seed), clustered by seed (the
observation is a seed's mean over the target activations: seeds are independent, activations within a
seed share its initial-weight stream):

* equal nodes: gradient cosine, higher, delta 0.05 (primary); test accuracy, higher, delta 1 point;
* equal degree: the same two.

Commands and runtime (2 CPU cores):

    actlab run C06 --profile quick     # smoke test: 200 steps, 3 seeds:  ~20 s
    actlab run C06 --profile full      # evidence: 3000 steps, 8 seeds: ~12 min
    actlab verdict C06

Measured: see ``results/C06.jsonl.gz`` (shipped records) and ``actlab verdict C06``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..approx import experiment as arms
from ..engine import Part, Profile, Result, Study, UnitSpec


@dataclass(frozen=True)
class Config:
    nodes: int = 4
    interval: tuple[float, float] = (-4.0, 4.0)
    hidden: tuple[int, ...] = (100, 100)
    steps: int = 3000
    batch_size: int = 128
    lr: float = 1e-3
    checkpoints: int = 10
    probe_size: int = 512

    def __post_init__(self) -> None:
        if self.nodes < 2:
            raise ValueError(f"C06: nodes must be >= 2, got {self.nodes}")


PROFILES = {
    "quick": Profile(Config(steps=200, checkpoints=2, probe_size=128), seeds=3, runtime="~20 s on 2 cores",
                     smoke=True),
    "full": Profile(Config(), seeds=8, runtime="~12 min on 2 cores"),
}


def stand_ins(config: Config) -> dict[str, tuple[str, int]]:
    """Arm name -> (approximation method, degree)."""
    k = config.nodes
    return {"hermite": ("hermite", 2 * k - 1),                      # k nodes, values and slopes
            "newton_equal_nodes": ("newton-chebyshev", k - 1),       # the same k nodes, values only
            "newton_equal_degree": ("newton-chebyshev", 2 * k - 1)}  # 2k nodes, values only


def _one(config: Config, activation, seed: int) -> Result:
    metrics: dict[str, float] = {}
    diverged = []
    base = arms.Config(activation=activation.name, interval=tuple(config.interval), hidden=tuple(config.hidden),
                       steps=config.steps, batch_size=config.batch_size, lr=config.lr, seeds=(seed,),
                       checkpoints=config.checkpoints, probe_size=config.probe_size, degree=7,
                       arms=("true", "newton-chebyshev", "hermite"))
    plan = {"true": ("true", 7), **stand_ins(config)}
    for name, (method, degree) in plan.items():
        cfg = arms.Config(**{**base.as_dict(), "degree": degree, "interval": tuple(config.interval),
                             "hidden": tuple(config.hidden), "seeds": (seed,), "arms": (method,)})
        arms.check_config(cfg)
        m = arms.run(cfg, method, seed)
        if m["diverged_at"] is not None:
            diverged.append(f"{name} at step {m['diverged_at']}")
        metrics[f"{name}/test_acc"] = m["test_accuracy"]
        metrics[f"{name}/preact_outside"] = m["preact_outside_interval"]
        if name != "true":
            metrics[f"{name}/grad_cosine"] = m["grad_cosine_mean"]
    for other in ("newton_equal_nodes", "newton_equal_degree"):
        for what in ("grad_cosine", "test_acc"):
            metrics[f"hermite-{other}/{what}"] = metrics[f"hermite/{what}"] - metrics[f"{other}/{what}"]
    if diverged:
        return Result(metrics, status="diverged", error="diverged: " + ", ".join(diverged))
    return Result(metrics)


def run(config: Config, units: Sequence[UnitSpec]) -> list[Result]:
    return [_one(config, u.activation, u.seed) for u in units]


_COS_WHY = ("a cosine of 0.05 between gradient directions is the smallest change in the learning signal "
            "worth a method choice (seed-to-seed SD of the mean cosine is about 0.02-0.05)")
_ACC_WHY = "1 accuracy point is 10 of 1000 MNIST-1D test sequences"

STUDY = Study(
    id="C06",
    profiles=PROFILES,
    run=run,
    parts=[
        Part("equal nodes: Hermite's gradient is closer to the true gradient", "hermite-newton_equal_nodes/grad_cosine",
             delta=0.05, why=_COS_WHY, within=True, primary=True),
        Part("equal nodes: Hermite trains to a higher test accuracy", "hermite-newton_equal_nodes/test_acc",
             delta=0.01, why=_ACC_WHY, within=True),
        Part("equal degree: Hermite's gradient is closer to the true gradient", "hermite-newton_equal_degree/grad_cosine",
             delta=0.05, why=_COS_WHY, within=True),
        Part("equal degree: Hermite trains to a higher test accuracy", "hermite-newton_equal_degree/test_acc",
             delta=0.01, why=_ACC_WHY, within=True),
    ],
    baseline="",
    compared=("gelu", "silu"),
    secondary=("true/test_acc", "hermite/test_acc", "newton_equal_nodes/test_acc", "newton_equal_degree/test_acc",
               "hermite/grad_cosine", "newton_equal_nodes/grad_cosine", "newton_equal_degree/grad_cosine"),
    rank=("hermite/grad_cosine", "higher"),
    code=("actlab.approx.experiment", "actlab.approx.polynomial", "actlab.approx.base"),
    datasets=("mnist1d",),
    init="PyTorch's default (every arm of a unit starts from the same weights, so init cannot favour an arm)",
    doc=__doc__ or "",
)
