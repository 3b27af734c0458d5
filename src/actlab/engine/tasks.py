"""Tasks: what one training loop needs to know about a problem -- batches, loss, evaluation.

:func:`actlab.engine.train.train` runs any :class:`Task`, for one model or many stacked as an
:class:`~actlab.engine.ensemble.Ensemble`; shapes carry a leading model axis ``E`` throughout (a single
model is ``E = 1``), so a regression, a language model, a PDE residual or a contrastive loss fits the
same loop as classification by implementing these three methods:

* ``batch(idx)`` -- the training inputs and targets at integer indices ``idx`` of shape ``(E, B)``;
* ``loss(out, target)`` -- the per-model mean training loss, shape ``(E,)``;
* ``evaluate(forward, split)`` -- metrics on ``"val"`` or ``"test"`` as ``{name: tensor (E,)}``, where
  ``forward(x)`` maps inputs without the model axis to outputs with it.

``headline`` names the evaluation metric that "steps to target" and tuning read.
"""

from __future__ import annotations

from typing import Callable, Protocol

import torch
import torch.nn.functional as F

__all__ = ["Classification", "Task"]


class Task(Protocol):
    n_train: int
    headline: str
    higher_is_better: bool

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...

    def loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor: ...

    def evaluate(self, forward: Callable[[torch.Tensor], torch.Tensor], split: str) -> dict[str, torch.Tensor]: ...


class Classification:
    """Cross-entropy classification on a :class:`actlab.data.Dataset`; evaluation: accuracy and loss."""

    headline = "acc"
    higher_is_better = True

    def __init__(self, data):
        self.data = data
        self.n_train = len(data.x_train)

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.data.x_train[idx], self.data.y_train[idx]

    def loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        E = out.shape[0]
        per = F.cross_entropy(out.flatten(0, 1), target.flatten(), reduction="none")
        return per.view(E, -1).mean(1)

    def evaluate(self, forward: Callable[[torch.Tensor], torch.Tensor], split: str) -> dict[str, torch.Tensor]:
        if split not in ("val", "test"):
            raise ValueError(f"split must be 'val' or 'test', got {split!r}")
        x, y = getattr(self.data, f"x_{split}"), getattr(self.data, f"y_{split}")
        with torch.no_grad():
            out = forward(x)  # (E, N, classes)
            acc = (out.argmax(-1) == y).float().mean(1)
            loss = self.loss(out, y.unsqueeze(0).expand(out.shape[0], -1))
        return {"acc": acc, "loss": loss}
