"""C18 -- dead units: does PReLU's learnable slope prevent them, does BatchNorm, and do the two combine?

Claim (ledger): PReLU's learnable negative slope prevents dead units; BatchNorm re-centring keeps ReLU
units alive by other means; the two combine.  Tested as worded, as three contrasts on the fraction of
dead hidden units at the end of training:

* PReLU has fewer dead units than ReLU;
* ReLU + BatchNorm has fewer dead units than ReLU;
* PReLU + BatchNorm has no more dead units than either (non-inferior to PReLU and to ReLU + BatchNorm).

A *dead* unit (:mod:`actlab.metrics.activity`, the definition the deep-network studies share): its slope
|phi'(z)| is below 1 % of the activation's maximum slope on every one of the 3200 training sequences --
for ReLU, a unit whose output is zero on the whole training set; for PReLU, one whose learned slope has
shrunk below 0.01 while its inputs stay negative.

Design.  MNIST-1D (Greydanus & Kobak 2024), MLPs 40 -> 64 x depth -> 10 for depth 4 and 16 (cells),
He-scaled init (the declared per-activation init: second-moment gain, :mod:`actlab.models.init`),
Adam at one shared learning rate of 1e-2 for every arm, 1000 steps of 100 sequences.  Arms that are not
plain activations are spelled ``<activation>+bn``: a ``BatchNorm1d`` between each hidden ``Linear`` and
its activation (``mlp(..., norm="before")``); any activation a user names runs the same way (``-a
myacts:fn,myacts:fn+bn``).  PReLU's slope is learned (one per layer, from 0.25, as He et al. 2015).

Why one shared, high rate and no tuning: the claim is about what happens when training kills ReLU units;
a rate tuned per arm would move each arm to where nothing dies and test a different claim.  1e-2 was
chosen in a pilot (one seed, not evidence) in which ReLU units died at depth 16 while ReLU + BatchNorm
kept them; the evidence below reports what the pre-registered seeds gave, including ReLU's own dead
fraction (so a reader can see that there were units to keep alive).

Parts (depth 16 decides: the depth at which the design kills units; the same four contrasts at depth 4
are reported, descriptive, since where nothing dies there is nothing to prevent):

* primary: PReLU vs ReLU, dead fraction, lower, delta 0.05;
* ReLU + BN vs ReLU, lower, delta 0.05;
* PReLU + BN vs PReLU and vs ReLU + BN, non-inferiority with margin 0.02.

delta 0.05 is 5 % of a layer's units (3 of 64): a smaller share changes no layer's capacity noticeably;
the margin 0.02 is about one unit in a 64-wide layer.  Seeds: 5 -- with a seed-to-seed SD of the
paired difference up to 0.05 and a true difference of 2 delta, 5 seeds give power 0.91
(:func:`actlab.engine.decide.power`).  Secondary: dead fraction at initialisation (deep ReLU nets are
born with some), exact-zero fraction, test accuracy; arrays: dead fraction per layer and PReLU's learned
slope per layer.

Commands and runtime (2 CPU cores):

    actlab run C18 --profile quick   # smoke test: 2 seeds, width 8, 30 steps: ~20 s
    actlab run C18 --profile full    # evidence: 5 seeds, width 64, 1000 steps: ~7 min
    actlab verdict C18
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Sequence

from ..data import load
from ..engine import Figure, Part, Profile, Result, Shared, Study, UnitSpec
from ..engine.tasks import Classification
from ..engine.train import Schedule, build, train
from ..metrics import activity
from ..models import hidden_activations, mlp
from ..zoo import get

BN = "+bn"


@dataclass(frozen=True)
class Config:
    depths: tuple[int, ...] = (4, 16)
    width: int = 64
    steps: int = 1000
    batch_size: int = 100
    lr: float = 1e-2
    probe_examples: int = 3200  # the whole training split

    def __post_init__(self) -> None:
        if not self.depths or min(self.depths) < 1:
            raise ValueError(f"C18: depths must be positive, got {self.depths}")


PROFILES = {
    "quick": Profile(Config(width=8, steps=30, probe_examples=300), seeds=2, runtime="~20 s on 2 cores", smoke=True),
    "full": Profile(Config(), seeds=5, runtime="~7 min on 2 cores"),
}


@dataclass(frozen=True)
class WithBatchNorm:
    """An arm ``<activation>+bn``: the activation with BatchNorm before it in every hidden layer."""

    activation: Any

    @property
    def name(self) -> str:
        return self.activation.name + BN


def resolve(name: str) -> WithBatchNorm | None:
    if isinstance(name, str) and name.endswith(BN) and len(name) > len(BN):
        return WithBatchNorm(get(name[: -len(BN)]))
    return None


@functools.lru_cache(maxsize=None)
def _task() -> Classification:
    return Classification(load("mnist1d"))


def _model(config: Config, depth: int, arm: Any):
    data = _task().data
    act, norm = (arm.activation, "before") if isinstance(arm, WithBatchNorm) else (arm, None)
    return mlp(act, data.input_dim, data.num_classes, hidden=(config.width,) * depth, init="auto", norm=norm)


def _probe(config: Config):
    x = _task().data.x_train[: config.probe_examples]

    def probe(model, step):
        layers = activity(model, x)
        slopes = []
        for a in hidden_activations(model):
            p = dict(a.named_parameters()).get("negative_slope")
            slopes.append(float(p.detach().mean()) if p is not None else None)  # None: no learned slope
        metrics = {"dead": sum(l.dead_fraction for l in layers) / len(layers),
                   "zero": sum(l.zero_fraction for l in layers) / len(layers)}
        return metrics, {"dead_layers": [l.dead_fraction for l in layers], "slopes": slopes}

    return probe


def run(config: Config, units: Sequence[UnitSpec]) -> list[Result]:
    depth = int(units[0].cell["depth"])
    models = [build(lambda u=u: _model(config, depth, u.activation), u.seed, depth) for u in units]
    sched = Schedule(steps=config.steps, batch_size=config.batch_size, lr=float(units[0].hyper["lr"]),
                     eval_every=max(1, config.steps // 4))
    res = train(models, [u.seed for u in units], _task(), sched, phase=units[0].phase, probe=_probe(config),
                probe_at=(0,))
    end = f"@{config.steps}"
    for r in res:
        m, a = r.metrics, r.arrays
        for k in ("dead", "zero"):
            if f"{k}{end}" in m:  # a run cut short by divergence probes at the step it stopped
                m[f"{k}_end"] = m[f"{k}{end}"]
            if f"{k}@0" in m:
                m[f"{k}_init"] = m[f"{k}@0"]
        for k in ("dead_layers", "slopes"):
            if f"{k}{end}" in a:
                a[k] = a[f"{k}{end}"]
    return res


_WHY = ("5 % of a layer's units (3 of 64): a smaller share changes no layer's capacity noticeably; the seed-to-seed "
        "SD of the dead fraction in a pilot was a few percent")
_MARGIN = "about one unit of a 64-wide layer (1.6 %): 'no more dead units' up to one unit"


def _parts() -> list[Part]:
    out = []
    for depth, decides in ((16, True), (4, False)):
        tag = "" if decides else " (descriptive: at depth 4 few units die)"
        cell = {"depth": depth}
        out += [
            Part(f"depth {depth}: PReLU has fewer dead units than ReLU{tag}", "dead_end", direction="lower",
                 delta=0.05, why=_WHY, baseline="relu", compared=("prelu",), cell=cell, worst=1.0,
                 primary=decides, decides=decides),
            Part(f"depth {depth}: BatchNorm keeps ReLU units alive{tag}", "dead_end", direction="lower", delta=0.05,
                 why=_WHY, baseline="relu", compared=("relu+bn",), cell=cell, worst=1.0, decides=decides),
            Part(f"depth {depth}: PReLU + BN has no more dead units than PReLU{tag}", "dead_end",
                 rule="noninferiority", direction="lower", delta=0.02, why=_MARGIN, baseline="prelu",
                 compared=("prelu+bn",), cell=cell, worst=1.0, decides=decides),
            Part(f"depth {depth}: PReLU + BN has no more dead units than ReLU + BN{tag}", "dead_end",
                 rule="noninferiority", direction="lower", delta=0.02, why=_MARGIN, baseline="relu+bn",
                 compared=("prelu+bn",), cell=cell, worst=1.0, decides=decides),
        ]
    return out


STUDY = Study(
    id="C18",
    profiles=PROFILES,
    run=run,
    parts=_parts(),
    baseline="relu",
    compared=("prelu", "relu+bn", "prelu+bn"),
    cells=lambda config: [{"depth": d} for d in config.depths],
    hyper=lambda config: Shared({"lr": config.lr}),
    resolve=resolve,
    secondary=("dead_init", "zero_end", "test_acc"),
    rank=("dead_end", "lower"),
    figures=("metric",
             Figure("dead units vs depth", "dead_end", x="depth", xlabel="hidden layers",
                    ylabel="dead fraction of hidden units (end of training)"),
             Figure("dead units per layer", "dead_layers", kind="layers", x="depth",
                    ylabel="dead fraction of the layer's units (end of training)"),
             Figure("learned PReLU slope per layer", "slopes", kind="layers", x="depth",
                    ylabel="learned negative slope (mean over the layer)")),
    init="declared per activation (actlab.models.init): He-scaled (second-moment gain) for ReLU and PReLU; "
         "BatchNorm starts at scale 1, shift 0",
    datasets=("mnist1d",),
    doc=__doc__ or "",
)
