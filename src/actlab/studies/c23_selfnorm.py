"""C23 -- self-normalisation: do SELU's lambda, alpha make (0, 1) a stable fixed point, and do deep SELU nets
stay normalised without BatchNorm?

Claim (ledger): SELU's lambda and alpha make mean 0 / variance 1 a stable fixed point, so deep SELU
networks stay normalised without BatchNorm.  Two halves in one study, both deciding.

Theory half (cell ``half=theory``, one deterministic unit per arm, seed -1, exact parts).  lambda and alpha
are *derived*, not typed in: :func:`actlab.theory.selfnorm.solve` finds the (lambda, alpha) of
lambda*elu(x; alpha) for which (mean, variance) = (0, 1) is a fixed point of the layer's moment map
under normalised weights (omega = 0, tau = 1; Klambauer et al. 2017, sec. 3), and the Jacobian of that
map at the fixed point.  Parts: lambda = 1.0507009873554805 and alpha = 1.6732632423543772 (the
published values) within 1e-12 -- the solver reaches a residual of 1e-16, so 1e-12 leaves float64
rounding of a root-finder and nothing else; the Jacobian's spectral radius at (0, 1) <= 1 (stable; it
is 0.78, tolerance 0: the relation is the claim); the arm the experiment trains (the zoo's ``selu``)
maps (0, 1) to itself, |mu~| + |nu~ - 1| <= 1e-12 (so the trained arm is the solved fixed point).
Every arm's theory unit reports its own map at (0, 1) (``fixed_point_residual``,
``map_spectral_radius``): descriptive for ReLU, ELU and a user's activation.

Experiment half (cells ``half=experiment`` x depth {8, 16, 32, 64}).  Plain MLPs 40 -> 64 x depth -> 10 on
MNIST-1D (inputs standardised, variance 0.99), no BatchNorm, no residuals; arms ``selu`` (LeCun-normal
weights, N(0, 1/fan_in), as the fixed point needs), ``relu`` and ``elu`` (He, N(0, 2/fan_in): He et al.
2015 for ReLU, as Clevert et al. 2016 initialised ELU networks -- note this is *not* ELU's own
variance-preserving gain 1.245, it is the init the claim's comparison uses); a user's activation gets
the declared per-activation init (:mod:`actlab.models.init`).  Adam for 500 steps of batch 100 (16
epochs), the learning rate tuned per arm and depth on validation accuracy over {1e-4, 3e-4, 1e-3,
3e-3} with one tuning seed (1000), then fresh seeds 0..5 (policy ``Tuned``): a deep plain net's usable rate
depends on its activation and depth, and "stays normalised during training" is only meaningful at a
rate that trains it (a pilot at a shared 1e-3 left depth-64 SELU at 14 % test accuracy; a pilot
tuned over {1e-4, 3e-4, 1e-3} put ReLU's and ELU's optimum at the 1e-3 edge, hence 3e-3).
Per-layer statistics (:func:`actlab.metrics.activity`, over 512 training examples and all units of a
layer) at initialisation (``@0``) and after training (``_end``); arrays ``post_var@0``, ``post_var_end``,
``post_mean@0``, ``post_mean_end`` (one value per hidden layer) for the per-layer figure.

The band.  A layer is "normalised" when its output mean is within 0.25 of 0 and its variance within a
factor 2 of 1.  ``band_excess`` is the worst hidden layer's max(|log2 var| / 1, |mean| / 0.25): <= 1
means every layer is inside.  Why these edges: BatchNorm's job is to hold each layer at (0, 1); a
factor 2 in variance is the smallest drift that changes the effective learning rate of the next layer
by more than a factor sqrt(2) and, compounded, is the onset of vanishing or exploding signals; 0.25
is a quarter of the target standard deviation.  Klambauer et al.'s Theorem-1 domain (mean +-0.1,
variance [0.8, 1.5]) is the region their proof covers, not a test band: at width 64 a freshly drawn
SELU net's worst layer already sits at its edge (pilot, depth 64: worst |ln var| 0.23-0.27), so it would
test finite-width noise rather than the fixed point.

Parts, experiment half (SELU on its own, ``within``: the metric is already SELU's distance from the
band's edge; non-inferiority with margin 1, direction lower: supported iff the 95 % CI of
``band_excess`` lies below 1, refuted iff it lies above 1):

* after training, per depth 8, 16, 32, 64 (depth 64 primary: the deepest net is where the claim bites);
* at initialisation, per depth (the fixed point's prediction before any weight moves).

Descriptive (reported, never deciding): ReLU's and ELU's ``band_excess`` at depth 64 against the
same band; the trend of the worst layer's |log2 var| over log2 depth, SELU minus ReLU and SELU minus
ELU (delta 0.25 per doubling: a quarter of the band per doubling of depth); final test accuracy
SELU vs ReLU and vs ELU at depth 32 and 64 (delta 2 points).  Accuracy is what normalisation is for,
but the claim states normalisation, not a gain in accuracy, so it is reported, not judged.

Seeds: 6, by :func:`actlab.engine.decide.power` for the non-inferiority parts (margin 1).  Support:
SELU's band excess at init was 0.17-0.40 in a pilot (width 64); at a true 0.4 and seed-to-seed SD 0.3
the power is 0.97 with n = 6 (0.91 with n = 5).  Refutation: after training the pilot (one seed, tuned
rate) put SELU at 1.3-2.5; at a true 1.4 the power to refute is 0.97 at SD 0.2, 0.74 at SD 0.3 (0.61
with n = 5), so n = 6 is where a sixth seed still buys power cheaply; 8 seeds (0.90 at SD 0.3) would
cost the budget 1.4x.

Cost.  Per depth one ensemble of 3 arms x 6 seeds (plus 4 tuning rates x 3 arms), 120 layers of width
64 over the four depths, ~0.4 ms per layer-model-step on one core.  Measured: ``actlab run C23
--profile full --seeds 1`` (all 4 depths, 3 arms, all 36 tuning units, 12 evaluation units) took 198 s
of CPU (293 s wall with -j 2 on 2 cores shared with other jobs); the full profile adds 60 evaluation
units and 12 tuning units at 3e-3, ~ (48 + 72) / (36 + 12) x 198 s = 500 CPU-s: ~4.5 min on 2 free
cores, ~8 min on 2 busy ones.

Commands and runtime (2 CPU cores):

    actlab run C23 --profile quick   # smoke test: depth 8-64, width 8, 12 steps, 3 seeds: ~15 s
    actlab run C23 --profile full    # evidence: depth 8-64, width 64, 500 steps, 4 rates tuned, 6 seeds: ~6 min
    actlab verdict C23

Measured (generated by ``python -m actlab.studies._measured --write`` from results/C23.jsonl.gz: profile full, 6 seeds, code 73780d08):

    verdict: REFUTED

    theory: lambda derived from the fixed point equals the published 1.0507009873554805 (delta 1e-12): supported
        selu - relu: +1.0507 [n/a] -> supported (within tolerance)
    theory: alpha derived from the fixed point equals the published 1.6732632423543772 (delta 1e-12): supported
        selu - relu: +1.6733 [n/a] -> supported (within tolerance)
    theory: (0, 1) is a stable fixed point (spectral radius of the map's Jacobian <= 1) (delta 0): supported
        selu - relu: +0.7826 [n/a] -> supported (within tolerance)
    theory: the trained arm (the zoo's selu) maps (0, 1) to itself (delta 1e-12): supported
        selu - relu: +0.0000 [n/a] -> supported (within tolerance)
    SELU depth 64, after training: every layer's mean and variance stay in the band (delta 1): refuted
        selu (within unit): +1.4775 [+1.3666, +1.5884] -> refuted (inferior beyond the margin)
    SELU depth 8, after training: every layer's mean and variance stay in the band (delta 1): refuted
        selu (within unit): +1.8776 [+1.8042, +1.9510] -> refuted (inferior beyond the margin)
    SELU depth 16, after training: every layer's mean and variance stay in the band (delta 1): refuted
        selu (within unit): +1.2915 [+1.1179, +1.4652] -> refuted (inferior beyond the margin)
    SELU depth 32, after training: every layer's mean and variance stay in the band (delta 1): refuted
        selu (within unit): +2.4271 [+2.3691, +2.4850] -> refuted (inferior beyond the margin)
    SELU depth 64, at initialisation: every layer's mean and variance stay in the band (delta 1): supported
        selu (within unit): +0.4049 [+0.3537, +0.4561] -> supported (non-inferior)
    SELU depth 8, at initialisation: every layer's mean and variance stay in the band (delta 1): supported
        selu (within unit): +0.1472 [+0.0949, +0.1996] -> supported (non-inferior)
    SELU depth 16, at initialisation: every layer's mean and variance stay in the band (delta 1): supported
        selu (within unit): +0.1881 [+0.1455, +0.2306] -> supported (non-inferior)
    SELU depth 32, at initialisation: every layer's mean and variance stay in the band (delta 1): supported
        selu (within unit): +0.2984 [+0.1896, +0.4073] -> supported (non-inferior)
    RELU depth 64, after training: the same band (descriptive) (delta 1): refuted
        relu (within unit): +5.9946 [+4.9417, +7.0474] -> refuted (inferior beyond the margin)
    ELU depth 64, after training: the same band (descriptive) (delta 1): refuted
        elu (within unit): +31.3373 [+23.6452, +39.0295] -> refuted (inferior beyond the margin)
    SELU's worst-layer |log2 var| grows slower with depth than RELU's, at initialisation (descriptive) (delta 0.25): supported
        selu - relu: -1.2769 [-2.5363, -0.0175] -> supported (meaningful effect)
    SELU's worst-layer |log2 var| grows slower with depth than RELU's, after training (descriptive) (delta 0.25): supported
        selu - relu: -0.3178 [-0.5549, -0.0808] -> supported (meaningful effect)
    SELU's worst-layer |log2 var| grows slower with depth than ELU's, at initialisation (descriptive) (delta 0.25): supported
        selu - elu: -0.7749 [-1.1862, -0.3636] -> supported (meaningful effect)
    SELU's worst-layer |log2 var| grows slower with depth than ELU's, after training (descriptive) (delta 0.25): supported
        selu - elu: -2.0850 [-2.3143, -1.8558] -> supported (meaningful effect)
    SELU more accurate than RELU at depth 32 (descriptive) (delta 0.02): refuted
        selu - relu: -0.0037 [-0.0249, +0.0176] -> refuted (no meaningful difference)
    SELU more accurate than RELU at depth 64 (descriptive) (delta 0.02): refuted
        selu - relu: -0.0425 [-0.0936, +0.0086] -> refuted (no meaningful difference)
    SELU more accurate than ELU at depth 32 (descriptive) (delta 0.02): inconclusive
        selu - elu: +0.0033 [-0.0243, +0.0309] -> inconclusive (undecided, ~22 seeds would resolve it)
    SELU more accurate than ELU at depth 64 (descriptive) (delta 0.02): refuted
        selu - elu: -0.0698 [-0.1082, -0.0314] -> refuted (opposite direction)
    mean band_excess_end {"depth":16,"half":"experiment"}: elu 4.3708, relu 3.6245, selu 1.2915
    mean band_excess_end {"depth":32,"half":"experiment"}: elu 27.9419, relu 2.9460, selu 2.4271
    mean band_excess_end {"depth":64,"half":"experiment"}: elu 31.3373, relu 5.9946, selu 1.4775
    mean band_excess_end {"depth":8,"half":"experiment"}: elu 4.3697, relu 5.5288, selu 1.8776
    note: tuning chose the largest lr on the grid (0.003) for elu, relu in {"depth":16,"half":"experiment"}: the optimum may lie beyond the grid
    note: tuning chose the largest lr on the grid (0.003) for elu, relu in {"depth":32,"half":"experiment"}: the optimum may lie beyond the grid
    note: tuning chose the largest lr on the grid (0.003) for elu, relu in {"depth":8,"half":"experiment"}: the optimum may lie beyond the grid
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn

from ..data import load
from ..engine import Figure, Part, Profile, Result, Shared, Study, Tuned, UnitSpec
from ..engine.tasks import Classification
from ..engine.train import Schedule, build, train
from ..metrics import activity
from ..models import init_for, mlp
from ..theory.selfnorm import moment_map, solve

#: the published constants (Klambauer et al. 2017, eq. 14; torch.nn.SELU), the targets the solver must hit
PUBLISHED_LAMBDA = 1.0507009873554805
PUBLISHED_ALPHA = 1.6732632423543772
HE = ("relu", "elu")  # the comparison arms get He init, as the claim's comparison does
VAR_BAND = 1.0  # |log2 var| <= 1: a factor 2
MEAN_BAND = 0.25
WORST = 100.0  # a diverged unit's band excess: far outside (it counts against its arm)


@dataclass(frozen=True)
class Config:
    depths: tuple[int, ...] = (8, 16, 32, 64)
    width: int = 64
    steps: int = 500
    batch_size: int = 100
    lrs: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3)
    tune_seeds: tuple[int, ...] = (1000,)
    eval_every: int = 50
    probe_size: int = 512


PROFILES = {
    "quick": Profile(Config(width=8, steps=12, eval_every=6, probe_size=64, lrs=(1e-3,)), seeds=3,
                     runtime="~15 s on 2 cores", smoke=True),
    "full": Profile(Config(), seeds=6, runtime="~6 min on 2 cores"),
}


@functools.lru_cache(maxsize=None)
def _task() -> Classification:
    return Classification(load("mnist1d"))


def init_scheme(act) -> str:
    """The declared init: He for the comparison arms (ReLU, ELU), the per-activation one otherwise (LeCun for SELU)."""
    from ..zoo import get

    return "he" if get(act).spec.name in HE else init_for(act)


def model(config: Config, depth: int, act) -> nn.Sequential:
    scheme = init_scheme(act)
    m = mlp(act, 40, 10, hidden=(config.width,) * depth, init="lecun" if scheme == "he" else "auto")
    if scheme == "he":  # N(0, 2/fan_in) on every hidden layer: LeCun's draw scaled by sqrt(2); read-out stays LeCun
        lin = [x for x in m.modules() if isinstance(x, nn.Linear)]
        with torch.no_grad():
            for layer in lin[:-1]:
                layer.weight.mul_(math.sqrt(2.0))
    return m


def band_excess(means: Sequence[float], variances: Sequence[float]) -> float:
    """The worst layer's max(|log2 var| / VAR_BAND, |mean| / MEAN_BAND): <= 1 iff every layer is in the band."""
    out = 0.0
    for m, v in zip(means, variances):
        lv = abs(math.log2(v)) if v > 0 and math.isfinite(v) else math.inf
        out = max(out, lv / VAR_BAND, abs(m) / MEAN_BAND if math.isfinite(m) else math.inf)
    return out


