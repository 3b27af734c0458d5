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


def pwl_props(value, slope, breaks, *, dphi0: float) -> Properties:
    """Properties of a continuous piecewise-linear function, exactly from its pieces.

    ``value(x)`` and ``slope(x)`` are float functions (``slope`` on the open pieces); ``breaks`` are the
    candidate knots.  Monotone: every slope >= 0; convex: slopes non-decreasing; bounded below: the
    left tail does not fall (slope <= 0) and the right tail does not fall (slope >= 0); signs from the
    values at the knots and the tails' directions.
    """
    b = sorted(set(float(v) for v in breaks))
    probes = [b[0] - 1.0] + [(lo + hi) / 2 for lo, hi in zip(b, b[1:])] + [b[-1] + 1.0] if b else [0.0]
    s = [float(slope(p)) for p in probes]
    vals = [float(value(k)) for k in b] or [float(value(0.0))]
    neg = min(vals) < 0 or s[0] > 0 or s[-1] < 0
    pos = max(vals) > 0 or s[0] < 0 or s[-1] > 0
    phi0 = float(value(0.0))
    kinked = any(u != v for u, v in zip(s, s[1:]))
    return Properties(monotone=all(v >= 0 for v in s), convex=all(u <= v for u, v in zip(s, s[1:])),
                      bounded_below=s[0] <= 0 <= s[-1], bounded_above=s[0] >= 0 >= s[-1],
                      smoothness=0 if kinked else SMOOTH, zero_centred=phi0 == 0 and neg and pos,
                      self_gated=False, phi0=phi0, dphi0=float(dphi0))


def pwl_kinks(slope, breaks) -> tuple[float, ...]:
    """The knots of ``breaks`` where the slope of a piecewise-linear function actually changes."""
    b = sorted(set(float(v) for v in breaks))
    return tuple(k for k in b if float(slope(k - 1e-9 * (1 + abs(k)))) != float(slope(k + 1e-9 * (1 + abs(k)))))


def f32(v: float) -> float:
    """``v`` rounded to the nearest float32.

    Defaults of parameters that modules learn by default are kept float32-representable: the module's
    ``nn.Parameter`` is float32, and so it starts exactly at the spec's value (module and functional
    form agree bit for bit, in float64 too).
    """
    import struct

    return struct.unpack("f", struct.pack("f", float(v)))[0]
