"""``Approximant``: what every approximation method returns -- itself an activation.

An approximant keeps the fitted coefficients and what the method knows (nodes, levelled error ...),
and turns into an :class:`~actlab.ActivationSpec` whose parameters are the coefficients.  Through the
spec it is an ordinary activation: ``actlab.get`` it, ``.module()`` it (coefficients become
``nn.Parameter`` s), hand it to the theory tools.
"""

from __future__ import annotations

import abc
from typing import Any, Iterable, Mapping

import numpy as np
import torch

from ..zoo import Activation, ActivationSpec, Param, get, register
from ..zoo.spec import Properties


class Approximant(abc.ABC):
    """Base class: a fitted approximation of ``target`` on ``interval``.

    Subclasses define the parameters (coefficients) and the torch functions of the spec.
    """

    kind: str = "approximant"

    def __init__(self, target: Activation, method: str, interval: tuple[float, float], degree: Any,
                 info: Mapping[str, Any] | None = None):
        self.target = target
        self.method = method
        self.interval = (float(interval[0]), float(interval[1]))
        self.degree = degree
        self.info: dict[str, Any] = dict(info or {})
        self._spec: ActivationSpec | None = None

    # -- to be provided by subclasses --------------------------------------------------------
    @abc.abstractmethod
    def params(self) -> tuple[Param, ...]:
        """The coefficients as the spec's parameters."""

    @abc.abstractmethod
    def _torch_fns(self) -> tuple[Any, Any, Any]:
        """(fn, derivative, second_derivative) with signature ``f(x, **coefficients)``."""

    def _properties(self, **coeffs: float) -> Properties | None:
        return None

    def _kinks(self, **coeffs: float) -> tuple[float, ...]:
        return ()

    @abc.abstractmethod
    def formula(self) -> str:
        """The approximant's formula, for cards and ``actlab show``."""

    # -- naming ------------------------------------------------------------------------------
    @property
    def degree_text(self) -> str:
        d = self.degree
        return f"{d[0]}_{d[1]}" if isinstance(d, tuple) else str(d)

    def default_name(self) -> str:
        return f"{self.target.spec.name}_{self.method.replace('-', '_')}_{self.degree_text}"

    def __repr__(self) -> str:
        a, b = self.interval
        return f"{type(self).__name__}({self.target.name!r}, method={self.method!r}, degree={self.degree!r}, interval=({a:g}, {b:g}))"

    # -- the activation ----------------------------------------------------------------------
    def to_spec(self, name: str | None = None) -> ActivationSpec:
        """The approximant as an :class:`ActivationSpec` (coefficients are its learnable parameters)."""
        if name is None and self._spec is not None:
            return self._spec
        fn, d1, d2 = self._torch_fns()
        a, b = self.interval
        spec = ActivationSpec(
            name=name or self.default_name(),
            summary=f"{self.method} approximation of {self.target.name} of degree {self.degree_text.replace('_', '/')} on [{a:g}, {b:g}]",
            formula=self.formula(),
            family="approximation",
            reference=self.reference,
            fn=fn, derivative=d1, second_derivative=d2,
            params=self.params(),
            properties=self._properties,
            kinks=self._kinks,
            limits="auto",
            notes=f"fitted to {self.target.name} on [{a:g}, {b:g}] by actlab.approx ({self.method})",
        )
        if name is None:
            self._spec = spec
        return spec

    reference = "actlab.approx"

    @property
    def activation(self) -> Activation:
        """The approximant as an (unregistered) :class:`~actlab.Activation`."""
        return get(self.to_spec())

    def register(self, name: str | None = None, *, overwrite: bool = False) -> Activation:
        """Register under ``name`` (default: ``<target>_<method>_<degree>``) and return the activation."""
        spec = register(self.to_spec(name), overwrite=overwrite)
        return get(spec.name)

    def module(self, *, learn: bool | Iterable[str] | None = None, num_parameters: int = 1):
        """An ``nn.Module``; ``learn=None`` learns the coefficients where the method says so (rational)."""
        return self.activation.module(learn=learn, num_parameters=num_parameters)

    @property
    def coefficients(self) -> dict[str, float]:
        return {p.name: float(p.default) for p in self.params()}

    # -- float64 numpy evaluation (for reports and plots) ------------------------------------
    def _np(self, which: str, x: Any) -> np.ndarray:
        act = self.activation
        t = torch.as_tensor(np.asarray(x, dtype=np.float64))
        with torch.no_grad():
            if which == "value":
                y = act(t)
            elif which == "d1":
                y = act.derivative(t)
            else:
                y = act.second_derivative(t)
        return y.numpy().copy()

    def __call__(self, x: Any) -> np.ndarray:
        """Values in float64 (numpy in, numpy out)."""
        return self._np("value", x)

    def derivative(self, x: Any) -> np.ndarray:
        return self._np("d1", x)

    def second_derivative(self, x: Any) -> np.ndarray:
        return self._np("d2", x)

    def summary(self) -> dict[str, Any]:
        """A JSON-able description: method, degree, interval, coefficients and what the method knows."""
        a, b = self.interval
        return {
            "target": self.target.name,
            "method": self.method,
            "kind": self.kind,
            "degree": list(self.degree) if isinstance(self.degree, tuple) else self.degree,
            "interval": [a, b],
            "name": self.default_name(),
            "formula": self.formula(),
            "coefficients": self.coefficients,
            **self.info,
        }
