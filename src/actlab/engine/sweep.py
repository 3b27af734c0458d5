"""Sweeps: plan a study's units, skip the stored ones, run the rest on a backend, store each.

A *unit* is one ``(cell, hyper, arm, seed)`` of one study config, and its record is a function of
that key and the code fingerprint alone:

1. **Tuning** (a :class:`~.protocol.Tuned` policy): every grid point x tuning seed (>= 1000) x arm x
   cell is a unit of the ``"tune"`` phase (cell gains ``"phase": "tune"``); it reports validation
   metrics only.  Each (cell, arm) then takes the grid point with the best mean tuning metric, read
   from the stored tuning records -- so the choice, too, is a function of stored records.
2. **Evaluation**: seeds ``0..n-1`` (or one deterministic unit, seed -1) with the chosen (or shared)
   hyper-parameters.

Units of one cell and phase are grouped into jobs of at most ``max_batch`` (split so every worker gets
one), sorted by arm and seed.  Grouping is for speed only: the study's ``run`` must give a unit the same
numbers in any group (the engine's training loop does; the study contract test checks each study).
Workers only compute; the driver writes every finished job to the store in one transaction, so a killed
sweep loses at most the jobs in flight.  Every unit runs with ``study.threads`` torch threads.
"""

from __future__ import annotations

import json
import math
import os
import platform
import socket
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .protocol import Profile, Record, Result, Study, Tuned, UnitSpec, canonical, config_dict, config_hash
from .store import Store

__all__ = ["MAX_SEEDS", "SweepSummary", "Unit", "execute_job", "load_study", "resolve_arm", "run_sweep", "select_hyper",
           "study_ref"]

MAX_SEEDS = 1000  # more is a typo, not a design: it would run for days


@dataclass(frozen=True)
class Unit:
    study: str  # the study id (store key)
    ref: str  # how a worker finds the study: "module:attr"
    config_hash: str
    cell: str  # canonical JSON
    hyper: str  # canonical JSON
    arm: str  # canonical name (store key)
    arm_ref: str  # what the user typed: resolvable in a worker ("my_pkg.mod:MyAct")
    seed: int
    fingerprint: str

    @property
    def activation(self) -> str:
        return self.arm

    @property
    def phase(self) -> str:
        return "tune" if json.loads(self.cell).get("phase") == "tune" else "main"

    @property
    def label(self) -> str:
        cell = json.loads(self.cell)
        where = " ".join(f"{k}={v}" for k, v in cell.items())
        return f"{self.study} {self.arm} seed={self.seed}" + (f" {where}" if where else "")


@dataclass
class SweepSummary:
    study: str
    config_hash: str
    fingerprint: str
    profile: str
    total: int = 0
    skipped: int = 0
    done: int = 0
    diverged: int = 0
    failed: int = 0
    tuned: int = 0
    seconds: float = 0.0
    hyper: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def study_ref(study: Study) -> str:
    """``"module:attr"`` naming ``study`` where it is defined, so a worker process can import it.

    The engine receives Study objects and finds them again by import path: it never imports the
    studies package (a study outside actlab works the same way).
    """
    import sys

    mod = getattr(study.run, "__module__", None)
    for name, obj in vars(sys.modules.get(mod) or object()).items() if mod else ():
        if obj is study:
            return f"{mod}:{name}"
    raise ValueError(f"study {study.id} is not a module-level object of {mod}: workers could not import it")


def load_study(ref: str) -> Study:
    """The Study at ``"module:attr"`` (ValueError naming the fix otherwise)."""
    import importlib

    mod_name, sep, attr = ref.partition(":")
    if not sep:
        raise ValueError(f"a study reference is 'module:attr', got {ref!r}")
    try:
        obj = getattr(importlib.import_module(mod_name), attr)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"cannot load study {ref!r}: {e}") from None
    if not isinstance(obj, Study):
        raise ValueError(f"{ref!r} is a {type(obj).__name__}, not an actlab.engine.Study")
    return obj


def resolve_arm(study: Study, name: Any) -> tuple[str, Any]:
    """``(canonical name, object)`` of an arm: the study's own arms first, then the zoo."""
    from ..zoo import get

    if isinstance(name, str) and study.resolve is not None:
        obj = study.resolve(name)
        if obj is not None:
            return name, obj
    act = get(name)
    return act.name, act


