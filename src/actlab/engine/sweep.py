"""Sweeps: plan a study's units, skip the stored ones, run the rest on a backend, store each.

A *unit* is one ``(cell, hyper, arm, seed)`` of one study config, and its record is a function of
that key and the code fingerprint alone:

1. **Tuning** (a :class:`~.protocol.Tuned` policy): every grid point x tuning seed (>= 1000) x arm x
   cell is a unit of the ``"tune"`` phase (cell gains ``"phase": "tune"``); it reports validation
   metrics only.  Each (cell, arm) then takes the grid point with the best mean tuning metric, read
   from the stored tuning records -- so the choice, too, is a function of stored records.
2. **Evaluation**: seeds ``0..n-1`` (or one deterministic unit, seed -1) with the chosen (or shared)
   hyper-parameters.

Units of one cell and phase are grouped into jobs, sorted by arm and seed.  Grouping is for speed only:
the study's ``run`` must give a unit the same numbers in any group (the engine's training loop does; the
study contract test checks each study), so any regrouping is safe.  A job holds at most ``max_batch``
units, and pending units are cut into at least ``ROUNDS`` jobs per worker where that leaves groups of
``MIN_GROUP`` or more (an ensemble's batched speed needs a few members; the quick profiles keep their
whole-cell groups), so at most one job per worker is ever in flight and an interruption loses at most
those.  Workers only compute; the driver writes every unit as it comes back, one transaction per
record batch: a job's records when it ends, or each unit as the study's ``run`` yields it (a ``run``
may return an iterator), or one by one when a failing group is re-run unit by unit.  Every unit runs
with ``study.threads`` torch threads.

Faults (``docs/engine.md``, "Interrupting, crashing and sharing a store"):

* **stop**: a :class:`StopFlag` (set by :func:`interruptible` on SIGINT/SIGTERM) stops new work; the
  jobs in flight finish and are stored, then :class:`Interrupted` is raised.  A second signal raises at
  once (never inside a store write); the workers are killed and the units in flight are lost;
* **workers die with the driver**: local workers are spawned processes that get SIGKILL when the
  driver dies (Linux ``PR_SET_PDEATHSIG``), with a watchdog thread that exits when the parent changes
  and a pipe whose end-of-file ends an idle worker;
* **a dying worker** (killed, out of memory, a crash in native code) costs only its own job: its units
  not yet stored are retried once, one unit per job, in a fresh worker; a unit whose worker dies again
  is recorded ``failed`` with the reason, and the sweep goes on;
* **sharing a store**: a unit is claimed (:meth:`.store.Store.claim`, a lease renewed while it
  trains) just before it is submitted, so concurrent sweeps share the work and never train a unit
  twice; units another live sweep holds are waited for (stored by it, or freed when its lease lapses);
* **an unusable store** mid-sweep (full disk, lock, read-only): no new work starts, the records
  trained meanwhile are kept in memory and written once more when the jobs in flight are done; if that
  fails too, :class:`~.store.StoreError` says why and how many trained units could not be stored.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import signal
import socket
import sys
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from .protocol import Profile, Record, Result, Study, Tuned, UnitSpec, canonical, config_dict, config_hash
from .store import Store, StoreError

__all__ = ["MAX_SEEDS", "MAX_UNITS", "Interrupted", "Plan", "StopFlag", "SweepSummary", "Unit", "execute_job",
           "interruptible", "load_study", "plan_sweep", "resolve_arm", "run_sweep", "select_hyper", "stop_line",
           "study_ref"]

MAX_SEEDS = 1000  # more is a typo, not a design: it would run for days
MAX_UNITS = 5000  # a plan larger than this runs only when asked twice (yes=True, ``--yes``)
MIN_GROUP = 8  # smaller groups than this lose much of an ensemble's batched speed
ROUNDS = 4  # jobs per worker, at least, where groups stay >= MIN_GROUP
LEASE_SECONDS = 600.0  # a claimed unit's lease; renewed every quarter of it while the sweep runs
POLL = 0.5  # seconds between looks at the workers, a stop request, or another sweep's units


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
    def key(self) -> tuple[str, str, str, str, str, int, str]:
        return (self.study, self.config_hash, self.cell, self.hyper, self.arm, self.seed, self.fingerprint)

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
    skipped: int = 0  # stored before this sweep reached them (by an earlier run, or by a concurrent one)
    done: int = 0
    diverged: int = 0
    failed: int = 0
    tuned: int = 0
    elsewhere: int = 0  # of ``skipped``: stored by a concurrent sweep while this one ran
    retried: int = 0  # units re-run because their worker process died
    seconds: float = 0.0
    hyper: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


# -- stopping: SIGINT / SIGTERM ----------------------------------------------------------------------
class Interrupted(KeyboardInterrupt):
    """A sweep stopped on request (a signal): what finished is stored; ``signum`` says which signal."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signum)
        self.signum = int(signum)
        self.message: str | None = None  # the "stopped: N of M units stored" line, where the caller set it

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class StopFlag:
    """A request to stop a sweep: set once, it stops new work; set twice, it stops at once.

    :func:`interruptible` sets it from signal handlers; a program may call :meth:`request` itself.
    ``run_sweep(..., stop=flag)`` finishes and stores the jobs in flight, then raises
    :class:`Interrupted`.  A second request raises :class:`Interrupted` at once in the main thread,
    but never inside a store write (it is raised when the write ends).
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self._critical = 0
        self._hard_pending = False
        self.hard = False

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def request(self, signum: int = signal.SIGINT) -> None:
        if self.signum is None:
            self.signum = int(signum)
            return
        self.hard = True
        if self._critical:
            self._hard_pending = True
        else:
            raise Interrupted(self.signum)

    @contextlib.contextmanager
    def critical(self) -> Iterator[None]:
        """A block a second request must not break (a store write); it raises when the block ends."""
        self._critical += 1
        try:
            yield
        finally:
            self._critical -= 1
            if not self._critical and self._hard_pending:
                self._hard_pending = False
                raise Interrupted(self.signum or signal.SIGINT)


@contextlib.contextmanager
def interruptible(on_first: Callable[[int], None] | None = None) -> Iterator[StopFlag]:
    """SIGINT and SIGTERM set a :class:`StopFlag` (first signal: stop new work; second: stop now).

    Handlers are installed only in the main thread, and the previous ones are restored on exit.
    ``on_first(signum)`` is called at the first signal (to tell the user what happens next).
    """
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum: int, frame: Any) -> None:
        first = flag.signum is None
        flag.request(signum)
        if first and on_first is not None:
            on_first(signum)

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def stop_line(plans: Sequence["Plan"], store: Store) -> str:
    """``stopped: 37 of 39 units stored, rerun the same command to resume`` for a command's plans."""
    total = sum(p.total for p in plans)
    try:
        stored = sum(p.stored(store) for p in plans)
    except StoreError:
        return f"stopped: {total} units planned, rerun the same command to resume"
    return f"stopped: {stored} of {total} units stored, rerun the same command to resume"


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


