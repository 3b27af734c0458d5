"""The claims ledger: what the literature says activations do, as testable statements.

Each claim gets an id (C01…C26), our own one-sentence statement, whether it is checked by computation
(``theory``), by training models (``experiment``), both, or by a benchmark, and what is measured.  A
study module in :mod:`actlab.studies` names the claim it tests; the report shows every claim here,
with "not run yet" where no study or no stored result exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["theory", "experiment", "theory + experiment", "benchmark"]


@dataclass(frozen=True)
class Claim:
    id: str
    statement: str
    kind: Kind
    measured: str


_ROWS: tuple[tuple[str, str, Kind, str], ...] = (
    ("C01", "Smooth activations with a non-zero negative response (GELU, SiLU) train faster and end more accurate than ReLU.",
     "experiment", "steps to a target accuracy and final test accuracy (MNIST-1D MLP and CNN, digits MLP)"),
    ("C02", "A sigmoid gate's slope never exceeds 1/4, so gradients through chains of sigmoid gates shrink "
            "exponentially; gates whose slope can reach 1 (Swish-like) keep long-range gradients alive.",
     "theory + experiment", "the slope bound; gradient norm against time lag in gated RNNs; accuracy against sequence length"),
    ("C03", "Deep, wide ReLU networks accumulate dead units and sigmoid/tanh networks saturate; Swish keeps more "
            "units active and gradients flowing.",
     "experiment", "dead and saturated unit fractions per layer against depth, width and learning rate; per-layer gradient norms"),
    ("C04", "A linear CNN's effective receptive field is fixed, symmetric and the same for every input; "
            "with ReLU it depends on the input.",
     "experiment", "effective receptive fields across inputs: spread over inputs and asymmetry"),
    ("C05", "ReLU or softplus applied to attention scores gates attention into sparse, focused patterns, unlike softmax.",
     "experiment", "exact-zero fraction and entropy of attention rows; accuracy on a retrieval task"),
    ("C06", "Interpolating polynomials (Newton) approximate activations, but for learning the derivative must be "
            "matched too (Hermite).",
     "theory + experiment", "value and derivative error by method and degree; training with value-only vs derivative-matched approximants"),
    ("C07", "Gene regulatory networks are neural networks: genes are units, signed regulation strengths are weights, "
            "and the response is a Hill sigmoid with a threshold and saturation.",
     "theory + experiment", "the Hill activation; a bistable toggle switch and an oscillating repressilator; fitting a Hill network to trajectories"),
    ("C08", "In a residual branch computing φ(z) − z, Swish gives an output mean much nearer zero than ReLU.",
     "theory + experiment", "E[φ(z) − z] for Gaussian z; measured means in trained residual networks"),
    ("C09", "A minimal model learns the identity map in far fewer steps with Swish than with tanh.",
     "experiment", "steps to a loss threshold against the input range"),
    ("C10", "SwiGLU feed-forward blocks match or beat standard ones with fewer parameters and train more stably.",
     "experiment", "validation loss of a small Transformer language model at matched and reduced parameter counts; loss spikes"),
    ("C11", "Saliency maps of Swish networks are denser and more graded than those of ReLU networks.",
     "experiment", "fraction of non-negligible saliency, Gini coefficient, agreement with occlusion maps"),
    ("C12", "Smooth non-saturating projection-head activations (Swish, Mish, learnable PReLU) keep contrastive "
            "embeddings isotropic and resist collapse.",
     "experiment", "embedding variance, effective rank, eigenvalue entropy, linear-probe accuracy"),
    ("C13", "Hard-swish is a cheap piecewise stand-in for Swish whose gradients stay close to Swish's under "
            "quantisation-aware training.",
     "experiment", "speed; cosine between fake-quantised and float gradients; accuracy after int8 QAT"),
    ("C14", "A ReLU network's second derivative vanishes almost everywhere, so a ReLU PINN cannot solve "
            "second-order PDEs, while smooth activations can.",
     "theory + experiment", "u_xx of ReLU networks; relative L2 error of PINNs on second-order PDEs by activation"),
    ("C15", "When a network is the update of an iterative solver, stability is set by the spectral radius of its "
            "Jacobian at the fixed point, which depends on φ′(0) (SiLU 1/2, ELU 1).",
     "theory + experiment", "spectral radius at the fixed point; divergence rate of learned solvers by activation"),
    ("C16", "Rectifiers make activations sparse, and the activation changes robustness to input noise and outliers.",
     "experiment", "exact-zero fraction per layer; accuracy under input noise"),
    ("C17", "Activations differ in time and memory cost; the choice is a performance knob.",
     "benchmark", "forward/backward time and memory kept for backward, per activation"),
    ("C18", "PReLU's learned negative slope prevents dead units; BatchNorm's re-centring keeps ReLU units alive "
            "another way; the two combine.",
     "experiment", "dead-unit fraction for ReLU, PReLU, ReLU+BN and PReLU+BN; learned slopes"),
    ("C19", "After a PReLU of slope α, the BatchNorm scale that normalises the signal is a direct function of α.",
     "theory + experiment", "γ*(α) from Gaussian moments; learned γ against α in trained networks"),
    ("C20", "SGD's gradient noise depends on the moments of φ′; PReLU with a moderate slope (about 0.5) is less "
            "noisy than ReLU or LeakyReLU(0.01).",
     "theory + experiment", "relative gradient variance against α, from the formula and over minibatches"),
    ("C21", "In a unit blending ReLU and ELU through a learnable knob, the knob learns only from negative inputs.",
     "theory + experiment", "the knob's gradient on all-positive inputs is exactly zero; knob trajectories"),
    ("C22", "In RNNs the activation's average slope decides whether gradients vanish or explode through time; "
            "ReLU damps, ELU keeps a non-zero slope everywhere.",
     "theory + experiment", "E[φ′] and E[φ′²] under a Gaussian; gradient norm through time in vanilla RNNs"),
    ("C23", "SELU's λ and α make mean 0 / variance 1 an attracting fixed point, so deep SELU networks stay "
            "normalised without BatchNorm.",
     "theory + experiment", "λ and α solved from the fixed point; per-layer statistics and trainability of deep unnormalised networks"),
    ("C24", "On heterophilous graphs ELU keeps the negative (inhibitory) aggregated signal that ReLU cuts off, "
            "and learns better.",
     "experiment", "node-classification accuracy against homophily on contextual stochastic block models"),
    ("C25", "Non-negative weights with non-decreasing activations give a monotone network; ELU trains such "
            "networks more efficiently than ReLU.",
     "experiment", "monotonicity certified on a grid; steps to a target loss"),
    ("C26", "Input-convex networks need convex, non-decreasing activations; ELU qualifies only for α ≤ 1.",
     "theory + experiment", "admissibility per activation; convexity violations in trained ICNNs with ELU α > 1"),
)

CLAIMS: dict[str, Claim] = {r[0]: Claim(*r) for r in _ROWS}


def claim(claim_id: str) -> Claim:
    """The claim with this id (``KeyError`` naming the valid range otherwise)."""
    try:
        return CLAIMS[claim_id.upper()]
    except KeyError:
        raise KeyError(f"unknown claim {claim_id!r}: ids run from C01 to C{len(CLAIMS):02d}") from None
