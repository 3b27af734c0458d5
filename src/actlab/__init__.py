"""actlab -- the activation-function laboratory.

>>> import actlab
>>> act = actlab.get("leaky_relu(negative_slope=0.2)")
>>> act.module()
LeakyRelu(negative_slope=0.2)
"""

from importlib.metadata import PackageNotFoundError, version as _version

from . import approx, theory
from .approx import approximate, pau
from .engine import Result, Store, Study
from .nn import ActivationModule, GatedMLP, replace_activations
from .studies import all_studies, get_study
from .theory import init_
from .zoo import (DEFAULT_SET, Activation, ActivationSpec, Param, Properties, UnknownActivationError, get, list_activations,
                  register, spec, unregister)

try:
    __version__ = _version("actlab")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0+unknown"

__all__ = ["DEFAULT_SET", "Result", "Store", "Study", "all_studies", "get_study",
           "approx", "approximate", "pau", "Activation", "ActivationModule", "ActivationSpec", "GatedMLP", "Param", "Properties", "UnknownActivationError",
           "get", "init_", "list_activations", "register", "replace_activations", "spec", "theory", "unregister",
           "__version__"]