def _check(study: Study, r: Any) -> Result:
    if not isinstance(r, Result):
        raise TypeError(f"{study.id}.run must return actlab.engine.Result objects, got {type(r).__name__}")
    return r


def _run_job(ref: str, config: Any, units: Sequence[Unit], profile: str, backend: str,
             emit: Callable[[list[Record]], None], isolate: bool = True) -> list[Unit]:
    """Run one job, calling ``emit(records)`` as soon as units have results.

    A ``run`` that returns a list gives all its records at once, when it returns; one that returns an
    iterator gives each as it is yielded.  When the group fails, the units without a result are re-run one at a
    time (``isolate``), or returned for the caller to re-run (as jobs of their own, in parallel).
    Never raises for a unit's failure.
    """
    import torch

    study = load_study(ref)
    threads = torch.get_num_threads()
    torch.set_num_threads(study.threads)
    try:
        env = _env(backend)
        env["device"] = study.device
        specs = []
        for u in units:
            cell = json.loads(u.cell)
            phase = cell.pop("phase", "main")
            specs.append(UnitSpec(u.arm, resolve_arm(study, u.arm_ref)[1], u.seed, cell, json.loads(u.hyper), phase))

        def record(u: Unit, r: Result | BaseException, started: float, finished: float, seconds: float) -> Record:
            if isinstance(r, BaseException):
                status, metrics, curves, arrays, error = "failed", {}, {}, {}, _one_line(r)
            else:
                status, metrics, curves, arrays, error = r.status, r.metrics, r.curves, r.arrays, r.error
            return Record(u.study, u.config_hash, u.cell, u.hyper, u.arm, u.seed, u.fingerprint, status,
                          dict(metrics), dict(curves), dict(arrays), error, started, finished, seconds, env["host"],
                          env, profile, study.claim)

        started = time.time()
        n = 0
        try:
            out = study.run(config, specs)
            if isinstance(out, (list, tuple)):
                if len(out) != len(units):
                    raise RuntimeError(f"{study.id}.run returned {len(out)} results for {len(units)} units")
                results = [_check(study, r) for r in out]
                finished = time.time()
                per = (finished - started) / max(1, len(units))
                emit([record(u, r, started, finished, per) for u, r in zip(units, results)])
                return []
            last = started
            for r in out:  # an iterator: each unit is stored as it is yielded
                if n >= len(units):
                    raise RuntimeError(f"{study.id}.run yielded more results than its {len(units)} units")
                r = _check(study, r)
                now = time.time()
                emit([record(units[n], r, last, now, now - last)])
                last, n = now, n + 1
            if n != len(units):
                raise RuntimeError(f"{study.id}.run returned {n} results for {len(units)} units")
            return []
        except Exception as e:  # isolate the failing unit: one at a time (same numbers: grouping is for speed)
            rest, rest_specs = list(units[n:]), specs[n:]
            if not rest:
                return []
            if len(units) == 1:
                emit([record(rest[0], _as_failure(e), started, time.time(), time.time() - started)])
                return []
            if not isolate:
                return rest
            for u, s in zip(rest, rest_specs):
                t0 = time.time()
                r1 = _run_one(study, config, s)
                t1 = time.time()
                emit([record(u, r1, t0, t1, t1 - t0)])
            return []
    finally:
        torch.set_num_threads(threads)


