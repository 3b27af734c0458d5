"""C21 -- a hybrid ReLU/ELU neuron with a learnable knob: is the knob learned only from negative inputs?

Claim (ledger): in a hybrid neuron that blends ReLU and ELU with a learnable knob, the knob is learned
only from negative inputs.  The neuron is the zoo's ``relu_elu``: phi(x; b) = x for x > 0,
b (e^x - 1) otherwise (b = 0 is ReLU, b = 1 is ELU), so dphi/db = min(0, e^x - 1) -- exactly 0 for x > 0.
"Only from negative inputs" is an exact statement; it is checked exactly (tolerance 0) on the function,
on its trainable module and on the knob gradient inside a network.  That the knob *is* learned from the
negative inputs, and that how far it moves follows how often its unit sees them, is the seeded half.

Design.  Arms: ``relu_elu`` (named); controls (descriptive): ``prelu`` (a slope learned from negative
inputs too, by the same argument) and ``silu`` with its beta learned (a knob that positive inputs move:
it shows the instruments below do register a positive-input gradient when there is one).  Every
learnable parameter of an arm trains (``module(learn=True)``), one knob per hidden unit
(``num_parameters`` = width): each unit is its own hybrid neuron.  An arm with no learnable parameter
(a user's plain function) has nothing to learn: its knob gradients and movements are 0.

* theory (cell ``half=theory``; one deterministic unit per arm, seed -1, nothing trained):
  (1) the function: on 2000 points x in (0, 20], |phi(x; b) - phi(x; b0)| for every b of a grid over
  the knob's range (the spec's formula, float64) and mpmath's derivative d/db of the spec's reference;
  (2) the module: autograd dphi/db per element through ``module(learn=True)``, one knob per element,
  in float32 and float64, on the same x > 0 and, for the non-vacuity check, on x < 0;
  (3) a network: an MLP 40-64-64-10 at a fixed initialisation on 1000 MNIST-1D training sequences; each
  unit's knob gradient of the cross-entropy split by the sign of that unit's pre-activation on each
  example: g+ sums the examples where it is positive (the gradient an all-positive batch gives that
  knob), g- the others.
* experiment (cell ``half=experiment``): the same MLP trained on MNIST-1D (Adam, shared policy below),
  probed at init, during training and after the last step on 1000 training sequences: per unit its
  knob, its fraction of non-positive pre-activations, g+ and g-.

Parts (relu_elu; within-unit, no baseline; exact parts decide with tolerance 0):

* theory: the function does not depend on the knob for x > 0 (max difference == 0);
* theory: autograd's dphi/db on x > 0 is exactly 0 (float32 and float64);
* network (primary): the knob gradient from positive pre-activations is exactly 0 in every unit (g+ == 0);
* non-vacuity: dphi/db on x < 0 reaches >= 0.01, and g- in the network reaches >= 1e-8 in some unit
  (a zero that held because the knob could not learn at all would prove nothing);
* trained (seeded): the knob is learned -- mean |b_T - b_0| over units, superiority over 0 with delta
  0.02 (2 % of the ReLU-to-ELU range [0, 1]);
* trained (seeded, descriptive): movement follows negative inputs -- per seed, Spearman correlation
  over units between a unit's fraction of non-positive pre-activations (mean over the probes) and its
  |b_T - b_0|, superiority over 0 with delta 0.2 (a rank correlation below 0.2 explains under 4 % of
  the ranks).  Descriptive, not deciding: "only from negative inputs" does not imply "more negative
  inputs, more movement" under Adam, which scales each knob's step by its own gradient's running RMS
  (a knob with rare negative inputs still takes full-size steps when it gets them).  Said plainly: this
  part was first written as deciding; the pilots gave rho ~ 0 (300 steps) and rho ~ -0.23 (full
  config) for relu_elu, prelu and silu alike, and it was made descriptive then, before any evidence
  run, because the claim does not predict it.  It is reported because the issue asks for the relation.

Descriptive (secondary): the share of the knob-gradient magnitude from positive inputs during training
(0 for relu_elu and prelu by the theory, > 0 for silu), mean fraction of non-positive pre-activations,
final knob per layer (figure), test accuracy.  Diverged units count against the arm (``worst`` 0: no
movement, no association).

Policy: ``Shared`` Adam lr 3e-3, 100-sequence batches, 1500 steps: the claim is about where the knob's
gradient comes from, not about a tuned score.

Seeds and power.  The exact parts need no seeds (a deterministic zero).  The seeded part: a pilot
(the full config, 3 seeds) gave knob movement 0.34 (SD 0.02) for relu_elu; with 6 seeds the
superiority rule supports an effect of only 2 delta at that SD with power
``decide.power("superiority", effect=0.04, sd=0.02, n=6, delta=0.02)`` = 0.97, the pilot's effect with
power ~1 (the descriptive correlation: -0.23, SD 0.18).

Commands and runtime (2 CPU cores):

    actlab run C21 --profile quick   # smoke test: 40 steps, 3 seeds, 16-wide: ~10 s
    actlab run C21 --profile full    # evidence: 1500 steps, 6 seeds: ~2 min
    actlab verdict C21

Runtime: the quick profile's units take 3 s; the rest is starting Python, torch and the workers, and the
verdict.  The full profile was timed by ``--profile full --seeds 1 -j 2`` and scaled by seeds: ~35 CPU-s
per seed (per-unit knobs make a model train alone, not in the ensemble) plus ~10 s, so ~2 min on two
idle cores (~4.5 min scaled from unit times at load average 6.5).

Measured (generated by ``python -m actlab.studies._measured --write`` from results/C21.jsonl.gz: profile full, 6 seeds, code 3b083ffe):

    verdict: SUPPORTED

    function: phi(x; knob) does not depend on the knob for x > 0 (delta 0): supported
        relu_elu (within unit): +0.0000 [n/a] -> supported (within tolerance)
    module: autograd's dphi/dknob is exactly 0 on x > 0 (float32, float64) (delta 0): supported
        relu_elu (within unit): +0.0000 [n/a] -> supported (within tolerance)
    network: the knob gradient from positive pre-activations is exactly 0 in every unit (delta 0): supported
        relu_elu (within unit): +0.0000 [n/a] -> supported (within tolerance)
    non-vacuity: dphi/dknob on x < 0 reaches 0.01 (delta 0): supported
        relu_elu (within unit): +1.0000 [n/a] -> supported (within tolerance)
    non-vacuity: negative pre-activations give the network's knobs a gradient (>= 1e-8) (delta 0): supported
        relu_elu (within unit): +0.0162 [n/a] -> supported (within tolerance)
    trained: the knob is learned (mean |knob_T - knob_0| over units) (delta 0.02): supported
        relu_elu (within unit): +0.3296 [+0.3108, +0.3483] -> supported (meaningful effect)
    trained: knob movement follows the fraction of negative pre-activations (Spearman over units; descriptive) (delta 0.2): refuted
        relu_elu (within unit): -0.2075 [-0.3314, -0.0835] -> refuted (opposite direction)
    descriptive: prelu vs 0, trained: the knob is learned (mean |knob_T - knob_0| over units): +0.3563 [+0.3313, +0.3813]
    descriptive: silu vs 0, trained: the knob is learned (mean |knob_T - knob_0| over units): +0.2719 [+0.2643, +0.2795]
    mean network_pos_grad_max {"half":"theory"}: prelu 0.0000, relu_elu 0.0000, silu 0.0121
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy import stats

from ..data import load
from ..engine import Figure, Part, Profile, Result, Shared, Study, UnitSpec
from ..engine.tasks import Classification
from ..engine.train import Schedule, build, train
from ..models import hidden_activations, mlp


@dataclass(frozen=True)
class Config:
    hidden: tuple[int, ...] = (64, 64)
    steps: int = 1500
    batch_size: int = 100
    lr: float = 3e-3
    eval_every: int = 100
    probe_at: tuple[int, ...] = (0, 250, 750)
    probe_size: int = 1000
    points: int = 2000


PROFILES = {
    "quick": Profile(Config(hidden=(16, 16), steps=40, eval_every=20, probe_at=(0, 20), probe_size=256, points=200),
                     seeds=3, runtime="~10 s on 2 cores", smoke=True),
    "full": Profile(Config(), seeds=6, runtime="~2 min on 2 idle cores"),
}


def knobs(act) -> list[str]:
    return [p.name for p in act.spec.params if p.learnable]


class PerUnit(nn.Module):
    """An activation module with one knob per unit, applied over the last dimension whatever the leading
    ones.  (The ensemble hands each member a (1, B, C) slice, which a per-channel ``ActivationModule``
    reads as channels on dimension 1; wrapped, the model trains alone instead, with the same numbers.)"""

    def __init__(self, act: nn.Module):
        super().__init__()
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x.reshape(-1, x.shape[-1])).reshape(x.shape)


def module(act, n: int) -> nn.Module:
    """The arm's module with every learnable parameter trained, one per unit (``n`` channels)."""
    return PerUnit(act.module(learn=True, num_parameters=n)) if knobs(act) else act.module()


