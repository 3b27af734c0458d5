"""Sweeps (protocol v2): plan, skip stored units, isolate failures, resume after SIGKILL, judge only what
was pre-registered, fingerprint the code."""

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from actlab.engine import Record, Store, run_sweep
from actlab.engine.fingerprint import _module_hash, study_fingerprint
from actlab.engine.protocol import canonical
from actlab.engine.sweep import MAX_SEEDS, study_ref
from actlab.engine.verdicts import judge, verdict

import engine_toy

HERE = Path(__file__).parent


def _by_unit(records):
    return {(r.cell, r.hyper, r.arm, r.seed): (r.status, r.metrics, r.curves) for r in records}


def test_same_key_same_record_and_resume_skips_finished(tmp_path):
    a, b = Store(tmp_path / "a.db"), Store(tmp_path / "b.db")
    s1 = run_sweep(engine_toy.STUDY, "quick", seeds=2, store=a, jobs=1)
    run_sweep(engine_toy.STUDY, "quick", seeds=2, store=b, jobs=1)
    assert (s1.total, s1.done, s1.profile) == (4, 4, "quick")
    assert _by_unit(a.records("T00")) == _by_unit(b.records("T00"))
    again = run_sweep(engine_toy.STUDY, "quick", store=a, jobs=1)  # the profile's 3 pre-registered seeds
    assert (again.total, again.skipped, again.done) == (6, 4, 2)
    r = a.records("T00")[0]
    assert (r.profile, r.claim, r.fingerprint, r.cell, r.hyper) == ("quick", engine_toy.CLAIM, s1.fingerprint, "{}", "{}")


def test_bad_arguments_are_value_errors(tmp_path):
    store = Store(tmp_path / "r.db")
    for jobs in (0, 1000):
        with pytest.raises(ValueError, match="-j must be between 1 and 256"):
            run_sweep(engine_toy.STUDY, "quick", store=store, jobs=jobs)
    for seeds in (0, MAX_SEEDS + 1):
        with pytest.raises(ValueError, match=f"--seeds must be between 1 and {MAX_SEEDS}"):
            run_sweep(engine_toy.STUDY, "quick", seeds=seeds, store=store, jobs=1)
    with pytest.raises(ValueError, match="deterministic"):
        run_sweep(engine_toy.EXACT, "quick", seeds=3, store=store, jobs=1)
    with pytest.raises(KeyError, match="no profile 'huge'"):
        run_sweep(engine_toy.STUDY, "huge", store=store, jobs=1)
    with pytest.raises(ValueError, match="unknown backend"):
        run_sweep(engine_toy.STUDY, "quick", store=store, backend="spark")
    assert store.records() == []


def test_diverged_units_are_results_and_failed_units_are_retried(tmp_path, monkeypatch):
    store = Store(tmp_path / "r.db")
    s = run_sweep(engine_toy.DIVERGING, "quick", seeds=1, store=store, jobs=1)
    assert (s.diverged, s.failed) == (2, 0)
    recs = store.records("T00", s.config_hash)
    assert all(r.status == "diverged" and "not finite" in r.error for r in recs)
    assert all(math.isnan(r.metrics["val_auc"]) and "test_acc" not in r.metrics for r in recs)
    assert run_sweep(engine_toy.DIVERGING, "quick", seeds=1, store=store, jobs=1).skipped == 2  # final

    # a transient failure ($TOY_FAIL is not part of the config): failed units are stored, then retried
    monkeypatch.setenv("TOY_FAIL", "silu")
    s = run_sweep(engine_toy.STUDY, "quick", store=store, jobs=1)
    assert (s.done, s.failed) == (3, 3) and all("configured to fail for silu" in e for e in s.errors)
    failed = [r for r in store.records("T00", s.config_hash) if r.status == "failed"]
    assert {r.arm for r in failed} == {"silu"} and all("RuntimeError" in r.error and r.metrics == {} for r in failed)
    monkeypatch.delenv("TOY_FAIL")
    s = run_sweep(engine_toy.STUDY, "quick", store=store, jobs=1)
    assert (s.skipped, s.done, s.failed) == (3, 3, 0)
    recs = store.records("T00", s.config_hash)
    assert len(recs) == 6 and all(r.status == "done" for r in recs)