def execute_job(ref: str, config: Any, units: Sequence[Unit], profile: str = "", backend: str = "local") -> list[Record]:
    """Run one job (in any process) and return its records; never raises for a unit's failure."""
    out: list[Record] = []
    _run_job(ref, config, units, profile, backend, out.extend, isolate=True)
    return out


def _ray_job(ref: str, config: Any, units: Sequence[Unit], profile: str, backend: str) -> tuple[list[Record], list[Unit]]:
    out: list[Record] = []
    rest = _run_job(ref, config, units, profile, backend, out.extend, isolate=len(units) == 1)
    return out, rest


def _as_failure(e: BaseException) -> Result | BaseException:
    if isinstance(e, FloatingPointError):  # a study may signal divergence by raising
        return Result({}, {}, status="diverged", error=_one_line(e))
    return e


def _run_one(study: Study, config: Any, spec: UnitSpec) -> Result | BaseException:
    try:
        out = study.run(config, [spec])
        (r,) = list(out)
        return _check(study, r)
    except Exception as e:
        return _as_failure(e)


def _one_line(e: BaseException) -> str:
    tb = traceback.extract_tb(e.__traceback__)
    where = f" (at {os.path.basename(tb[-1].filename)}:{tb[-1].lineno})" if tb else ""
    return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}{where}"


# -- local workers ----------------------------------------------------------------------------------
def _die_with(driver: int) -> None:
    """End this process when ``driver`` (its parent) dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG: the kernel kills us with the parent
        except (OSError, AttributeError):
            pass
    if os.getppid() != driver:  # the driver died before the line above
        os._exit(1)

    def watch() -> None:  # where PR_SET_PDEATHSIG does not exist (or the spawning thread ended)
        while True:
            time.sleep(1.0)
            if os.getppid() != driver:
                os._exit(1)

    threading.Thread(target=watch, name="actlab-driver-watch", daemon=True).start()


def _worker_init(driver: int | None = None) -> None:
    import torch

    torch.set_num_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C reaches the whole process group: the driver decides
    if driver is not None:
        _die_with(driver)


def _worker_main(conn: Any, driver: int) -> None:
    """A local worker: run the jobs the driver sends on ``conn``, send back each record as it exists."""
    _worker_init(driver)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):  # the driver is gone
            return
        except Exception as e:  # a job that cannot be unpickled here (a study this process cannot import)
            conn.send(("error", None, _one_line(e)))
            continue
        if msg is None:
            return
        token, ref, config, units, profile = msg
        try:
            rest = _run_job(ref, config, units, profile, "local", lambda rs: conn.send(("units", token, rs)),
                            isolate=len(units) == 1)
            conn.send(("end", token, rest))
        except Exception as e:
            conn.send(("error", token, _one_line(e)))


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "its worker process stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        extra = ", perhaps out of memory" if -code == signal.SIGKILL else ""
        return f"its worker process was killed by {name}{extra}"
    return f"its worker process exited with code {code}"


# -- jobs ---------------------------------------------------------------------------------------------
def _jobs(study: Study, units: list[Unit], workers: int) -> list[list[Unit]]:
    """Units of one cell (and phase) in jobs of at most ``max_batch``: at least ``ROUNDS`` jobs per worker
    where each keeps ``MIN_GROUP`` units or more, the jobs of a cell as even as possible."""
    by_cell: dict[str, list[Unit]] = {}
    for u in sorted(units, key=lambda u: (u.cell, u.arm, u.hyper, u.seed)):
        by_cell.setdefault(u.cell, []).append(u)
    if not units:
        return []
    size = max(1, min(study.max_batch, math.ceil(len(units) / (max(1, workers) * ROUNDS))))
    floor = min(study.max_batch, MIN_GROUP)
    out = []
    for us in by_cell.values():
        k = max(math.ceil(len(us) / study.max_batch), min(math.ceil(len(us) / size), max(1, len(us) // floor)))
        q, r = divmod(len(us), k)
        i = 0
        for j in range(k):
            n = q + (j < r)
            out.append(us[i:i + n])
            i += n
    return out


@dataclass
class _Job:
    units: list[Unit]
    attempt: int = 0  # 1: a retry after its worker died
    token: int = 0
    stored: set = field(default_factory=set)  # keys of the units whose records came back

    def rest(self) -> list[Unit]:
        return [u for u in self.units if u.key not in self.stored]


# -- plans --------------------------------------------------------------------------------------------
@dataclass
class Plan:
    """What a sweep of one study's profile runs: its units (tuned cells' evaluation units once tuned)."""

    study: Study
    profile: str
    config: Any
    config_hash: str
    fingerprint: str
    ref: str
    arms: list[tuple[str, str]]  # (canonical name, what a worker resolves)
    seeds: list[int]
    cells: list[tuple[dict[str, Any], Any]]
    tune_units: list[Unit]
    fixed: list[Unit]

    @property
    def total(self) -> int:
        return len(self.tune_units) + sum(len(self.arms) * (1 if self.study.is_theory(c) else len(self.seeds))
                                          for c, _ in self.cells)

    def main_units(self, cell: dict[str, Any], point: dict[str, Any], canon: str, a_ref: str) -> list[Unit]:
        return [Unit(self.study.id, self.ref, self.config_hash, canonical(cell), canonical(point), canon, a_ref, s,
                     self.fingerprint) for s in self.seeds]

    def stored(self, store: Store) -> int:
        """How many of the plan's units the store holds (done or diverged)."""
        done = store.finished_keys(self.study.id, self.config_hash, self.fingerprint)
        n = sum((u.cell, u.hyper, u.arm, u.seed) in done for u in (*self.tune_units, *self.fixed))
        tuned = {(c, a, s) for c, _, a, s in done}
        arms = [c for c, _ in self.arms]
        for cell, pol in self.cells:
            if isinstance(pol, Tuned):
                n += sum((canonical(cell), a, s) in tuned for a in arms for s in self.seeds)
        return n


