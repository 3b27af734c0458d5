"""The single definition of an activation: :class:`ActivationSpec`.

Everything actlab knows about an activation lives in one spec: the forward map, its closed-form
derivatives, declared properties, parameters with bounds, the paper it comes from.  Torch modules,
the functional form, CLI cards, gains and the contract tests are all derived from it.

Optional capabilities are declared fields that default to ``None`` (no ``hasattr`` probing):
generic code fills in what a spec leaves out (autograd for a missing derivative, quadrature for
missing moments).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

ParamValue = float | str

#: smoothness class value for C-infinity functions
SMOOTH = math.inf


@dataclass(frozen=True)
class Param:
    """A parameter of an activation.

    ``lower``/``upper`` bound the value (``*_open`` makes the bound strict).  ``choices`` turns the
    parameter into a string option (GELU's ``approximate``).  ``learnable`` says the parameter may
    become an ``nn.Parameter``; ``learn_by_default`` says whether ``.module()`` makes it one when the
    caller does not say (PReLU's slope: yes; Swish's beta: no).
    """

    name: str
    default: ParamValue
    doc: str = ""
    lower: float = -math.inf
    upper: float = math.inf
    lower_open: bool = False
    upper_open: bool = False
    choices: tuple[str, ...] | None = None
    learnable: bool = False
    learn_by_default: bool = False

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"parameter name {self.name!r} is not a Python identifier")
        if self.choices is not None:
            if self.default not in self.choices:
                raise ValueError(f"default {self.default!r} of {self.name} not in {self.choices}")
            if self.learnable:
                raise ValueError(f"string option {self.name} cannot be learnable")
        else:
            if isinstance(self.default, str):
                raise ValueError(f"numeric parameter {self.name} has a string default")
            self.check(self.default)
        if self.learn_by_default and not self.learnable:
            raise ValueError(f"{self.name}: learn_by_default needs learnable=True")

    def bound_text(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        lo = "(" if self.lower_open or self.lower == -math.inf else "["
        hi = ")" if self.upper_open or self.upper == math.inf else "]"
        return f"{lo}{_fmt(self.lower)}, {_fmt(self.upper)}{hi}"

    def check(self, value: Any) -> ParamValue:
        """Return ``value`` coerced to the parameter's type, or raise ``ValueError`` naming the bound."""
        if self.choices is not None:
            if value not in self.choices:
                raise ValueError(f"{self.name}={value!r} is not allowed: must be {self.bound_text()}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{self.name}={_short(value)} must be a number in {self.bound_text()}")
        try:
            v = float(value)
        except OverflowError:  # an int beyond float range (leaky_relu(negative_slope=999...9))
            raise ValueError(f"{self.name}={_short(value)} is too large: must be a finite number in "
                             f"{self.bound_text()}") from None
        if math.isinf(v):  # "[0, inf)" is a bound, not an allowed value: elu(alpha=1e309) gave phi(0) = NaN
            raise ValueError(f"{self.name}={_fmt(v)} is not finite: must be a finite number in {self.bound_text()}")
        too_low = v < self.lower or (self.lower_open and v == self.lower)
        too_high = v > self.upper or (self.upper_open and v == self.upper)
        if math.isnan(v) or too_low or too_high:
            raise ValueError(f"{self.name}={_fmt(v)} is out of bounds: must be in {self.bound_text()}")
        return v


def _short(value: Any) -> str:
    r = repr(value)
    return r if len(r) <= 40 else f"{r[:20]}...{r[-8:]} ({len(r)} characters)"


def _fmt(v: float) -> str:
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:g}"


@dataclass(frozen=True)
class Properties:
    """Declared mathematical properties of a pointwise activation at given parameters.

    Definitions (the contract tests verify each on a grid):

    * ``monotone`` -- non-decreasing on the real line.
    * ``convex`` -- convex on the real line.
    * ``bounded_below`` / ``bounded_above`` -- the range has a finite infimum / supremum.
    * ``smoothness`` -- the largest k with phi in C^k: -1 discontinuous, 0 continuous with a kink,
      1 continuous first derivative, ..., ``SMOOTH`` (inf) for C-infinity.
    * ``zero_centred`` -- phi(0) = 0 and phi takes both signs, so outputs can average to zero.
    * ``self_gated`` -- phi(x) = x * g(x) with a continuous, non-decreasing gate g rising from 0 at
      -inf to 1 at +inf (Swish, GELU, Mish, hard-swish; Ramachandran et al. 2017).
    * ``phi0`` / ``dphi0`` -- phi(0) and phi'(0); at a kink ``dphi0`` is the value the implementation
      returns (PyTorch's convention, documented per spec).
    """

    monotone: bool
    convex: bool
    bounded_below: bool
    bounded_above: bool
    smoothness: float
    zero_centred: bool
    self_gated: bool
    phi0: float
    dphi0: float

    def __post_init__(self) -> None:
        if not (self.smoothness == SMOOTH or (float(self.smoothness).is_integer() and self.smoothness >= -1)):
            raise ValueError("smoothness must be an integer >= -1 or SMOOTH")
        if self.convex and self.bounded_above and not self.bounded_below:
            raise ValueError("a convex function bounded above is constant; check the declaration")

    def as_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["smoothness"] = "inf" if self.smoothness == SMOOTH else int(self.smoothness)
        return d