def _probe(x: torch.Tensor):
    def probe(net: nn.Module, step: int):
        layers = activity(net, x)
        mean = [a.post_mean for a in layers]
        var = [a.post_var for a in layers]
        logv = [abs(math.log2(v)) if v > 0 else math.inf for v in var]
        return ({"band_excess": band_excess(mean, var), "worst_log2_var": max(logv),
                 "last_log2_var": math.log2(var[-1]) if var[-1] > 0 else -math.inf, "last_mean": mean[-1]},
                {"post_var": var, "post_mean": mean})
    return probe


def _rename_end(r: Result, steps: int) -> Result:
    """``name@<last step>`` -> ``name_end`` (the profiles differ in steps; the parts name one metric)."""
    last = max((int(k.rsplit("@", 1)[1]) for k in r.metrics if "@" in k), default=0)
    if last > 0:
        for d in (r.metrics, r.arrays):
            for k in [k for k in d if k.endswith(f"@{last}")]:
                d[k.rsplit("@", 1)[0] + "_end"] = d.pop(k)
    return r


def _theory(u: UnitSpec) -> Result:
    sol = solve("elu")  # free: ('scale', 'alpha'), target (0, 1), omega = 0, tau = 1
    metrics = {"solved_lambda": sol.params["scale"], "solved_alpha": sol.params["alpha"],
               "solved_spectral_radius": sol.spectral_radius, "solved_spectral_norm": sol.spectral_norm,
               "solver_residual": sol.residual}
    try:  # the arm's own layer map at (0, 1): is it a fixed point, and is it stable there?
        mv, jac = moment_map(u.activation, 0.0, 1.0, jacobian=True)
        metrics["fixed_point_residual"] = float(abs(mv[0]) + abs(mv[1] - 1.0))
        metrics["map_spectral_radius"] = float(np.max(np.abs(np.linalg.eigvals(jac))))
    except ValueError as e:  # a gated unit: no pointwise moment map
        metrics["fixed_point_residual"] = math.nan
        metrics["map_spectral_radius"] = math.nan
        return Result(metrics, error=str(e))
    return Result(metrics)


