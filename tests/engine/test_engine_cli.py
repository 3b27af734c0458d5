import json
import os
import sqlite3

import pytest

from actlab.engine import Store

TOY = ["engine_toy:STUDY", "--seeds", "3", "-j", "1", "--quiet"]


def test_studies_lists_c01(cli):
    res = cli("studies", "--json")
    assert res.exit_code == 0
    (c01,) = [s for s in json.loads(res.output) if s["id"] == "C01"]
    assert set(c01["profiles"]) == {"quick", "full"} and c01["kind"] == "experiment" and c01["expected"]["quick"]


def test_run_results_verdict(cli, tmp_path):
    db = tmp_path / "r.db"
    res = cli("run", *TOY, "--store", db, "--json")
    assert res.exit_code == 0, res.output
    (out,) = json.loads(res.output)
    assert out["summary"]["done"] == 6 and out["verdict"]["study"] == "T00"
    again = json.loads(cli("run", *TOY, "--store", db, "--json").output)
    assert again[0]["summary"]["skipped"] == 6 and again[0]["summary"]["done"] == 0
    recs = json.loads(cli("results", "--store", db, "--json").output)
    assert len(recs) == 6 and {r["activation"] for r in recs} == {"relu", "silu"}
    csv = cli("results", "--store", db, "--csv").output.splitlines()
    assert len(csv) == 7 and csv[0].startswith("study,")
    res = cli("results", "--store", db, "--parquet", tmp_path / "r.parquet")
    assert res.exit_code == 0 and (tmp_path / "r.parquet").exists()
    human = cli("results", "--store", db)
    assert human.exit_code == 0 and "6 record(s)" in human.output


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
    (["run", "C01", "-j", "0"], "-j must be"),
    (["run", "C01", "--seeds", "0"], "--seeds"),
    (["run", "C01", "--backend", "spark"], "unknown backend"),
    (["run", "C01", "--backend", "ray", "--address", "127.0.0.1:1"], "cannot reach a Ray cluster"),
    (["verdict", "C77"], "unknown study"),
])
def test_bad_input_is_one_line_exit_2(cli, args, fragment, tmp_path, one_line_error):
    line = one_line_error(cli(*args, "--store", tmp_path / "r.db"))
    assert fragment in line


def test_verdict_without_records(cli, tmp_path, one_line_error):
    db = tmp_path / "r.db"
    Store(db).close()
    assert "no records of C01" in one_line_error(cli("verdict", "C01", "--store", db))
    assert "does not exist" in one_line_error(cli("results", "--store", tmp_path / "none.db"))


def test_bad_stores_are_one_line_exit_2_and_untouched(cli, tmp_path, monkeypatch, one_line_error):
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"garbage" * 1000)
    assert "not a valid actlab store" in one_line_error(cli("run", *TOY, "--store", corrupt))
    assert corrupt.read_bytes() == b"garbage" * 1000
    assert "not a valid actlab store" in one_line_error(cli("results", "--store", corrupt))

    ro = tmp_path / "ro.db"
    cli("run", *TOY, "--store", ro)
    before = [r.to_json() for r in Store(ro).records()]
    os.chmod(ro, 0o444)
    try:
        assert "read-only" in one_line_error(cli("run", "engine_toy:STUDY", "--seeds", "4", "-j", "1", "--store", ro))
        assert cli("verdict", "engine_toy:STUDY", "--store", ro).exit_code == 0  # reading still works
    finally:
        os.chmod(ro, 0o644)
    assert [r.to_json() for r in Store(ro).records()] == before

    locked = tmp_path / "locked.db"
    cli("run", *TOY, "--store", locked)
    monkeypatch.setenv("ACTLAB_STORE_TIMEOUT", "0.2")
    con = sqlite3.connect(locked, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    try:
        assert "locked" in one_line_error(cli("run", "engine_toy:STUDY", "--seeds", "4", "-j", "1", "--store", locked))
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert len(Store(locked).records()) == 6

    newer = tmp_path / "newer.db"
    Store(newer).close()
    con = sqlite3.connect(newer)
    con.execute("UPDATE meta SET value='2' WHERE key='schema_version'")
    con.commit()
    con.close()
    assert "newer actlab" in one_line_error(cli("verdict", "C01", "--store", newer))