def test_a_failing_unit_leaves_its_group_mates_their_numbers(tmp_path):
    # FAILING raises for the whole group; the engine re-runs its units one at a time: relu's records are
    # those of the study where nothing fails (same training, other config hash)
    a, b = Store(tmp_path / "a.db"), Store(tmp_path / "b.db")
    s = run_sweep(engine_toy.FAILING, "quick", store=a, jobs=1)
    run_sweep(engine_toy.STUDY, "quick", store=b, jobs=1)
    assert (s.done, s.failed) == (3, 3)
    ok = {k: v for k, v in _by_unit(a.records("T00")).items() if k[2] == "relu"}
    assert ok and ok == {k: v for k, v in _by_unit(b.records("T00")).items() if k[2] == "relu"}


def test_deterministic_profile_has_one_unit_per_arm_and_an_exact_verdict(tmp_path):
    store = Store(tmp_path / "r.db")
    s = run_sweep(engine_toy.EXACT, "quick", store=store, jobs=1)
    recs = store.records("T03")
    assert (s.total, s.done) == (2, 2) and sorted((r.arm, r.seed) for r in recs) == [("relu", -1), ("silu", -1)]
    v = verdict(engine_toy.EXACT, "quick", recs)
    assert v["status"] == "supported" and v["seeds"] == [-1] and v["pre_registered_seeds"] is None
    (part,) = v["parts"]
    assert part["rule"] == "exact" and part["contrasts"][0]["arm"] == "silu"
    json.dumps(v, allow_nan=False)


def test_an_exact_part_holds_only_if_it_holds_for_every_named_arm():
    import dataclasses

    study = dataclasses.replace(engine_toy.EXACT, compared=("silu", "tanh"))
    good = Record("T03", "h", "{}", "{}", "silu", -1, "fp", "done", {"value_at_1": 1 / (1 + math.exp(-1))})
    bad = Record("T03", "h", "{}", "{}", "tanh", -1, "fp", "done", {"value_at_1": math.tanh(1.0)})
    v = judge(study, [good, bad], "quick")
    assert [(c["arm"], c["status"]) for c in v["parts"][0]["contrasts"]] == [("silu", "supported"), ("tanh", "refuted")]
    assert v["status"] == "refuted"
    assert judge(study, [good], "quick")["status"] == "inconclusive"  # tanh not measured: nothing to hold


def test_extra_arms_replace_the_controls_never_a_named_arm(tmp_path):
    store = Store(tmp_path / "r.db")
    run_sweep(engine_toy.WITHIN, "quick", store=store, jobs=1)
    assert sorted(r.arm for r in store.records("T05")) == ["silu", "tanh"]  # no baseline: named arm + control
    store = Store(tmp_path / "a.db")
    run_sweep(engine_toy.WITHIN, "quick", activations=["relu"], store=store, jobs=1)
    assert sorted(r.arm for r in store.records("T05")) == ["relu", "silu"]
    v = verdict(engine_toy.WITHIN, "quick", store.records("T05"))
    assert v["status"] == "supported" and [d["arm"] for d in v["descriptive"]] == ["relu"]


def test_cells_are_design_factors_judged_per_part(tmp_path):
    store = Store(tmp_path / "r.db")
    s = run_sweep(engine_toy.CELLS, "quick", seeds=2, store=store, jobs=1)
    recs = store.records("T02")
    assert s.done == 8 and {r.cell for r in recs} == {canonical({"width": 8}), canonical({"width": 16})}
    by = {(r.factors["width"], r.arm, r.seed): r for r in recs}
    assert by[(8, "relu", 0)].metrics != by[(16, "relu", 0)].metrics
    v = verdict(engine_toy.CELLS, "quick", recs)
    assert [p["cell"] for p in v["parts"]] == [{"width": 8}, {"width": 16}]
    assert v["primary"] == "width 16: silu has higher final test accuracy"
    assert all(c["n"] == 2 for p in v["parts"] for c in p["contrasts"])


