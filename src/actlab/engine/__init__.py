"""The study engine: protocol, decision rules, store, sweeps on local or Ray workers, vectorised ensembles.

How to write a study: ``docs/engine.md``.
"""

from .decide import Decision
from .ensemble import Ensemble, can_stack
from .protocol import Figure, Part, Profile, Record, Result, Shared, Study, Tuned, UnitSpec, config_hash
from .store import SCHEMA_VERSION, Store, StoreError, default_path
from .sweep import Interrupted, StopFlag, SweepSummary, Unit, execute_job, interruptible, run_sweep
from .tasks import Classification, Task
from .train import Schedule, build, seed_for, seeded, train
from .verdicts import SMOKE_LABEL, judge, verdict

__all__ = ["Classification", "Decision", "Ensemble", "Figure", "Interrupted", "Part", "Profile", "Record", "Result",
           "SCHEMA_VERSION", "SMOKE_LABEL", "Schedule", "Shared", "StopFlag", "Store", "StoreError", "Study",
           "SweepSummary", "Task", "Tuned", "Unit", "UnitSpec", "build", "can_stack", "config_hash", "default_path",
           "execute_job", "interruptible", "judge", "run_sweep", "seed_for", "seeded", "train", "verdict"]
