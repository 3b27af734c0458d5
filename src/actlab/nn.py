"""Torch modules derived from specs, and tools to put them into existing models."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Iterable

import torch
import torch.nn as nn

from .zoo.activation import Activation, _compute_dtype, _fix_special
from .zoo.registry import get

__all__ = ["ActivationModule", "GatedMLP", "replace_activations", "activation_module_types"]


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


class ActivationModule(nn.Module):
    """An activation as an ``nn.Module``.

    Learnable parameters become ``nn.Parameter`` s of shape ``(num_parameters,)``; with
    ``num_parameters > 1`` the parameter is per channel and broadcast along dimension 1 (the channel
    dimension of ``(N, C, ...)`` inputs, as ``torch.nn.PReLU``).  Fixed parameters are plain attributes
    shown by ``extra_repr``.  Gated units take one tensor (split in halves, the second half gates) or two.

    Args:
        activation: anything :func:`actlab.get` accepts.
        learn: which learnable parameters to train: ``None`` follows each parameter's default
            (PReLU's slope learns, Swish's beta does not), ``True``/``False`` all or none, or a
            collection of names.
        num_parameters: 1 for a shared parameter, or the number of channels.
    """

    def __init__(self, activation: Any = "relu", *, learn: bool | Iterable[str] | None = None, num_parameters: int = 1):
        super().__init__()
        act = get(activation)
        if not isinstance(num_parameters, int) or num_parameters < 1:
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
        for n in chosen:
            value = float(act.params[n])
            self.register_parameter(n, nn.Parameter(torch.full((num_parameters,), value)))

    def _get_name(self) -> str:
        s = self.activation.spec
        return s.torch_module or _camel(s.name)

    def extra_repr(self) -> str:
        parts = [f"{k}={v!r}" for k, v in self.activation.params.items() if k not in self._learned]
        parts += [f"{k}=<learned, {self.num_parameters}>" for k in self._learned]
        return ", ".join(parts)

    def forward(self, x: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
        if not self._learned:
            return self.activation(x, b) if b is not None else self.activation(x)
        act = self.activation
        if act.is_gated:
            if b is None:
                b, x = x.chunk(2, dim=-1)
            return self._learned_pointwise(act.gate.spec, x) * b
        return self._learned_pointwise(act.spec, x)

    def _learned_pointwise(self, spec: Any, x: torch.Tensor) -> torch.Tensor:
        cd = _compute_dtype(x.dtype)
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
        y = spec.fn(xc, **params)
        return _fix_special(xc, y, None, {}).to(x.dtype)


def activation_module_types(name: str) -> tuple[type, ...]:
    """torch.nn classes that compute the registered activation ``name`` (from the spec's ``torch_module``)."""
    act = get(name)
    t = act.spec.torch_module
    return (getattr(nn, t),) if t and hasattr(nn, t) else ()


def _matcher(old: Any) -> Callable[[nn.Module], bool]:
    if old is None:
        from .zoo.registry import all_specs

        torch_types = tuple(getattr(nn, s.torch_module) for s in all_specs() if s.torch_module and hasattr(nn, s.torch_module))
        return lambda m: isinstance(m, (ActivationModule, *torch_types))
    if isinstance(old, str):
        target = get(old)
        types = activation_module_types(old) if target.name == target.spec.name else ()

        def match(m: nn.Module) -> bool:
            if isinstance(m, ActivationModule):
                return m.activation.name == target.name
            if isinstance(m, types):
                # torch modules with parameters that differ from our defaults are not matched by name
                return _torch_module_matches(m, target)
            return False

        return match
    if inspect.isclass(old):
        return lambda m: isinstance(m, old)
    if isinstance(old, tuple) and all(inspect.isclass(t) for t in old):
        return lambda m: isinstance(m, old)
    if callable(old):
        return old
    raise TypeError("old must be None, an activation name, a module class (or tuple of classes) or a predicate")


def _torch_module_matches(m: nn.Module, target: Activation) -> bool:
    for k, v in target.params.items():
        if hasattr(m, k) and not isinstance(getattr(m, k), torch.Tensor) and getattr(m, k) != v:
            return False
    return True


def replace_activations(model: nn.Module, old: Any = None, new: Any = "relu", **module_kwargs: Any) -> list[str]:
    """Swap activation modules inside ``model`` in place; return the qualified names replaced.

    Args:
        model: any ``nn.Module`` (torch built-ins, timm, Hugging Face ``transformers`` ...).
        old: which modules to replace: ``None`` for every activation module actlab recognises (its own
            and the torch.nn classes named by specs), an activation name (``"relu"``), a class or tuple
            of classes (``transformers.activations.NewGELUActivation``), or a predicate ``module -> bool``.
        new: anything :func:`actlab.get` accepts, or a zero-argument factory returning a module; each
            match gets a fresh module (learnable parameters are not shared).
        **module_kwargs: passed to :class:`ActivationModule` (``learn=``, ``num_parameters=``).

    Activations called functionally inside ``forward`` (``F.relu(x)``) are not modules and cannot be
    swapped this way.
    """
    match = _matcher(old)
    if inspect.isfunction(new) and not _looks_like_activation(new):
        factory = new
    else:
        proto = get(new)
        factory = lambda: ActivationModule(proto, **module_kwargs)  # noqa: E731
    replaced: list[str] = []
    for parent_name, parent in list(model.named_modules()):
        for child_name, child in list(parent.named_children()):
            if match(child):
                setattr(parent, child_name, factory())
                replaced.append(f"{parent_name}.{child_name}" if parent_name else child_name)
    if not replaced and isinstance(model, nn.Module) and match(model):
        raise ValueError("the model itself is the activation; build a new one with actlab.get(...).module()")
    return replaced


def _looks_like_activation(fn: Callable[..., Any]) -> bool:
    """A plain function with one required parameter is an activation; with none it is a factory."""
    sig = inspect.signature(fn)
    required = [p for p in sig.parameters.values() if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(required) >= 1


from .kernels.mlp import GatedMLP  # noqa: E402  (the fused block lives with its kernels; re-exported here)