#: torch-side forward/derivative signature: fn(x, **params) -> Tensor
TensorFn = Callable[..., Any]
#: mpmath reference: ref(x: mpf, **params) -> mpf
MpFn = Callable[..., Any]


@dataclass(frozen=True)
class ActivationSpec:
    """One activation, defined once.

    ``kind='pointwise'`` specs map a tensor elementwise.  ``kind='gated'`` specs are gated linear units
    ``phi(a) * b`` whose gate ``phi`` is the pointwise spec named by ``gate`` (with the gated spec's own
    parameters passed on to it); their ``fn`` is derived and must be left ``None``.

    ``properties`` and ``kinks`` may be callables of the parameters (ELU is convex only for alpha <= 1).
    ``torch_functional`` is a PyTorch callable ``f(x)`` equal to this spec at its *default* parameters
    (the parity tests use it); ``torch_module`` names the ``torch.nn`` class that computes it (used by
    ``replace_activations``).  ``constraint(**params)`` returns an error message for parameter values
    that are individually in bounds but inconsistent together (hardtanh's min_val < max_val).
    ``limits`` is ``"auto"`` (phi(+-inf) found by evaluating far out in float64) or ``None`` for
    functions with no limit (``sin``): inputs of +-inf then give NaN.
    """

    name: str
    summary: str
    formula: str
    family: str
    reference: str
    fn: TensorFn | None = None
    params: tuple[Param, ...] = ()
    derivative: TensorFn | None = None
    second_derivative: TensorFn | None = None
    properties: Properties | Callable[..., Properties] | None = None
    kinks: tuple[float, ...] | Callable[..., tuple[float, ...]] = ()
    mpmath: MpFn | None = None
    aliases: tuple[str, ...] = ()
    kind: Literal["pointwise", "gated"] = "pointwise"
    gate: str | None = None
    torch_functional: TensorFn | None = None
    torch_module: str | None = None
    constraint: Callable[..., str | None] | None = None
    limits: Literal["auto"] | None = "auto"
    notes: str = ""
    user: bool = field(default=False, compare=False)
    #: for user callables: a hash of the code (and of a module's parameters), so stored results of an
    #: edited function are never mistaken for the old one's (see ``Activation.name``)
    fingerprint: str = field(default="", compare=False)
    #: for user callables: the user's function or ``nn.Module`` itself (what an ``Activation`` pickles
    #: by, and what ``.module()`` copies so a module's own parameters train)
    source: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name != self.name.lower():
            raise ValueError(f"activation name {self.name!r} must be a lower-case identifier")
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: duplicate parameter names {names}")
        if self.kind == "pointwise":
            if self.fn is None:
                raise ValueError(f"{self.name}: a pointwise spec needs fn")
            if self.gate is not None:
                raise ValueError(f"{self.name}: only gated specs name a gate")
            if self.second_derivative is not None and self.derivative is None:
                raise ValueError(f"{self.name}: a second derivative without a first")
        elif self.kind == "gated":
            if self.gate is None or self.fn is not None:
                raise ValueError(f"{self.name}: a gated spec names its gate and leaves fn to be derived")
        else:
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")
        for a in self.aliases:
            if not a.isidentifier():
                raise ValueError(f"{self.name}: alias {a!r} is not an identifier")

    # -- parameters -------------------------------------------------------------------------
    @property
    def defaults(self) -> dict[str, ParamValue]:
        return {p.name: p.default for p in self.params}

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def resolve(self, overrides: Mapping[str, Any] | None = None) -> dict[str, ParamValue]:
        """Defaults updated by ``overrides``, every value checked against its bounds."""
        out = self.defaults
        for k, v in (overrides or {}).items():
            if k not in out:
                from .registry import suggest  # local: registry imports this module

                hint = suggest(k, list(out))
                known = ", ".join(out) or "none"
                raise ValueError(f"{self.name} has no parameter {k!r}{hint} (parameters: {known})")
            out[k] = self.param(k).check(v)
        if self.constraint is not None:
            msg = self.constraint(**out)
            if msg:
                raise ValueError(f"{self.name}: {msg}")
        return out

    # -- derived declarations -----------------------------------------------------------------
    def properties_at(self, params: Mapping[str, Any] | None = None) -> Properties | None:
        p = self.resolve(params)
        if callable(self.properties):
            return self.properties(**p)
        return self.properties

    def kinks_at(self, params: Mapping[str, Any] | None = None) -> tuple[float, ...]:
        p = self.resolve(params)
        k = self.kinks(**p) if callable(self.kinks) else self.kinks
        return tuple(sorted(set(float(v) for v in k)))