def _fake(arm, seed, value, study="T00", cfg="cfg", fp="fp", status="done"):
    return Record(study, cfg, "{}", "{}", arm, seed, fp, status, {"test_acc": value, "val_auc": value})


def _toy_records(seeds, silu_gain, extra=()):
    out = []
    for s in seeds:
        base = 0.8 + 0.003 * ((7 * s) % 5)
        out += [_fake("relu", s, base), _fake("silu", s, base + silu_gain + 0.002 * (s % 3))]
        out += [_fake(a, s, base - 0.3) for a in extra]
    return out


def test_an_extra_arm_is_descriptive_and_never_changes_the_claims_verdict():
    recs = _toy_records(range(4), 0.05)
    with_extra = recs + [r for r in _toy_records(range(4), 0.05, extra=("tanh",)) if r.arm == "tanh"]
    v0, v1 = judge(engine_toy.STUDY, recs, "full"), judge(engine_toy.STUDY, with_extra, "full")
    assert v0["status"] == v1["status"] == "supported"
    assert v0["parts"] == v1["parts"] and v0["headline"] == v1["headline"]
    assert v0["descriptive"] == [] and [d["arm"] for d in v1["descriptive"]] == ["tanh"]
    against = {(c["part"], c["against"]) for c in v1["descriptive"][0]["comparisons"]}
    # every part against the baseline; the primary part also against each named arm
    assert against == {(engine_toy.PRIMARY.name, "relu"), (engine_toy.PRIMARY.name, "silu"),
                       (engine_toy.AUC.name, "relu")}


def test_records_beyond_the_pre_registered_seeds_are_not_judged():
    recs = _toy_records(range(4), 0.05)
    more = recs + _toy_records(range(4, 9), -0.2)  # seeds 4..8 would turn the verdict around
    v0, v1 = judge(engine_toy.STUDY, recs, "full"), judge(engine_toy.STUDY, more, "full")
    assert v1["seeds"] == [0, 1, 2, 3] and v1["pre_registered_seeds"] == 4
    assert v0["parts"] == v1["parts"] and v1["status"] == "supported"
    assert any("5 stored seed(s) beyond the profile's pre-registered 4 are not judged" in n for n in v1["notes"])


def test_tuning_records_are_not_judged():
    recs = _toy_records(range(4), 0.05)
    tune = [Record("T00", "cfg", canonical({"phase": "tune"}), "{}", r.arm, r.seed, "fp", "done",
                   {"test_acc": 0.0 if r.arm == "silu" else 1.0}) for r in recs]
    assert judge(engine_toy.STUDY, recs + tune, "full")["parts"] == judge(engine_toy.STUDY, recs, "full")["parts"]


def test_verdict_picks_the_current_fingerprint_or_flags_a_stale_one(tmp_path):
    store = Store(tmp_path / "r.db")
    s = run_sweep(engine_toy.STUDY, "quick", store=store, jobs=1)
    recs = store.records("T00")
    v = verdict(engine_toy.STUDY, "quick", recs)
    assert v["fingerprint"] == s.fingerprint == study_fingerprint(engine_toy.STUDY)
    assert not v["provenance"]["stale"] and v["config_hash"] == s.config_hash
    import dataclasses

    old = [dataclasses.replace(r, fingerprint="0123456789abcdef") for r in recs]
    v = verdict(engine_toy.STUDY, "quick", old)
    assert v["provenance"]["stale"] and v["fingerprint"] == "0123456789abcdef"
    assert any("re-run `actlab run T00 --profile quick`" in n for n in v["notes"])
    assert verdict(engine_toy.STUDY, "full", recs) is None  # no records of the evidence profile


STUDY_SRC = '''
"""A study written to a temporary module."""

from dataclasses import dataclass

from actlab.engine import Part, Profile, Result, Study


@dataclass(frozen=True)
class Config:
    steps: int = 1


def run(config, units):
    """Each unit's metric."""
    return [Result({"m": 1.0}) for u in units]


STUDY = Study(id="T09", claim="a temporary study", kind="experiment", run=run,
              profiles={"quick": Profile(Config(), seeds=3, runtime="1 s", smoke=True),
                        "full": Profile(Config(), seeds=3, runtime="1 s")},
              parts=[Part("m", "m", delta=0.1, why="toy", primary=True)], baseline="relu", compared=("silu",))
'''


