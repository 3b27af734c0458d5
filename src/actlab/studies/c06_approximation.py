"""C06 -- approximating an activation for learning: must the derivative be matched too (Hermite)?

Claim (seed 000, our words): interpolating polynomials (Newton) approximate activations, but for
learning the derivative must be matched too (Hermite), because the derivative is the learning signal.

One unit = one target activation and one seed.  The same MLP (40-100-100-10, MNIST-1D, Adam) is
trained four times from the same initial weights and minibatch order: with the true activation and
with degree-7 polynomial stand-ins fitted on [-4, 4] -- value-only interpolation through equispaced
nodes (``newton``) and Chebyshev nodes (``newton-chebyshev``), and Hermite interpolation matching
values and slopes (``hermite``).  For each stand-in: test accuracy and the cosine between its loss
gradient and the gradient the true activation gives at the same weights (mean over checkpoints along
training).  The per-arm trainer is :func:`actlab.approx.experiment.run`; this module only puts it
on the engine and states the verdict.

Verdict: four parts, each a within-unit contrast (Hermite minus a value-only arm, same activation
and seed) over all units -- gradient cosine and test accuracy, against each value-only arm.  The
claim is supported only if Hermite is better in every part; refuted if it is worse in any.

Commands and expected runtime (2 CPU cores):

    actlab run C06 --profile quick     # gelu, silu x 3 seeds, 200 steps per arm:  ~15 s
    actlab run C06 --profile full      # gelu, silu x 5 seeds, 3000 steps per arm: ~15 min
    actlab verdict C06

Expected result: not typed in -- computed from the stored runs.  A plain-loop run of the same
experiment (GELU, 5 seeds, 3000 steps; docs/approx.md) found the opposite of the claim: at equal
degree Hermite's gradients were *less* faithful (cosine 0.33 vs 0.51 equispaced, 0.48 Chebyshev),
because matching slopes halves the number of nodes near 0, where pre-activations live.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..approx import experiment as arms
from ..claims import claim
from ..engine import Result, Study, combine, contrast_verdict

CLAIM = claim("C06").statement
VALUE_ONLY = ("newton", "newton-chebyshev")
ARMS = ("true", *VALUE_ONLY, "hermite")


@dataclass(frozen=True)
class Config:
    degree: int = 7
    interval: tuple[float, float] = (-4.0, 4.0)
    hidden: tuple[int, ...] = (100, 100)
    steps: int = 3000
    batch_size: int = 128
    lr: float = 1e-3
    checkpoints: int = 10
    probe_size: int = 512


PROFILES = {
    "quick": Config(steps=200, checkpoints=2, probe_size=128),
    "full": Config(),
}


def run(config: Config, activation, seed: int) -> Result:
    cfg = arms.Config(activation=activation, degree=config.degree, interval=tuple(config.interval), arms=ARMS,
                      hidden=tuple(config.hidden), steps=config.steps, batch_size=config.batch_size, lr=config.lr,
                      seeds=(seed,), checkpoints=config.checkpoints, probe_size=config.probe_size)
    arms.check_config(cfg)
    metrics: dict[str, float] = {}
    diverged = []
    for arm in ARMS:
        m = arms.run(cfg, arm, seed)
        if m["diverged_at"] is not None:
            diverged.append(f"{arm} at step {m['diverged_at']}")
        metrics[f"{arm}/test_acc"] = m["test_accuracy"]
        metrics[f"{arm}/preact_outside"] = m["preact_outside_interval"]
        if arm != "true":
            metrics[f"{arm}/grad_cosine"] = m["grad_cosine_mean"]
    for v in VALUE_ONLY:
        for what in ("grad_cosine", "test_acc"):
            metrics[f"hermite-{v}/{what}"] = metrics[f"hermite/{what}"] - metrics[f"{v}/{what}"]
    if diverged:
        return Result(metrics, status="diverged", error="diverged: " + ", ".join(diverged))
    return Result(metrics)


def verdict(records, config: Config):
    h = records[0].config_hash if records else ""
    parts = [contrast_verdict(records, study="C06", claim=f"Hermite's {what.replace('_', ' ')} is higher than {v}'s",
                              metric=f"hermite-{v}/{what}", direction="higher", config_hash=h)
             for what in ("grad_cosine", "test_acc") for v in reversed(VALUE_ONLY)]
    return combine(parts, study="C06", claim=CLAIM, records=records, config_hash=h)


STUDY = Study(
    id="C06",
    claim=CLAIM,
    kind="theory + experiment",
    profiles=PROFILES,
    seeds={"quick": 3, "full": 5},
    expected={"quick": "~15 s on 2 cores", "full": "~15 min on 2 cores"},
    run=run,
    verdict=verdict,
    activations=("gelu", "silu"),
    doc=__doc__ or "",
)
