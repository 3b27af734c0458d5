"""Checks that a user's activation is fit for analysis and training.

``check_activation(act)`` returns a list of :class:`Finding` s, each with a one-line message that says
what is wrong and what to do.  ``ok`` findings document what passed, so a report can show both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from .activation import Activation
from .registry import get


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    message: str


def _grid() -> torch.Tensor:
    return torch.cat([torch.linspace(-10, 10, 2001, dtype=torch.float64),
                      torch.tensor([-1e4, -1e2, 1e2, 1e4], dtype=torch.float64)])


def check_activation(obj: Any) -> list[Finding]:
    """Run every check on ``obj`` (anything :func:`actlab.get` accepts) and return the findings."""
    act: Activation = get(obj)
    out: list[Finding] = []
    if act.is_gated:
        act = act.gate

    def record(check: str, ok: bool, good: str, bad: str) -> bool:
        out.append(Finding(check, ok, good if ok else bad))
        return ok

    x = _grid()
    try:
        y = act(x)
    except Exception as e:  # a user's function may fail in any way: report it, do not crash
        record("runs", False, "", f"calling it on a float64 tensor raised {type(e).__name__}: {e}")
        return out
    if not record("returns a tensor", isinstance(y, torch.Tensor), "returns a tensor",
                  f"returned {type(y).__name__}; return a torch.Tensor"):
        return out
    if not record("elementwise shape", y.shape == x.shape, "output shape equals input shape",
                  f"output shape {tuple(y.shape)} differs from input {tuple(x.shape)}; activations act elementwise"):
        return out
    perm = torch.randperm(x.numel(), generator=torch.Generator().manual_seed(0))
    pieces = torch.cat([act(x[:7]), act(x[7:])])  # batch statistics (x - mean) change when split
    same = torch.allclose(act(x[perm]), y[perm], rtol=1e-12, atol=1e-12, equal_nan=True)
    same = same and torch.allclose(pieces, y, rtol=1e-12, atol=1e-12, equal_nan=True)
    record("elementwise", same, "acts elementwise (permuting or splitting the input does not change values)",
           "output depends on other elements of the input; an activation must act elementwise")
    bad = (~torch.isfinite(y)).nonzero().flatten()
    record("finite", bad.numel() == 0, "finite on [-1e4, 1e4]",
           f"not finite at x = {x[bad[:3]].tolist()}; guard the tails (e.g. clamp before exp)")
    xg = x.clone().requires_grad_()
    try:
        yg = act(xg)
        if not yg.requires_grad:
            record("differentiable", False, "", "output does not depend on the input through autograd; "
                   "use torch operations (not .item()/numpy) so gradients flow")
        else:
            (g,) = torch.autograd.grad(yg.sum(), xg)
            nb = (~torch.isfinite(g)).nonzero().flatten()
            record("differentiable", nb.numel() == 0, "gradient finite on [-1e4, 1e4]",
                   f"gradient not finite at x = {x[nb[:3]].tolist()}")
            record("trainable", bool((g != 0).any()), "gradient non-zero somewhere",
                   "gradient is zero everywhere, so a network with it cannot learn by backpropagation "
                   "(.item(), numpy or .detach() inside the function also cut the gradient)")
    except Exception as e:
        record("differentiable", False, "", f"backward raised {type(e).__name__}: {e}")
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        try:
            # the raw function: actlab's wrapper casts back, which would hide the problem
            yd = act.spec.fn(torch.linspace(-3, 3, 7, dtype=dtype), **act.params)
            record(f"dtype {dtype}".replace("torch.", ""), yd.dtype == dtype, f"preserves {dtype}".replace("torch.", ""),
                   f"turns {dtype} into {yd.dtype}; cast the result back (y.to(x.dtype))".replace("torch.", ""))
        except Exception as e:
            record(f"dtype {dtype}".replace("torch.", ""), False, "", f"fails on {dtype}: {type(e).__name__}: {e}".replace("torch.", ""))
    nan = act(torch.tensor([float("nan")], dtype=torch.float64))
    record("nan", bool(torch.isnan(nan).all()), "NaN in gives NaN out",
           "NaN in does not give NaN out: the function hides invalid inputs")
    return out


def problems(obj: Any) -> list[str]:
    """The messages of the failed checks (empty when the activation is fit for use)."""
    return [f.message for f in check_activation(obj) if not f.ok]
