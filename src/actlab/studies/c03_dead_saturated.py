"""C03 -- dead and saturated units: in deep, wide MLPs do ReLU units die and sigmoid/tanh units saturate, while
SiLU keeps units alive and gradients flowing?

Claim (ledger): deep, wide ReLU networks accumulate dead units and sigmoid/tanh networks saturate; Swish
keeps more units active and gradients flowing (CLAIMS.md: "ReLU units die (zero gradient forever)").
Swish is SiLU (beta = 1), the zoo's ``silu``.  Tested as worded, in the deep and wide cell (16 hidden
layers of 512 units, Adam at its default rate 1e-3), by nine deciding parts: the premises (ReLU units
die; sigmoid units saturate; tanh units saturate), SiLU has fewer dead units than ReLU (primary), fewer
saturated units than sigmoid and than tanh, and a more even gradient than each of ReLU, sigmoid and
tanh.  Holm across all nine; the claim is supported only if every one holds, refuted if any fails.

Definitions.  Units (:mod:`actlab.metrics.activity`, shared with C18): a unit's slope |phi'(z)| is
*small* below 1 % of the activation's maximum slope (0.25 for sigmoid, 1 for ReLU and tanh, 1.0998 for
SiLU); *dead*: small on every one of the 3200 training sequences (for ReLU: output 0 on the whole
training set, so its weights get no gradient); *saturated*: small on >= 99 % of them.  ``dead_end`` and
``saturated_end`` are the fraction of all hidden units (every layer is equally wide) after the last step;
``_init`` before the first.  "Zero gradient forever" is read as "dead at the end of the budget": no run
observes forever.  Gradients: the back-propagated gradient dL/dz at each hidden layer's pre-activations
(mean cross-entropy on the first 1000 training sequences; in float64 on a copy of the model, because a
16-deep sigmoid net's first-layer gradient lies 9-11 decades below its last's and a 32-deep one's
underflows float32), and ``grad_imbalance`` = |log10(||dL/dz_1|| / ||dL/dz_L||)|, first against last hidden layer:
0 when the gradient reaches the first layer at the scale it has at the last.  Vanishing and exploding
both count (a gradient that "flows" does neither); the signed ratio is reported (``grad_log_ratio_end``,
negative: vanishing towards the input).  A layer with no gradient at all (a whole layer dead) or a
diverged unit gets CAP = 30 decades, beyond any finite imbalance here (sigmoid: ~0.6 decades per layer).
Why dL/dz and not the weight gradient: dL/dW = dL/dz h^T also carries the scale of the layer's input
(standardised data at the first layer, the activation's outputs at the last), which differs by
activation and is not flow; the same imbalance on the weight gradients (per entry, from
:func:`actlab.metrics.layer_grad_norms`) is secondary (``wgrad_imbalance_end``), and every layer's
norms are arrays (``grad_layers``, ``wgrad_layers``, ``dead_layers``, ``saturated_layers``).

Design.  MNIST-1D (Greydanus & Kobak 2024), MLPs 40 -> width x depth -> 10, the declared init (He-scaled
second-moment gain for ReLU and SiLU, Xavier for the bounded sigmoid and tanh), Adam for 500 steps of
100 sequences (16 epochs), one learning rate shared by every arm in a cell: the rate is a design factor,
since the claim is about what dies at a given rate, and a rate tuned per arm would move each arm to where
nothing dies.  Seeds pair arms exactly (same init stream, same minibatches).  Three sweeps, not a product:

    cells                depth              width            lr            role
    deep and wide        16                 512              1e-3          decides (the nine parts)
    rate sweep           16                 512              1e-4, 1e-2    the same nine parts, descriptive
    width sweep          16                 32, 128, (512)   1e-3          trends over width, descriptive
    depth sweep          2, 4, 8, 16, 32    128              1e-3          trends over depth, descriptive

9 cells x 4 arms x 5 seeds = 180 units.  The width sweep shares (16, 512) with the deciding cell and
(16, 128) with the depth sweep, so the three sweeps meet.  Why 16 x 512: the issue's grid is depth 2-32 x
width 32-512; 16 layers is deep for an MLP and 512 the widest width.  Why the depth sweep runs at width
128, not 512: a 32 x 512 cell alone costs twice the deciding cell, and with it the full profile would
not fit its 30 minutes (cost below).  Why 1e-3 decides: it is Adam's published default (Kingma & Ba
2015) and the middle of the sweep; the claim names no rate, so it is decided at the default, not at
the aggressive 1e-2 (MNIST-1D's reference rate for a 2 x 100 MLP) nor at whichever rate a pilot shows
the effects at.  The rate sweep reports both neighbours with the same nine parts.

Pilot (seeds 100-102, not evidence, 16 x 512, 500 steps), so a reader can see what the design faces: at
1e-3 ReLU 19-21 % dead, SiLU 0; tanh 8-18 % saturated; sigmoid 0-0.1 % -- a 16-deep sigmoid net does
not train at all (its gradient vanishes by ~9 decades at init while its pre-activations stay in the
linear range, so its units never reach saturation); gradient imbalance ReLU 0.65-0.69, SiLU 0.89-0.94
(SiLU's gain-scaled init grows the backward signal by ~1 decade over 16 layers), tanh 0.2-3.4, sigmoid
11.  At 1e-2 (one seed, 600 steps) ReLU 85 % dead, sigmoid 49 % and tanh 73 % saturated, SiLU 1 % dead and
7 % saturated, every net but SiLU's at chance accuracy.

Parts.  Premises: ``within`` (the arm's own fraction against 0), superiority with delta 0.05 --
supported iff the 95 % CI excludes 0 and the mean reaches 0.05, refuted iff the CI lies below 0.05.
Contrasts: SiLU minus the baseline arm, paired by seed, direction lower, delta 0.05 for fractions and
log10 2 = 0.301 for the gradient imbalance.  delta 0.05 is 5 % of a layer's units (26 of 512): a smaller
share changes no layer's capacity noticeably (C18's delta for dead units); log10 2: SiLU's imbalance
smaller by at least a factor 2 between the first and the last layer.  Diverged units count against
their arm: fraction 1.0 in the contrasts, 0.0 in a premise (a diverged net cannot support "units die"),
CAP in the gradient parts.  Descriptive (never deciding): the nine parts at 1e-4 and 1e-2; trends of the
SiLU-minus-arm gap over log2 depth (dead vs ReLU, saturated vs sigmoid and tanh, gradient imbalance vs
all three) and over log2 width (the fraction gaps), delta = the contrast's delta over the sweep's four
doublings (0.0125, 0.075 per doubling).  Secondary: dead and saturated at init, exact-zero fraction,
gradient imbalance at init, signed log ratio, weight-gradient imbalance, test accuracy.

Seeds: 5, by :func:`actlab.engine.decide.power`.  The pilot's seed-to-seed SDs of the paired
differences: 0.012 (SiLU - ReLU dead), 0.056 (SiLU - tanh saturated), 0.03 and 0.09 (SiLU - ReLU and -
sigmoid gradient imbalance), 1.8 (SiLU - tanh: one of three tanh nets trained, two did not).  At SD 0.06
a true difference of 2 delta is supported with power 0.79 at n = 5 (0.91 at SD 0.05; 0.90 would need
n = 6); at SD 0.3 a gradient part's power at 2 delta is 0.91.  The tanh gradient part is bimodal and no
affordable seed count powers it (it may stay inconclusive, with the seeds it would need); a sixth seed
would add 20 % to a budget already at three quarters of its limit.

Cost.  Measured at one thread: ``run()`` on the deciding cell, 12 units (4 arms x 3 seeds in one ensemble),
500 steps: 417 s, 35 s per unit (2 cores shared with other jobs, load ~3).  Per unit-step (4-unit
ensembles, same load): 40 ms at 16 x 512, 13 ms at 32 x 128, 7.7 ms at 16 x 128, 3.8 ms at 16 x 32, 1.2
ms at 2 x 128; a probe 1.9 s at 16 x 512.  Projected: the three 16 x 512 cells, 60 units x 35 s = 2100
CPU-s; the six others ~560 CPU-s; ~2650 CPU-s, ~22 min with -j 2 (``max_batch=10``: each cell's 20
units in two jobs, so the six heavy jobs spread over both workers).

What the shipped records say (their summary, ``actlab verdict C03 --json``).  In the deciding cell ReLU
leaves 20 % of its units dead and SiLU none, and tanh 12.6 % saturated against SiLU's 0 (supported on its
own, inconclusive after Holm's adjustment).  Sigmoid does not saturate (0.05 %): the 16-deep sigmoid net
sits at chance (test accuracy 0.099) with a first-layer gradient 11 decades below its last layer's -- it
fails by a vanishing gradient, not by saturated units -- so that premise and its contrast are refuted.
SiLU's gradient is *less* even than ReLU's (0.90 decades against 0.73: opposite direction, refuted),
far more even than sigmoid's.  At 1e-2 (descriptive) everything dies: ReLU 86 % dead, sigmoid 47 % and
tanh 62 % saturated, SiLU 28 % dead; at 1e-4 only ReLU loses units (5.6 %).  Over depth at width 128,
ReLU's dead fraction grows from 0 (2 layers) to 19 % (32 layers) while SiLU's stays 0.

Runtime measured for this evidence: 29 min of wall time with -j 2 (3408 s of unit time), its first 4
minutes beside C16's evidence and later beside report rendering and tests.

Commands and runtime (2 CPU cores):

    actlab run C03 --profile quick   # smoke test: 3 seeds, widths shrunk 32x, 8 steps: ~20 s
    actlab run C03 --profile full -j 2   # evidence: 5 seeds, 9 cells, 500 steps: ~22 min
    actlab verdict C03

The quick profile trains every cell at width max(4, width / 32) (the cell keeps the design's level;
each record carries ``trained_width``): it checks the plumbing, never the claim.

Measured (generated by ``python -m actlab.studies._measured --write`` from results/C03.jsonl.gz: profile full, 5 seeds, code 6f650409):

    verdict: REFUTED

    deep and wide (16 x 512, lr 0.001): ReLU units die (dead fraction >= 0.05) (delta 0.05): supported
        relu (within unit): +0.2002 [+0.1803, +0.2200] -> supported (meaningful effect)
    deep and wide (16 x 512, lr 0.001): sigmoid units saturate (saturated fraction >= 0.05) (delta 0.05): refuted
        sigmoid (within unit): +0.0005 [+0.0000, +0.0009] -> refuted (no meaningful difference)
    deep and wide (16 x 512, lr 0.001): tanh units saturate (saturated fraction >= 0.05) (delta 0.05): inconclusive
        tanh (within unit): +0.1264 [+0.0396, +0.2133] -> inconclusive (supported on its own (meaningful effect), inconclusive after Holm's adjustment across the parts)
    deep and wide (16 x 512, lr 0.001): SiLU has fewer dead units than ReLU (delta 0.05): supported
        silu - relu: -0.2002 [-0.2200, -0.1803] -> supported (meaningful effect)
    deep and wide (16 x 512, lr 0.001): SiLU has fewer saturated units than sigmoid (delta 0.05): refuted
        silu - sigmoid: -0.0005 [-0.0009, -0.0000] -> refuted (no meaningful difference)
    deep and wide (16 x 512, lr 0.001): SiLU has fewer saturated units than tanh (delta 0.05): inconclusive
        silu - tanh: -0.1264 [-0.2133, -0.0396] -> inconclusive (supported on its own (meaningful effect), inconclusive after Holm's adjustment across the parts)
    deep and wide (16 x 512, lr 0.001): SiLU's gradient reaches the first layer more evenly than relu's (|log10 first/last| lower) (delta 0.30103): refuted
        silu - relu: +0.1641 [+0.0676, +0.2606] -> refuted (opposite direction)
    deep and wide (16 x 512, lr 0.001): SiLU's gradient reaches the first layer more evenly than sigmoid's (|log10 first/last| lower) (delta 0.30103): supported
        silu - sigmoid: -10.4782 [-10.6655, -10.2909] -> supported (meaningful effect)
    deep and wide (16 x 512, lr 0.001): SiLU's gradient reaches the first layer more evenly than tanh's (|log10 first/last| lower) (delta 0.30103): inconclusive
        silu - tanh: -1.8317 [-2.9146, -0.7488] -> inconclusive (supported on its own (meaningful effect), inconclusive after Holm's adjustment across the parts)
    16 x 512, lr 0.0001: ReLU units die (dead fraction >= 0.05) (descriptive) (delta 0.05): supported
        relu (within unit): +0.0559 [+0.0481, +0.0636] -> supported (meaningful effect)
    16 x 512, lr 0.0001: sigmoid units saturate (saturated fraction >= 0.05) (descriptive) (delta 0.05): refuted
        sigmoid (within unit): +0.0000 [+0.0000, +0.0000] -> refuted (no meaningful difference)
    16 x 512, lr 0.0001: tanh units saturate (saturated fraction >= 0.05) (descriptive) (delta 0.05): refuted
        tanh (within unit): +0.0000 [+0.0000, +0.0000] -> refuted (no meaningful difference)
    16 x 512, lr 0.0001: SiLU has fewer dead units than ReLU (descriptive) (delta 0.05): supported
        silu - relu: -0.0559 [-0.0636, -0.0481] -> supported (meaningful effect)
    16 x 512, lr 0.0001: SiLU has fewer saturated units than sigmoid (descriptive) (delta 0.05): refuted
        silu - sigmoid: +0.0000 [+0.0000, +0.0000] -> refuted (no meaningful difference)
    16 x 512, lr 0.0001: SiLU has fewer saturated units than tanh (descriptive) (delta 0.05): refuted
        silu - tanh: +0.0000 [+0.0000, +0.0000] -> refuted (no meaningful difference)
    16 x 512, lr 0.0001: SiLU's gradient reaches the first layer more evenly than relu's (|log10 first/last| lower) (descriptive) (delta 0.30103): inconclusive
        silu - relu: -0.0987 [-0.3719, +0.1744] -> inconclusive (undecided, ~12 seeds would resolve it)
    16 x 512, lr 0.0001: SiLU's gradient reaches the first layer more evenly than sigmoid's (|log10 first/last| lower) (descriptive) (delta 0.30103): supported
        silu - sigmoid: -8.6328 [-8.9026, -8.3629] -> supported (meaningful effect)
    16 x 512, lr 0.0001: SiLU's gradient reaches the first layer more evenly than tanh's (|log10 first/last| lower) (descriptive) (delta 0.30103): refuted
        silu - tanh: +0.1859 [-0.0899, +0.4616] -> refuted (no meaningful difference)
    16 x 512, lr 0.01: ReLU units die (dead fraction >= 0.05) (descriptive) (delta 0.05): supported
        relu (within unit): +0.8586 [+0.8249, +0.8923] -> supported (meaningful effect)
    16 x 512, lr 0.01: sigmoid units saturate (saturated fraction >= 0.05) (descriptive) (delta 0.05): supported
        sigmoid (within unit): +0.4745 [+0.4530, +0.4959] -> supported (meaningful effect)
    16 x 512, lr 0.01: tanh units saturate (saturated fraction >= 0.05) (descriptive) (delta 0.05): supported
        tanh (within unit): +0.6162 [+0.4662, +0.7663] -> supported (meaningful effect)
    16 x 512, lr 0.01: SiLU has fewer dead units than ReLU (descriptive) (delta 0.05): supported
        silu - relu: -0.5779 [-1.0141, -0.1416] -> supported (meaningful effect)
    16 x 512, lr 0.01: SiLU has fewer saturated units than sigmoid (descriptive) (delta 0.05): inconclusive
        silu - sigmoid: -0.1209 [-0.5522, +0.3104] -> inconclusive (undecided, ~67 seeds would resolve it)
    16 x 512, lr 0.01: SiLU has fewer saturated units than tanh (descriptive) (delta 0.05): inconclusive
        silu - tanh: -0.2627 [-0.7570, +0.2316] -> inconclusive (undecided, ~21 seeds would resolve it)
    16 x 512, lr 0.01: SiLU's gradient reaches the first layer more evenly than relu's (|log10 first/last| lower) (descriptive) (delta 0.30103): inconclusive
        silu - relu: -0.1614 [-36.7555, +36.4327] -> inconclusive (undecided)
    16 x 512, lr 0.01: SiLU's gradient reaches the first layer more evenly than sigmoid's (|log10 first/last| lower) (descriptive) (delta 0.30103): inconclusive
        silu - sigmoid: -5.4585 [-26.3842, +15.4672] -> inconclusive (undecided, ~77 seeds would resolve it)
    16 x 512, lr 0.01: SiLU's gradient reaches the first layer more evenly than tanh's (|log10 first/last| lower) (descriptive) (delta 0.30103): inconclusive
        silu - tanh: +9.3454 [-11.6000, +30.2907] -> inconclusive (undecided, ~26 seeds would resolve it)
    SiLU's dead-unit gap to relu widens with depth (width 128, lr 0.001; descriptive) (delta 0.0125): supported
        silu - relu: -0.0446 [-0.0471, -0.0422] -> supported (meaningful effect)
    SiLU's saturated-unit gap to sigmoid widens with depth (width 128, lr 0.001; descriptive) (delta 0.0125): refuted
        silu - sigmoid: -0.0000 [-0.0000, +0.0000] -> refuted (no meaningful difference)
    SiLU's saturated-unit gap to tanh widens with depth (width 128, lr 0.001; descriptive) (delta 0.0125): refuted
        silu - tanh: -0.0011 [-0.0037, +0.0015] -> refuted (no meaningful difference)
    SiLU's dead-unit gap to relu widens with width (depth 16, lr 0.001; descriptive) (delta 0.0125): supported
        silu - relu: -0.0257 [-0.0400, -0.0114] -> supported (meaningful effect)
    SiLU's saturated-unit gap to sigmoid widens with width (depth 16, lr 0.001; descriptive) (delta 0.0125): refuted
        silu - sigmoid: -0.0001 [-0.0002, -0.0000] -> refuted (no meaningful difference)
    SiLU's saturated-unit gap to tanh widens with width (depth 16, lr 0.001; descriptive) (delta 0.0125): supported
        silu - tanh: -0.0316 [-0.0533, -0.0099] -> supported (meaningful effect)
    SiLU's gradient-imbalance gap to relu widens with depth (width 128, lr 0.001; descriptive) (delta 0.0752575): refuted
        silu - relu: +0.0155 [-0.0022, +0.0332] -> refuted (no meaningful difference)
    SiLU's gradient-imbalance gap to sigmoid widens with depth (width 128, lr 0.001; descriptive) (delta 0.0752575): supported
        silu - sigmoid: -4.8356 [-4.8538, -4.8173] -> supported (meaningful effect)
    SiLU's gradient-imbalance gap to tanh widens with depth (width 128, lr 0.001; descriptive) (delta 0.0752575): supported
        silu - tanh: -0.4972 [-0.9818, -0.0126] -> supported (meaningful effect)
    mean dead_end {"depth":16,"lr":0.0001,"width":512}: relu 0.0559, sigmoid 0.0000, silu 0.0000, tanh 0.0000
    mean dead_end {"depth":16,"lr":0.001,"width":128}: relu 0.0678, sigmoid 0.0000, silu 0.0000, tanh 0.0000
    mean dead_end {"depth":16,"lr":0.001,"width":32}: relu 0.0973, sigmoid 0.0000, silu 0.0000, tanh 0.0000
    mean dead_end {"depth":16,"lr":0.001,"width":512}: relu 0.2002, sigmoid 0.0005, silu 0.0000, tanh 0.0574
    mean dead_end {"depth":16,"lr":0.01,"width":512}: relu 0.8586, sigmoid 0.4745, silu 0.2807, tanh 0.4104
    mean dead_end {"depth":2,"lr":0.001,"width":128}: relu 0.0000, sigmoid 0.0000, silu 0.0000, tanh 0.0000
    mean dead_end {"depth":32,"lr":0.001,"width":128}: relu 0.1915, sigmoid 0.0000, silu 0.0000, tanh 0.0021
    mean dead_end {"depth":4,"lr":0.001,"width":128}: relu 0.0043, sigmoid 0.0000, silu 0.0000, tanh 0.0000
    mean dead_end {"depth":8,"lr":0.001,"width":128}: relu 0.0201, sigmoid 0.0002, silu 0.0000, tanh 0.0000
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass
from typing import Any, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data import load
from ..engine import Figure, Part, Profile, Result, Shared, Study, UnitSpec
from ..engine.tasks import Classification
from ..engine.train import Schedule, build, train
from ..metrics import activity, layer_grad_norms
from ..models import hidden_activations, mlp

#: a layer with no gradient at all (or a diverged unit) has this imbalance, in decades: beyond any finite one the
#: design produces (sigmoid loses ~0.6 decades per layer: ~19 at depth 32)
CAP = 30.0


#: the deciding cell, "deep and wide" at Adam's default rate (module header: why these)
DEPTH, WIDTH, LR = 16, 512, 1e-3
DEPTH_WIDTH = 128  # the depth sweep's width (the budget: module header)
OTHER_LRS = (1e-4, 1e-2)
DELTA = 0.05
GRAD_DELTA = math.log10(2.0)


@dataclass(frozen=True)
class Config:
    depth: int = DEPTH  # the deciding cell: deep ...
    width: int = WIDTH  # ... and wide
    lr: float = LR  # its learning rate, and the depth and width sweeps'
    depths: tuple[int, ...] = (2, 4, 8, 16, 32)  # the depth sweep, at width depth_width and rate lr
    depth_width: int = DEPTH_WIDTH
    widths: tuple[int, ...] = (32, 128, 512)  # the width sweep, at depth `depth` and rate lr
    lrs: tuple[float, ...] = (1e-4, 1e-3, 1e-2)  # the rate sweep, at (depth, width)
    steps: int = 500
    batch_size: int = 100
    probe_examples: int = 3200  # the whole training split: "dead" means on every training example
    grad_examples: int = 1000
    shrink: int = 1  # trained width = max(4, cell width // shrink): only the smoke test shrinks

    def __post_init__(self) -> None:
        if min(self.depths + (self.depth,)) < 2:
            raise ValueError(f"C03: depths must be >= 2 (first and last hidden layer differ), got {self.depths}")
        if (self.depth not in self.depths or self.width not in self.widths or self.lr not in self.lrs
                or self.depth_width not in self.widths):
            raise ValueError("C03: the sweeps must meet: the deciding depth on the depth sweep, the deciding width "
                             "and the depth sweep's width on the width sweep, the deciding rate on the rate sweep")
        if self.shrink < 1:
            raise ValueError(f"C03: shrink must be >= 1, got {self.shrink}")


PROFILES = {
    "quick": Profile(Config(steps=8, probe_examples=200, grad_examples=100, shrink=32), seeds=3,
                     runtime="~20 s on 2 cores", smoke=True),
    "full": Profile(Config(), seeds=5, runtime="~22 min on 2 cores (-j 2)"),
}


def cells(config: Config) -> list[dict[str, Any]]:
    """The design: a depth sweep, a width sweep and a rate sweep sharing the deciding cell (no duplicates)."""
    out: list[dict[str, Any]] = []
    cand = ([{"depth": d, "width": config.depth_width, "lr": config.lr} for d in config.depths]
            + [{"depth": config.depth, "width": w, "lr": config.lr} for w in config.widths]
            + [{"depth": config.depth, "width": config.width, "lr": r} for r in config.lrs])
    for c in cand:
        if c not in out:
            out.append(c)
    return out


def trained_width(config: Config, width: int) -> int:
    return max(4, int(width) // config.shrink)


@functools.lru_cache(maxsize=None)
def _task() -> Classification:
    return Classification(load("mnist1d"))


def model(act: Any, depth: int, width: int) -> nn.Sequential:
    data = _task().data
    return mlp(act, data.input_dim, data.num_classes, hidden=(width,) * depth, init="auto")


def backward_norms(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """Per hidden layer, the Frobenius norm of dL/dz over (x, y): the back-propagated signal at the layer's
    pre-activations z (L: mean cross-entropy), input side first.  Nothing in ``net`` changes (no ``.grad``)."""
    acts = hidden_activations(net)
    zs: list[torch.Tensor] = []
    handles = [a.register_forward_hook(lambda mod, inp, out: zs.append(inp[0])) for a in acts]
    try:
        with torch.enable_grad():
            loss = F.cross_entropy(net(x), y)
            grads = torch.autograd.grad(loss, zs)
    finally:
        for h in handles:
            h.remove()
    return [float(g.norm()) for g in grads]


def imbalance(first: float, last: float) -> float:
    """|log10(first / last)|, capped at CAP decades; a zero or non-finite norm gives CAP (no gradient flows)."""
    if not (first > 0 and last > 0 and math.isfinite(first) and math.isfinite(last)):
        return CAP
    return min(CAP, abs(math.log10(first / last)))


def log_ratio(first: float, last: float) -> float:
    """log10(first / last) clipped to [-CAP, CAP] (negative: the gradient vanishes towards the input); a zero
    norm gives -CAP or CAP, NaN in or both zero give NaN (the ratio is undefined)."""
    if math.isnan(first) or math.isnan(last) or first == last == 0:
        return math.nan
    if first > 0 and last > 0 and math.isfinite(first) and math.isfinite(last):
        return max(-CAP, min(CAP, math.log10(first / last)))
    return -CAP if first == 0 or last == math.inf else CAP


def _rms(norm: float, layer: nn.Linear) -> float:
    return norm / math.sqrt(layer.weight.numel())


def _probe(config: Config):
    data = _task().data
    x = data.x_train[: config.probe_examples]
    xg, yg = data.x_train[: config.grad_examples], data.y_train[: config.grad_examples]

    def loss(out, y):
        return F.cross_entropy(out, y)

    def probe(net: nn.Module, step: int):
        layers = activity(net, x)
        # gradients in float64 on a copy: a deep sigmoid net's first-layer gradient underflows float32
        net64 = copy.deepcopy(net).double()
        delta = backward_norms(net64, xg.double(), yg)
        wg = layer_grad_norms(net64, loss, xg.double(), yg)  # every Linear, the read-out last
        lin = [m for m in net64.modules() if isinstance(m, nn.Linear)]
        hidden = len(layers)
        n = float(hidden)
        metrics = {
            "dead": sum(a.dead_fraction for a in layers) / n,
            "saturated": sum(a.saturated_fraction for a in layers) / n,
            "zero": sum(a.zero_fraction for a in layers) / n,
            "grad_imbalance": imbalance(delta[0], delta[-1]),
            "grad_log_ratio": log_ratio(delta[0], delta[-1]),
            # the same on the weight gradients, per entry (first hidden Linear 40 -> w vs last hidden w -> w)
            "wgrad_imbalance": imbalance(_rms(wg[0], lin[0]), _rms(wg[hidden - 1], lin[hidden - 1])),
        }
        arrays = {"dead_layers": [a.dead_fraction for a in layers],
                  "saturated_layers": [a.saturated_fraction for a in layers],
                  "grad_layers": delta, "wgrad_layers": wg}
        return metrics, arrays

    return probe


def _rename(r: Result) -> Result:
    """``name@0`` -> ``name_init``, ``name@<last probed step>`` -> ``name_end`` (metrics and arrays)."""
    last = max((int(k.rsplit("@", 1)[1]) for k in r.metrics if "@" in k), default=0)
    for d in (r.metrics, r.arrays):
        for k in [k for k in d if "@" in k]:
            base, step = k.rsplit("@", 1)
            if int(step) == 0:
                d[base + "_init"] = d.pop(k)
            elif int(step) == last:
                d[base + "_end"] = d.pop(k)
    return r


def run(config: Config, units: Sequence[UnitSpec]) -> list[Result]:
    cell = units[0].cell
    depth, width, lr = int(cell["depth"]), trained_width(config, cell["width"]), float(cell["lr"])
    models = [build(lambda u=u: model(u.activation, depth, width), u.seed, depth, width) for u in units]
    sched = Schedule(steps=config.steps, batch_size=config.batch_size, lr=lr, eval_every=max(1, config.steps // 4))
    res = train(models, [u.seed for u in units], _task(), sched, phase=units[0].phase, probe=_probe(config),
                probe_at=(0,))
    for r in res:
        _rename(r)
        r.metrics["trained_width"] = float(width)
    return res




_WHY = ("5 % of a layer's units (26 of 512): a smaller share changes no layer's capacity noticeably; C18 uses the "
        "same smallest effect for dead units")
_GRAD_WHY = ("log10 2: SiLU's first-to-last gradient imbalance smaller by at least a factor 2; a smaller change of "
             "the ratio is within what one layer's re-scaling does")
_TREND_WHY = "0.05 (the contrasts' delta) accumulated over the sweep's four doublings of depth: 0.0125 per doubling"


def _cell_parts(cell: dict[str, Any], label: str, decides: bool) -> list[Part]:
    tag = "" if decides else " (descriptive)"
    kw = dict(cell=cell, decides=decides)
    parts = [
        Part(f"{label}: ReLU units die (dead fraction >= 0.05){tag}", "dead_end", direction="higher", delta=DELTA,
             why=_WHY, within=True, compared=("relu",), worst=0.0, **kw),
        Part(f"{label}: sigmoid units saturate (saturated fraction >= 0.05){tag}", "saturated_end",
             direction="higher", delta=DELTA, why=_WHY, within=True, compared=("sigmoid",), worst=0.0, **kw),
        Part(f"{label}: tanh units saturate (saturated fraction >= 0.05){tag}", "saturated_end", direction="higher",
             delta=DELTA, why=_WHY, within=True, compared=("tanh",), worst=0.0, **kw),
        Part(f"{label}: SiLU has fewer dead units than ReLU{tag}", "dead_end", direction="lower", delta=DELTA, why=_WHY,
             baseline="relu", compared=("silu",), worst=1.0, primary=decides, **kw),
    ]
    for arm in ("sigmoid", "tanh"):
        parts.append(Part(f"{label}: SiLU has fewer saturated units than {arm}{tag}", "saturated_end",
                          direction="lower", delta=DELTA, why=_WHY, baseline=arm, compared=("silu",), worst=1.0, **kw))
    for arm in ("relu", "sigmoid", "tanh"):
        parts.append(Part(f"{label}: SiLU's gradient reaches the first layer more evenly than {arm}'s "
                          f"(|log10 first/last| lower){tag}", "grad_imbalance_end", direction="lower",
                          delta=GRAD_DELTA, why=_GRAD_WHY, baseline=arm, compared=("silu",), worst=CAP, **kw))
    return parts


def _parts() -> list[Part]:
    deciding = {"depth": DEPTH, "width": WIDTH, "lr": LR}
    parts = _cell_parts(deciding, f"deep and wide ({DEPTH} x {WIDTH}, lr {LR:g})", True)
    for lr in OTHER_LRS:
        parts += _cell_parts({"depth": DEPTH, "width": WIDTH, "lr": lr}, f"{DEPTH} x {WIDTH}, lr {lr:g}", False)
    sweep_d = {"width": DEPTH_WIDTH, "lr": LR}
    sweep_w = {"depth": DEPTH, "lr": LR}
    for factor, cell, where in (("depth", sweep_d, f"width {DEPTH_WIDTH}"), ("width", sweep_w, f"depth {DEPTH}")):
        for metric, arm, what in (("dead_end", "relu", "dead"), ("saturated_end", "sigmoid", "saturated"),
                                  ("saturated_end", "tanh", "saturated")):
            parts.append(Part(f"SiLU's {what}-unit gap to {arm} widens with {factor} ({where}, lr {LR:g}; "
                              "descriptive)", metric, rule="trend", direction="lower", delta=DELTA / 4,
                              why=_TREND_WHY.replace("depth", factor), factor=factor, transform="log2",
                              baseline=arm, compared=("silu",), cell=cell, worst=1.0, decides=False))
    for arm in ("relu", "sigmoid", "tanh"):
        parts.append(Part(f"SiLU's gradient-imbalance gap to {arm} widens with depth (width {DEPTH_WIDTH}, lr {LR:g}; "
                          "descriptive)", "grad_imbalance_end", rule="trend", direction="lower", delta=GRAD_DELTA / 4,
                          why="log10 2 accumulated over the four doublings of depth", factor="depth",
                          transform="log2", baseline=arm, compared=("silu",), cell=sweep_d, worst=CAP,
                          decides=False))
    return parts


_SWEEP_D = {"width": DEPTH_WIDTH, "lr": LR}
_SWEEP_W = {"depth": DEPTH, "lr": LR}
_SWEEP_LR = {"depth": DEPTH, "width": WIDTH}
_DEAD = "dead fraction of hidden units (end of training)"
_SAT = "saturated fraction of hidden units (end of training)"
_GRAD = "|log10(first / last hidden layer's back-propagated gradient norm)|"

STUDY = Study(
    id="C03",
    profiles=PROFILES,
    run=run,
    parts=_parts(),
    baseline="relu",
    compared=("silu", "sigmoid", "tanh"),
    cells=cells,
    hyper=Shared(),  # the learning rate is a design factor of the cell: one rate shared by every arm
    secondary=("dead_init", "saturated_init", "zero_end", "grad_imbalance_init", "grad_log_ratio_end",
               "wgrad_imbalance_end", "test_acc"),
    rank=("dead_end", "lower"),
    figures=("metric",
             Figure("dead units vs depth", "dead_end", x="depth", cell=_SWEEP_D, logx=True,
                    xlabel=f"hidden layers (width {DEPTH_WIDTH}, lr {LR:g})", ylabel=_DEAD),
             Figure("saturated units vs depth", "saturated_end", x="depth", cell=_SWEEP_D, logx=True,
                    xlabel=f"hidden layers (width {DEPTH_WIDTH}, lr {LR:g})", ylabel=_SAT),
             Figure("dead units vs width", "dead_end", x="width", cell=_SWEEP_W, logx=True,
                    xlabel=f"hidden width ({DEPTH} layers, lr {LR:g})", ylabel=_DEAD),
             Figure("saturated units vs width", "saturated_end", x="width", cell=_SWEEP_W, logx=True,
                    xlabel=f"hidden width ({DEPTH} layers, lr {LR:g})", ylabel=_SAT),
             Figure("dead units vs learning rate", "dead_end", x="lr", cell=_SWEEP_LR, logx=True,
                    xlabel=f"Adam learning rate ({DEPTH} x {WIDTH})", ylabel=_DEAD),
             Figure("saturated units vs learning rate", "saturated_end", x="lr", cell=_SWEEP_LR, logx=True,
                    xlabel=f"Adam learning rate ({DEPTH} x {WIDTH})", ylabel=_SAT),
             Figure("gradient imbalance vs depth", "grad_imbalance_end", x="depth", cell=_SWEEP_D, logx=True,
                    xlabel=f"hidden layers (width {DEPTH_WIDTH}, lr {LR:g})", ylabel=_GRAD),
             Figure("gradient imbalance vs learning rate", "grad_imbalance_end", x="lr", cell=_SWEEP_LR, logx=True,
                    xlabel=f"Adam learning rate ({DEPTH} x {WIDTH})", ylabel=_GRAD),
             Figure("dead units per layer, by depth", "dead_layers_end", kind="layers", x="depth", cell=_SWEEP_D,
                    ylabel="dead fraction of the layer's units (end of training)"),
             Figure("saturated units per layer, by depth", "saturated_layers_end", kind="layers", x="depth",
                    cell=_SWEEP_D, ylabel="saturated fraction of the layer's units (end of training)"),
             Figure("dead units per layer, by learning rate", "dead_layers_end", kind="layers", x="lr",
                    cell=_SWEEP_LR, ylabel=f"dead fraction of the layer's units ({DEPTH} x {WIDTH})"),
             Figure("saturated units per layer, by learning rate", "saturated_layers_end", kind="layers", x="lr",
                    cell=_SWEEP_LR, ylabel=f"saturated fraction of the layer's units ({DEPTH} x {WIDTH})"),
             Figure("back-propagated gradient norm per layer, by depth", "grad_layers_end", kind="layers", x="depth",
                    cell=_SWEEP_D, ylabel="||dL/dz|| at the layer's pre-activations (end of training)"),
             Figure("back-propagated gradient norm per layer, by learning rate", "grad_layers_end", kind="layers",
                    x="lr", cell=_SWEEP_LR, ylabel=f"||dL/dz|| at the layer's pre-activations ({DEPTH} x {WIDTH})")),
    init="declared per activation (actlab.models.init): He-scaled second-moment gain for ReLU (sqrt 2) and SiLU "
         "(its gain by quadrature), Xavier (Glorot & Bengio 2010) for the bounded sigmoid and tanh; a user's "
         "activation: its gain by quadrature; biases zero, read-out LeCun",
    datasets=("mnist1d",),
    max_batch=10,
    doc=__doc__ or "",
)