def run(config: Config, units: Sequence[UnitSpec]) -> list[Result]:
    cell = units[0].cell
    if cell.get("half") == "theory":
        return [_theory(u) for u in units]
    depth = int(cell["depth"])
    task = _task()
    x = task.data.x_train[:config.probe_size]
    models = [build(lambda u=u: model(config, depth, u.activation), u.seed, depth) for u in units]
    scheds = [Schedule(steps=config.steps, batch_size=config.batch_size, lr=float(u.hyper["lr"]),
                       eval_every=config.eval_every) for u in units]
    res = train(models, [u.seed for u in units], task, scheds, phase=units[0].phase, probe=_probe(x), probe_at=(0,))
    return [_rename_end(r, config.steps) for r in res]


def policy(config: Config):
    """Adam's rate tuned per arm and depth on validation accuracy (one tuning seed); a one-rate grid is shared."""
    if len(config.lrs) == 1:
        return Shared({"lr": config.lrs[0]})
    return Tuned(grid={"lr": config.lrs}, metric="val_acc", seeds=config.tune_seeds)


_BAND_WHY = ("the band's edge: every layer's mean within 0.25 of 0 and variance within a factor 2 of 1 "
             "(module header: the smallest drift that changes the next layer's effective step size by more than "
             "sqrt 2; BatchNorm's target is (0, 1))")


