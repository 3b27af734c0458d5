"""Gated linear units: out = gate(a)·b.

Packed layout: ``act(x)`` splits the last dimension in halves ``[b, a]`` -- the *second* half is the
gate, exactly as ``torch.nn.functional.glu`` (and the original GLU paper).  With two tensors,
``act(a, b)`` is ``gate(a)·b`` (Llama's ``silu(gate_proj(x)) * up_proj(x)``).
Parameters of a gated unit are passed on to its gate.
"""

from __future__ import annotations

import torch.nn.functional as F

from .registry import register, spec
from .spec import ActivationSpec

_REF = "Dauphin et al. 2017 (GLU); Shazeer 2020 (GLU variants improve Transformer)"

register(ActivationSpec(
    name="glu", kind="gated", gate="sigmoid", family="gated", reference=_REF,
    summary="Gated linear unit: σ(a)·b.", formula="GLU(a, b) = σ(a)·b",
    torch_functional=F.glu, torch_module="GLU",
))
register(ActivationSpec(
    name="reglu", kind="gated", gate="relu", family="gated", reference=_REF,
    summary="ReLU-gated linear unit: ReLU(a)·b.", formula="ReGLU(a, b) = max(0, a)·b",
))
register(ActivationSpec(
    name="geglu", kind="gated", gate="gelu", family="gated", reference=_REF,
    params=spec("gelu").params,
    summary="GELU-gated linear unit (exact or tanh GELU).", formula="GEGLU(a, b) = GELU(a)·b",
))
register(ActivationSpec(
    name="swiglu", kind="gated", gate="silu", family="gated", reference=_REF,
    params=spec("silu").params,
    summary="Swish-gated linear unit, the feed-forward gate of PaLM and Llama.", formula="SwiGLU(a, b) = SiLU(βa)·b",
))
register(ActivationSpec(
    name="bilinear", kind="gated", gate="identity", family="gated", reference=_REF,
    summary="Bilinear unit: the gate is the identity.", formula="Bilinear(a, b) = a·b",
))
