"""Sweeps: plan the units of a study, skip the finished ones, run the rest on a backend, store each.

A *unit* is one ``(activation, seed)`` of one study config.  Units are grouped into *jobs*: one unit
per job, or, for a study with ``run_batch``, up to ``max_batch`` units trained as one vectorised
program (split so every worker gets a job).  Workers only compute; the driver writes every finished
job to the store in one transaction, so a killed sweep loses at most the jobs in flight and the next
run picks up exactly the units that are missing.

Every unit runs with one torch thread (parallelism comes from the workers), so the same unit gives
the same numbers in-process, in a local worker and on a Ray worker.
"""

from __future__ import annotations

import math
import os
import platform
import socket
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .protocol import Record, Result, Study, config_dict, config_hash
from .store import Store

__all__ = ["Unit", "SweepSummary", "plan", "run_sweep", "execute_job", "package_version"]


def package_version() -> str:
    from .. import __version__

    return __version__


@dataclass(frozen=True)
class Unit:
    study: str  # the study id (store key)
    ref: str  # how a worker finds the study: its id, or "module:attr"
    config_hash: str
    activation: str  # canonical name (store key)
    activation_ref: str  # what the user typed: resolvable in a worker ("my_pkg.mod:MyAct")
    seed: int

    @property
    def label(self) -> str:
        return f"{self.study} {self.activation} seed={self.seed}"


@dataclass
class SweepSummary:
    study: str
    config_hash: str
    total: int
    skipped: int = 0
    done: int = 0
    diverged: int = 0
    failed: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def plan(study: Study, config: Any, activations: Sequence[Any], seeds: int | Sequence[int], store: Store,
         ref: str | None = None) -> tuple[str, list[Unit], int]:
    """``(config_hash, pending units, number already finished)`` for a sweep."""
    from ..zoo import get

    if isinstance(seeds, int):
        if seeds < 1:
            raise ValueError(f"--seeds must be >= 1, got {seeds}")
        seeds = range(seeds)
    h = config_hash(study.id, config)
    done = store.finished_keys(study.id, h, package_version())
    units, skipped, seen = [], 0, set()
    for a in activations:
        act = get(a)
        a_ref = a if isinstance(a, str) else act.name
        for s in seeds:
            if (act.name, int(s)) in seen:
                continue
            seen.add((act.name, int(s)))
            if (act.name, int(s)) in done:
                skipped += 1
                continue
            units.append(Unit(study.id, ref or study.id, h, act.name, a_ref, int(s)))
    return h, units, skipped


def _jobs(study: Study, units: list[Unit], workers: int) -> list[list[Unit]]:
    if study.run_batch is None or study.max_batch <= 1:
        return [[u] for u in units]
    size = max(1, min(study.max_batch, math.ceil(len(units) / max(1, workers))))
    return [units[i:i + size] for i in range(0, len(units), size)]


def _env(backend: str) -> dict[str, Any]:
    import torch

    return {"torch": torch.__version__, "python": platform.python_version(), "platform": platform.platform(),
            "host": socket.gethostname(), "backend": backend, "threads": torch.get_num_threads()}


def execute_job(ref: str, config: Any, units: Sequence[Unit], profile: str = "", backend: str = "local") -> list[Record]:
    """Run one job (in any process) and return its records; never raises for a unit's failure."""
    import torch

    from ..studies import get_study
    from ..zoo import get

    study = get_study(ref)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        env = _env(backend)
        version = package_version()
        started = time.time()
        results: list[Result | BaseException]
        if study.run_batch is not None and len(units) > 1:
            try:
                results = list(study.run_batch(config, [(get(u.activation_ref), u.seed) for u in units]))
                if len(results) != len(units):
                    raise RuntimeError(f"{study.id}.run_batch returned {len(results)} results for {len(units)} units")
            except Exception:  # isolate the failing unit: run them one at a time
                results = [_run_one(study, config, u) for u in units]
        else:
            results = [_run_one(study, config, u) for u in units]
        finished = time.time()
        per = (finished - started) / max(1, len(units))
        out = []
        for u, r in zip(units, results):
            if isinstance(r, BaseException):
                status, metrics, curves, error = "failed", {}, {}, _one_line(r)
            else:
                status, metrics, curves, error = r.status, r.metrics, r.curves, r.error
            out.append(Record(u.study, u.config_hash, u.activation, u.seed, version, status, dict(metrics), dict(curves),
                              error, started, finished, per, env["host"], env, profile))
        return out
    finally:
        torch.set_num_threads(threads)


def _run_one(study: Study, config: Any, u: Unit) -> Result | BaseException:
    from ..zoo import get

    try:
        r = study.run(config, get(u.activation_ref), u.seed)
        if not isinstance(r, Result):
            raise TypeError(f"{study.id}.run must return actlab.engine.Result, got {type(r).__name__}")
        return r
    except FloatingPointError as e:  # a study may signal divergence by raising
        return Result({}, {}, status="diverged", error=_one_line(e))
    except Exception as e:
        return e


def _one_line(e: BaseException) -> str:
    tb = traceback.extract_tb(e.__traceback__)
    where = f" (at {os.path.basename(tb[-1].filename)}:{tb[-1].lineno})" if tb else ""
    return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}{where}"


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)


def run_sweep(study: Study, config: Any, *, activations: Sequence[Any] | None = None, seeds: int | Sequence[int] | None = None,
              store: Store, profile: str = "", backend: str = "local", jobs: int | None = None, address: str | None = None,
              ref: str | None = None, on_start: Callable[[str, int, int], None] | None = None,
              on_job: Callable[[list[Unit], list[Record]], None] | None = None,
              on_running: Callable[[list[Unit]], None] | None = None) -> SweepSummary:
    """Run every unit of ``study`` x ``activations`` x ``seeds`` that the store does not hold yet.

    ``on_start(study, total, skipped)``, ``on_running(units in flight)`` and ``on_job(units, records)``
    feed progress displays and trackers; records are stored before ``on_job`` is called.
    """
    if backend not in ("local", "ray"):
        raise ValueError(f"unknown backend {backend!r}: use local or ray")
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise ValueError(f"-j must be >= 1, got {workers}")
    activations = list(activations if activations is not None else study.activations)
    if not activations:
        raise ValueError(f"study {study.id} has no default activations: pass --activations")
    seeds = seeds if seeds is not None else study.seeds.get(profile, 3)
    h, units, skipped = plan(study, config, activations, seeds, store, ref)
    store.add_config(h, study.id, profile, config_dict(config))
    summary = SweepSummary(study.id, h, total=len(units) + skipped, skipped=skipped)
    if on_start:
        on_start(study.id, summary.total, skipped)
    t0 = time.time()

    def finish(job: list[Unit], records: list[Record]) -> None:
        store.put(records)
        for r in records:
            setattr(summary, r.status, getattr(summary, r.status) + 1)
            if r.status == "failed":
                summary.errors.append(f"{r.activation} seed={r.seed}: {r.error}")
        if on_job:
            on_job(job, records)

    running = on_running or (lambda units: None)
    batches = _jobs(study, units, workers)
    if batches:
        if backend == "ray":
            _run_ray(batches, ref or study.id, config, profile, workers, address, finish, running)
        elif workers == 1 or len(batches) == 1:
            for job in batches:
                running(job)
                finish(job, execute_job(ref or study.id, config, job, profile, "local"))
        else:
            _run_pool(batches, ref or study.id, config, profile, workers, finish, running)
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
