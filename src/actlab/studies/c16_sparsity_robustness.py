"""C16 -- do rectifiers make activations sparse, and does the activation change robustness to noisy inputs?

Claim (ledger): rectifiers induce sparse activations; activation choice changes robustness to input noise
and outliers.  Two halves, both deciding, tested as worded on four tasks.

Design.  Four tasks (cells): an MLP (40 -> 100 -> 100 -> 10, Greydanus & Kobak 2024) and the three-layer
1-D CNN (25 channels) on MNIST-1D, and the same two models on scikit-learn's 8x8 digits (the 64 pixels
as a sequence).  Arms: the 13 activations of the default set (:data:`actlab.zoo.sets.DEFAULT_SET`).
Adam, batch 100, 2000 steps on MNIST-1D (62 epochs of its 3200 training sequences) and 1000 on digits
(87 epochs of 1150 images); the learning rate is tuned per arm and task on validation accuracy over
{1e-3, 3e-3, 1e-2} with one tuning seed (1000), then fresh seeds 0..9 are evaluated (policy
``Tuned``): a robustness comparison between models that are each trained as well as the grid allows,
not between one well-tuned and twelve mistuned ones.  Init: the declared per-activation scheme
(:mod:`actlab.models.init`).

What is measured, on the test split after training:

* ``zero``: the exact-zero fraction of the hidden layers' outputs on the clean test inputs (mean over
  layers of the fraction of (example, unit[, position]) outputs exactly 0); per layer in ``zero_layers``;
* ``noise_drop``: clean test accuracy minus the accuracy under additive Gaussian noise, averaged over
  three levels sigma in {0.1, 0.3, 1.0} times the training inputs' standard deviation (0.997 on
  MNIST-1D, 0.376 on digits); per level in ``acc_noise_<sigma>`` and the array ``accuracy_by_noise``;
* ``outlier_drop``: clean accuracy minus the accuracy when 10 % of each test input's features (chosen
  at random) are replaced by outliers of +-5 training standard deviations (random sign).

The noise and the outlier masks are drawn once per task from a fixed generator, so every arm and seed
sees the same corrupted test set (the comparison between arms is paired on the corruption too).

Parts (every task decides: the claim is general, so a task where it fails counts against it).

* Sparsity: ReLU's exact-zero fraction exceeds that of each smooth (C-infinity) activation of the set --
  gelu, gelu(approximate='tanh'), silu, mish, softplus, tanh, sigmoid -- by at least delta = 0.10 (a
  tenth of the layer's outputs: a sparsity a reader could use, e.g. to skip work).  Seeds are the
  replicates; the (example, unit) outputs of one network are not independent, so the fraction is
  compared per seed (superiority on paired differences) rather than as pooled binomial counts.
  "Rectifier" means ReLU here: the leaky rectifiers (leaky_relu, prelu) have no zero region by design,
  so they cannot be sparse in this sense; a descriptive part reports what they do.  ELU, SELU and
  hardswish are neither rectifiers nor smooth and are left out of this half.
* Robustness: does the choice among the 13 activations change ``noise_drop`` (and, separately,
  ``outlier_drop``) by at least delta = 0.02?  :func:`actlab.engine.decide.spread`: supported if some
  pair of activations differs by >= 2 accuracy points with a Bonferroni-simultaneous interval (over
  the 78 pairs) above 0; refuted -- "activation choice does not change robustness" -- if every pair is
  equivalent within +-2 points.  2 points is 20 of MNIST-1D's 1000 test sequences and 7 of digits' 359
  images, twice the seed-to-seed SD of a model's test accuracy: a smaller difference in robustness
  would not change which activation one picks.

Primary part: the noise half on the MNIST-1D MLP.  Seeds: 10 -- the Bonferroni interval over 78
pairs is wide (t = 5.63 at 9 degrees of freedom instead of 2.26); for a true 4-point difference 10
seeds give power 0.96 at a paired-difference SD of 1.5 points (8 seeds: 0.74), the SD assumed being
1.5 times a model's seed-to-seed SD of test accuracy, about a point in C01's evidence
(:func:`actlab.engine.decide.power` at the simultaneous level).  Secondary: clean test accuracy (a
model that learned less has less to lose: read the drops beside it), accuracy at each noise level,
outlier accuracy.  A diverged unit is dropped from a part and reported in the arm's health; none of
these nets diverged in the pilot.

What the shipped records say (read off their summary, in ``actlab verdict C16 --json``): ReLU leaves
69-70 % of the MNIST-1D hidden outputs at exactly 0 (23-29 % on digits) and the smooth activations none --
except through float32 underflow in the far negative tail, where GELU's x*Phi(x) is exactly 0 on 10 % of
the MNIST-1D MLP's outputs (13 % for its tanh form) after training at the tuned rate.  Robustness
differs by activation in 7 of the 8 (task, corruption) pairs; on digits' CNN the noise drops of the 13
activations span 1.7 points, below delta, with an interval that still reaches 3 points (inconclusive:
the claim's verdict).  Read the drops beside clean accuracy: on MNIST-1D the smallest drops belong to
the arms that learned least (sigmoid: 0.65 clean accuracy on the CNN against 0.90-0.92 for the
rectifiers and the GELU family, noise drop 0.10 against 0.28-0.30), so there the spread is largely
"less to lose"; on digits, where every arm reaches 96-99 % clean, outliers still cost tanh 30 points and
PReLU 46 on the CNN.  Tuning put many arms at the grid's largest rate (1e-2; notes below): the grid
was pre-registered and is kept, and the notes say where a larger rate might have trained better.

Runtime measured for this evidence: 35 min of wall time with -j 2 while a second study's evidence
and tests shared the two cores (4130 s of unit time, load ~3); the profile's ~20 min is the estimate for
two idle cores.

Commands and runtime (2 CPU cores):

    actlab run C16 --profile quick   # smoke test: 4 tiny tasks, 3 seeds, 40 steps, no tuning: ~30 s
    actlab run C16 --profile full    # evidence: 4 tasks, 10 seeds + tuning: ~20 min
    actlab verdict C16

Measured (generated by ``python -m actlab.studies._measured --write`` from results/C16.jsonl.gz: profile full, 10 seeds, code 7e9ee126):

    verdict: INCONCLUSIVE

    MNIST-1D MLP: Gaussian input noise costs different activations different accuracy (delta 0.02): supported
        range over 13 arms (across arms): +0.0431 [+0.0231, +0.0630] -> supported (the arms differ)
    MNIST-1D MLP: outlier features cost different activations different accuracy (delta 0.02): supported
        range over 13 arms (across arms): +0.1017 [+0.0645, +0.1389] -> supported (the arms differ)
    MNIST-1D MLP: ReLU's hidden outputs are sparser than every smooth activation's (delta 0.1): supported
        gelu - relu: -0.5890 [-0.6060, -0.5719] -> supported (meaningful effect)
        gelu(approximate='tanh') - relu: -0.5585 [-0.5836, -0.5335] -> supported (meaningful effect)
        silu - relu: -0.6906 [-0.6970, -0.6842] -> supported (meaningful effect)
        mish - relu: -0.6906 [-0.6970, -0.6842] -> supported (meaningful effect)
        softplus - relu: -0.6902 [-0.6966, -0.6838] -> supported (meaningful effect)
        tanh - relu: -0.6906 [-0.6970, -0.6842] -> supported (meaningful effect)
        sigmoid - relu: -0.6906 [-0.6970, -0.6842] -> supported (meaningful effect)
    MNIST-1D CNN: Gaussian input noise costs different activations different accuracy (delta 0.02): supported
        range over 13 arms (across arms): +0.1924 [+0.1730, +0.2117] -> supported (the arms differ)
    MNIST-1D CNN: outlier features cost different activations different accuracy (delta 0.02): supported
        range over 13 arms (across arms): +0.3841 [+0.3438, +0.4244] -> supported (the arms differ)
    MNIST-1D CNN: ReLU's hidden outputs are sparser than every smooth activation's (delta 0.1): supported
        gelu - relu: -0.6902 [-0.7124, -0.6680] -> supported (meaningful effect)
        gelu(approximate='tanh') - relu: -0.6776 [-0.6989, -0.6562] -> supported (meaningful effect)
        silu - relu: -0.6995 [-0.7214, -0.6776] -> supported (meaningful effect)
        mish - relu: -0.6995 [-0.7214, -0.6776] -> supported (meaningful effect)
        softplus - relu: -0.6991 [-0.7211, -0.6772] -> supported (meaningful effect)
        tanh - relu: -0.6995 [-0.7214, -0.6776] -> supported (meaningful effect)
        sigmoid - relu: -0.6995 [-0.7214, -0.6776] -> supported (meaningful effect)
    digits MLP: Gaussian input noise costs different activations different accuracy (delta 0.02): supported
        range over 13 arms (across arms): +0.0368 [+0.0283, +0.0453] -> supported (the arms differ)
    digits MLP: outlier features cost different activations different accuracy (delta 0.02): supported
        range over 13 arms (across arms): +0.0487 [+0.0103, +0.0872] -> supported (the arms differ)
    digits MLP: ReLU's hidden outputs are sparser than every smooth activation's (delta 0.1): supported
        gelu - relu: -0.2341 [-0.2468, -0.2215] -> supported (meaningful effect)
        gelu(approximate='tanh') - relu: -0.2341 [-0.2468, -0.2215] -> supported (meaningful effect)
        silu - relu: -0.2341 [-0.2468, -0.2215] -> supported (meaningful effect)
        mish - relu: -0.2341 [-0.2468, -0.2215] -> supported (meaningful effect)
        softplus - relu: -0.2341 [-0.2468, -0.2215] -> supported (meaningful effect)
        tanh - relu: -0.2341 [-0.2468, -0.2215] -> supported (meaningful effect)
        sigmoid - relu: -0.2341 [-0.2468, -0.2215] -> supported (meaningful effect)
    digits CNN: Gaussian input noise costs different activations different accuracy (delta 0.02): inconclusive
        range over 13 arms (across arms): +0.0167 [+0.0038, +0.0296] -> inconclusive (undecided, ~79 seeds would resolve it)
    digits CNN: outlier features cost different activations different accuracy (delta 0.02): supported
        range over 13 arms (across arms): +0.1596 [+0.0917, +0.2275] -> supported (the arms differ)
    digits CNN: ReLU's hidden outputs are sparser than every smooth activation's (delta 0.1): supported
        gelu - relu: -0.2912 [-0.3039, -0.2785] -> supported (meaningful effect)
        gelu(approximate='tanh') - relu: -0.2857 [-0.2977, -0.2736] -> supported (meaningful effect)
        silu - relu: -0.2917 [-0.3046, -0.2789] -> supported (meaningful effect)
        mish - relu: -0.2917 [-0.3046, -0.2789] -> supported (meaningful effect)
        softplus - relu: -0.2917 [-0.3046, -0.2789] -> supported (meaningful effect)
        tanh - relu: -0.2917 [-0.3046, -0.2789] -> supported (meaningful effect)
        sigmoid - relu: -0.2917 [-0.3046, -0.2789] -> supported (meaningful effect)
    MNIST-1D MLP: leaky rectifiers have fewer exact zeros than ReLU (descriptive: no zero region) (delta 0.1): supported
        leaky_relu - relu: -0.6906 [-0.6970, -0.6842] -> supported (meaningful effect)
        prelu - relu: -0.6906 [-0.6970, -0.6842] -> supported (meaningful effect)
    mean noise_drop {"task":"digits_cnn"}: elu 0.0783, gelu 0.0795, gelu(approximate='tanh') 0.0788, hardswish 0.0804, leaky_relu 0.0827, mish 0.0803, prelu 0.0852, relu 0.0855, selu 0.0805, sigmoid 0.0838, silu 0.0833, softplus 0.0860, tanh 0.0693
    mean noise_drop {"task":"digits_mlp"}: elu 0.1093, gelu 0.0888, gelu(approximate='tanh') 0.0886, hardswish 0.0903, leaky_relu 0.0930, mish 0.0934, prelu 0.1103, relu 0.0904, selu 0.1162, sigmoid 0.1253, silu 0.0931, softplus 0.1201, tanh 0.1157
    mean noise_drop {"task":"mnist1d_cnn"}: elu 0.2836, gelu 0.2922, gelu(approximate='tanh') 0.2969, hardswish 0.2939, leaky_relu 0.2771, mish 0.2947, prelu 0.2886, relu 0.2829, selu 0.2682, sigmoid 0.1045, silu 0.2922, softplus 0.2215, tanh 0.1776
    mean noise_drop {"task":"mnist1d_mlp"}: elu 0.1424, gelu 0.1322, gelu(approximate='tanh') 0.1316, hardswish 0.1503, leaky_relu 0.1207, mish 0.1364, prelu 0.1250, relu 0.1305, selu 0.1357, sigmoid 0.1072, silu 0.1399, softplus 0.1254, tanh 0.1219
    note: tuning chose the largest lr on the grid (0.01) for elu, gelu, gelu(approximate='tanh'), hardswish, leaky_relu, mish, prelu in {"task":"digits_cnn"}: the optimum may lie beyond the grid
    note: tuning chose the largest lr on the grid (0.01) for elu, gelu, gelu(approximate='tanh'), hardswish, leaky_relu, mish, prelu, relu, selu, sigmoid, silu, softplus in {"task":"mnist1d_cnn"}: the optimum may lie beyond the grid
    note: tuning chose the largest lr on the grid (0.01) for elu, gelu, gelu(approximate='tanh'), hardswish, mish, prelu, relu, selu, sigmoid, silu, softplus in {"task":"mnist1d_mlp"}: the optimum may lie beyond the grid
    note: tuning chose the largest lr on the grid (0.01) for sigmoid, softplus, tanh in {"task":"digits_mlp"}: the optimum may lie beyond the grid
    note: tuning chose the smallest lr on the grid (0.001) for gelu, gelu(approximate='tanh'), hardswish, leaky_relu, mish, relu, silu in {"task":"digits_mlp"}: the optimum may lie beyond the grid
    note: tuning chose the smallest lr on the grid (0.001) for softplus, tanh in {"task":"digits_cnn"}: the optimum may lie beyond the grid
    note: tuning chose the smallest lr on the grid (0.001) for tanh in {"task":"mnist1d_mlp"}: the optimum may lie beyond the grid
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn as nn

from ..data import load
from ..engine import Figure, Part, Profile, Result, Shared, Study, Tuned, UnitSpec
from ..engine.tasks import Classification
from ..engine.train import Schedule, build, train
from ..models import cnn1d, hidden_activations, mlp
from ..zoo.sets import DEFAULT_SET

TASKS = ("mnist1d_mlp", "mnist1d_cnn", "digits_mlp", "digits_cnn")
NAMES = {"mnist1d_mlp": "MNIST-1D MLP", "mnist1d_cnn": "MNIST-1D CNN", "digits_mlp": "digits MLP",
         "digits_cnn": "digits CNN"}
SMOOTH = ("gelu", "gelu(approximate='tanh')", "silu", "mish", "softplus", "tanh", "sigmoid")
LEAKY = ("leaky_relu", "prelu")


@dataclass(frozen=True)
class Config:
    tasks: tuple[str, ...] = TASKS
    steps_mnist1d: int = 2000
    steps_digits: int = 1000
    batch_size: int = 100
    hidden: int = 100
    channels: int = 25
    lrs: tuple[float, ...] = (1e-3, 3e-3, 1e-2)
    tune_seeds: tuple[int, ...] = (1000,)
    noise: tuple[float, ...] = (0.1, 0.3, 1.0)
    outlier_fraction: float = 0.1
    outlier_scale: float = 5.0

    def __post_init__(self) -> None:
        unknown = [t for t in self.tasks if t not in TASKS]
        if unknown or not self.tasks:
            raise ValueError(f"C16: unknown or no task(s) {unknown}; tasks are {', '.join(TASKS)}")
        if not self.noise or min(self.noise) <= 0:
            raise ValueError(f"C16: noise levels must be positive, got {self.noise}")
        if not 0 < self.outlier_fraction < 1:
            raise ValueError(f"C16: outlier_fraction must lie in (0, 1), got {self.outlier_fraction}")


PROFILES = {
    "quick": Profile(Config(steps_mnist1d=40, steps_digits=40, hidden=16, channels=4, lrs=(3e-3,)), seeds=3,
                     runtime="~30 s on 2 cores", smoke=True),
    "full": Profile(Config(), seeds=10, runtime="~20 min on 2 cores"),
}


@functools.lru_cache(maxsize=None)
def _task(name: str) -> Classification:
    return Classification(load(name.split("_")[0]))


def _steps(config: Config, task: str) -> int:
    return config.steps_mnist1d if task.startswith("mnist1d") else config.steps_digits


def _model(config: Config, task: str, act: Any) -> nn.Sequential:
    data = _task(task).data
    if task.endswith("cnn"):
        return cnn1d(act, data.input_dim, data.num_classes, channels=config.channels, init="auto")
    return mlp(act, data.input_dim, data.num_classes, hidden=(config.hidden, config.hidden), init="auto")


def hidden_modules(model: nn.Sequential) -> list[nn.Module]:
    """The hidden activation modules: marked ones in an MLP, the module after each convolution in a CNN."""
    marked = hidden_activations(model)
    if marked:
        return marked
    layers = list(model)
    return [layers[i + 1] for i, m in enumerate(layers[:-1]) if isinstance(m, nn.Conv1d)]


def zero_fractions(model: nn.Sequential, x: torch.Tensor) -> list[float]:
    """Per hidden layer, the fraction of its outputs on ``x`` that are exactly 0 (counted in float64)."""
    acts = hidden_modules(model)
    counts = [[0, 0] for _ in acts]

    def hook(i):
        def f(mod, inputs, out):
            counts[i][0] += int((out == 0).sum())
            counts[i][1] += out.numel()
        return f

    handles = [a.register_forward_hook(hook(i)) for i, a in enumerate(acts)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return [z / n for z, n in counts]


@functools.lru_cache(maxsize=None)
def corrupted(task: str, noise: tuple[float, ...], fraction: float, scale: float) -> dict[str, torch.Tensor]:
    """The task's test inputs, clean and corrupted: ``{"clean", "noise_<sigma>", "outlier"}``.

    Drawn once from a fixed generator: every arm and seed is tested on the same corruptions.
    """
    data = _task(task).data
    x = data.x_test
    s = float(data.x_train.std())
    g = torch.Generator().manual_seed(16)
    out = {"clean": x}
    for sigma in noise:
        out[f"noise_{sigma:g}"] = x + sigma * s * torch.randn(x.shape, generator=g)
    mask = torch.rand(x.shape, generator=g) < fraction
    sign = torch.where(torch.rand(x.shape, generator=g) < 0.5, -1.0, 1.0)
    out["outlier"] = torch.where(mask, scale * s * sign, x)
    return out


def _probe(config: Config, task: str):
    y = _task(task).data.y_test
    sets = corrupted(task, tuple(config.noise), config.outlier_fraction, config.outlier_scale)

    def probe(model, step):
        model.eval()
        with torch.no_grad():
            acc = {k: float((model(x).argmax(1) == y).double().mean()) for k, x in sets.items()}
        zeros = zero_fractions(model, sets["clean"])
        noisy = [acc[f"noise_{s:g}"] for s in config.noise]
        metrics = {"acc_clean": acc["clean"], "acc_outlier": acc["outlier"],
                   "noise_drop": acc["clean"] - sum(noisy) / len(noisy), "outlier_drop": acc["clean"] - acc["outlier"],
                   "zero": sum(zeros) / len(zeros), **{f"acc_noise_{s:g}": a for s, a in zip(config.noise, noisy)}}
        return metrics, {"zero_layers": zeros, "accuracy_by_noise": [acc["clean"], *noisy]}

    return probe


def run(config: Config, units: Sequence[UnitSpec]) -> list[Result]:
    """Train one model per unit (the units share a task and phase); probe the evaluated ones at the end."""
    task = units[0].cell["task"]
    steps = _steps(config, task)
    models = [build(lambda u=u: _model(config, task, u.activation), u.seed, task) for u in units]
    scheds = [Schedule(steps=steps, batch_size=config.batch_size, lr=float(u.hyper["lr"]),
                       eval_every=max(1, steps // 4)) for u in units]
    phase = units[0].phase
    res = train(models, [u.seed for u in units], _task(task), scheds, phase=phase,
                probe=_probe(config, task) if phase == "main" else None)
    end = f"@{steps}"
    for r in res:
        for k in list(r.metrics):
            if k.endswith(end):
                r.metrics[k[: -len(end)]] = r.metrics.pop(k)
        for k in list(r.arrays):
            if k.endswith(end):
                r.arrays[k[: -len(end)]] = r.arrays.pop(k)
    return res


def policy(config: Config) -> Tuned | Shared:
    """Tuned over the grid; a one-point grid (the smoke test) is that rate, shared, with no tuning runs."""
    if len(config.lrs) == 1:
        return Shared({"lr": config.lrs[0]})
    return Tuned(grid={"lr": config.lrs}, metric="val_acc", seeds=config.tune_seeds)


_ZERO_WHY = ("a tenth of a layer's outputs exactly zero: a sparsity one could use (skip work, read off a code); "
             "smooth activations give exactly 0 and ReLU about half, so the margin only rules out a trickle")
_DROP_WHY = ("2 accuracy points (20 of MNIST-1D's 1000 test sequences, 7 of digits' 359 images), twice a model's "
             "seed-to-seed SD of test accuracy: a smaller difference in robustness would not change the choice")


def _parts() -> list[Part]:
    out = []
    for t in TASKS:
        cell = {"task": t}
        out += [
            Part(f"{NAMES[t]}: Gaussian input noise costs different activations different accuracy", "noise_drop",
                 rule="spread", delta=0.02, why=_DROP_WHY, baseline="relu",
                 compared=tuple(a for a in DEFAULT_SET if a != "relu"), cell=cell, primary=t == "mnist1d_mlp"),
            Part(f"{NAMES[t]}: outlier features cost different activations different accuracy", "outlier_drop",
                 rule="spread", delta=0.02, why=_DROP_WHY, baseline="relu",
                 compared=tuple(a for a in DEFAULT_SET if a != "relu"), cell=cell),
            Part(f"{NAMES[t]}: ReLU's hidden outputs are sparser than every smooth activation's", "zero",
                 direction="lower", delta=0.10, why=_ZERO_WHY, baseline="relu", compared=SMOOTH, cell=cell),
        ]
    out.append(Part("MNIST-1D MLP: leaky rectifiers have fewer exact zeros than ReLU (descriptive: no zero region)",
                    "zero", direction="lower", delta=0.10, why=_ZERO_WHY, baseline="relu", compared=LEAKY,
                    cell={"task": "mnist1d_mlp"}, decides=False))
    return out


STUDY = Study(
    id="C16",
    profiles=PROFILES,
    run=run,
    parts=_parts(),
    baseline="relu",
    compared=tuple(a for a in DEFAULT_SET if a != "relu"),
    cells=lambda config: [{"task": t} for t in config.tasks],
    hyper=policy,
    secondary=("acc_clean", "acc_outlier", "acc_noise_0.1", "acc_noise_0.3", "acc_noise_1", "test_acc"),
    rank=("noise_drop", "lower"),
    figures=("metric",
             Figure("accuracy drop under noise, by task", "noise_drop", x="task", xlabel="task",
                    ylabel="clean minus noisy test accuracy (mean over 3 noise levels)"),
             Figure("accuracy drop under outliers, by task", "outlier_drop", x="task", xlabel="task",
                    ylabel="clean minus outlier test accuracy (10 % of features at 5 SD)"),
             Figure("exact zeros, by task", "zero", x="task", xlabel="task",
                    ylabel="fraction of hidden outputs exactly 0 (clean test inputs)"),
             Figure("accuracy under noise (MNIST-1D MLP)", "accuracy_by_noise", kind="layers",
                    cell={"task": "mnist1d_mlp"}, xlabel="noise level: 0 clean, 1-3 sigma = 0.1, 0.3, 1.0 SD",
                    ylabel="test accuracy"),
             Figure("exact zeros per layer (MNIST-1D CNN)", "zero_layers", kind="layers", cell={"task": "mnist1d_cnn"},
                    ylabel="fraction of the layer's outputs exactly 0")),
    init="declared per activation (actlab.models.init): second-moment gain; LeCun for SELU; Xavier for bounded units",
    datasets=("mnist1d", "digits"),
    max_batch=40,
    doc=__doc__ or "",
)