def _parts() -> list[Part]:
    theory = {"half": "theory"}
    tol_why = "the solver's residual is 1e-16; 1e-12 leaves a root-finder's float64 rounding and nothing else"
    parts = [
        Part("theory: lambda derived from the fixed point equals the published 1.0507009873554805", "solved_lambda",
             rule="exact", target=PUBLISHED_LAMBDA, delta=1e-12, why=tol_why, cell=theory, compared=("selu",)),
        Part("theory: alpha derived from the fixed point equals the published 1.6732632423543772", "solved_alpha",
             rule="exact", target=PUBLISHED_ALPHA, delta=1e-12, why=tol_why, cell=theory, compared=("selu",)),
        Part("theory: (0, 1) is a stable fixed point (spectral radius of the map's Jacobian <= 1)",
             "solved_spectral_radius", rule="exact", target=1.0, relation="<=", delta=0.0,
             why="stability is the relation itself (radius below 1); no tolerance", cell=theory, compared=("selu",)),
        Part("theory: the trained arm (the zoo's selu) maps (0, 1) to itself", "fixed_point_residual", rule="exact",
             target=0.0, relation="<=", delta=1e-12, why="float64 quadrature of the moment map is exact to ~1e-15",
             cell=theory, compared=("selu",)),
    ]
    for when, metric in (("after training", "band_excess_end"), ("at initialisation", "band_excess@0")):
        for d in (64, 8, 16, 32):
            parts.append(Part(f"SELU depth {d}, {when}: every layer's mean and variance stay in the band",
                              metric, rule="noninferiority", direction="lower", delta=1.0, why=_BAND_WHY,
                              within=True, compared=("selu",), cell={"half": "experiment", "depth": d},
                              worst=WORST, primary=(d == 64 and when == "after training")))
    for arm in ("relu", "elu"):
        parts.append(Part(f"{arm.upper()} depth 64, after training: the same band (descriptive)", "band_excess_end",
                          rule="noninferiority", direction="lower", delta=1.0, why=_BAND_WHY, within=True,
                          compared=(arm,), cell={"half": "experiment", "depth": 64}, worst=WORST, decides=False))
    for arm in ("relu", "elu"):
        for when, metric in (("at initialisation", "worst_log2_var@0"), ("after training", "worst_log2_var_end")):
            parts.append(Part(f"SELU's worst-layer |log2 var| grows slower with depth than {arm.upper()}'s, {when} "
                              "(descriptive)", metric, rule="trend", direction="lower", delta=0.25,
                              why="a quarter of the variance band per doubling of depth", factor="depth",
                              transform="log2", baseline=arm, compared=("selu",), cell={"half": "experiment"},
                              worst=20.0, decides=False))
    for arm in ("relu", "elu"):
        for d in (32, 64):
            parts.append(Part(f"SELU more accurate than {arm.upper()} at depth {d} (descriptive)", "test_acc",
                              direction="higher", delta=0.02,
                              why="2 points is 20 of 1000 test sequences, twice the seed-to-seed SD of an MNIST-1D MLP",
                              baseline=arm, compared=("selu",), cell={"half": "experiment", "depth": d}, worst=0.1,
                              decides=False))
    return parts


