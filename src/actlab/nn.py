"""Tools to put activations into existing models (``ActivationModule`` lives in the zoo, re-exported here)."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Iterable

import torch
import torch.nn as nn

from .zoo.activation import Activation, ActivationModule
from .zoo.registry import get

__all__ = ["ActivationModule", "GatedMLP", "replace_activations", "activation_module_types"]


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
