"""Fault injection on sweeps: kill -9 of the driver and of a worker, SIGINT/SIGTERM (once and twice), a
full disk and a file-size limit, a store locked mid-sweep, two concurrent runs on one store, leases of a
crashed claimant, the plan ceiling.  Each test injects the fault into a real ``actlab run`` (a
subprocess, so signals and kills are real) on the toy studies of ``engine_toy``, and checks what a user
is promised: every unit that started training is stored or said to be lost, none is trained twice,
workers never outlive their driver, one ``stopped:``/``error:`` line and the exit code.

Trainings are counted with ``$TOY_LOG`` (each unit appends ``arm seed`` when it starts).  The long soak
(many random kills) is ``benchmarks/soak_faults.py``.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from actlab.engine import Interrupted, Store, interruptible, run_sweep
from actlab.engine import sweep as sweep_mod

import engine_toy

HERE = Path(__file__).parent
STOPPED = re.compile(r"^stopped: (\d+) of (\d+) units stored, rerun the same command to resume$")
LOST = re.compile(r"(\d+) trained units? could not be stored")


# -- helpers ----------------------------------------------------------------------------------------
def _cli(*args):
    return [sys.executable, "-c", "from actlab.cli import main; main()", *map(str, args)]


def _env(**extra):
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
            "OMP_NUM_THREADS": "1", "ACTLAB_STORE_TIMEOUT": "5", **{k: str(v) for k, v in extra.items()}}


class Run:
    """``actlab run`` in a session of its own (so a failing test can kill everything it started)."""

    def __init__(self, tmp_path, *args, name="run", **env):
        self.err_path = tmp_path / f"{name}.err"
        self.out_path = tmp_path / f"{name}.out"
        self._err, self._out = open(self.err_path, "wb"), open(self.out_path, "wb")
        self.proc = subprocess.Popen(_cli("run", *args), env=_env(**env), stdout=self._out, stderr=self._err,
                                     start_new_session=True)
        self.pid = self.proc.pid

    def wait(self, timeout):
        try:
            rc = self.proc.wait(timeout)
        finally:
            self._err.close()
            self._out.close()
        return rc

    @property
    def err(self):
        return self.err_path.read_text()

    @property
    def out(self):
        return self.out_path.read_text()

    def kill_all(self):
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)


@pytest.fixture
def runs():
    started = []

    def start(*args, **kw):
        r = Run(*args, **kw)
        started.append(r)
        return r

    yield start
    for r in started:  # whatever happened, nothing outlives the test
        if r.proc.poll() is None:
            r.kill_all()
        for pid in _session(r.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _stat(pid):
    """(state, ppid, session) of a live process, None when it is gone (or a zombie)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return fields[0], int(fields[1]), int(fields[3])


def _children(pid):
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            st = _stat(int(d.name))
            if st and st[1] == pid:
                out.append(int(d.name))
    return out


def _session(sid):
    return [int(d.name) for d in Path("/proc").iterdir() if d.name.isdigit() and int(d.name) != sid
            and (_stat(int(d.name)) or (0, 0, 0))[2] == sid]


def _workers(pid):
    def cmd(p):
        try:
            return Path(f"/proc/{p}/cmdline").read_bytes()
        except OSError:
            return b""

    return [p for p in _children(pid) if b"spawn_main" in cmd(p)]