def test_editing_a_studys_code_changes_its_fingerprint_and_its_docstring_does_not(tmp_path, monkeypatch):
    import importlib

    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "tmp_study_fp.py"
    path.write_text(STUDY_SRC)
    mod = importlib.import_module("tmp_study_fp")
    try:
        assert study_ref(mod.STUDY) == "tmp_study_fp:STUDY"

        def fingerprint():
            _module_hash.cache_clear()
            return study_fingerprint(mod.STUDY)

        fp = fingerprint()
        path.write_text(STUDY_SRC.replace("A study written", "A study, edited,")
                        .replace("Each unit's metric.", "Each unit's metric, in other words."))
        assert fingerprint() == fp  # prose only
        path.write_text(STUDY_SRC.replace('{"m": 1.0}', '{"m": 2.0}'))
        assert fingerprint() != fp  # code
        path.write_text(STUDY_SRC.replace("steps: int = 1", "steps: int = 2"))
        assert fingerprint() != fp
        path.write_text(STUDY_SRC)
        assert fingerprint() == fp
    finally:
        sys.modules.pop("tmp_study_fp", None)
        _module_hash.cache_clear()


def _cli(*args):
    return [sys.executable, "-c", "from actlab.cli import main; main()", *map(str, args)]


def _env(tmp_path, **extra):
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
            "OMP_NUM_THREADS": "1", **extra}


def test_sigkill_mid_sweep_resumes_without_loss_or_duplicates(tmp_path, monkeypatch):
    db, log = tmp_path / "r.db", tmp_path / "log.txt"
    env = _env(tmp_path, TOY_LOG=str(log), ACTLAB_STORE=str(db))
    # 2 arms x 12 seeds at 0.25 s each, one unit per job, killed after 4 units are stored (-j 1: no worker
    # processes to start on a busy machine; a killed pool loses its jobs in flight the same way)
    err = open(tmp_path / "stderr.txt", "wb")
    proc = subprocess.Popen(_cli("run", "engine_toy:SLOW", "--seeds", 12, "-j", 1, "--quiet"), env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=err)
    deadline, n = time.time() + 120, 0
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
    assert alive, f"the sweep ended before it could be killed: {(tmp_path / 'stderr.txt').read_text()[-500:]}"
    before = {(r.arm, r.seed): r.finished for r in Store(db, readonly=True).records("T00", curves=False)}
    assert 4 <= len(before) < 24
    started_before = len(log.read_text().splitlines())
    monkeypatch.setenv("TOY_LOG", str(log))  # resume in this process (the CLI path ran above)
    s = run_sweep(engine_toy.SLOW, "quick", seeds=12, store=Store(db), jobs=1)
    assert (s.skipped, s.done) == (len(before), 24 - len(before))
    after = Store(db, readonly=True).records("T00", curves=False)
    keys = [(r.arm, r.seed) for r in after]
    assert len(keys) == len(set(keys)) == 24 and all(r.status == "done" for r in after)
    assert all(r.finished == before[(r.arm, r.seed)] for r in after if (r.arm, r.seed) in before)
    rerun = log.read_text().splitlines()[started_before:]
    assert not {tuple(line.rsplit(" ", 1)) for line in rerun} & {(a, str(s)) for a, s in before}
    assert len(rerun) == 24 - len(before)


def test_concurrent_runs_on_one_store_store_each_unit_once(tmp_path):
    db = tmp_path / "r.db"
    env = _env(tmp_path)
    procs = [subprocess.Popen(_cli("run", "engine_toy:STUDY", "--seeds", 4, "-j", 1, "--quiet", "--store", db),
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(2)]
    errs = [p.communicate(timeout=180)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errs
    recs = Store(db, readonly=True).records("T00")
    assert sorted((r.arm, r.seed) for r in recs) == [(a, s) for a in ("relu", "silu") for s in range(4)]
    assert all(r.status == "done" for r in recs)
