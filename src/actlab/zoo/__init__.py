"""The zoo: the registry and the activation families (importing a family registers its specs)."""

from . import rectifiers, exponential, sigmoidal, self_gated, smooth, learnable, gated  # noqa: F401  (registration)
from .activation import Activation
from .registry import UnknownActivationError, all_specs, get, list_activations, register, spec, unregister
from .sets import DEFAULT_SET, GATED_SET
from .spec import SMOOTH, ActivationSpec, Param, Properties

__all__ = ["DEFAULT_SET", "GATED_SET", "Activation", "ActivationSpec", "Param", "Properties", "SMOOTH", "UnknownActivationError",
           "all_specs", "get", "list_activations", "register", "spec", "unregister"]