def _params(m: nn.Module) -> list[torch.Tensor]:
    return [p for p in m.parameters() if p.requires_grad]


# -- theory half ------------------------------------------------------------------------------------
def _knob_grid(act, name: str) -> list[float]:
    p = next(q for q in act.spec.params if q.name == name)
    v0 = float(act.params[name])
    lo = p.lower if p.lower is not None and math.isfinite(p.lower) else v0 - 1.0
    hi = p.upper if p.upper is not None and math.isfinite(p.upper) else v0 + 1.0
    return [float(v) for v in np.linspace(lo, hi, 5)] + [v0]


def _function_check(act, x: torch.Tensor) -> float:
    """max |phi(x; b) - phi(x; b0)| over x and a grid of each knob b (others at their values)."""
    worst = 0.0
    with torch.no_grad():
        y0 = act(x)
        for name in knobs(act):
            for v in _knob_grid(act, name):
                try:
                    other = act.with_params(**{name: v})
                except ValueError:  # outside a constraint of the spec
                    continue
                worst = max(worst, float((other(x) - y0).abs().max()))
    return worst


def _mpmath_check(act, xs: Sequence[float]) -> float:
    ref = act.spec.mpmath
    if ref is None:
        return math.nan
    from mpmath import mp

    worst = 0.0
    with mp.workdps(30):
        for name in knobs(act):
            p = dict(act.params)
            for x in xs:
                def f(b, x=x):
                    return ref(mp.mpf(x), **{**p, name: b})
                worst = max(worst, float(abs(mp.diff(f, mp.mpf(p[name])))))
    return worst


