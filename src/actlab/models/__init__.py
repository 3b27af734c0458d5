"""Small, explicit model builders that take an activation, one file per model family.

Every builder returns an ``nn.Sequential`` -- of ``nn.Linear`` / ``nn.Conv1d`` / ``nn.Flatten`` and
activation modules (``act.module()``) unless BatchNorm or residual blocks are asked for -- so a reader
sees the whole architecture in one place and :mod:`actlab.engine.ensemble` can stack many of them into
one batched program.  Weights are
initialised by a declared per-activation policy (:mod:`.init`).

Gated units (``glu``, ``swiglu`` ...) halve their input, so the layer feeding a gated unit is built twice
as wide and the hidden width seen by the next layer stays as requested.
"""

from .cnn import cnn1d
from .init import SCHEMES, apply_init, init_for
from .mlp import Residual, hidden_activations, mlp

__all__ = ["Residual", "SCHEMES", "apply_init", "cnn1d", "hidden_activations", "init_for", "mlp"]
