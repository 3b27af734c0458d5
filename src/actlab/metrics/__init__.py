"""Measurements inside a model, shared by the studies (one file per metric family).

* :mod:`.activity` -- per-layer pre-activation and output statistics, exact zeros, dead and saturated
  units over a data set;
* :mod:`.gradients` -- per-layer gradient norms and per-minibatch gradients.

They take an ordinary model built by :mod:`actlab.models` (its hidden activation modules are found with
:func:`actlab.models.hidden_activations`) and never change it: a copy trains on; these only read.
"""

from .activity import LayerActivity, activity, max_slope
from .gradients import layer_grad_norms, minibatch_gradients

__all__ = ["LayerActivity", "activity", "layer_grad_norms", "max_slope", "minibatch_gradients"]
