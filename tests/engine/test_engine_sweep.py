import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actlab.engine import Store, run_sweep

import engine_toy

HERE = Path(__file__).parent


def _metrics(store, study="T00"):
    return {(r.activation, r.seed): (r.status, r.metrics, r.curves) for r in store.records(study)}


def test_same_seed_same_record_and_resume_skips_finished(tmp_path):
    cfg = engine_toy.Config()
    a, b = Store(tmp_path / "a.db"), Store(tmp_path / "b.db")
    s1 = run_sweep(engine_toy.STUDY, cfg, seeds=2, store=a, jobs=1, ref="engine_toy:STUDY")
    run_sweep(engine_toy.STUDY, cfg, seeds=2, store=b, jobs=1, ref="engine_toy:STUDY")
    assert s1.done == 4 and _metrics(a) == _metrics(b)
    again = run_sweep(engine_toy.STUDY, cfg, seeds=3, store=a, jobs=1, ref="engine_toy:STUDY")
    assert (again.skipped, again.done, again.total) == (4, 2, 6)


def test_diverging_run_is_recorded_as_diverged_and_failures_as_failed(tmp_path):
    store = Store(tmp_path / "r.db")
    cfg = engine_toy.Config(lr=1e30, fail_for=("silu",))
    s = run_sweep(engine_toy.STUDY, cfg, activations=["relu", "silu"], seeds=1, store=store, jobs=1, ref="engine_toy:STUDY")
    recs = {r.activation: r for r in store.records("T00")}
    assert recs["relu"].status == "diverged" and "not finite" in recs["relu"].error
    assert recs["silu"].status == "failed" and "configured to fail" in recs["silu"].error
    assert (s.diverged, s.failed) == (1, 1)
    # the failure is retried on the next run, the divergence is a result and is not
    s2 = run_sweep(engine_toy.STUDY, dataclasses.replace(cfg, fail_for=()), activations=["relu", "silu"], seeds=1,
                   store=store, jobs=1, ref="engine_toy:STUDY")
    assert s2.skipped == 0  # a different config is a different set of units
    s3 = run_sweep(engine_toy.STUDY, cfg, activations=["relu", "silu"], seeds=1, store=store, jobs=1, ref="engine_toy:STUDY")
    assert (s3.skipped, s3.failed) == (1, 1)


def test_batched_study_falls_back_to_single_units_when_a_unit_fails(tmp_path):
    store = Store(tmp_path / "r.db")
    cfg = engine_toy.Config(fail_for=("silu",))
    run_sweep(engine_toy.BATCHED, cfg, activations=["relu", "silu"], seeds=2, store=store, jobs=1, ref="engine_toy:BATCHED")
    st = {(r.activation, r.seed): r.status for r in store.records("T01")}
    assert st == {("relu", 0): "done", ("relu", 1): "done", ("silu", 0): "failed", ("silu", 1): "failed"}


def _cli(args, env=None):
    return [sys.executable, "-c", "from actlab.cli import main; main()", *args]


def test_sigkill_mid_sweep_resumes_without_loss_or_duplicates(tmp_path):
    db, log = tmp_path / "r.db", tmp_path / "log.txt"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
           "TOY_LOG": str(log), "ACTLAB_STORE": str(db)}
    # 2 activations x 12 seeds at 0.25 s each on 2 workers: ~3 s of work, killed after 4 units are stored
    args = ["run", "engine_toy:SLOW", "--seeds", "12", "-j", "2", "--quiet"]
    err = open(tmp_path / "stderr.txt", "wb")
    proc = subprocess.Popen(_cli(args, env), env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=err)
    t0 = time.time()
    deadline = time.time() + 90
    n = 0
    while time.time() < deadline and proc.poll() is None:
        if db.exists():
            try:
                n = len(Store(db, readonly=True, timeout=5).records("T00", curves=False))
            except Exception:
                n = 0
        if n >= 4:
            break
        time.sleep(0.05)
    alive = proc.poll() is None
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    err.close()
    assert alive, f"sweep ended before it could be killed: {(tmp_path / 'stderr.txt').read_text()[-500:]}"
    print(f"killed after {time.time() - t0:.1f}s")
    before = {(r.activation, r.seed): r.finished for r in Store(db, readonly=True).records("T00", curves=False)}
    assert 4 <= len(before) < 24
    started_before = len(log.read_text().splitlines())
    # resume in this process (the CLI path was exercised above; this keeps the test quick)
    os.environ["TOY_LOG"] = str(log)
    try:
        s = run_sweep(engine_toy.SLOW, engine_toy.SLOW.profiles["quick"], seeds=12, store=Store(db), jobs=1,
                      ref="engine_toy:SLOW", profile="quick")
    finally:
        del os.environ["TOY_LOG"]
    assert (s.skipped, s.done) == (len(before), 24 - len(before))
    after = Store(db, readonly=True).records("T00", curves=False)
    keys = [(r.activation, r.seed) for r in after]
    assert len(keys) == len(set(keys)) == 24
    assert all(r.status == "done" for r in after)
    # stored units kept their records and were not run again
    assert all(r.finished == before[(r.activation, r.seed)] for r in after if (r.activation, r.seed) in before)
    rerun = log.read_text().splitlines()[started_before:]
    assert not {tuple(line.rsplit(" ", 1)) for line in rerun} & {(a, str(s)) for a, s in before}
    assert len(rerun) == 24 - len(before)


def test_process_pool_gives_the_same_records_as_in_process(tmp_path):
    a, b = Store(tmp_path / "a.db"), Store(tmp_path / "b.db")
    run_sweep(engine_toy.BATCHED, engine_toy.Config(), seeds=3, store=a, jobs=1, ref="engine_toy:BATCHED")
    run_sweep(engine_toy.BATCHED, engine_toy.Config(), seeds=3, store=b, jobs=2, ref="engine_toy:BATCHED")
    assert _metrics(a, "T01") == _metrics(b, "T01")
