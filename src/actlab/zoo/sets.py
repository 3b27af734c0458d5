"""Named comparison sets (the standard line-ups studies and galleries compare against)."""

from __future__ import annotations

#: the default comparison set of the claims ledger
DEFAULT_SET: tuple[str, ...] = (
    "relu", "leaky_relu", "prelu", "elu", "selu", "gelu", "gelu(approximate='tanh')",
    "silu", "mish", "hardswish", "softplus", "tanh", "sigmoid",
)

#: gated units, for claims about gated feed-forward blocks
GATED_SET: tuple[str, ...] = ("glu", "reglu", "geglu", "swiglu", "bilinear")
