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

import copy
import functools
import math
from typing import Any, Callable, Iterable, Mapping

import torch
import torch.nn as nn

from .spec import ActivationSpec, ParamValue

__all__ = ["Activation", "ActivationModule", "Limits", "apply_conventions", "branch_free", "compute_dtype",
           "evaluate", "is_transformed", "limits", "set_dispatch", "user_spec"]

_HALF = (torch.float16, torch.bfloat16)
_FAR = 1e300
#: |phi(+-1e300)| above this is an infinite limit, below its inverse a zero one (squareplus(-1e300) is
#: 2e-300, a rounding of the true limit 0, not a limit of its own)
_BIG = 1e100

#: phi(-inf), phi(+inf)
Limits = tuple[float, float]


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype an activation computes in: float32 for the half formats, else ``dtype`` itself."""
    return torch.float32 if dtype in _HALF else dtype


def _snap(v: float) -> float:
    if math.isnan(v) or abs(v) > _BIG:
        return v if math.isnan(v) else math.copysign(math.inf, v)
    return math.copysign(0.0, v) if abs(v) < 1 / _BIG else v


@functools.lru_cache(maxsize=4096)
def _limits_cached(fn: Callable[..., Any], items: tuple[tuple[str, ParamValue], ...]) -> Limits:
    x = torch.tensor([-_FAR, _FAR], dtype=torch.float64)
    with torch.no_grad():
        y = fn(x, **dict(items)).tolist()
    return _snap(y[0]), _snap(y[1])


def limits(fn: Callable[..., Any], params: Mapping[str, ParamValue]) -> Limits:
    """phi(-inf), phi(+inf) of ``fn(x, **params)``, found by evaluating at +-1e300 in float64
    (|value| > 1e100 is an infinite limit, |value| < 1e-100 a zero one); cached."""
    return _limits_cached(fn, tuple(sorted(params.items())))


def is_transformed(*tensors: torch.Tensor | None) -> bool:
    """True if any tensor is a functorch wrapper (inside ``vmap``/``grad``/``jacrev`` ...)."""
    wrapped = torch._C._functorch.is_functorch_wrapped_tensor
    return any(t is not None and wrapped(t) for t in tensors)


def branch_free(*tensors: torch.Tensor | None) -> bool:
    """Whether the conventions must be written without data-dependent branches: under
    ``torch.compile``/``torch.export`` (which trace, so a ``bool(tensor)`` would break the graph) and
    inside ``torch.func`` transforms (which reject it)."""
    return torch.compiler.is_compiling() or is_transformed(*tensors)


def apply_conventions(x: torch.Tensor, y: torch.Tensor, lims: Limits | None) -> torch.Tensor:
    """``y = phi(x)`` with the zoo's conventions: NaN in -> NaN out, +-inf -> ``lims`` (None: no limits).

    Eager calls on plain tensors skip the +-inf selection when there is no infinity (one cheap
    test); traced and transformed calls always apply it, as branch-free ``where`` s.
    """
    if lims is not None and (branch_free(x) or bool(torch.isinf(x).any())):
        y = torch.where(x == -math.inf, lims[0], y)
        y = torch.where(x == math.inf, lims[1], y)
    return torch.where(torch.isnan(x), x, y)


def evaluate(fn: Callable[..., Any], x: torch.Tensor, params: Mapping[str, Any], lims: Limits | None) -> torch.Tensor:
    """``fn(x, **params)`` computed in :func:`compute_dtype`, with :func:`apply_conventions`, cast back."""
    cd = compute_dtype(x.dtype)
    xc = x.to(cd)
    y = fn(xc, **params)
    return apply_conventions(xc, y, lims).to(x.dtype)


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


def _rebuild(name: str, params: Mapping[str, ParamValue]) -> "Activation":
    """Unpickle a registered activation: by name, from this process's registry."""
    from .registry import spec

    s = spec(name)
    return Activation(s, s.resolve(params))


def _rebuild_user(source: Any) -> "Activation":
    from .registry import get

    return get(source)