def plan_sweep(study: Study, profile: str, *, activations: Sequence[Any] | None = None, seeds: int | None = None,
               ref: str | None = None) -> Plan:
    """The plan of ``study`` 's ``profile`` x arms x seeds (ValueError/KeyError naming the fix)."""
    from .fingerprint import study_fingerprint

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
    sref = ref or study_ref(study)
    cells = study.plan_cells(config)
    tune_units: list[Unit] = []
    fixed: list[Unit] = []
    for cell, pol in cells:
        for canon, a_ref in arms:
            if isinstance(pol, Tuned):
                tune_units += [Unit(study.id, sref, h, canonical({**cell, "phase": "tune"}), canonical(point), canon,
                                    a_ref, s, fp) for point in pol.points() for s in pol.seeds]
            else:
                fixed += [Unit(study.id, sref, h, canonical(cell), canonical(dict(pol.values)), canon, a_ref, s, fp)
                          for s in ([-1] if study.is_theory(cell) else seed_list)]
    return Plan(study, profile, config, h, fp, sref, arms, seed_list, cells, tune_units, fixed)


def check_plan(plan: Plan, yes: bool) -> None:
    """A plan larger than ``MAX_UNITS`` needs ``yes`` (ValueError naming ``--yes``)."""
    if plan.total > MAX_UNITS and not yes:
        raise ValueError(f"{plan.study.id} --profile {plan.profile} plans {plan.total} units, more than "
                         f"{MAX_UNITS}: pass --yes to run them")