def _until(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _log(path):
    return path.read_text().splitlines() if path.exists() else []


def _stored(db):
    if not db.exists():
        return []
    try:
        return Store(db, readonly=True, timeout=5).records("T00", curves=False)
    except Exception:
        return []


def _last_line(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


# -- kill -9 ----------------------------------------------------------------------------------------
def test_kill_9_of_the_driver_takes_its_workers_with_it_and_its_leases_free_up(tmp_path, runs, monkeypatch):
    db, log = tmp_path / "r.db", tmp_path / "log"
    r = runs(tmp_path, "engine_toy:SLOW", "--seeds", 2, "-j", 2, "-q", "--store", db, TOY_LOG=log, TOY_SLEEP=2)
    _until(lambda: len(_log(log)) >= 2, 60, "both workers training")
    workers = _until(lambda: len(_workers(r.pid)) == 2 and _workers(r.pid), 10, "two worker processes")
    helpers = _children(r.pid)  # the workers and multiprocessing's resource tracker
    os.kill(r.pid, signal.SIGKILL)
    r.wait(10)
    _until(lambda: not any(_stat(p) for p in helpers), 5, f"workers {workers} to die with their driver")
    # the dead driver's leases belong to a process of this host that is gone: a rerun takes them at once
    assert Store(db, readonly=True).leases()
    monkeypatch.setenv("TOY_LOG", str(log))
    before = len(_log(log))
    t0 = time.time()
    s = run_sweep(engine_toy.SLOW, "quick", seeds=2, store=Store(db), jobs=1)
    assert s.done + s.skipped == 4 and s.failed == 0 and time.time() - t0 < 60
    assert len(_log(log)) - before == s.done and Store(db, readonly=True).leases() == []


def test_kill_9_of_a_worker_retries_its_unit_and_the_sweep_goes_on(tmp_path, cli, monkeypatch):
    db, log = tmp_path / "r.db", tmp_path / "log"
    for k, v in {"TOY_LOG": log, "TOY_SLEEP": 0.7,
                 "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")]))}.items():
        monkeypatch.setenv(k, str(v))
    killed = []

    def kill_a_worker():  # this process is the driver: its spawned workers are its children
        _until(lambda: len(_log(log)) >= 2, 60, "both workers training")
        victim = _until(lambda: _workers(os.getpid()), 10, "a worker")[0]
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)

    t = threading.Thread(target=kill_a_worker, daemon=True)
    t.start()
    res = cli("run", "engine_toy:SLOW", "--seeds", 2, "-j", 2, "-q", "--json", "--store", db)
    t.join(5)
    assert killed and res.exit_code == 0, res.output
    import json

    (out,) = json.loads(res.output)
    recs = _stored(db)
    assert sorted((x.arm, x.seed) for x in recs) == [(a, s) for a in ("relu", "silu") for s in range(2)]
    assert all(x.status == "done" for x in recs)
    retried = out["summary"]["retried"]
    assert retried <= 1 and len(_log(log)) == 4 + retried  # the killed worker's unit ran again, no other


def test_a_unit_that_kills_its_worker_twice_is_recorded_failed_and_named(tmp_path, cli, monkeypatch):
    db, log = tmp_path / "r.db", tmp_path / "log"
    monkeypatch.setenv("TOY_LOG", str(log))
    monkeypatch.setenv("TOY_DIE", "silu:0")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])))
    res = cli("run", "engine_toy:SLOW", "--seeds", 1, "-j", 2, "--store", db)
    assert res.exit_code == 1, res.output
    assert "silu seed=0" in res.output and "killed by SIGKILL" in res.output and "Traceback" not in res.output
    recs = {(x.arm, x.seed): x for x in _stored(db)}
    assert len(recs) == 2 and [k for k, x in recs.items() if x.status != "done"] == [("silu", 0)]
    assert "killed by SIGKILL" in recs[("silu", 0)].error and "retried once" in recs[("silu", 0)].error
    assert _log(log).count("silu 0") == 2  # tried, retried once, then recorded failed
    assert _log(log).count("relu 0") == 1  # the other worker's unit was not disturbed


# -- SIGINT / SIGTERM -------------------------------------------------------------------------------
def test_sigint_and_sigterm_store_the_work_in_flight_say_so_and_resume(tmp_path, runs, monkeypatch):
    db, log = tmp_path / "r.db", tmp_path / "log"
    args = ("engine_toy:SLOW", "--seeds", 5, "--store", db)
    # SIGINT with two workers in flight, SIGTERM to a run that trains in its own process (-j 1)
    for n, (sig, code, j) in enumerate(((signal.SIGINT, 130, 2), (signal.SIGTERM, 143, 1))):
        have = len(_stored(db))
        r = runs(tmp_path, *args, "-j", j, name=f"run{n}", TOY_LOG=log, TOY_SLEEP=0.5)
        _until(lambda: len(_stored(db)) >= have + 1, 60, "one more unit stored")
        started = len(_log(log))
        os.kill(r.pid, sig)
        assert r.wait(30) == code, r.err[-2000:]
        m = STOPPED.match(_last_line(r.err))
        assert m, r.err[-2000:]
        stored = len(_stored(db))
        # nothing that started training was lost: the units in flight were finished and stored
        assert int(m.group(1)) == stored == len(_log(log)) >= started and int(m.group(2)) == 10
        assert stored < 10 and "Traceback" not in r.err
        assert not _workers(r.pid)
    monkeypatch.setenv("TOY_LOG", str(log))  # the same command resumes (here in-process: the CLI path ran above)
    s = run_sweep(engine_toy.SLOW, "quick", seeds=5, store=Store(db), jobs=1)
    assert s.skipped == stored and s.done == 10 - stored
    recs = _stored(db)
    assert len(recs) == 10 and all(x.status == "done" for x in recs)
    assert sorted(_log(log)) == sorted(f"{x.arm} {x.seed}" for x in recs)  # each unit trained exactly once