def _seeds(profile: Profile, seeds: int | None) -> list[int]:
    n = profile.seeds if seeds is None else seeds
    if n is None:
        return [-1]
    if isinstance(n, bool) or not isinstance(n, int) or n < 1 or n > MAX_SEEDS:
        raise ValueError(f"--seeds must be between 1 and {MAX_SEEDS}, got {n}")
    if profile.seeds is None:
        raise ValueError("this profile's units are deterministic (no seeds): drop --seeds")
    return list(range(n))


def select_hyper(policy: Tuned, records: Sequence[Record], cell: dict[str, Any], arm: str) -> dict[str, Any] | None:
    """The tuned grid point for one (cell, arm), from its stored tuning records (None if incomplete).

    The mean of ``policy.metric`` over the tuning seeds decides; a diverged unit (or a non-finite
    metric) counts as the worst possible value; ties go to the first grid point in grid order.  A failed
    unit is retried by the next run, so it is not a result yet: the choice waits for it (None), and is
    made once, from final records only -- a retried unit can never change a choice already trained with.
    """
    tune_cell = canonical({**cell, "phase": "tune"})
    by: dict[str, dict[int, float]] = {}
    for r in records:
        if r.cell == tune_cell and r.arm == arm and r.status != "failed":
            v = r.metrics.get(policy.metric)
            ok = r.status == "done" and isinstance(v, (int, float)) and math.isfinite(v)
            worst = -math.inf if policy.direction == "higher" else math.inf
            by.setdefault(r.hyper, {})[r.seed] = float(v) if ok else worst
    best, best_v = None, None
    for point in policy.points():
        vals = by.get(canonical(point), {})
        if set(vals) != set(policy.seeds):
            return None
        m = sum(vals.values()) / len(vals)
        if best_v is None or (m > best_v if policy.direction == "higher" else m < best_v):
            best, best_v = point, m
    return best


def _env(backend: str) -> dict[str, Any]:
    import torch

    return {"torch": torch.__version__, "python": platform.python_version(), "platform": platform.platform(),
            "host": socket.gethostname(), "backend": backend, "threads": torch.get_num_threads()}


def execute_job(ref: str, config: Any, units: Sequence[Unit], profile: str = "", backend: str = "local") -> list[Record]:
    """Run one job (in any process) and return its records; never raises for a unit's failure."""
    import torch

    study = load_study(ref)
    threads = torch.get_num_threads()
    torch.set_num_threads(study.threads)
    try:
        env = _env(backend)
        env["device"] = study.device
        started = time.time()
        specs = []
        for u in units:
            cell = json.loads(u.cell)
            phase = cell.pop("phase", "main")
            specs.append(UnitSpec(u.arm, resolve_arm(study, u.arm_ref)[1], u.seed, cell, json.loads(u.hyper), phase))
        results: list[Result | BaseException]
        try:
            results = list(study.run(config, specs))
            if len(results) != len(units):
                raise RuntimeError(f"{study.id}.run returned {len(results)} results for {len(units)} units")
            for r in results:
                if not isinstance(r, Result):
                    raise TypeError(f"{study.id}.run must return actlab.engine.Result objects, got {type(r).__name__}")
        except Exception as e:  # isolate the failing unit: one at a time (same numbers: grouping is for speed)
            if len(units) == 1:
                results = [_as_failure(e)]
            else:
                results = [_run_one(study, config, s) for s in specs]
        finished = time.time()
        per = (finished - started) / max(1, len(units))
        out = []
        for u, r in zip(units, results):
            if isinstance(r, BaseException):
                status, metrics, curves, arrays, error = "failed", {}, {}, {}, _one_line(r)
            else:
                status, metrics, curves, arrays, error = r.status, r.metrics, r.curves, r.arrays, r.error
            out.append(Record(u.study, u.config_hash, u.cell, u.hyper, u.arm, u.seed, u.fingerprint, status,
                              dict(metrics), dict(curves), dict(arrays), error, started, finished, per, env["host"],
                              env, profile, study.claim))
        return out
    finally:
        torch.set_num_threads(threads)