def run_sweep(study: Study, profile: str, *, activations: Sequence[Any] | None = None, seeds: int | None = None,
              store: Store, backend: str = "local", jobs: int | None = None, address: str | None = None,
              ref: str | None = None, on_start: Callable[[str, int, int], None] | None = None,
              on_job: Callable[[list[Unit], list[Record]], None] | None = None,
              on_running: Callable[[list[Unit]], None] | None = None, stop: StopFlag | None = None,
              yes: bool = False) -> SweepSummary:
    """Run every unit of ``study`` 's ``profile`` x arms x seeds that the store does not hold yet.

    ``activations`` replaces the study's arms (the baseline and named arms are always added, so the
    claim can be judged).  ``on_start(study, total, skipped)``, ``on_running(units in flight)`` and
    ``on_job(units, records)`` feed progress displays; records are stored before ``on_job`` is called.
    ``stop`` (a :class:`StopFlag`): once set, no new work starts, the work in flight is stored and
    :class:`Interrupted` is raised.  A plan of more than ``MAX_UNITS`` units needs ``yes=True``.
    """
    if backend not in ("local", "ray"):
        raise ValueError(f"unknown backend {backend!r}: use local or ray")
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    if workers < 1 or workers > 256:
        raise ValueError(f"-j must be between 1 and 256 workers, got {workers}")
    plan = plan_sweep(study, profile, activations=activations, seeds=seeds, ref=ref)
    check_plan(plan, yes)
    h, fp = plan.config_hash, plan.fingerprint
    store.add_config(h, study.id, profile, config_dict(plan.config))
    summary = SweepSummary(study.id, h, fp, profile)
    stop = stop or StopFlag()

    def pending(units: list[Unit]) -> list[Unit]:
        done = store.finished_keys(study.id, h, fp)
        todo = [u for u in units if (u.cell, u.hyper, u.arm, u.seed) not in done]
        summary.skipped += len(units) - len(todo)
        return todo

    t0 = time.time()
    summary.tuned = len(plan.tune_units)
    summary.total = plan.total
    runner = _Runner(study, plan, store, summary, backend, workers, jobs is not None, address, stop, on_job,
                     on_running or (lambda units: None))
    try:
        todo = pending(plan.tune_units) + pending(plan.fixed)
        if on_start:
            on_start(study.id, summary.total, summary.skipped)  # tuned cells' stored units are counted after tuning
        runner.run(todo)  # tuning units and every shared-policy unit, in one pass
        if plan.tune_units and not stop.requested:
            tuned = store.records(study.id, h, fp, curves=False, arrays=False)
            main: list[Unit] = []
            for cell, pol in plan.cells:
                if not isinstance(pol, Tuned):
                    continue
                for canon, a_ref in plan.arms:
                    point = select_hyper(pol, tuned, cell, canon)
                    if point is None:
                        summary.errors.append(f"{canon} {canonical(cell)}: tuning incomplete (a tuning unit failed)")
                        continue
                    summary.hyper.setdefault(canonical(cell), {})[canon] = point
                    main += plan.main_units(cell, point, canon, a_ref)
            runner.run(pending(main))
    except BaseException as e:
        runner.close(kill=True)
        if isinstance(e, KeyboardInterrupt) and not isinstance(e, Interrupted) and stop.hard:
            raise Interrupted(stop.signum or signal.SIGINT) from None  # native code (Ray's) re-raised it plain
        raise
    runner.close(kill=False)
    summary.seconds = time.time() - t0
    if stop.requested:
        raise Interrupted(stop.signum or signal.SIGINT)
    return summary


# -- the driver loop ----------------------------------------------------------------------------------
class _Leases:
    """This sweep's claims on units, renewed by a thread of its own while the sweep runs."""

    def __init__(self, store: Store):
        self.store = store
        self.owner = Store.owner_id()
        self.ttl = float(os.environ.get("ACTLAB_LEASE_SECONDS", LEASE_SECONDS))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def claim(self, units: list[Unit]) -> dict[tuple, str]:
        states = self.store.claim([u.key for u in units], self.owner, self.ttl)
        if self._thread is None:
            self._thread = threading.Thread(target=self._renew, name="actlab-lease-renewal", daemon=True)
            self._thread.start()
        return states

    def _renew(self) -> None:
        db: Store | None = None
        try:
            while not self._stop.wait(max(0.2, self.ttl / 4)):
                try:
                    db = db or Store(self.store.path, timeout=min(self.store.timeout, 10.0))
                    db.renew(self.owner, self.ttl)
                except StoreError:
                    pass  # the sweep itself reports an unusable store; a lapsed lease costs a retraining at most
        finally:
            if db is not None:
                db.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        try:
            self.store.release(self.owner)
        except StoreError:
            pass  # they lapse by themselves


