"""``Activation``: a spec bound to parameter values -- the object users call.

Numerical conventions kept here, once, for every spec:

* float16/bfloat16 inputs are computed in float32 and cast back (the half formats lose too much in
  ``exp``/``log1p`` tails; PyTorch's own CPU kernels upcast the same way);
* NaN in gives NaN out, whatever the branch structure of the formula;
* +-inf give the function's limits (found once per spec and parameters by evaluating far out in
  float64), so ``x * sigmoid(x)`` at -inf is 0, not ``-inf * 0 = NaN``;
* under autograd, the functional form keeps only the input for backward and its backward is the
  spec's closed-form derivative (same rules, finite gradients in the tails); the forward values come
  from the native kernel where measurement shows it lean and right on finite inputs -- see
  ``actlab.kernels.lean``.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Iterable, Mapping

import torch

from .spec import ActivationSpec, ParamValue

_HALF = (torch.float16, torch.bfloat16)
_FAR = 1e300


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float32 if dtype in _HALF else dtype


@functools.lru_cache(maxsize=4096)
def _limits(fn: Callable[..., Any], items: tuple[tuple[str, ParamValue], ...]) -> tuple[float, float]:
    """phi(-inf), phi(+inf) found by evaluating at +-1e300 in float64 (|value| > 1e100 means infinite)."""
    x = torch.tensor([-_FAR, _FAR], dtype=torch.float64)
    with torch.no_grad():
        y = fn(x, **dict(items)).tolist()
    return tuple(v if math.isnan(v) or abs(v) < 1e100 else math.copysign(math.inf, v) for v in y)  # type: ignore[return-value]


def is_transformed(*tensors: torch.Tensor | None) -> bool:
    """True if any tensor is a functorch wrapper (inside ``vmap``/``grad``/``jacrev`` ...)."""
    wrapped = torch._C._functorch.is_functorch_wrapped_tensor
    return any(t is not None and wrapped(t) for t in tensors)


def _fix_special(x: torch.Tensor, y: torch.Tensor, fn: Callable[..., Any] | None, params: Mapping[str, Any]) -> torch.Tensor:
    """Apply the NaN and +-inf conventions to ``y = fn(x)``.

    On plain tensors the +-inf pass is skipped when there is no infinity (one cheap test); under
    functorch transforms, which reject data-dependent branches, it is always applied.
    """
    if fn is not None and (is_transformed(x) or torch.isinf(x).any()):
        lo, hi = _limits(fn, tuple(sorted(params.items())))
        y = torch.where(x == -math.inf, torch.tensor(lo, dtype=y.dtype), y)
        y = torch.where(x == math.inf, torch.tensor(hi, dtype=y.dtype), y)
    return torch.where(torch.isnan(x), x, y)


def _eval(fn: Callable[..., Any], x: torch.Tensor, params: Mapping[str, Any], limits: bool) -> torch.Tensor:
    cd = _compute_dtype(x.dtype)
    xc = x.to(cd)
    y = fn(xc, **params)
    y = _fix_special(xc, y, fn if limits else None, params)
    return y.to(x.dtype)


#: How ``Activation.__call__`` evaluates a pointwise activation.  ``actlab.kernels`` installs its
#: measured dispatcher (native kernel, memory-lean closed form or autograd) when it is imported, which
#: ``import actlab`` always does; the zoo itself never imports upwards.  Without it: the formula.
_dispatch: Callable[["Activation", torch.Tensor], torch.Tensor] | None = None


#: How a gated unit ``act(a, b)`` may be fused: returns the result, or None for the composition
#: ``gate(a) * b`` (``actlab.kernels`` fuses CUDA tensors with its Triton kernels).
_gated_dispatch: Callable[["Activation", torch.Tensor, torch.Tensor], torch.Tensor | None] | None = None


def set_dispatch(fn: Callable[["Activation", torch.Tensor], torch.Tensor] | None,
                 gated: Callable[["Activation", torch.Tensor, torch.Tensor], torch.Tensor | None] | None = None) -> None:
    """Install the functions ``Activation.__call__`` hands pointwise evaluation and gated units to
    (None: the formula, the composition)."""
    global _dispatch, _gated_dispatch
    _dispatch, _gated_dispatch = fn, gated


class Activation:
    """A spec with its parameters bound.  Call it on tensors; ``.module()`` gives an ``nn.Module``."""

    __slots__ = ("spec", "params", "_gate")

    def __init__(self, spec: ActivationSpec, params: Mapping[str, ParamValue]):
        self.spec = spec
        self.params: dict[str, ParamValue] = dict(params)
        self._gate: Activation | None = None
        if spec.kind == "gated":
            from .registry import spec as lookup

            gate = lookup(spec.gate)  # type: ignore[arg-type]
            self._gate = Activation(gate, gate.resolve({k: v for k, v in self.params.items()}))

    # -- identity ----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """Canonical string: the spec name with the parameters that differ from the defaults.

        A user's callable is named ``function_name@fingerprint`` (a hash of its source and, for an
        ``nn.Module``, of its parameters): results stored under the name of an edited function are
        never reused for the new one.
        """
        if self.spec.user and self.spec.fingerprint:
            return f"{self.spec.name}@{self.spec.fingerprint}"
        diff = {k: v for k, v in self.params.items() if v != self.spec.defaults[k]}
        if not diff:
            return self.spec.name
        return f"{self.spec.name}({', '.join(f'{k}={v!r}' for k, v in diff.items())})"

    def __repr__(self) -> str:
        return f"Activation({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Activation) and other.spec == self.spec and other.params == self.params

    def __hash__(self) -> int:
        return hash((self.spec.name, tuple(sorted(self.params.items()))))

    def with_params(self, **params: Any) -> "Activation":
        return Activation(self.spec, self.spec.resolve({**self.params, **params}))

    @property
    def is_gated(self) -> bool:
        return self.spec.kind == "gated"

    @property
    def gate(self) -> "Activation":
        """The pointwise gate of a gated unit."""
        if self._gate is None:
            raise TypeError(f"{self.name} is not a gated unit")
        return self._gate

    @property
    def properties(self):
        return self.spec.properties_at(self.params)

    @property
    def kinks(self) -> tuple[float, ...]:
        return self.spec.kinks_at(self.params)

    # -- evaluation --------------------------------------------------------------------------
    def _value(self, x: torch.Tensor) -> torch.Tensor:
        return _eval(self.spec.fn, x, self.params, self.spec.limits is not None)  # type: ignore[arg-type]

    def __call__(self, x: torch.Tensor, b: torch.Tensor | None = None, *, dim: int = -1) -> torch.Tensor:
        """phi(x) for pointwise specs.

        Gated units: ``act(a, b)`` is ``gate(a) * b``; ``act(x)`` splits ``x`` in halves along ``dim``
        and computes ``first_half * gate(second_half)`` -- the second half gates, as in
        ``torch.nn.functional.glu``.
        """
        _check_tensor(x, self.name)
        if self.is_gated:
            if b is None:
                if x.shape[dim] % 2:
                    raise ValueError(f"{self.name}: dimension {dim} has odd size {x.shape[dim]}; cannot split in halves")
                b, x = x.chunk(2, dim=dim)
            else:
                _check_tensor(b, self.name)
            if _gated_dispatch is not None:
                y = _gated_dispatch(self, x, b)
                if y is not None:
                    return y
            return self.gate(x) * b
        if b is not None:
            raise TypeError(f"{self.name} is pointwise and takes one tensor")
        if _dispatch is not None:
            return _dispatch(self, x)
        return self._value(x)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        """phi'(x): the closed form where the spec declares one, else autograd."""
        self._pointwise("derivative")
        if self.spec.derivative is not None:
            return _eval(self.spec.derivative, x, self.params, self.spec.limits is not None)
        return _autograd_derivative(self._value, x, 1)

    def second_derivative(self, x: torch.Tensor) -> torch.Tensor:
        """phi''(x): the closed form where declared, else autograd of the first derivative."""
        self._pointwise("second_derivative")
        if self.spec.second_derivative is not None:
            return _eval(self.spec.second_derivative, x, self.params, self.spec.limits is not None)
        return _autograd_derivative(self.derivative, x, 1)

    def _pointwise(self, what: str) -> None:
        if self.is_gated:
            raise TypeError(f"{self.name} is a gated unit; {what} is defined for its gate: use .gate.{what}")

    # -- torch modules -----------------------------------------------------------------------
    def module(self, *, learn: bool | Iterable[str] | None = None, num_parameters: int = 1):
        """An ``nn.Module`` computing this activation (see :class:`actlab.nn.ActivationModule`)."""
        from ..nn import ActivationModule

        return ActivationModule(self, learn=learn, num_parameters=num_parameters)



