"""actlab -- the activation-function laboratory.

>>> import actlab
>>> act = actlab.get("leaky_relu(negative_slope=0.2)")
>>> act.module()
LeakyReLU(negative_slope=0.2)

``import actlab`` loads the zoo, the torch modules and the kernels (so ``act(x)`` takes its measured
fast path); the heavier faces -- theory (scipy), approx, engine, studies -- load on first use of
``actlab.theory``, ``actlab.Study`` and so on.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version as _version
from typing import Any

from .nn import ActivationModule, GatedMLP, replace_activations
from .zoo import (DEFAULT_SET, Activation, ActivationSpec, Param, Properties, UnknownActivationError, get, list_activations,
                  register, spec, unregister)

try:
    __version__ = _version("actlab")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

#: name -> (module, attribute or None for the module itself), imported on first access
_LAZY: dict[str, tuple[str, str | None]] = {
    "approx": ("actlab.approx", None), "approximate": ("actlab.approx", "approximate"), "pau": ("actlab.approx", "pau"),
    "theory": ("actlab.theory", None), "init_": ("actlab.theory", "init_"),
    "engine": ("actlab.engine", None), "Result": ("actlab.engine", "Result"), "Store": ("actlab.engine", "Store"),
    "Study": ("actlab.engine", "Study"),
    "studies": ("actlab.studies", None), "all_studies": ("actlab.studies", "all_studies"),
    "get_study": ("actlab.studies", "get_study"),
}


def __getattr__(name: str) -> Any:
    try:
        mod, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'actlab' has no attribute {name!r}") from None
    m = importlib.import_module(mod)
    value = m if attr is None else getattr(m, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["DEFAULT_SET", "Result", "Store", "Study", "all_studies", "get_study",
           "approx", "approximate", "pau", "Activation", "ActivationModule", "ActivationSpec", "GatedMLP", "Param", "Properties", "UnknownActivationError",
           "get", "init_", "list_activations", "register", "replace_activations", "spec", "theory", "unregister",
           "__version__"]