def test_a_second_ctrl_c_stops_at_once(tmp_path, runs):
    db, log = tmp_path / "r.db", tmp_path / "log"
    r = runs(tmp_path, "engine_toy:SLOW", "--seeds", 3, "-j", 2, "--store", db, TOY_LOG=log, TOY_SLEEP=60)
    _until(lambda: len(_log(log)) >= 2, 60, "both workers training")
    workers = _workers(r.pid)
    os.kill(r.pid, signal.SIGINT)
    time.sleep(0.5)
    assert r.proc.poll() is None  # the first one waits for the units in flight ...
    t0 = time.time()
    os.kill(r.pid, signal.SIGINT)  # ... the second does not
    assert r.wait(15) == 130 and time.time() - t0 < 10, r.err[-2000:]
    assert _last_line(r.err) == "stopped: 0 of 6 units stored, rerun the same command to resume"
    _until(lambda: not any(_stat(p) for p in workers), 5, "the workers to be gone")


# -- stores that fail mid-sweep ---------------------------------------------------------------------
@pytest.fixture
def tiny_tmpfs(tmp_path):
    mnt = tmp_path / "fs"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (the file-size-limit case covers a full disk)")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(folder):
    with open(folder / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


@pytest.mark.parametrize("how", ["tmpfs", "fsize"])
def test_a_full_disk_is_one_true_line_exit_2_and_no_trained_unit_vanishes(tmp_path, runs, request, how):
    folder = request.getfixturevalue("tiny_tmpfs") if how == "tmpfs" else tmp_path
    db, log = folder / "r.db", tmp_path / "log"
    r = runs(tmp_path, "engine_toy:SLOW", "--seeds", 12, "-j", 1, "-q", "--store", db, TOY_LOG=log, TOY_SLEEP=0.3)
    _until(lambda: len(_stored(db)) >= 2, 60, "two units stored")
    if how == "tmpfs":
        _fill(folder)
    else:  # the file-size limit of the running driver: its store cannot grow any more
        import resource

        size = max(os.path.getsize(db), os.path.getsize(f"{db}-wal"))
        resource.prlimit(r.pid, resource.RLIMIT_FSIZE, (size, size))
    assert r.wait(60) == 2, r.err[-2000:]
    lines = [line for line in r.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: store ") and "Traceback" not in r.err, r.err
    assert ("disk is full" if how == "tmpfs" else "file-size limit") in lines[0]
    assert "cannot rollback" not in lines[0] and "cannot be written" not in lines[0]  # the cause, not "I/O error"
    if how == "tmpfs":
        (folder / "filler").unlink()
    lost = int(m.group(1)) if (m := LOST.search(lines[0])) else 0
    recs = _stored(db)
    assert recs and all(x.status == "done" and x.metrics for x in recs)  # whole records only
    assert len(recs) + lost == len(_log(log))  # every trained unit is stored or counted as lost


def test_a_store_whose_file_system_turns_read_only_mid_sweep_is_one_true_line_exit_2(tmp_path, cli, monkeypatch):
    """A kernel remounts a failing disk read-only under open files (``errors=remount-ro``); a test cannot
    (``mount -o remount,ro`` refuses while the store is open for writing), so the fault is injected where
    it arrives: after two stored units every write fails as SQLite reports EROFS ("disk I/O error") and
    the folder's file system reports ST_RDONLY.  The sweep must name that cause, exit 2, keep every
    stored record whole and count the trained units it could not store."""
    import sqlite3 as _sqlite3

    from actlab.engine import store as store_mod

    db, log = tmp_path / "r.db", tmp_path / "log"
    monkeypatch.setenv("TOY_LOG", str(log))
    puts = []
    real_put, real_transaction, real_statvfs = store_mod.Store.put, store_mod.Store._transaction, os.statvfs

    def put(self, records):
        records = list(records)
        if any(r.status == "done" for r in records):
            puts.append(len(records))
        return real_put(self, records)

    def transaction(self, conn, body):
        if len(puts) > 2:
            raise _sqlite3.OperationalError("disk I/O error")
        return real_transaction(conn, body)

    class ReadOnly:
        def __init__(self, st):
            self._st = st

        def __getattr__(self, k):
            return os.ST_RDONLY | self._st.f_flag if k == "f_flag" else getattr(self._st, k)

    monkeypatch.setattr(store_mod.Store, "put", put)
    monkeypatch.setattr(store_mod.Store, "_transaction", transaction)
    monkeypatch.setattr(store_mod.os, "statvfs", lambda p: ReadOnly(real_statvfs(p)) if len(puts) > 2 else real_statvfs(p))
    res = cli("run", "engine_toy:SLOW", "--seeds", 12, "-j", 1, "-q", "--store", db)
    assert res.exit_code == 2, res.output
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "is on a read-only file system" in lines[0] and "Traceback" not in res.output, lines
    monkeypatch.undo()
    lost = int(m.group(1)) if (m := LOST.search(lines[0])) else 0
    recs = _stored(db)
    assert len(recs) >= 2 and all(x.status == "done" and x.metrics for x in recs)
    assert len(recs) + lost == len(_log(log)), (len(recs), lost, len(_log(log)))


def test_a_store_locked_mid_sweep_is_one_line_exit_2_and_counts_what_it_lost(tmp_path, runs):
    db, log = tmp_path / "r.db", tmp_path / "log"
    r = runs(tmp_path, "engine_toy:SLOW", "--seeds", 12, "-j", 1, "-q", "--store", db, TOY_LOG=log, TOY_SLEEP=0.3,
             ACTLAB_STORE_TIMEOUT=0.3)
    _until(lambda: len(_stored(db)) >= 2, 60, "two units stored")
    con = sqlite3.connect(db, isolation_level=None, timeout=10)
    con.execute("BEGIN EXCLUSIVE")
    try:
        assert r.wait(60) == 2, r.err[-2000:]
    finally:
        con.execute("ROLLBACK")
        con.close()
    lines = [line for line in r.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "is locked by another process" in lines[0] and "Traceback" not in r.err, r.err
    lost = int(m.group(1)) if (m := LOST.search(lines[0])) else 0
    recs = _stored(db)
    assert all(x.status == "done" for x in recs) and len(recs) + lost == len(_log(log))


# -- sharing a store --------------------------------------------------------------------------------
def test_two_concurrent_runs_never_train_a_unit_twice(tmp_path, runs):
    db, log = tmp_path / "r.db", tmp_path / "log"
    Store(db).close()
    both = [runs(tmp_path, "engine_toy:SLOW", "--seeds", 6, "-j", 1, "-q", "--store", db, name=f"run{i}",
                 TOY_LOG=log, TOY_SLEEP=0.3) for i in range(2)]
    assert [r.wait(120) for r in both] == [0, 0], [r.err[-1000:] for r in both]
    trained = _log(log)
    assert len(trained) == len(set(trained)) == 12  # every unit trained once, by one of the two
    recs = _stored(db)
    assert len(recs) == 12 and all(x.status == "done" for x in recs) and Store(db, readonly=True).leases() == []


def _key(study, seed=0, arm="relu"):
    plan = sweep_mod.plan_sweep(study, "quick")
    (u,) = [u for u in plan.fixed if u.arm == arm and u.seed == seed]
    return u.key


def test_leases_expire_and_a_dead_claimants_free_up_at_once(tmp_path):
    db = Store(tmp_path / "r.db")
    key = _key(engine_toy.SLOW)
    assert db.claim([key], "elsewhere:1:a", ttl=0.4) == {key: "mine"}
    assert db.claim([key], "me:2:b", ttl=60) == {key: "busy"}
    time.sleep(0.5)
    assert db.claim([key], "me:2:b", ttl=60) == {key: "mine"}  # the other claimant's lease lapsed
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = f"{socket.gethostname()}:{gone.pid}:c"
    key2 = _key(engine_toy.SLOW, seed=1)
    assert db.claim([key2], dead, ttl=600) == {key2: "mine"}
    assert db.claim([key2], "me:2:b", ttl=60) == {key2: "mine"}  # its owner is a dead process of this host
    assert db.renew("me:2:b", 60) == 2 and db.release("me:2:b", [key]) == 1
    assert [lease["seed"] for lease in db.leases()] == [1]


def test_a_sweep_waits_for_units_another_run_holds_then_trains_them_when_its_lease_lapses(tmp_path, monkeypatch):
    log = tmp_path / "log"
    monkeypatch.setenv("TOY_LOG", str(log))
    db = Store(tmp_path / "r.db")
    held = _key(engine_toy.STUDY, seed=2, arm="silu")
    db.claim([held], "elsewhere:1:a", ttl=1.5)  # a live sweep on another host
    t0 = time.time()
    s = run_sweep(engine_toy.STUDY, "quick", store=db, jobs=1)
    assert s.done == 6 and time.time() - t0 >= 1.4
    assert len(_log(log)) == 6 and db.leases() == []


# -- streaming: a unit is stored as soon as it exists ------------------------------------------------
def test_a_run_that_yields_has_each_unit_stored_as_it_comes_and_a_failure_reruns_only_the_rest(tmp_path,
                                                                                                monkeypatch):
    log = tmp_path / "log"
    monkeypatch.setenv("TOY_LOG", str(log))
    monkeypatch.setenv("TOY_FAIL", "silu")
    db = Store(tmp_path / "r.db")
    seen = []
    s = run_sweep(engine_toy.STREAMING, "quick", store=db, jobs=1,
                  on_job=lambda units, recs: seen.append(([r.arm for r in recs], len(db.records()))))
    # one group of 6 (relu 0-2, silu 0-2): relu's three are stored one by one as they are yielded; silu 0
    # raises, so the rest of the group (silu 0-2) is re-run one unit at a time, and relu is not retrained
    assert [arms for arms, _ in seen] == [["relu"]] * 3 + [["silu"]] * 3
    assert [n for _, n in seen] == [1, 2, 3, 4, 5, 6]  # stored before each progress call
    assert (s.done, s.failed) == (3, 3) and _log(log).count("relu 0") == 1
    ref = {r.key[2:6]: r.metrics for r in Store(tmp_path / "r.db").records() if r.arm == "relu"}
    plain = Store(tmp_path / "plain.db")
    run_sweep(engine_toy.STUDY, "quick", store=plain, jobs=1)
    assert {r.key[2:6]: r.metrics for r in plain.records() if r.arm == "relu"} == ref  # the same numbers


def test_jobs_are_small_enough_to_stop_soon_and_big_enough_to_batch():
    from actlab.studies import get_study

    c01 = get_study("C01")
    for profile, workers in (("quick", 2), ("full", 2), ("full", 8)):
        plan = sweep_mod.plan_sweep(c01, profile)
        units = plan.tune_units + plan.fixed
        jobs = sweep_mod._jobs(c01, units, workers)
        assert sorted(u.key for j in jobs for u in j) == sorted(u.key for u in units)
        assert all(len({u.cell for u in j}) == 1 and len(j) <= c01.max_batch for j in jobs)
        cells = {u.cell for u in units}
        if profile == "quick":  # small cells stay one group each, as before
            assert len(jobs) == len(cells)
        else:  # at least ROUNDS jobs per worker where groups keep MIN_GROUP units
            assert all(len(j) >= sweep_mod.MIN_GROUP for j in jobs)
            assert len(jobs) >= min(workers * sweep_mod.ROUNDS, len(units) // sweep_mod.MIN_GROUP)
    # a study that does not batch gets one unit per job
    assert {len(j) for j in sweep_mod._jobs(engine_toy.SLOW, sweep_mod.plan_sweep(engine_toy.SLOW, "quick").fixed, 2)} \
        == {1}


# -- limits -----------------------------------------------------------------------------------------
def test_a_plan_over_the_ceiling_needs_yes(tmp_path, cli, one_line_error, monkeypatch):
    db = tmp_path / "r.db"
    line = one_line_error(cli("run", "engine_toy:STUDY", "--seeds", 1000, "-a", "tanh,gelu,elu,selu", "--store", db))
    assert "6000 units" in line and f"more than {sweep_mod.MAX_UNITS}" in line and "--yes" in line
    assert not db.exists()  # refused before anything was written
    monkeypatch.setattr(sweep_mod, "MAX_UNITS", 4)
    with pytest.raises(ValueError, match="--yes"):
        run_sweep(engine_toy.EXACT, "quick", store=Store(db), jobs=1, activations=["tanh", "gelu", "elu"])
    assert run_sweep(engine_toy.EXACT, "quick", store=Store(db), jobs=1, activations=["tanh", "gelu", "elu"],
                     yes=True).done == 5


def test_results_json_streams_and_never_loads_the_whole_store(tmp_path, cli, monkeypatch):
    db = tmp_path / "r.db"
    run_sweep(engine_toy.EXACT, "quick", store=Store(db), jobs=1)

    def refuse(*a, **k):
        raise AssertionError("results --json must stream (iter_records), not load every record")

    monkeypatch.setattr(Store, "records", refuse)
    res = cli("results", "--store", db, "--json")
    assert res.exit_code == 0 and len(res.output.splitlines()) == 2


# -- Ray: tasks cancelled and the local cluster shut down on interrupt ------------------------------
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_hard_stop_of_a_ray_sweep_cancels_its_tasks_and_shuts_its_cluster_down(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    log = tmp_path / "log"
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    monkeypatch.setenv("TOY_LOG", str(log))
    monkeypatch.setenv("TOY_SLEEP", "60")

    sent, flags = [], []

    def interrupt_twice():
        _until(lambda: _log(log), 120, "a Ray task training")
        os.kill(os.getpid(), signal.SIGINT)
        # two signals before the main thread handles the first would be one (signals do not queue)
        _until(lambda: flags[0].requested, 10, "the first Ctrl-C to be handled")
        sent.append(time.time())
        os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=interrupt_twice, daemon=True)
    with interruptible() as stop:
        flags.append(stop)
        t.start()
        with pytest.raises(Interrupted):
            run_sweep(engine_toy.SLOW, "quick", seeds=1, store=Store(tmp_path / "r.db"), jobs=2, backend="ray",
                      stop=stop)
    t.join(5)
    assert sent and time.time() - sent[0] < 30  # the units sleep 60 s: they were cancelled, not waited for
    assert not ray.is_initialized()
    assert Store(tmp_path / "r.db", readonly=True).records() == []


def _cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_kill_9_of_a_ray_driver_takes_its_local_cluster_with_it(tmp_path, runs):
    """Ray's agents (DashboardAgent, RuntimeEnvAgent) outlived a SIGKILLed driver by more than 45 s; the
    sweep's reaper kills every process the driver's local cluster started."""
    pytest.importorskip("ray")
    log = tmp_path / "log"
    r = runs(tmp_path, "engine_toy:SLOW", "--seeds", 2, "-j", 2, "-q", "--backend", "ray", "--store",
             tmp_path / "r.db", TOY_LOG=log, TOY_SLEEP=60, RAY_USAGE_STATS_ENABLED=0)
    _until(lambda: _log(log), 120, "a Ray task training")
    agents = _until(lambda: [p for p in _session(r.pid) if b"Agent" in _cmdline(p)], 20, "Ray's agents")
    time.sleep(1.5)  # the reaper records the cluster's processes once a second
    cluster = _session(r.pid)
    assert len(cluster) >= 4, cluster  # gcs, raylet, the agents, the workers
    os.kill(r.pid, signal.SIGKILL)
    r.wait(10)
    _until(lambda: not any(_stat(p) for p in cluster), 15, f"Ray's processes {cluster} (agents {agents}) to end")


def test_tour_and_evaluate_stop_the_same_way(tmp_path, monkeypatch):
    """``actlab tour``/``evaluate`` run their studies through ``run_studies``: a stop stores the unit in
    flight and raises Interrupted with the one ``stopped:`` line over every study of the call."""
    from actlab.engine import StopFlag
    from actlab.evaluate import run_studies

    log = tmp_path / "log"
    monkeypatch.setenv("TOY_LOG", str(log))
    monkeypatch.setenv("TOY_SLEEP", "0.3")
    stop = StopFlag()
    t = threading.Thread(target=lambda: (_until(lambda: _log(log), 60, "a unit training"), stop.request()),
                         daemon=True)
    t.start()
    with pytest.raises(Interrupted) as e:
        run_studies([engine_toy.SLOW, engine_toy.EXACT], "quick", tmp_path / "r.db", jobs=1, quiet=True, stop=stop)
    t.join(5)
    stored = len(Store(tmp_path / "r.db", readonly=True).records())
    assert e.value.message == f"stopped: {stored} of 8 units stored, rerun the same command to resume"
    assert stored == len(_log(log)) >= 1  # the unit in flight was finished and stored; EXACT never started
