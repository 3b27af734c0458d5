"""Fast paths for activations: memory-lean autograd Functions, fused gated units, the gated MLP,
and optional Triton kernels.  Never the source of truth: every path here is derived from a zoo spec
and tested against the spec's reference formulas.

* :func:`lean` / :func:`plan` -- pointwise activations that keep only their input (``Activation``
  objects already use the path :func:`plan` measures as best);
* :func:`gated` -- fused ``gate(a) * b`` for separate and packed layouts;
* :class:`GatedMLP` -- Llama-style gate/up/down feed-forward block keeping only x, a and b;
* :func:`triton_available` -- whether the Triton kernels can run here.
"""

from __future__ import annotations

import importlib.util
import os

from .gated import gated, gated_reference
from .lean import lean, plan
from .mlp import GatedMLP, gated_mlp

__all__ = ["GatedMLP", "gated", "gated_mlp", "gated_reference", "lean", "plan", "triton_available"]


def triton_available(*, interpret_only: bool = False) -> bool:
    """Whether the Triton kernels can run: triton installed and (a CUDA GPU or ``TRITON_INTERPRET=1``).

    With ``interpret_only=True``: whether the CPU interpreter is switched on (the variable must be set
    before triton is first imported, as the interpreter requires).
    """
    interp = os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")
    if interpret_only:
        return interp
    if importlib.util.find_spec("triton") is None:
        return False
    import torch

    return interp or torch.cuda.is_available()
