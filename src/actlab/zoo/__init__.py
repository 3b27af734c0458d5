"""The zoo: the registry and the activation families (importing a family registers its specs).

The numerical conventions every path keeps (compute dtype, +-inf limits, NaN in -> NaN out) are
public here -- :func:`compute_dtype`, :func:`limits`, :func:`evaluate`, :func:`apply_conventions` --
and used by ``actlab.nn`` and ``actlab.kernels``; ``ActivationModule`` lives here too, so nothing in
the zoo imports upwards.
"""

from . import rectifiers, exponential, sigmoidal, self_gated, smooth, learnable, gated  # noqa: F401  (registration)
from .activation import Activation, ActivationModule, apply_conventions, branch_free, compute_dtype, evaluate, limits
from .registry import UnknownActivationError, all_specs, get, list_activations, register, spec, unregister
from .sets import DEFAULT_SET, GATED_SET
from .spec import SMOOTH, ActivationSpec, Param, Properties

__all__ = ["DEFAULT_SET", "GATED_SET", "Activation", "ActivationModule", "ActivationSpec", "Param", "Properties", "SMOOTH",
           "UnknownActivationError", "all_specs", "apply_conventions", "branch_free", "compute_dtype", "evaluate", "get",
           "limits", "list_activations", "register", "spec", "unregister"]
