"""Small helpers shared by the family files (no activation names live here)."""

from __future__ import annotations

import torch

from .spec import SMOOTH, Properties


def props(*, monotone: bool, convex: bool, below: bool, above: bool, smooth: float = SMOOTH,
          zero_centred: bool = False, self_gated: bool = False, phi0: float = 0.0, dphi0: float) -> Properties:
    return Properties(monotone=monotone, convex=convex, bounded_below=below, bounded_above=above,
                      smoothness=smooth, zero_centred=zero_centred, self_gated=self_gated,
                      phi0=float(phi0), dphi0=float(dphi0))


def step(cond: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Indicator of ``cond`` in the dtype of ``x``."""
    return cond.to(x.dtype)


def as_tensor(v, x: torch.Tensor) -> torch.Tensor:
    """A parameter (float or learned tensor) in the dtype and device of ``x``."""
    return v.to(x.dtype) if isinstance(v, torch.Tensor) else torch.tensor(v, dtype=x.dtype, device=x.device)
