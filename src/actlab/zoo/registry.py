"""The registry: the one place names map to specs.

``get`` accepts a name string (``"leaky_relu(negative_slope=0.2)"``, aliases such as ``"swish"``),
``"module.path:attr"`` for a user's object, an :class:`ActivationSpec`, an :class:`Activation`, an
``nn.Module`` (instance or class) or any callable on tensors.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import inspect
from typing import Any, Callable, Iterable

from .spec import ActivationSpec

_SPECS: dict[str, ActivationSpec] = {}
_ALIASES: dict[str, str] = {}


class UnknownActivationError(KeyError, ValueError):
    """An activation name that is not registered (message suggests the closest names)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


def suggest(name: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.5)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def register(spec: ActivationSpec, *, overwrite: bool = False) -> ActivationSpec:
    """Add ``spec`` to the registry (``KeyError`` if the name or an alias is taken)."""
    if not isinstance(spec, ActivationSpec):
        raise TypeError(f"register() takes an ActivationSpec, got {type(spec).__name__}")
    names = (spec.name, *spec.aliases)
    if not overwrite:
        for n in names:
            if n in _SPECS or n in _ALIASES:
                raise KeyError(f"activation name {n!r} is already registered")
    else:
        unregister(spec.name, missing_ok=True)
    if spec.kind == "gated" and spec.gate not in _SPECS:
        raise KeyError(f"gated spec {spec.name} names unknown gate {spec.gate!r}")
    _SPECS[spec.name] = spec
    for a in spec.aliases:
        _ALIASES[a] = spec.name
    return spec


def unregister(name: str, *, missing_ok: bool = False) -> None:
    spec = _SPECS.pop(name, None)
    if spec is None:
        if missing_ok:
            return
        raise UnknownActivationError(f"unknown activation {name!r}")
    for a in spec.aliases:
        _ALIASES.pop(a, None)


def spec(name: str) -> ActivationSpec:
    """The spec registered under ``name`` or an alias of it."""
    key = _ALIASES.get(name, name)
    try:
        return _SPECS[key]
    except KeyError:
        raise UnknownActivationError(
            f"unknown activation {name!r}{suggest(name, [*_SPECS, *_ALIASES])} "
            "(see `actlab list`)"
        ) from None


def all_specs() -> list[ActivationSpec]:
    return list(_SPECS.values())


def parse_name(text: str) -> tuple[str, dict[str, Any]]:
    """``"gelu(approximate='tanh')"`` -> ``("gelu", {"approximate": "tanh"})``.

    Values are Python literals; a bare identifier is read as a string (``gelu(approximate=tanh)``).
    """
    text = text.strip()
    shown = text if len(text) <= 60 else f"{text[:40]}...{text[-10:]} ({len(text)} characters)"
    try:
        node = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError):  # ValueError: a NUL byte
        raise ValueError(f"cannot parse activation {shown!r}: write NAME or NAME(key=value, ...)") from None
    except (RecursionError, MemoryError):  # thousands of nested operators ("------...1")
        raise ValueError(f"cannot parse activation {shown!r}: nested too deeply; write NAME or NAME(key=value, ...)") from None
    if isinstance(node, ast.Name):
        return node.id, {}
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)) or node.args:
        raise ValueError(f"cannot parse activation {shown!r}: write NAME or NAME(key=value, ...)")
    out: dict[str, Any] = {}
    for kw in node.keywords:
        if kw.arg is None:
            raise ValueError(f"cannot parse activation {shown!r}: ** is not allowed")
        if kw.arg in out:  # Python rejects f(a=1, a=2) only when compiling; ast.parse keeps both
            raise ValueError(f"activation {shown!r} gives {kw.arg} twice; give each parameter once")
        v = kw.value
        if isinstance(v, ast.Name):
            out[kw.arg] = v.id
            continue
        try:
            out[kw.arg] = ast.literal_eval(v)
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
            raise ValueError(f"cannot parse value of {kw.arg} in {shown!r}: use a number or a quoted string") from None
    return node.func.id, out


