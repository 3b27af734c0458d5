"""C01 -- the convergence race: do GELU and SiLU each learn faster and end more accurate than ReLU?

Claim (ledger): smooth activations with a non-zero negative response (GELU, SiLU) train faster and end
more accurate than ReLU.  Tested as worded: *each* of GELU and SiLU against ReLU (never their average),
on two MNIST-1D tasks where no activation sits at the ceiling, "faster" and "more accurate" both.

Design.  Cells: ``mnist1d_mlp`` (MLP 40-100-100-10) and ``mnist1d_cnn`` (three strided 1-D
convolutions, 25 channels), the models of Greydanus & Kobak (2024), trained on 3200 sequences with a
800-sequence validation split and the 1000-sequence test set used once at the end.  Arms: ``relu``
(baseline), ``gelu`` and ``silu`` (named), ``leaky_relu`` and ``softplus`` (controls: a negative slope
without smoothness, smoothness without a negative response; descriptive, they separate the two
properties the claim bundles).  Adam, two hyper-parameter policies (the claim is about speed, so both
are reported): ``tuned`` -- the learning rate tuned per arm and task on the validation split over
{1e-3, 3e-3, 1e-2, 3e-2} with two tuning seeds (1000, 1001), then fresh seeds 0..n-1 trained and tested, so
ReLU's published rate is not imposed on the others -- decides the verdict; ``shared`` -- Adam 1e-2 for
every arm, the rate of Greydanus & Kobak (2024) -- is the same parts, descriptive.  Weights: the declared
per-activation init (:mod:`actlab.models.init`: second-moment gain, LeCun for SELU, Xavier for
bounded units).

Parts, tuned policy (each for gelu and silu against relu; intersection-union; Holm across the eight
decisions; the shared policy's same four parts are descriptive):

* per task, final test accuracy, higher; delta = 1 accuracy point (10 of 1000 test sequences: smaller
  gaps are what a change of seed moves, ReLU's seed-to-seed SD on the MLP is about a point);
* per task, area under the validation accuracy curve (mean validation accuracy over the evaluations
  every 25 steps), higher: "faster" without a threshold; delta = 1 point.

Secondary (descriptive): steps to a validation target (0.6 MLP, 0.85 CNN; censored at the budget),
best validation accuracy, final training loss; divergence rate per arm.

Commands and runtime (2 CPU cores):

    actlab run C01 --profile quick   # smoke test: 150 steps, 3 seeds, 2 rates: ~30 s
    actlab run C01 --profile full    # evidence: 3000 steps, 8 seeds, tuning + shared: ~17 min
    actlab verdict C01

Measured (not shipped yet: ``actlab run C01 --profile full``, then ``python -m actlab.studies._measured --write``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Sequence

from ..data import load
from ..engine import Part, Profile, Result, Shared, Study, Tuned, UnitSpec
from ..engine.tasks import Classification
from ..engine.train import Schedule, build, train
from ..models import cnn1d, mlp

TASKS = ("mnist1d_mlp", "mnist1d_cnn")
TARGETS = {"mnist1d_mlp": 0.6, "mnist1d_cnn": 0.85}


@dataclass(frozen=True)
class Config:
    tasks: tuple[str, ...] = TASKS
    steps: int = 3000
    eval_every: int = 25
    batch_size: int = 100
    hidden: int = 100
    channels: int = 25
    lrs: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2)
    tune_seeds: tuple[int, ...] = (1000, 1001)
    shared_lr: float = 1e-2

    def __post_init__(self) -> None:
        unknown = [t for t in self.tasks if t not in TASKS]
        if unknown:
            raise ValueError(f"C01: unknown task(s) {unknown}; tasks are {', '.join(TASKS)}")


PROFILES = {
    "quick": Profile(Config(steps=150, lrs=(3e-3, 1e-2), tune_seeds=(1000,)), seeds=3,
                     runtime="~30 s on 2 cores", smoke=True),
    "full": Profile(Config(), seeds=8, runtime="~17 min on 2 cores"),
}


@functools.lru_cache(maxsize=None)
def _task(name: str) -> Classification:
    return Classification(load(name.split("_")[0]))


def _model(config: Config, task: str, act):
    data = _task(task).data
    if task.endswith("cnn"):
        return cnn1d(act, data.input_dim, data.num_classes, channels=config.channels, init="auto")
    return mlp(act, data.input_dim, data.num_classes, hidden=(config.hidden, config.hidden), init="auto")


def run(config: Config, units: Sequence[UnitSpec]) -> list[Result]:
    """Train one model per unit (the units share a cell and phase; grouping is for speed only)."""
    task = units[0].cell["task"]
    models = [build(lambda u=u: _model(config, task, u.activation), u.seed, task) for u in units]
    scheds = [Schedule(steps=config.steps, batch_size=config.batch_size, lr=float(u.hyper["lr"]),
                       eval_every=config.eval_every, target=TARGETS[task]) for u in units]
    return train(models, [u.seed for u in units], _task(task), scheds, phase=units[0].phase)


def _parts() -> list[Part]:
    names = {"mnist1d_mlp": "MNIST-1D MLP", "mnist1d_cnn": "MNIST-1D CNN"}
    acc_why = ("1 accuracy point is 10 of 1000 test sequences; smaller gaps are what a change of seed moves "
               "(ReLU's seed-to-seed SD on the MLP is about a point)")
    auc_why = "1 point of mean validation accuracy over training: the same scale as the accuracy margin"
    out = []
    for policy, decides in (("tuned", True), ("shared", False)):
        tag = "" if decides else ", shared lr 1e-2 (robustness, descriptive)"
        for t in TASKS:
            out.append(Part(f"{names[t]}: higher final test accuracy{tag}", "test_acc", delta=0.01, why=acc_why,
                            cell={"task": t, "policy": policy}, worst=0.1, decides=decides,
                            primary=decides and t == "mnist1d_mlp"))
        for t in TASKS:
            out.append(Part(f"{names[t]}: learns faster (area under the validation accuracy curve){tag}", "val_auc",
                            delta=0.01, why=auc_why, cell={"task": t, "policy": policy}, worst=0.1, decides=decides))
    return out


STUDY = Study(
    id="C01",
    profiles=PROFILES,
    run=run,
    parts=_parts(),
    baseline="relu",
    compared=("gelu", "silu"),
    controls=("leaky_relu", "softplus"),
    cells=lambda config: [{"task": t} for t in config.tasks],
    hyper=lambda config: {"tuned": Tuned(grid={"lr": config.lrs}, metric="val_acc", seeds=config.tune_seeds),
                          "shared": Shared({"lr": config.shared_lr})},
    secondary=("steps_to_target", "reached_target", "best_val_acc", "final_train_loss"),
    init="declared per activation (actlab.models.init): second-moment gain; LeCun for SELU; Xavier for bounded units",
    datasets=("mnist1d",),
    figures=("metric", "curves"),
    max_batch=40,
    doc=__doc__ or "",
)