class _Runner:
    """Feeds jobs to a backend, at most one per worker in flight, and stores every record it gets back."""

    def __init__(self, study: Study, plan: Plan, store: Store, summary: SweepSummary, backend: str, workers: int,
                 explicit: bool, address: str | None, stop: StopFlag, on_job: Callable[[list[Unit], list[Record]], None] | None,
                 running: Callable[[list[Unit]], None]):
        self.study, self.plan, self.store, self.summary = study, plan, store, summary
        self.backend_name, self.workers, self.address, self.stop = backend, workers, address, stop
        self.explicit = explicit  # -j was given (else Ray uses every CPU of its cluster)
        self.on_job, self.running = on_job, running
        self.backend: Any = None
        self.leases = _Leases(store)
        self.error: StoreError | None = None  # the store cannot be written: no new work
        self.unsaved: list[Record] = []  # trained, not yet written
        self._token = 0
        self._env: dict[str, Any] | None = None
        self._running: list[Unit] = []  # what on_running was told last

    # -- backends --
    def _backend(self, n_jobs: int) -> Any:
        if self.backend is not None:
            return self.backend
        if self.backend_name == "ray":
            self.backend = _Ray(self.workers, self.address, self.explicit)
            self.workers = self.backend.capacity
            return self.backend
        if self.workers == 1 or n_jobs == 1:
            return _Inline()  # not kept: a later pass with more jobs may start workers
        self.backend = _Pool(self.workers)
        return self.backend

    def close(self, kill: bool) -> None:
        try:
            if self.backend is not None:
                self.backend.close(kill=kill)
                self.backend = None
        finally:
            self.leases.close()

    # -- records --
    def _store(self, units: list[Unit], records: list[Record]) -> None:
        if not records:
            return
        if self.error is None:
            try:
                with self.stop.critical():
                    self.store.put(records)
            except StoreError as e:
                self.error = e
                self.unsaved += records
        else:
            self.unsaved += records
        for r in records:
            setattr(self.summary, r.status, getattr(self.summary, r.status) + 1)
            if r.status == "failed":
                self.summary.errors.append(f"{r.arm} seed={r.seed}: {r.error}")
        if self.on_job:
            self.on_job(units, records)

    def _flush(self) -> None:
        """Write the records kept in memory once more (the store may be free again: a lock is released);
        raise the store's error, with how many trained units it could not store, if that fails too."""
        if not self.unsaved:  # a claim failed: nothing trained is lost
            err, self.error = self.error, None
            if err is not None:
                raise err
            return
        try:
            with self.stop.critical():
                self.store.put(self.unsaved)
        except StoreError as e:
            n = len(self.unsaved)
            raise StoreError(f"{e}; {n} trained unit{'s' if n != 1 else ''} could not be stored "
                             "(rerun the same command to train them again)") from None
        self.unsaved, self.error = [], None

    def _failed(self, units: list[Unit], reason: str) -> list[Record]:
        if self._env is None:
            self._env = _env(self.backend_name)
            self._env["device"] = self.study.device
        now = time.time()
        return [Record(u.study, u.config_hash, u.cell, u.hyper, u.arm, u.seed, u.fingerprint, "failed", {}, {}, {},
                       reason, now, now, 0.0, self._env["host"], self._env, self.plan.profile, self.study.claim)
                for u in units]

    # -- the loop --
    def _claim(self, units: list[Unit], waiting: list[Unit]) -> list[Unit]:
        try:
            with self.stop.critical():
                states = self.leases.claim(units)
        except StoreError as e:
            self.error = e
            return []
        stored = [u for u in units if states.get(u.key) == "stored"]
        if stored:
            self.summary.skipped += len(stored)
            self.summary.elsewhere += len(stored)
            if self.on_job:
                self.on_job(stored, [r for r in self.store.records(self.study.id, self.plan.config_hash,
                                                                    self.plan.fingerprint, curves=False, arrays=False)
                                     if r.key in {u.key for u in stored}])
        waiting += [u for u in units if states.get(u.key) == "busy"]
        return [u for u in units if states.get(u.key) == "mine"]

    def run(self, units: list[Unit]) -> None:
        if not units:
            return
        if self.backend_name == "ray":
            self._backend(0)  # first: the cluster's size decides the jobs
        queue = deque(_Job(j) for j in _jobs(self.study, units, self.workers))
        backend = self._backend(len(queue))
        inflight: dict[int, _Job] = {}
        waiting: list[Unit] = []
        cap = backend.capacity
        while True:
            if self.error is not None and not inflight:
                self._flush()  # raises when the store still cannot be written
            while queue and len(inflight) < cap and not self.stop.requested and self.error is None:
                job = queue.popleft()
                job.units = self._claim(job.units, waiting)
                if self.error is not None:
                    queue.appendleft(job)
                    break
                if not job.units:
                    continue
                self._token += 1
                job.token = self._token
                inflight[job.token] = job
                backend.submit(job, self.plan)
            if not inflight:
                if self.error is not None:
                    continue
                if self.stop.requested or not (queue or waiting):
                    return
                if waiting and not queue:  # another sweep trains these: wait until stored, or its lease lapses
                    time.sleep(POLL)
                    again, waiting = waiting, []
                    mine = self._claim(again, waiting)
                    if self.error is None:
                        queue.extend(_Job(j) for j in _jobs(self.study, mine, self.workers))
                continue
            now_running = [u for j in inflight.values() for u in j.rest()]
            if now_running != self._running:
                self._running = now_running
                self.running(now_running)

            def handle(kind: str, token: int, payload: Any) -> None:
                job = inflight.get(token)
                if job is None:
                    return
                if kind == "units":
                    keys = {r.key for r in payload}
                    job.stored |= keys
                    self._store([u for u in job.units if u.key in keys], payload)
                    return
                del inflight[token]
                rest = job.rest()
                if kind == "end":  # the group failed: its remaining units become jobs of their own
                    queue.extendleft(_Job([u], job.attempt) for u in reversed(rest))
                elif kind == "died":
                    if self.stop.requested or not rest:
                        return  # stopping: the units are not failures, they simply were not stored
                    if job.attempt == 0:
                        self.summary.retried += len(rest)
                        queue.extendleft(_Job([u], 1) for u in reversed(rest))
                    else:
                        self._store(rest, self._failed(rest, f"{payload} twice (retried once)"))
                elif kind == "error":
                    self._store(rest, self._failed(rest, payload))

            backend.wait(POLL, handle)