def _import_module(mod_name: str, target: str) -> Any:
    """Import a user's module; the current folder is searched too (as ``python -m`` would, and as a user
    who writes ``actlab show myacts:fn`` next to ``myacts.py`` expects), after the installed packages.
    An error inside the user's module is reported in one line: it is their code, not ours."""
    import os
    import sys

    try:
        return importlib.import_module(mod_name)
    except ModuleNotFoundError as e:
        top = mod_name.split(".")[0]
        cwd = os.getcwd()
        if e.name not in (top, mod_name) or cwd in sys.path or "" in sys.path:
            raise ValueError(f"cannot import {mod_name!r} for activation {target!r}: {e}") from None
        sys.path.append(cwd)
        try:
            return importlib.import_module(mod_name)
        except ModuleNotFoundError as e2:
            sys.path.remove(cwd)
            raise ValueError(f"cannot import {mod_name!r} for activation {target!r}: {e2} (searched the installed "
                             f"packages and the current folder {cwd})") from None
        except Exception as e2:  # noqa: BLE001
            raise _import_failed(mod_name, target, e2) from None
    except Exception as e:  # noqa: BLE001  (a SyntaxError, or the module raising while it is imported)
        raise _import_failed(mod_name, target, e) from None


def _import_failed(mod_name: str, target: str, e: BaseException) -> ValueError:
    where = ""
    if isinstance(e, SyntaxError):
        where = f" ({e.filename}, line {e.lineno})"
    else:
        import traceback

        frames = traceback.extract_tb(e.__traceback__)
        if frames:
            where = f" ({frames[-1].filename}, line {frames[-1].lineno})"
    return ValueError(f"importing {mod_name!r} for activation {target!r} failed: {type(e).__name__}: {e}{where}")


def _import_object(target: str) -> Any:
    mod_name, _, attr = target.partition(":")
    obj: Any = _import_module(mod_name, target)
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"module {mod_name!r} has no attribute {attr!r}") from None
    return obj


def get(obj: Any = "relu", /, **params: Any):
    """Return an :class:`~actlab.zoo.activation.Activation` for ``obj``.

    >>> get("leaky_relu(negative_slope=0.2)").params
    {'negative_slope': 0.2}
    """
    from .activation import Activation, user_spec

    if isinstance(obj, Activation):
        return obj if not params else obj.with_params(**params)
    if isinstance(obj, ActivationSpec):
        return Activation(obj, obj.resolve(params))
    if isinstance(obj, str):
        if ":" in obj and "(" not in obj.split(":", 1)[0]:
            return get(_import_object(obj), **params)
        name, parsed = parse_name(obj)
        s = spec(name)
        return Activation(s, s.resolve({**parsed, **params}))
    if callable(obj):
        import torch.nn as nn

        if inspect.isclass(obj):
            if issubclass(obj, nn.Module):
                try:
                    obj = obj()
                except TypeError as e:
                    raise ValueError(f"cannot build {obj.__name__}() with no arguments: {e}") from None
            else:
                raise ValueError(f"{obj.__name__} is a class; pass an instance or an nn.Module subclass")
        if params:
            raise ValueError("parameters can only be given for registered activations")
        return Activation(user_spec(obj), {})
    raise TypeError(f"cannot make an activation from {type(obj).__name__}: give a name, spec or callable")


def list_activations(*, kind: str | None = None, family: str | None = None, **property_filters: Any) -> list[str]:
    """Names of registered activations whose default-parameter properties match the filters.

    ``list_activations(monotone=True, convex=False)``; unknown property names raise ``ValueError``.
    """
    from .spec import Properties

    valid = set(Properties.__dataclass_fields__)
    for k in property_filters:
        if k not in valid:
            raise ValueError(f"unknown property {k!r}{suggest(k, valid)} (properties: {', '.join(sorted(valid))})")
    out = []
    for s in _SPECS.values():
        if kind is not None and s.kind != kind:
            continue
        if family is not None and s.family != family:
            continue
        if property_filters:
            props = s.properties_at()
            if props is None:
                continue
            if any(_prop_value(props, k) != _coerce(v) for k, v in property_filters.items()):
                continue
        out.append(s.name)
    return out


def _prop_value(props: Any, k: str) -> Any:
    v = getattr(props, k)
    return float(v) if not isinstance(v, bool) else v


def _coerce(v: Any) -> Any:
    if isinstance(v, bool):
        return v
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("true", "yes", "1"):
            return True
        if low in ("false", "no", "0"):
            return False
        if low in ("inf", "smooth"):
            return float("inf")
        try:
            return float(low)
        except ValueError:
            raise ValueError(f"cannot read property value {v!r}: use true/false or a number") from None
    return float(v)