class Activation:
    """A spec with its parameters bound.  Call it on tensors; ``.module()`` gives an ``nn.Module``.

    Pickles by name for registered specs (the registry of the unpickling process rebuilds it), by the
    user's object for user activations.  The +-inf limits of the forward and of the declared
    derivatives are found once, here, so a traced call (``torch.compile``, ``torch.export``) reads
    constants instead of evaluating anything.
    """

    __slots__ = ("spec", "params", "_gate", "_lims")

    def __init__(self, spec: ActivationSpec, params: Mapping[str, ParamValue]):
        self.spec = spec
        self.params: dict[str, ParamValue] = dict(params)
        self._gate: Activation | None = None
        self._lims: dict[str, Limits | None] = {}
        if spec.kind == "gated":
            from .registry import spec as lookup

            gate = lookup(spec.gate)  # type: ignore[arg-type]
            self._gate = Activation(gate, gate.resolve({k: v for k, v in self.params.items()}))
        else:
            for which in ("fn", "derivative", "second_derivative"):
                try:
                    self.limits_of(which)
                except Exception:  # noqa: BLE001  (a formula that fails far out fails again, visibly, when called)
                    self._lims.pop(which, None)

    def limits_of(self, which: str = "fn") -> Limits | None:
        """(phi(-inf), phi(+inf)) of ``which`` (``"fn"``, ``"derivative"``, ``"second_derivative"``),
        or None where the spec declares no limits."""
        if which not in self._lims:
            f = getattr(self.spec, which)
            self._lims[which] = limits(f, self.params) if self.spec.limits is not None and f is not None else None
        return self._lims[which]

    def __reduce__(self) -> tuple[Any, ...]:
        s = self.spec
        if s.user:
            if s.source is None:
                import pickle

                raise pickle.PicklingError(f"{s.name}: a user activation pickles by its function or module, "
                                           "and this one was not kept")
            return (_rebuild_user, (s.source,))
        from .registry import UnknownActivationError, spec as lookup

        try:
            registered = lookup(s.name) is s
        except UnknownActivationError:
            registered = False
        if registered:
            return (_rebuild, (s.name, dict(self.params)))
        return (Activation, (s, dict(self.params)))  # unregistered (an approximant): the spec itself

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
    def value(self, x: torch.Tensor) -> torch.Tensor:
        """phi(x) by the spec's formula with the zoo's conventions (the reference every fast path is
        held to; ``act(x)`` may take a faster path with the same values)."""
        return evaluate(self.spec.fn, x, self.params, self.limits_of("fn"))  # type: ignore[arg-type]

    _value = value

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
            if _gated_dispatch is not None and not torch.compiler.is_compiling():
                y = _gated_dispatch(self, x, b)
                if y is not None:
                    return y
            return self.gate(x) * b
        if b is not None:
            raise TypeError(f"{self.name} is pointwise and takes one tensor")
        if _dispatch is not None:
            return _dispatch(self, x)
        return self.value(x)

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        """phi'(x): the closed form where the spec declares one, else autograd."""
        self._pointwise("derivative")
        if self.spec.derivative is not None:
            return evaluate(self.spec.derivative, x, self.params, self.limits_of("derivative"))
        return _autograd_derivative(self.value, x, 1)

    def second_derivative(self, x: torch.Tensor) -> torch.Tensor:
        """phi''(x): the closed form where declared, else autograd of the first derivative."""
        self._pointwise("second_derivative")
        if self.spec.second_derivative is not None:
            return evaluate(self.spec.second_derivative, x, self.params, self.limits_of("second_derivative"))
        return _autograd_derivative(self.derivative, x, 1)

    def _pointwise(self, what: str) -> None:
        if self.is_gated:
            raise TypeError(f"{self.name} is a gated unit; {what} is defined for its gate: use .gate.{what}")

    # -- torch modules -----------------------------------------------------------------------
    def module(self, *, learn: bool | Iterable[str] | None = None, num_parameters: int = 1) -> "ActivationModule":
        """An ``nn.Module`` computing this activation (see :class:`ActivationModule`)."""
        return ActivationModule(self, learn=learn, num_parameters=num_parameters)


# -- the module form -------------------------------------------------------------------------------
_ACRONYMS = {"relu": "ReLU", "elu": "ELU", "gelu": "GELU", "silu": "SiLU", "selu": "SELU", "celu": "CELU",
             "glu": "GLU", "reglu": "ReGLU", "geglu": "GEGLU", "swiglu": "SwiGLU", "prelu": "PReLU"}


def _camel(name: str) -> str:
    return "".join(_ACRONYMS.get(part, part[:1].upper() + part[1:]) for part in name.split("_"))