STUDY = Study(
    id="C23",
    profiles=PROFILES,
    run=run,
    parts=_parts(),
    baseline="relu",
    compared=("selu",),
    controls=("elu",),
    cells=lambda config: [{"half": "theory"}] + [{"half": "experiment", "depth": d} for d in config.depths],
    hyper=policy,
    secondary=("band_excess@0", "worst_log2_var@0", "worst_log2_var_end", "last_log2_var_end", "last_mean_end",
               "test_acc"),
    rank=("band_excess_end", "lower"),
    init="LeCun-normal N(0, 1/fan_in) for SELU; He N(0, 2/fan_in) for ReLU and ELU; a user's activation: the "
         "declared per-activation init (actlab.models.init); biases zero, read-out LeCun",
    datasets=("mnist1d",),
    figures=("metric",
             Figure("per-layer output variance at initialisation", "post_var@0", x="depth", kind="layers",
                    cell={"half": "experiment"}, xlabel="hidden layer (input side first)",
                    ylabel="output variance over examples and units (band: 0.5-2)"),
             Figure("per-layer output variance after training", "post_var_end", x="depth", kind="layers",
                    cell={"half": "experiment"}, xlabel="hidden layer (input side first)",
                    ylabel="output variance over examples and units (band: 0.5-2)"),
             Figure("worst layer's distance from the band vs depth, after training", "band_excess_end", x="depth",
                    cell={"half": "experiment"}, logx=True, xlabel="depth (hidden layers)",
                    ylabel="band excess (<= 1: every layer in the band)")),
    max_batch=64,
    doc=__doc__ or "",
)
