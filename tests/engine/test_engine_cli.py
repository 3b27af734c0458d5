"""The study commands on protocol v2: run / results / verdict / reproduce / studies, strict JSON, one-line errors."""

import gzip
import json
import os
import sqlite3

import pytest

from actlab.engine import SMOKE_LABEL, Store
from actlab.engine.evidence import write_jsonl
from actlab.engine.fingerprint import study_fingerprint
from actlab.engine.protocol import config_hash
from actlab.engine.sweep import MAX_SEEDS

import engine_toy

TOY = ["engine_toy:STUDY", "-j", "1", "--quiet"]


def strict(text):
    """Parse strict JSON: NaN or Infinity anywhere is an error."""
    def refuse(c):
        raise ValueError(f"not strict JSON: {c}")

    return json.loads(text, parse_constant=refuse)


def test_studies_lists_each_study_with_its_profiles(cli):
    res = cli("studies", "--json")
    assert res.exit_code == 0
    rows = {s["id"]: s for s in strict(res.output)}
    assert {"C01", "C06"} <= set(rows)
    c01 = rows["C01"]
    assert c01["kind"] == "experiment" and c01["evidence"] == "full"
    assert {p: (v["smoke"], bool(v["runtime"])) for p, v in c01["profiles"].items()} == {"quick": (True, True),
                                                                                        "full": (False, True)}
    assert c01["hyper"]["full"]["tuned"]["policy"] == "tuned"


def test_run_results_verdict(cli, tmp_path, one_line_error):
    db = tmp_path / "r.db"
    res = cli("run", *TOY, "--store", db, "--json")
    assert res.exit_code == 0, res.output
    (out,) = strict(res.output)
    assert out["summary"]["done"] == 6 and out["summary"]["profile"] == "quick"
    v = out["verdict"]
    assert v["study"] == "T00" and v["profile"] == "quick" and v["smoke"] is True and v["label"] == SMOKE_LABEL
    assert v["config_hash"] == config_hash("T00", engine_toy.STUDY.profile("quick").config)
    assert v["fingerprint"] == study_fingerprint(engine_toy.STUDY) == out["summary"]["fingerprint"]
    again = strict(cli("run", *TOY, "--store", db, "--json").output)
    assert again[0]["summary"]["skipped"] == 6 and again[0]["summary"]["done"] == 0
    recs = [strict(line) for line in cli("results", "--store", db, "--json").output.splitlines()]
    assert len(recs) == 6 and {r["arm"] for r in recs} == {"relu", "silu"} and all(r["curves"] for r in recs)
    csv = cli("results", "--store", db, "--csv").output.splitlines()
    assert len(csv) == 7 and csv[0].startswith("study,") and "m.test_acc" in csv[0]
    res = cli("results", "--store", db, "--parquet", tmp_path / "r.parquet")
    assert res.exit_code == 0 and (tmp_path / "r.parquet").exists()
    human = cli("results", "--store", db)
    assert human.exit_code == 0 and "6 record(s)" in human.output

    # a quick verdict is labelled a smoke test in words too; the default profile is the evidence one
    res = cli("verdict", "engine_toy:STUDY", "--store", db, "--profile", "quick")
    assert res.exit_code == 0 and SMOKE_LABEL in res.output and "profile quick" in res.output
    line = one_line_error(cli("verdict", "engine_toy:STUDY", "--store", db))
    assert "no records of T00 --profile full" in line and "actlab run T00 --profile full" in line

    # more seeds than pre-registered are stored, but not judged
    res = cli("run", *TOY, "--seeds", "5", "--store", db, "--json")
    assert res.exit_code == 0 and strict(res.output)[0]["summary"]["done"] == 4
    v = strict(cli("verdict", "engine_toy:STUDY", "--store", db, "--profile", "quick", "--json").output)
    assert v["seeds"] == [0, 1, 2] and v["pre_registered_seeds"] == 3
    assert all(c["n"] == 3 for p in v["parts"] for c in p["contrasts"])
    assert any("2 stored seed(s) beyond the profile's pre-registered 3" in n for n in v["notes"])


def test_verdict_defaults_to_the_evidence_profile(cli, tmp_path):
    db = tmp_path / "r.db"
    assert cli("run", *TOY, "--profile", "full", "--store", db).exit_code == 0
    v = strict(cli("verdict", "engine_toy:STUDY", "--store", db, "--json").output)
    assert (v["profile"], v["smoke"], v["label"], v["pre_registered_seeds"]) == ("full", False, "evidence", 4)
    assert v["seeds"] == [0, 1, 2, 3] and v["fingerprint"] == study_fingerprint(engine_toy.STUDY)
    assert v["provenance"]["stale"] is False


def test_extra_arm_is_descriptive_and_the_claim_arms_records_do_not_change(cli, tmp_path):
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    va = strict(cli("run", *TOY, "--store", a, "--json").output)[0]["verdict"]
    res = cli("run", *TOY, "-a", "tanh", "--store", b, "--json")
    assert res.exit_code == 0, res.output
    vb = strict(res.output)[0]["verdict"]
    assert [d["arm"] for d in vb["descriptive"]] == ["tanh"] and va["descriptive"] == []
    assert va["parts"] == vb["parts"] and va["status"] == vb["status"]
    # tanh trained in the same groups as relu and silu: their records are bit for bit the same
    ra = {(r.arm, r.seed): (r.metrics, r.curves) for r in Store(a).records()}
    rb = {(r.arm, r.seed): (r.metrics, r.curves) for r in Store(b).records() if r.arm != "tanh"}
    assert ra == rb