class _Inline:
    """Jobs run in this process, one at a time (``-j 1``, or a single job)."""

    capacity = 1

    def __init__(self) -> None:
        self.job: tuple[_Job, Plan] | None = None

    def submit(self, job: _Job, plan: Plan) -> None:
        self.job = (job, plan)

    def wait(self, timeout: float, handle: Callable[[str, int, Any], None]) -> None:
        if self.job is None:
            return
        job, plan = self.job
        self.job = None
        _run_job(plan.ref, plan.config, job.units, plan.profile, "local", lambda rs: handle("units", job.token, rs),
                 isolate=True)
        handle("end", job.token, [])

    def close(self, kill: bool) -> None:
        pass


class _Worker:
    def __init__(self, ctx: Any):
        parent, child = ctx.Pipe(duplex=True)
        self.conn = parent
        self.proc = ctx.Process(target=_worker_main, args=(child, os.getpid()), daemon=True,
                                name="actlab-worker")
        self.proc.start()
        child.close()  # so that the worker's death is an end-of-file here
        self.token: int | None = None


class _Pool:
    """Spawned worker processes, one pipe each: a job per worker at a time, records streamed back.

    A worker that dies costs only its own job (the others go on); it is replaced on demand."""

    def __init__(self, workers: int):
        import multiprocessing as mp

        # spawn, not fork: forking a process that has started torch's thread pools can deadlock
        self.ctx = mp.get_context("spawn")
        self.capacity = workers
        self.workers: list[_Worker] = []
        self._events: list[tuple[str, int, Any]] = []  # found while submitting, handed out by wait()

    def submit(self, job: _Job, plan: Plan) -> None:
        idle = [w for w in self.workers if w.token is None]
        w = idle[0] if idle else None
        if w is None:
            w = _Worker(self.ctx)
            self.workers.append(w)
        w.token = job.token
        try:
            w.conn.send((job.token, plan.ref, plan.config, job.units, plan.profile))
        except (OSError, EOFError):
            pass  # it died meanwhile: wait() reports it
        except Exception as e:  # the job cannot be sent (a config that does not pickle): its units fail
            w.token = None
            self._events.append(("error", job.token, f"cannot send the job to a worker: {_one_line(e)}"))

    def _drain(self, w: _Worker, out: list) -> bool:
        """Read what ``w`` sent; False when its pipe is closed."""
        try:
            while w.conn.poll():
                kind, token, payload = w.conn.recv()
                if kind == "error" and token is None:
                    token = w.token
                if kind in ("end", "error"):
                    w.token = None
                out.append((kind, token, payload))
        except (EOFError, OSError):
            return False
        return True

    def wait(self, timeout: float, handle: Callable[[str, int, Any], None]) -> None:
        from multiprocessing.connection import wait as mp_wait

        out, self._events = self._events, []
        ready = set(mp_wait([w.conn for w in self.workers] + [w.proc.sentinel for w in self.workers],
                            0 if out else timeout))
        for w in list(self.workers):
            alive = True
            if w.conn in ready or w.proc.sentinel in ready:
                alive = self._drain(w, out) and w.proc.is_alive()
            if not alive:
                w.proc.join(1)
                if w.token is not None:
                    out.append(("died", w.token, _exit_reason(w.proc.exitcode)))
                w.conn.close()
                self.workers.remove(w)
        for event in out:
            handle(*event)

    def close(self, kill: bool) -> None:
        for w in self.workers:
            if kill:
                w.proc.kill()
            else:
                try:
                    w.conn.send(None)
                except (OSError, EOFError):
                    pass
        deadline = time.time() + (2 if kill else 10)
        for w in self.workers:
            w.proc.join(max(0.0, deadline - time.time()))
            if w.proc.is_alive():
                w.proc.kill()
                w.proc.join(2)
            w.conn.close()
        self.workers = []


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