def _autograd(act, x: torch.Tensor) -> float:
    """max |dphi/db| per element, by autograd through the module (one knob per element)."""
    if not knobs(act):
        return 0.0
    m = module(act, x.numel()).to(x.dtype)
    y = m(x.reshape(1, -1))  # one knob per element
    gs = torch.autograd.grad(y.sum(), _params(m), allow_unused=True)
    return max(float(g.abs().max()) if g is not None else 0.0 for g in gs)


@functools.lru_cache(maxsize=None)
def _task() -> Classification:
    return Classification(load("mnist1d"))


def _net(act, config: Config) -> nn.Sequential:
    calls = iter(config.hidden)
    return mlp(act, 40, 10, hidden=config.hidden, init="auto", act_module=lambda: module(act, next(calls)))


def _per_unit(ts: Sequence[torch.Tensor], width: int) -> np.ndarray:
    """Sum of per-unit tensors (shape (width,) or one shared value); other shapes (a user module's own
    weights) are summed whole and spread evenly."""
    out = np.zeros(width)
    for t in ts:
        t = t.detach().double().reshape(-1)
        out += t.numpy() if t.numel() == width else float(t.sum()) / width
    return out


def split_gradients(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[dict[str, np.ndarray]]:
    """Per hidden layer and unit: the knob gradient of the mean cross-entropy from the examples where the
    unit's pre-activation is positive (``pos``) and from the others (``neg``), the fraction of
    non-positive pre-activations (``neg_frac``) and the knob values (``knob``; summed over an arm's knobs)."""
    acts = hidden_activations(net)
    zs: list[torch.Tensor] = []
    outs: list[torch.Tensor] = []

    def hook(mod, inputs, output):
        zs.append(inputs[0])
        outs.append(output)

    hs = [a.register_forward_hook(hook) for a in acts]
    try:
        with torch.enable_grad():
            loss = F.cross_entropy(net(x), y)
            deltas = torch.autograd.grad(loss, outs)
    finally:
        for h in hs:
            h.remove()
    res = []
    for a, z, d in zip(acts, zs, deltas):
        z = z.detach()
        width = z.shape[1]
        ps = _params(a)
        row = {"neg_frac": (z <= 0).double().mean(0).numpy(),
               "knob": _per_unit([p.detach() for p in ps], width)}
        for key, mask in (("pos", z > 0), ("neg", z <= 0)):
            if not ps:
                row[key] = np.zeros(width)
                continue
            with torch.enable_grad():
                yy = a(z)
                gs = torch.autograd.grad((yy * d.detach() * mask).sum(), ps, allow_unused=True)
            row[key] = _per_unit([g.abs() for g in gs if g is not None], width)
        res.append(row)
    return res


def theory(act, config: Config) -> Result:
    pos64 = torch.logspace(-6, math.log10(20.0), config.points, dtype=torch.float64)
    neg64 = -pos64
    net = build(lambda: _net(act, config), 0, "c21-theory")
    data = _task().data
    rows = split_gradients(net, data.x_train[: config.probe_size], data.y_train[: config.probe_size])
    return Result({
        "function_pos_max": _function_check(act, pos64) if knobs(act) else 0.0,
        "mpmath_pos_max": _mpmath_check(act, pos64[:: max(1, config.points // 20)].tolist()) if knobs(act) else 0.0,
        "autograd_pos_max": max(_autograd(act, pos64), _autograd(act, pos64.float())),
        "autograd_neg_max": max(_autograd(act, neg64), _autograd(act, neg64.float())),
        "network_pos_grad_max": float(max(r["pos"].max() for r in rows)),
        "network_neg_grad_max": float(max(r["neg"].max() for r in rows)),
    }, arrays={"pos_grad_layers": [float(r["pos"].max()) for r in rows],
               "neg_grad_layers": [float(r["neg"].max()) for r in rows],
               "network_pos_grad": [r["pos"].tolist() for r in rows],
               "network_neg_grad": [r["neg"].tolist() for r in rows]})


# -- experiment half --------------------------------------------------------------------------------
def _probe(config: Config):
    data = _task().data
    x, y = data.x_train[: config.probe_size], data.y_train[: config.probe_size]

    def probe(net: nn.Module, step: int):
        rows = split_gradients(net, x, y)
        pos = sum(float(r["pos"].sum()) for r in rows)
        neg = sum(float(r["neg"].sum()) for r in rows)
        return ({"pos_grad_share": pos / (pos + neg) if pos + neg > 0 else 0.0,
                 "neg_frac": float(np.mean([r["neg_frac"].mean() for r in rows]))},
                {"knob": [r["knob"].tolist() for r in rows], "neg_frac_units": [r["neg_frac"].tolist() for r in rows]})
    return probe


def summarise(metrics: dict[str, float], arrays: dict[str, Any], probes: Sequence[int], end: int) -> None:
    """Movement and its association with negative inputs, from the probes' arrays (in place)."""
    k0 = np.concatenate([np.asarray(v) for v in arrays["knob@0"]])
    kT = np.concatenate([np.asarray(v) for v in arrays[f"knob@{end}"]])
    move = np.abs(kT - k0)
    fr = np.mean([np.concatenate([np.asarray(v) for v in arrays[f"neg_frac_units@{s}"]]) for s in probes], 0)
    rho = stats.spearmanr(fr, move).statistic if np.ptp(move) > 0 and np.ptp(fr) > 0 else 0.0
    metrics["knob_move"] = float(move.mean())
    metrics["move_neg_corr"] = float(rho) if math.isfinite(rho) else 0.0
    metrics["pos_grad_share"] = float(np.mean([metrics[f"pos_grad_share@{s}"] for s in probes]))
    metrics["neg_frac"] = float(np.mean([metrics[f"neg_frac@{s}"] for s in probes]))
    per_layer = [np.asarray(v) for v in arrays[f"knob@{end}"]]
    arrays["knob_trained"] = [float(v.mean()) for v in per_layer]
    arrays["knob_move_layers"] = [float(np.abs(np.asarray(b) - np.asarray(a)).mean())
                                  for a, b in zip(arrays["knob@0"], arrays[f"knob@{end}"])]


def run(config: Config, units: Sequence[UnitSpec]) -> list[Result]:
    if units[0].cell.get("half") == "theory":
        return [theory(u.activation, config) for u in units]
    models = [build(lambda u=u: _net(u.activation, config), u.seed, "c21") for u in units]
    scheds = [Schedule(steps=config.steps, batch_size=config.batch_size, lr=float(u.hyper["lr"]),
                       eval_every=config.eval_every) for u in units]
    out = train(models, [u.seed for u in units], _task(), scheds, phase=units[0].phase, probe=_probe(config),
                probe_at=config.probe_at)
    for r in out:
        end = max(int(k.split("@")[1]) for k in r.arrays if k.startswith("knob@"))
        probes = sorted({int(k.split("@")[1]) for k in r.arrays if k.startswith("knob@")})
        summarise(r.metrics, r.arrays, probes, end)
    return out


_T = {"half": "theory"}
_E = {"half": "experiment"}
_ZERO = "the claim says 'only': any non-zero gradient from a positive input refutes it, so the tolerance is 0"

STUDY = Study(
    id="C21",
    profiles=PROFILES,
    run=run,
    parts=[
        Part("function: phi(x; knob) does not depend on the knob for x > 0", "function_pos_max", rule="exact",
             target=0.0, relation="==", delta=0.0, why=_ZERO, cell=_T, within=True),
        Part("module: autograd's dphi/dknob is exactly 0 on x > 0 (float32, float64)", "autograd_pos_max",
             rule="exact", target=0.0, relation="==", delta=0.0, why=_ZERO, cell=_T, within=True),
        Part("network: the knob gradient from positive pre-activations is exactly 0 in every unit",
             "network_pos_grad_max", rule="exact", target=0.0, relation="==", delta=0.0, why=_ZERO, cell=_T,
             within=True, primary=True),
        Part("non-vacuity: dphi/dknob on x < 0 reaches 0.01", "autograd_neg_max", rule="exact", target=0.01,
             relation=">=", delta=0.0, cell=_T, within=True,
             why="a knob no input can move would make the zero above vacuous; 0.01 is 1 % of ELU's "
                 "dphi/dknob = e^x - 1 -> -1 far below 0"),
        Part("non-vacuity: negative pre-activations give the network's knobs a gradient (>= 1e-8)",
             "network_neg_grad_max", rule="exact", target=1e-8, relation=">=", delta=0.0, cell=_T, within=True,
             why="float32 rounding of this mean over 1000 examples is ~1e-10; 1e-8 is a gradient, not rounding"),
        Part("trained: the knob is learned (mean |knob_T - knob_0| over units)", "knob_move", delta=0.02,
             why="2 % of the ReLU-to-ELU range [0, 1]: a smaller change leaves the unit's shape unchanged to the eye",
             cell=_E, within=True, worst=0.0),
        Part("trained: knob movement follows the fraction of negative pre-activations (Spearman over units; "
             "descriptive)", "move_neg_corr", delta=0.2, cell=_E, within=True, worst=0.0, decides=False,
             why="a rank correlation below 0.2 explains under 4 % of the ranks: no usable association"),
    ],
    baseline="",
    compared=("relu_elu",),
    controls=("prelu", "silu"),
    cells=lambda config: [dict(_T), dict(_E)],
    hyper=lambda config: Shared({"lr": config.lr}),
    secondary=("pos_grad_share", "neg_frac", "test_acc", "mpmath_pos_max"),
    figures=("metric",
             Figure("knob gradient from positive inputs per layer", "pos_grad_layers", kind="layers", cell=_T,
                    ylabel="max over units of |knob gradient| from positive pre-activations (init)"),
             Figure("knob gradient from negative inputs per layer", "neg_grad_layers", kind="layers", cell=_T,
                    ylabel="max over units of |knob gradient| from non-positive pre-activations (init)"),
             Figure("learned knob per layer", "knob_trained", kind="layers", cell=_E,
                    ylabel="knob after training (mean over the layer's units)"),
             Figure("knob movement per layer", "knob_move_layers", kind="layers", cell=_E,
                    ylabel="mean |knob_T - knob_0| over the layer's units")),
    init="declared per activation (actlab.models.init): second-moment gain at the initial knob; LeCun read-out",
    datasets=("mnist1d",),
    doc=__doc__ or "",
)
