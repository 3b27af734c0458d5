"""The study engine: protocol, store, sweeps on local or Ray workers, vectorised ensembles, progress.

How to write a study: ``docs/engine.md``.
"""

from .ensemble import Ensemble, can_stack
from .protocol import Record, Result, Study, Verdict, config_hash
from .stats import MIN_SEEDS, combine, contrast_verdict, mean_ci, paired_verdict, summarise
from .store import SCHEMA_VERSION, Store, StoreError, default_path
from .sweep import SweepSummary, Unit, execute_job, plan, run_sweep
from .train import Schedule, build, fit, fit_many, seed_for, seeded

__all__ = ["Ensemble", "MIN_SEEDS", "Record", "Result", "SCHEMA_VERSION", "Schedule", "Store", "StoreError", "Study",
           "SweepSummary", "Unit", "Verdict", "build", "can_stack", "combine", "config_hash", "contrast_verdict", "default_path",
           "execute_job", "fit", "fit_many", "mean_ci", "paired_verdict", "plan", "run_sweep", "seed_for", "seeded",
           "summarise"]