#: The reaper of a local Ray cluster (run as ``python -c``, argv[1] the driver's pid).  Ray's agents
#: (DashboardAgent, RuntimeEnvAgent) outlive a driver killed by SIGKILL (measured: still alive after
#: 45 s) because nothing tells them; the reaper records, once a second, every descendant of the driver
#: with its start time, and kills those still alive when the driver's pipe closes without the byte
#: ``x`` that a clean shutdown sends.  Start times guard against a recycled pid; its own session keeps
#: it out of a signal sent to the driver's process group.
_RAY_REAPER = r"""
import os, select, signal, sys
driver, me, seen = int(sys.argv[1]), os.getpid(), {}
def stat(pid):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            s = f.read()
    except OSError:
        return None
    f = s[s.rindex(b")") + 2:].split()
    return int(f[1]), int(f[19])
def scan():
    procs = {int(d): st for d in os.listdir("/proc") if d.isdigit() for st in [stat(int(d))] if st}
    for pid, (ppid, start) in procs.items():
        p, hops = ppid, 0
        while p not in (0, 1, driver) and hops < 64:
            p, hops = procs.get(p, (0, 0))[0], hops + 1
        if p == driver and pid != me:
            seen[pid] = start
while True:
    ready, _, _ = select.select([0], [], [], 1.0)
    if ready:
        if os.read(0, 1) == b"x":
            sys.exit(0)
        break
    scan()
for pid, start in seen.items():
    st = stat(pid)
    if st and st[1] == start:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
"""


def _start_reaper() -> Any:
    """The reaper process of a local Ray cluster (None where /proc is missing: not Linux)."""
    if not os.path.isdir("/proc/self"):
        return None
    import subprocess

    return subprocess.Popen([sys.executable, "-c", _RAY_REAPER, str(os.getpid())], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                            close_fds=True)


def _stop_reaper(proc: Any) -> None:
    if proc is None:
        return
    try:
        proc.stdin.write(b"x")
        proc.stdin.close()
        proc.wait(5)
    except Exception:
        pass


class _Ray:
    """Jobs as Ray tasks (no automatic retries: a task whose worker dies is retried once here, like a local
    one).  A local cluster started here is shut down when the sweep ends or is interrupted, and the tasks
    in flight are cancelled when it is stopped at once."""

    def __init__(self, workers: int, address: str | None, explicit: bool = True):
        try:
            import ray
        except ImportError:
            raise ValueError("the ray backend needs Ray: pip install 'actlab[distributed]'") from None
        self.ray = ray
        self.capacity = workers
        self.started = False
        self.reaper = None
        if not ray.is_initialized():
            if address:
                check_address(address)
            try:
                if address:
                    ray.init(address=address, log_to_driver=False)
                else:
                    self.reaper = _start_reaper()  # before the cluster's processes exist: it sees them all
                    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
            except Exception as e:  # Ray raises ConnectionError, RuntimeError, ... with long messages
                where = f"at {address}" if address else "locally"
                raise ValueError(f"cannot start or join a Ray cluster {where}: "
                                 f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
            self.started = True
        if not explicit:  # no -j: as many tasks in flight as the cluster has CPUs
            try:
                self.capacity = max(workers, int(ray.cluster_resources().get("CPU", workers)))
            except Exception:
                pass
        self.task = ray.remote(num_cpus=1, max_retries=0)(_ray_job)
        self.refs: dict[Any, int] = {}

    def submit(self, job: _Job, plan: Plan) -> None:
        self.refs[self.task.remote(plan.ref, plan.config, job.units, plan.profile, "ray")] = job.token

    def wait(self, timeout: float, handle: Callable[[str, int, Any], None]) -> None:
        ray = self.ray
        if not self.refs:
            return
        done, _ = ray.wait(list(self.refs), num_returns=1, timeout=timeout)
        for ref in done:
            token = self.refs.pop(ref)
            try:
                records, rest = ray.get(ref)
            except ray.exceptions.RayTaskError as e:  # the job raised (not a unit: those are records)
                cause = getattr(e, "cause", None)
                handle("error", token, _one_line(cause) if isinstance(cause, BaseException) else
                       str(e).strip().splitlines()[-1])
                continue
            except ray.exceptions.RayError as e:  # the worker or its node died
                handle("died", token, f"its Ray worker died ({type(e).__name__})")
                continue
            if records:
                handle("units", token, records)
            handle("end", token, rest)

    def close(self, kill: bool) -> None:
        ray = self.ray
        try:
            if kill:
                for ref in self.refs:
                    try:
                        ray.cancel(ref, force=True)
                    except Exception:
                        pass
            self.refs = {}
        finally:
            if self.started:
                ray.shutdown()
            _stop_reaper(self.reaper)