def _as_failure(e: BaseException) -> Result | BaseException:
    if isinstance(e, FloatingPointError):  # a study may signal divergence by raising
        return Result({}, {}, status="diverged", error=_one_line(e))
    return e


def _run_one(study: Study, config: Any, spec: UnitSpec) -> Result | BaseException:
    try:
        (r,) = study.run(config, [spec])
        if not isinstance(r, Result):
            raise TypeError(f"{study.id}.run must return actlab.engine.Result objects, got {type(r).__name__}")
        return r
    except Exception as e:
        return _as_failure(e)


def _one_line(e: BaseException) -> str:
    tb = traceback.extract_tb(e.__traceback__)
    where = f" (at {os.path.basename(tb[-1].filename)}:{tb[-1].lineno})" if tb else ""
    return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}{where}"


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)


def _jobs(study: Study, units: list[Unit], workers: int) -> list[list[Unit]]:
    by_cell: dict[str, list[Unit]] = {}
    for u in sorted(units, key=lambda u: (u.cell, u.arm, u.hyper, u.seed)):
        by_cell.setdefault(u.cell, []).append(u)
    size = max(1, min(study.max_batch, math.ceil(len(units) / max(1, workers)))) if units else 1
    return [us[i:i + size] for us in by_cell.values() for i in range(0, len(us), size)]


def run_sweep(study: Study, profile: str, *, activations: Sequence[Any] | None = None, seeds: int | None = None,
              store: Store, backend: str = "local", jobs: int | None = None, address: str | None = None,
              ref: str | None = None, on_start: Callable[[str, int, int], None] | None = None,
              on_job: Callable[[list[Unit], list[Record]], None] | None = None,
              on_running: Callable[[list[Unit]], None] | None = None) -> SweepSummary:
    """Run every unit of ``study`` 's ``profile`` x arms x seeds that the store does not hold yet.

    ``activations`` replaces the study's arms (the baseline and named arms are always added, so the
    claim can be judged).  ``on_start(study, total, skipped)``, ``on_running(units in flight)`` and
    ``on_job(units, records)`` feed progress displays; records are stored before ``on_job`` is called.
    """
    from .fingerprint import study_fingerprint

    if backend not in ("local", "ray"):
        raise ValueError(f"unknown backend {backend!r}: use local or ray")
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    if workers < 1 or workers > 256:
        raise ValueError(f"-j must be between 1 and 256 workers, got {workers}")
    prof = study.profile(profile)
    config = prof.config
    seed_list = _seeds(prof, seeds)
    claim_arms = [a for a in (study.baseline, *study.compared) if a]  # no baseline: a within-unit study
    names = list(study.arms) if activations is None else [*claim_arms, *activations]
    arms: list[tuple[str, str]] = []
    for a in names:
        canon, _ = resolve_arm(study, a)
        if canon not in [c for c, _ in arms]:
            arms.append((canon, a if isinstance(a, str) else canon))
    h = config_hash(study.id, config)
    fp = study_fingerprint(study)
    store.add_config(h, study.id, profile, config_dict(config))
    summary = SweepSummary(study.id, h, fp, profile)
    sref = ref or study_ref(study)
    plan_cells = study.plan_cells(config)

    def pending(units: list[Unit]) -> list[Unit]:
        done = store.finished_keys(study.id, h, fp)
        todo = [u for u in units if (u.cell, u.hyper, u.arm, u.seed) not in done]
        summary.skipped += len(units) - len(todo)
        return todo

    def execute(units: list[Unit]) -> None:
        def finish(job: list[Unit], records: list[Record]) -> None:
            store.put(records)
            for r in records:
                setattr(summary, r.status, getattr(summary, r.status) + 1)
                if r.status == "failed":
                    summary.errors.append(f"{r.arm} seed={r.seed}: {r.error}")
            if on_job:
                on_job(job, records)

        running = on_running or (lambda units: None)
        batches = _jobs(study, units, workers)
        if not batches:
            return
        if backend == "ray":
            _run_ray(batches, sref, config, profile, workers, address, finish, running)
        elif workers == 1 or len(batches) == 1:
            for job in batches:
                running(job)
                finish(job, execute_job(sref, config, job, profile, "local"))
        else:
            _run_pool(batches, sref, config, profile, workers, finish, running)

    t0 = time.time()
    tune_units: list[Unit] = []
    fixed: list[Unit] = []
    for cell, pol in plan_cells:
        for canon, a_ref in arms:
            if isinstance(pol, Tuned):
                tune_units += [Unit(study.id, sref, h, canonical({**cell, "phase": "tune"}), canonical(point), canon,
                                    a_ref, s, fp) for point in pol.points() for s in pol.seeds]
            else:
                fixed += [Unit(study.id, sref, h, canonical(cell), canonical(dict(pol.values)), canon, a_ref, s, fp)
                          for s in seed_list]
    summary.tuned = len(tune_units)
    summary.total = len(tune_units) + len(plan_cells) * len(arms) * len(seed_list)
    todo = pending(tune_units) + pending(fixed)
    if on_start:
        on_start(study.id, summary.total, summary.skipped)  # tuned cells' stored units are counted after tuning
    execute(todo)  # tuning units and every shared-policy unit, in one pass
    if tune_units:
        tuned = store.records(study.id, h, fp, curves=False, arrays=False)
        main: list[Unit] = []
        for cell, pol in plan_cells:
            if not isinstance(pol, Tuned):
                continue
            for canon, a_ref in arms:
                point = select_hyper(pol, tuned, cell, canon)
                if point is None:
                    summary.errors.append(f"{canon} {canonical(cell)}: tuning incomplete (a tuning unit failed)")
                    continue
                summary.hyper.setdefault(canonical(cell), {})[canon] = point
                main += [Unit(study.id, sref, h, canonical(cell), canonical(point), canon, a_ref, s, fp) for s in seed_list]
        execute(pending(main))
    summary.seconds = time.time() - t0
    return summary


