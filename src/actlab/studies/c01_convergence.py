"""C01 -- the convergence race: do GELU and SiLU learn faster and reach higher accuracy than ReLU?

Claim (seed 000, our words): smooth activations with a non-zero negative slope (GELU, SiLU) learn
faster and reach higher accuracy than ReLU.

What is trained, per activation and seed (one unit = all three tasks):

* ``mnist1d_mlp``: MLP 40-100-100-10 on MNIST-1D (4000 train / 1000 test);
* ``mnist1d_cnn``: three strided 1-D convolutions (25 channels) + linear read-out on MNIST-1D;
* ``digits_mlp``: MLP 64-100-100-10 on scikit-learn's digits (1437 train / 360 test).

All with Adam (lr 1e-2), batch 100, and the test set evaluated every ``eval_every`` steps, as in
Greydanus & Kobak (2024).  Metrics per task: final and best test accuracy, steps to the task's
target test accuracy (censored at ``steps + eval_every`` when never reached), final training loss;
``mean_test_acc`` averages the final test accuracy over the tasks.

Verdict: baseline ``relu``, compared ``gelu`` and ``silu``, paired by seed.  Parts: mean test accuracy
(higher, the headline), then per task test accuracy (higher) and steps to target (lower).  The claim
is supported only if every part is.

Commands and expected runtime (2 CPU cores, vectorised ensembles):

    actlab run C01 --profile quick   # 13 activations x 3 seeds, 300 steps:  ~30 s
    actlab run C01 --profile full    # 13 activations x 5 seeds, 6000 steps: ~20 min
    actlab verdict C01

Measured here (full profile, relu/gelu/silu x 5 seeds, torch 2.13 CPU; mean and 95 % CI over seeds;
``actlab run C01 --profile full --activations relu,gelu,silu`` took 12 min on one busy core):

    final test accuracy     relu                  gelu                  silu
    mnist1d_mlp             65.4 % [64.5, 66.4]   67.3 % [64.4, 70.1]   67.8 % [65.6, 70.0]
    mnist1d_cnn             93.4 % [92.6, 94.3]   94.3 % [93.3, 95.4]   92.7 % [91.4, 93.9]
    digits_mlp              98.1 % [97.5, 98.7]   98.4 % [97.8, 99.0]   98.7 % [98.3, 99.1]

The MNIST-1D baselines land on the published ones (Greydanus & Kobak 2024: MLP ~68 %, CNN ~94 %):
our ReLU MLP is 2-3 points lower (best-during-training 66.1 %), our CNN within a point (best 93.8 %).
Verdict from these records: **inconclusive**.  GELU/SiLU raise the mean test accuracy over the three
tasks by +0.9 points (CI [+0.1, +1.7]) and reach the MNIST-1D MLP target 125 steps sooner (CI
[-235, -15]), both supported; every other part's CI includes 0 (the CNN: SiLU is below ReLU, GELU
above).  On digits every activation reaches 95 % by the first evaluation (step 250), so steps to
target cannot separate them at this evaluation interval.

The whole default set (full profile, 5 seeds; 50 of the 65 units took 14 min on 2 busy cores), ranked
by mean test accuracy; steps = mean steps to the target (0.6 MLP, 0.85 CNN; censored at 6250):

    activation                mean    mnist1d_mlp  mnist1d_cnn  digits   steps mlp / cnn
    gelu                      86.7 %  67.3 %       94.3 %       98.4 %    300 /  500
    gelu(approximate='tanh')  86.7 %  67.2 %       94.3 %       98.4 %    350 /  500
    hardswish                 86.6 %  68.2 %       92.9 %       98.8 %    500 /  600
    leaky_relu                86.5 %  67.4 %       93.5 %       98.6 %    500 /  550
    silu                      86.4 %  67.8 %       92.7 %       98.7 %    450 /  500
    mish                      86.2 %  66.5 %       93.3 %       98.8 %    450 /  550
    prelu                     85.9 %  65.9 %       93.9 %       98.0 %    550 /  500
    relu                      85.6 %  65.4 %       93.4 %       98.1 %    500 /  550
    elu                       85.2 %  66.2 %       90.8 %       98.8 %    750 /  800
    selu                      85.2 %  67.1 %       90.5 %       98.2 %    900 / 1700
    softplus                  84.2 %  65.8 %       88.4 %       98.5 %   1050 / 1600
    tanh                      81.3 %  61.4 %       83.8 %       98.7 %    750 / 3950
    sigmoid                   79.8 %  56.1 %       84.9 %       98.4 %   6250 / 5600
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Sequence

from ..claims import claim
from ..data import load
from ..engine import Result, Schedule, Study, build, combine, fit, fit_many, paired_verdict
from ..models import cnn1d, mlp
from . import DEFAULT_SET

CLAIM = claim("C01").statement
TASKS = ("mnist1d_mlp", "mnist1d_cnn", "digits_mlp")


@dataclass(frozen=True)
class Config:
    tasks: tuple[str, ...] = TASKS
    steps: int = 6000
    eval_every: int = 250
    batch_size: int = 100
    lr: float = 1e-2
    hidden: int = 100
    channels: int = 25
    # target test accuracy per task, in the order of TASKS ("steps to target")
    targets: tuple[float, ...] = (0.6, 0.85, 0.95)

    def __post_init__(self) -> None:
        unknown = [t for t in self.tasks if t not in TASKS]
        if unknown:
            raise ValueError(f"C01: unknown task(s) {unknown}; tasks are {', '.join(TASKS)}")


PROFILES = {
    "quick": Config(steps=300, eval_every=50, targets=(0.45, 0.6, 0.95)),
    "full": Config(),
}


@functools.lru_cache(maxsize=None)
def _data(name: str):
    return load(name)


def _task(config: Config, task: str):
    """(dataset, model builder, schedule) for one task."""
    data = _data(task.split("_")[0])
    if task.endswith("cnn"):
        def builder(act):
            return cnn1d(act, data.input_dim, data.num_classes, channels=config.channels)
    else:
        def builder(act):
            return mlp(act, data.input_dim, data.num_classes, hidden=(config.hidden, config.hidden))
    sched = Schedule(steps=config.steps, batch_size=config.batch_size, lr=config.lr, eval_every=config.eval_every,
                     target_acc=config.targets[TASKS.index(task)])
    return data, builder, sched


def _merge(config: Config, per_task: Sequence[Result]) -> Result:
    metrics, curves, errors = {}, {}, []
    for r in per_task:
        metrics.update(r.metrics)
        curves.update(r.curves)
        if r.status == "diverged":
            errors.append(r.error)
    metrics["mean_test_acc"] = sum(metrics[f"{t}/test_acc"] for t in config.tasks) / len(config.tasks)
    return Result(metrics, curves, status="diverged" if errors else "done", error="; ".join(errors) or None)


def run(config: Config, activation, seed: int) -> Result:
    results = []
    for task in config.tasks:
        data, builder, sched = _task(config, task)
        model = build(lambda: builder(activation), seed, task)
        results.append(fit(model, seed, data, sched, prefix=f"{task}/"))
    return _merge(config, results)


def run_batch(config: Config, units) -> list[Result]:
    per_unit: list[list[Result]] = [[] for _ in units]
    for task in config.tasks:
        data, builder, sched = _task(config, task)
        models = [build(lambda: builder(act), seed, task) for act, seed in units]
        for i, r in enumerate(fit_many(models, [s for _, s in units], data, sched, prefix=f"{task}/")):
            per_unit[i].append(r)
    return [_merge(config, rs) for rs in per_unit]


def verdict(records, config: Config):
    common = dict(study="C01", baseline="relu", compared=["gelu", "silu"], config_hash=records[0].config_hash if records else "")
    parts = [paired_verdict(records, claim=CLAIM, metric="mean_test_acc", direction="higher", **common)]
    for task in config.tasks:
        parts.append(paired_verdict(records, claim=f"{task}: higher final test accuracy", metric=f"{task}/test_acc",
                                    direction="higher", **common))
        parts.append(paired_verdict(records, claim=f"{task}: fewer steps to the target accuracy",
                                    metric=f"{task}/steps_to_target", direction="lower", **common))
    return combine(parts, study="C01", claim=CLAIM, records=records, config_hash=common["config_hash"])


STUDY = Study(
    id="C01",
    claim=CLAIM,
    kind="experiment",
    profiles=PROFILES,
    seeds={"quick": 3, "full": 5},
    expected={"quick": "~30 s on 2 cores", "full": "~20 min on 2 cores"},
    run=run,
    verdict=verdict,
    run_batch=run_batch,
    max_batch=65,
    activations=DEFAULT_SET,
    doc=__doc__ or "",
)