def _autograd_derivative(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, _order: int) -> torch.Tensor:
    """d f / dx by autograd; keeps the graph when ``x`` requires grad (so it can be differentiated again)."""
    keep = x.requires_grad and torch.is_grad_enabled()
    with torch.enable_grad():
        xc = x.to(_compute_dtype(x.dtype)) if keep else x.detach().to(_compute_dtype(x.dtype)).requires_grad_(True)
        y = f(xc)
        if not y.requires_grad:  # f does not depend on x (piecewise constant)
            return torch.zeros_like(x)
        (g,) = torch.autograd.grad(y.sum(), xc, create_graph=keep, allow_unused=True, materialize_grads=True)
    return g.to(x.dtype)


def _check_tensor(x: Any, name: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} takes a torch.Tensor, got {type(x).__name__}")
    if not (x.is_floating_point()):
        raise TypeError(f"{name} needs a floating-point tensor, got {x.dtype}; convert with .float()")


def _fingerprint(fn: Callable[..., Any]) -> str:
    """Hash of what determines a user activation: its source code (the class's, for a module), the
    values it closes over or defaults to, and a module's parameters and buffers."""
    import hashlib
    import inspect

    import torch.nn as nn

    h = hashlib.sha256()
    target = type(fn) if isinstance(fn, nn.Module) else fn
    try:
        h.update(inspect.getsource(target).encode())
    except (OSError, TypeError):  # defined in a REPL or a C extension: no source file
        h.update(f"{getattr(target, '__module__', '')}.{getattr(target, '__qualname__', repr(target))}".encode())
    code = getattr(fn, "__code__", None) or getattr(getattr(target, "forward", None), "__code__", None)
    if code is not None:  # the compiled body: tells REPL-defined functions apart too
        h.update(code.co_code)
        h.update(repr((code.co_consts, code.co_names)).encode())
    for value in (getattr(fn, "__defaults__", None), getattr(fn, "__kwdefaults__", None)):
        h.update(repr(value).encode())
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            h.update(repr(cell.cell_contents).encode())
        except ValueError:  # an empty cell
            pass
    if isinstance(fn, nn.Module):
        h.update(repr(fn).encode())
        for key, t in sorted(fn.state_dict().items()):
            h.update(key.encode())
            h.update(t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:10]


def user_spec(fn: Callable[..., Any]) -> ActivationSpec:
    """Wrap a user's callable or nn.Module as an (unregistered) pointwise spec with nothing declared."""
    import torch.nn as nn

    label = type(fn).__name__ if isinstance(fn, nn.Module) else getattr(fn, "__name__", type(fn).__name__)
    ident = "".join(c if c.isalnum() else "_" for c in label).lower().strip("_") or "user"
    if not ident[0].isalpha():
        ident = "user_" + ident

    def forward(x: torch.Tensor) -> torch.Tensor:
        y = fn(x)
        if not isinstance(y, torch.Tensor):
            raise TypeError(f"user activation {label} returned {type(y).__name__}, not a Tensor")
        return y

    return ActivationSpec(
        name=ident,
        fingerprint=_fingerprint(fn),
        summary=(fn.__doc__ or f"user activation {label}").strip().splitlines()[0],
        formula=f"{label}(x)",
        family="user",
        reference="user-defined",
        fn=forward,
        limits=None,
        user=True,
    )