def _in_flight(pending: dict[Any, list[Unit]]) -> list[Unit]:
    return [u for job in pending.values() for u in job]


def _run_pool(batches: list[list[Unit]], ref: str, config: Any, profile: str, workers: int,
              finish: Callable[[list[Unit], list[Record]], None], running: Callable[[list[Unit]], None]) -> None:
    import multiprocessing as mp

    # spawn, not fork: forking a process that has started torch's thread pools can deadlock
    ex = ProcessPoolExecutor(max_workers=min(workers, len(batches)), mp_context=mp.get_context("spawn"),
                             initializer=_worker_init)
    try:
        pending = {ex.submit(execute_job, ref, config, job, profile, "local"): job for job in batches}
        while pending:
            running(_in_flight(pending))
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                job = pending.pop(fut)
                finish(job, fut.result())
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


def check_address(address: str) -> None:
    """Fail fast (ValueError, one line) when a Ray address cannot be reached."""
    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1]
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"Ray address {address!r} is not HOST:PORT (or ray://HOST:PORT, auto)")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=3).close()
    except OSError as e:
        raise ValueError(f"cannot reach a Ray cluster at {address} ({e.strerror or e}); start one with "
                         "`ray start --head` or drop --address to use a local one") from None


def _run_ray(batches: list[list[Unit]], ref: str, config: Any, profile: str, workers: int, address: str | None,
             finish: Callable[[list[Unit], list[Record]], None], running: Callable[[list[Unit]], None]) -> None:
    try:
        import ray
    except ImportError:
        raise ValueError("the ray backend needs Ray: pip install 'actlab[distributed]'") from None
    started = False
    if not ray.is_initialized():
        if address:
            check_address(address)
        try:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        except Exception as e:  # Ray raises ConnectionError, RuntimeError, ... with long messages
            where = f"at {address}" if address else "locally"
            raise ValueError(f"cannot start or join a Ray cluster {where}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
        started = True
    try:
        task = ray.remote(num_cpus=1)(execute_job)
        pending = {task.remote(ref, config, job, profile, "ray"): job for job in batches}
        while pending:
            running(_in_flight(pending))
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref_ in done:
                job = pending.pop(ref_)
                finish(job, ray.get(ref_))
    finally:
        if started:
            ray.shutdown()
