"""actlab.theory: what can be computed about an activation without training (see docs/theory.md).

Pure functions of an activation; nothing here trains a model or imports experiments/engine/report
(except :mod:`.card`, which lazily takes the code fingerprint and the record type a card is stored as
from the engine; it is imported on its own, ``from actlab.theory.card import theory_card``).
"""

from . import dying, gain, gaussian, gradflow, moments, propagation, relations, selfnorm
from .dying import born_dead_mc, dead_probability
from .gain import gain_report, he_std, init_, torch_gain
from .gaussian import expect, expect_mc, expect_mpmath
from .gradflow import depth_profile, gate_chain, max_slope, pascanu_check
from .moments import Moments, gaussian_moments, slope_table
from .propagation import depth_scales, edge_of_chaos, fixed_point, phase_diagram, variance_map
from .selfnorm import alpha_dropout, alpha_dropout_for, solve as solve_selfnorm

__all__ = ["Moments", "alpha_dropout", "alpha_dropout_for", "born_dead_mc", "dead_probability",
           "depth_profile", "depth_scales", "dying", "edge_of_chaos", "expect", "expect_mc", "expect_mpmath",
           "fixed_point", "gain", "gain_report", "gate_chain", "gaussian", "gaussian_moments", "gradflow",
           "he_std", "init_", "max_slope", "moments", "pascanu_check", "phase_diagram", "propagation",
           "relations", "selfnorm", "slope_table", "solve_selfnorm", "torch_gain", "variance_map"]