def _far_limits(fn: Callable[..., Any], params: Mapping[str, Any], dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """(phi(-inf), phi(+inf)) as tensors for learned (tensor) parameters, shaped like them: ``fn`` at
    +-1e300 in float64 with the parameters detached (a limit carries no gradient to them), snapped to
    +-inf/0 as :func:`limits` does.  Branch-free, so it traces."""
    tensors = [v for v in params.values() if isinstance(v, torch.Tensor)]
    shape = torch.broadcast_shapes(*(t.shape for t in tensors))
    p64 = {k: (v.detach().to(torch.float64) if isinstance(v, torch.Tensor) else v) for k, v in params.items()}
    # both ends in one evaluation: a leading axis of size 2 broadcasts against the parameters' shape
    far = torch.tensor([-_FAR, _FAR], dtype=torch.float64, device=tensors[0].device)
    v = fn(far.view(2, *([1] * len(shape))).expand(2, *shape), **p64)
    v = torch.where(v.abs() > _BIG, torch.copysign(torch.full_like(v, math.inf), v), v)
    v = torch.where(v.abs() < 1 / _BIG, v * 0, v).to(dtype)
    return v[0], v[1]


class _SelectLimits(torch.autograd.Function):
    """The learned form's conventions and input gradient in one step.

    Forward: ``y`` with its +-inf entries replaced by the limits ``lo``/``hi``.  Backward: ``y``
    gets the gradient at the finite entries (through it the learned parameters get theirs, by
    autograd of the formula); the input gets ``grad * d`` with ``d`` the closed-form derivative at
    the finite entries and its limits ``dlo``/``dhi`` at +-inf -- exactly the functional form's
    backward -- and NaN at NaN inputs.
    """

    @staticmethod
    def forward(y: torch.Tensor, x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor,  # type: ignore[override]
                d: torch.Tensor, dlo: torch.Tensor, dhi: torch.Tensor) -> torch.Tensor:
        return torch.where(x == -math.inf, lo, torch.where(x == math.inf, hi, y))

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        _, x, _, _, d, dlo, dhi = inputs
        ctx.save_for_backward(x, d, dlo, dhi)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:  # type: ignore[override]
        x, d, dlo, dhi = ctx.saved_tensors
        gy = torch.where(torch.isinf(x), 0.0, grad)
        dd = torch.where(x == -math.inf, dlo, torch.where(x == math.inf, dhi, d))
        gx = torch.where(torch.isnan(x), x, grad * dd)
        return gy, gx, None, None, None, None, None


class ActivationModule(nn.Module):
    """An activation as an ``nn.Module``.

    Learnable parameters become ``nn.Parameter`` s of shape ``(num_parameters,)``; with
    ``num_parameters > 1`` the parameter is per channel and broadcast along dimension 1 (the channel
    dimension of ``(N, C, ...)`` inputs, as ``torch.nn.PReLU``).  Fixed parameters are plain attributes
    shown in the repr.  Gated units take one tensor (split in halves, the second half gates) or two.
    A user's ``nn.Module`` (``actlab.get("myacts:LearnableSwish")``) is held as the submodule
    ``inner``, a fresh copy per module, so its own parameters train, save and load.

    The module pickles, deep-copies and round-trips ``state_dict`` as torch's own modules do, and
    agrees with the functional form ``act(x)`` everywhere (NaN and +-inf included), learned
    parameters or not.

    Args:
        activation: anything :func:`actlab.get` accepts.
        learn: which learnable parameters to train: ``None`` follows each parameter's default
            (PReLU's slope learns, Swish's beta does not), ``True``/``False`` all or none, or a
            collection of names.  For a user's module ``False`` freezes its parameters.
        num_parameters: 1 for a shared parameter, or the number of channels.
    """

    def __init__(self, activation: Any = "relu", *, learn: bool | Iterable[str] | None = None, num_parameters: int = 1):
        super().__init__()
        from .registry import get

        act = get(activation)
        if isinstance(num_parameters, bool) or not isinstance(num_parameters, int) or num_parameters < 1:
            raise ValueError(f"num_parameters must be a positive integer, got {num_parameters!r}")
        self.activation = act
        self.num_parameters = num_parameters
        learnable = [p.name for p in act.spec.params if p.learnable]
        if learn is None:
            chosen = [p.name for p in act.spec.params if p.learn_by_default]
        elif learn is True:
            chosen = learnable
        elif learn is False:
            chosen = []
        else:
            chosen = list(learn)
            for n in chosen:
                if n not in learnable:
                    raise ValueError(f"{act.spec.name} cannot learn {n!r}: learnable parameters are {learnable or 'none'}")
        if num_parameters > 1 and not chosen:
            raise ValueError(f"num_parameters={num_parameters} needs a learnable parameter; {act.name} learns none")
        self._learned = tuple(chosen)
        self._default_learned = learn is None
        for n in chosen:
            value = float(act.params[n])
            self.register_parameter(n, nn.Parameter(torch.full((num_parameters,), value)))
        source = act.spec.source if act.spec.user else None
        if isinstance(source, nn.Module):
            self.inner = copy.deepcopy(source)
            if learn is False:
                self.inner.requires_grad_(False)

    def _get_name(self) -> str:
        s = self.activation.spec
        if s.user:
            return f"ActivationModule[{self.activation.name}]"
        return s.torch_module or _camel(s.name)

    def extra_repr(self) -> str:
        """As torch's: the constructor's arguments (``PReLU(num_parameters=1)``, ``ELU(alpha=1.0)``)."""
        parts = [f"{k}={v!r}" for k, v in self.activation.params.items() if k not in self._learned]
        if self._learned:
            parts.append(f"num_parameters={self.num_parameters}")
            if not self._default_learned:
                parts.append(f"learn={list(self._learned)!r}")
        return ", ".join(parts)

    def forward(self, x: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
        if "inner" in self._modules:
            return self._user(x, b)
        if not self._learned:
            return self.activation(x, b) if b is not None else self.activation(x)
        act = self.activation
        _check_tensor(x, act.name)
        if act.is_gated:
            if b is None:
                if x.shape[-1] % 2:
                    raise ValueError(f"{act.name}: dimension -1 has odd size {x.shape[-1]}; cannot split in halves")
                b, x = x.chunk(2, dim=-1)
            return self._learned_pointwise(act.gate.spec, x) * b
        if b is not None:
            raise TypeError(f"{act.name} is pointwise and takes one tensor")
        return self._learned_pointwise(act.spec, x)

    def _user(self, x: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
        """The user's module on its own parameters, with the functional form's conventions."""
        _check_tensor(x, self.activation.name)
        if b is not None:
            raise TypeError(f"{self.activation.name} is pointwise and takes one tensor")
        inner = self.inner

        def fn(t: torch.Tensor) -> torch.Tensor:
            y = inner(t)
            if not isinstance(y, torch.Tensor):
                raise TypeError(f"user activation {type(inner).__name__} returned {type(y).__name__}, not a Tensor")
            return y

        return evaluate(fn, x, {}, None)

    def _learned_pointwise(self, spec: ActivationSpec, x: torch.Tensor) -> torch.Tensor:
        """phi(x; learned parameters) with the functional form's conventions, written branch-free (it
        traces): the formula sees only finite inputs (the double ``where``, so the branch not taken
        cannot put inf/NaN into the gradients), +-inf get the limits at the current parameter values
        and, in backward, the derivative's limits; NaN gives NaN, value and gradient."""
        cd = compute_dtype(x.dtype)
        xc = x.to(cd)
        params: dict[str, Any] = dict(self.activation.params)
        for n in self._learned:
            p = getattr(self, n).to(cd)
            if self.num_parameters > 1:
                if xc.dim() < 2 or xc.shape[1] != self.num_parameters:
                    raise ValueError(
                        f"{self._get_name()} has {self.num_parameters} channels but input shape is {tuple(x.shape)}; "
                        "channels are dimension 1"
                    )
                p = p.view(1, -1, *([1] * (xc.dim() - 2)))
            params[n] = p
        assert spec.fn is not None
        if spec.limits is None:
            y = spec.fn(xc, **params)
            return torch.where(torch.isnan(xc), xc, y).to(x.dtype)
        safe = torch.where(torch.isfinite(xc), xc, torch.zeros((), dtype=cd, device=xc.device))
        lo, hi = _far_limits(spec.fn, params, cd)
        if spec.derivative is not None:
            # the input's gradient is the closed form (as the functional form's backward), so the formula
            # here only carries the parameters' gradients
            fixed = {k: (v.detach() if isinstance(v, torch.Tensor) else v) for k, v in params.items()}
            y = spec.fn(safe.detach(), **params)
            d = spec.derivative(safe.detach(), **fixed)
            dlo, dhi = _far_limits(spec.derivative, params, cd)
        else:  # no closed form: autograd of the formula; the +-inf entries get gradient 0
            y = spec.fn(safe, **params)
            d = dlo = dhi = torch.zeros((), dtype=cd, device=xc.device)
        y = _SelectLimits.apply(y, xc, lo, hi, d, dlo, dhi)
        return torch.where(torch.isnan(xc), xc, y).to(x.dtype)


def _autograd_derivative(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, _order: int) -> torch.Tensor:
    """d f / dx by autograd; keeps the graph when ``x`` requires grad (so it can be differentiated again)."""
    keep = x.requires_grad and torch.is_grad_enabled()
    with torch.enable_grad():
        xc = x.to(compute_dtype(x.dtype)) if keep else x.detach().to(compute_dtype(x.dtype)).requires_grad_(True)
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
        source=fn,
    )