def test_run_exits_1_when_units_failed(cli, tmp_path):
    res = cli("run", "engine_toy:FAILING", "-j", "1", "--store", tmp_path / "r.db")
    assert res.exit_code == 1, res.output
    assert "3 failed" in res.output and "configured to fail for silu" in res.output
    res = cli("run", "engine_toy:FAILING", "-j", "1", "--quiet", "--json", "--store", tmp_path / "r.db")
    assert res.exit_code == 1 and strict(res.output)[0]["summary"]["failed"] == 3


def test_reproduce_reruns_shipped_units(cli, tmp_path, monkeypatch):
    db = tmp_path / "r.db"
    assert cli("run", *TOY, "--store", db).exit_code == 0
    shipped = tmp_path / "results"
    shipped.mkdir()
    recs = Store(db).records("T00")
    write_jsonl(shipped / "T00.jsonl.gz", recs)
    monkeypatch.setenv("ACTLAB_RESULTS", str(shipped))
    res = cli("reproduce", "engine_toy:STUDY", "-k", "2", "--json")
    assert res.exit_code == 0, res.output
    rows = strict(res.output)
    assert len(rows) == 2 and all(r["identical"] for r in rows)
    # a shipped number that the code does not give back is a failure
    lines = gzip.decompress((shipped / "T00.jsonl.gz").read_bytes()).decode().splitlines()
    first = json.loads(lines[0])
    first["metrics"]["test_acc"] += 0.5
    lines[0] = json.dumps(first, sort_keys=True)
    (shipped / "T00.jsonl.gz").unlink()
    (shipped / "T00.jsonl").write_text("\n".join(lines) + "\n")
    res = cli("reproduce", "engine_toy:STUDY", "-k", "6", "--json")
    assert res.exit_code == 1 and sum(not r["identical"] for r in strict(res.output)) == 1


def test_tensorboard_event_files(cli, tmp_path):
    pytest.importorskip("tensorboard")
    res = cli("run", *TOY, "--store", tmp_path / "r.db", "--tensorboard", tmp_path / "tb")
    assert res.exit_code == 0, res.output
    events = list((tmp_path / "tb").rglob("events.out.tfevents.*"))
    assert len(events) == 6
    assert any("relu" in str(p) for p in events) and any("seed2" in str(p) for p in events)


@pytest.mark.parametrize("args, fragment", [
    (["run", "C99"], "unknown study"),
    (["run", "C01", "--activations", "relu,nosuchact"], "nosuchact"),
    (["run", "C01", "--profile", "huge"], "no profile 'huge'"),
    (["run", "C01", "-j", "0"], "-j must be between 1 and 256"),
    (["run", "C01", "-j", "1000"], "-j must be between 1 and 256"),
    (["run", "C01", "--seeds", "0"], "--seeds must be between 1"),
    (["run", "C01", "--seeds", str(MAX_SEEDS + 1)], f"--seeds must be between 1 and {MAX_SEEDS}"),
    (["run", "engine_toy:EXACT", "--seeds", "3", "-j", "1"], "deterministic"),
    (["run", "engine_toy:NOPE"], "cannot load study"),
    (["run", "C01", "--backend", "spark"], "unknown backend"),
    (["run", "C01", "--address", "127.0.0.1:1"], "--address needs --backend ray"),
    (["run", "C01", "--backend", "ray", "--address", "127.0.0.1:1"], "cannot reach a Ray cluster"),
    (["verdict", "C77"], "unknown study"),
    (["verdict", "C01", "--profile", "huge"], "no profile 'huge'"),
    (["reproduce", "C01", "-k", "0"], "--units must be >= 1"),
])
def test_bad_input_is_one_line_exit_2(cli, args, fragment, tmp_path, one_line_error):
    line = one_line_error(cli(*args, "--store", tmp_path / "r.db") if args[0] != "reproduce" else cli(*args))
    assert fragment in line
    assert not (tmp_path / "r.db").exists() or not Store(tmp_path / "r.db").records()


def test_verdict_without_records(cli, tmp_path, one_line_error):
    db = tmp_path / "r.db"
    Store(db).close()
    line = one_line_error(cli("verdict", "C01", "--store", db, "--no-shipped"))
    assert "no records of C01 --profile full" in line
    assert "does not exist" in one_line_error(cli("results", "--store", tmp_path / "none.db"))


def test_bad_stores_are_one_line_exit_2_and_untouched(cli, tmp_path, monkeypatch, one_line_error):
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"garbage" * 1000)
    assert "not a valid actlab store" in one_line_error(cli("run", *TOY, "--store", corrupt))
    assert corrupt.read_bytes() == b"garbage" * 1000
    assert "not a valid actlab store" in one_line_error(cli("results", "--store", corrupt))

    ro = tmp_path / "ro.db"
    assert cli("run", *TOY, "--store", ro).exit_code == 0
    before = [r.to_json() for r in Store(ro).records()]
    os.chmod(ro, 0o444)
    try:
        assert "read-only" in one_line_error(cli("run", *TOY, "--seeds", "4", "--store", ro))
        res = cli("verdict", "engine_toy:STUDY", "--profile", "quick", "--store", ro)
        assert res.exit_code == 0, res.output  # reading still works
    finally:
        os.chmod(ro, 0o644)
    assert [r.to_json() for r in Store(ro).records()] == before

    monkeypatch.setenv("ACTLAB_STORE_TIMEOUT", "0.2")
    con = sqlite3.connect(ro, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    try:
        assert "locked" in one_line_error(cli("run", *TOY, "--seeds", "4", "--store", ro))
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert len(Store(ro).records()) == 6

    newer = tmp_path / "newer.db"
    Store(newer).close()
    con = sqlite3.connect(newer)
    con.execute("UPDATE meta SET value='3' WHERE key='schema_version'")
    con.commit()
    con.close()
    assert "newer actlab" in one_line_error(cli("verdict", "C01", "--store", newer))
