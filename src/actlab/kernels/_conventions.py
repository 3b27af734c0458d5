"""The zoo's numerical conventions for the kernel paths (the zoo applies them, under ``vmap`` too)."""

from __future__ import annotations

import torch

from ..zoo.activation import Activation, evaluate
from ..zoo.activation import is_transformed as transformed  # noqa: F401  (re-exported for the kernels)


def value(act: Activation, x: torch.Tensor) -> torch.Tensor:
    """phi(x) with the zoo's conventions."""
    return act.value(x)


def derivative(act: Activation, x: torch.Tensor) -> torch.Tensor:
    """phi'(x) (closed form) with the zoo's conventions."""
    d = act.spec.derivative
    if d is None:
        raise TypeError(f"{act.name} declares no closed-form derivative")
    return evaluate(d, x, act.params, act.limits_of("derivative"))


def check_float(name: str, *tensors: torch.Tensor) -> None:
    """Clear errors for what the kernels do not support."""
    for t in tensors:
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} takes torch.Tensor inputs, got {type(t).__name__}")
        if not t.is_floating_point():
            raise TypeError(f"{name} supports float16, bfloat16, float32 and float64 tensors, got {t.dtype}; "
                            "convert with .float()")
    devs = {t.device for t in tensors}
    if len(devs) > 1:
        raise ValueError(f"{name}: inputs are on different devices {sorted(map(str, devs))}; move them to one device")


def limits4(gate: Activation) -> tuple[list[float], bool]:
    """([phi(-inf), phi(inf), phi'(-inf), phi'(inf)], whether the spec declares limits) for the kernels,
    which apply them in their own loops instead of a separate pass."""
    if gate.spec.limits is None:
        return [0.0, 0.0, 0.0, 0.0], False
    return [*gate.limits_of("fn"), *gate.limits_of("derivative")], True  # type: ignore[misc]
