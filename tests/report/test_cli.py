"""`actlab tour` and `actlab report` from the command line: output, resume, --json, bad input."""

import json

import pytest


from report_helpers import TOY


def test_tour_runs_every_study_then_reports_and_resumes(cli, tmp_path, monkeypatch):
    import actlab.studies

    monkeypatch.setattr(actlab.studies, "all_studies", lambda: [TOY])
    store, out = tmp_path / "s.db", tmp_path / "rep"
    res = cli("tour", "--profile", "quick", "--store", store, "--out", out, "-j", "1", "-q")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    t90 = next(l for l in lines if l.startswith("T90"))
    assert t90.split()[1:5] == ["12", "0", "12", "0"]  # units, stored, ran (11 done + 1 diverged), failed
    assert t90.rstrip().endswith("s") and any(l.startswith("total") for l in lines)
    assert (out / "index.html").is_file() and "report:" in res.output
    assert "smoke test, not evidence: T90" in res.output  # the quick tour's verdicts are smoke tests
    # rerun: every unit is in the store, nothing trains again
    res = cli("tour", "--store", store, "--out", out, "-j", "1", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    (row,) = data["studies"]
    assert (row["units"], row["skipped"], row["done"]) == (12, 12, 0)
    t90 = data["report"]["claims"]["T90"]
    from actlab.engine import Store
    from actlab.engine.verdicts import verdict

    with Store(store) as db:  # the report's verdict is the engine's verdict of the stored records
        want = verdict(TOY, "quick", db.records(TOY.id))
    assert (t90["status"], t90["profile"]) == (want["status"], "quick")
    assert t90["fingerprint"] == want["fingerprint"] and t90["config_hash"] == want["config_hash"]
    assert t90["smoke"] is True and t90["label"] == "smoke test, not evidence"
    assert data["report"]["claims"]["C02"]["status"] == "not run yet"


def test_report_cli(cli, real_copy, tmp_path):
    res = cli("report", "--store", real_copy, "--out", tmp_path / "r", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["claims"]["C01"]["status"] == "supported" and data["claims"]["C01"]["label"] == "evidence"
    assert data["claims"]["C06"]["smoke"] is True and data["smoke"] == ["C06"] and len(data["claims"]) >= 26
    assert len(data["activations"]) >= 13 and all(p.endswith((".png", ".svg")) for p in data["figures"])
    assert json.loads((tmp_path / "r" / "verdicts.json").read_text())["claims"]["C06"]["label"] == \
        "smoke test, not evidence"
    # a --store that does not exist is a mistyped path, not an empty store (issue 15)
    res = cli("report", "--store", tmp_path / "missing.db", "--out", tmp_path / "r2", "-q")
    assert res.exit_code == 2 and "no store at" in res.output and not (tmp_path / "r2").exists()
    res = cli("report", "--store", tmp_path / "missing.db", "--out", tmp_path / "r2", "-q", "--no-shipped")
    assert res.exit_code == 2


def test_bad_input_is_one_line_exit_2(cli, tmp_path, one_line_error):
    bad = tmp_path / "corrupt.db"
    bad.write_bytes(b"\x00garbage" * 512)
    assert "not a valid actlab store" in one_line_error(cli("report", "--store", bad, "--out", tmp_path / "o"))
    afile = tmp_path / "f"
    afile.write_text("")
    assert "is a file" in one_line_error(cli("report", "--out", afile))
    assert "writable --out" in one_line_error(cli("report", "--out", afile / "x"))
    assert "is a file" in one_line_error(cli("tour", "--out", afile, "--store", tmp_path / "t.db"))
    assert "profile" in one_line_error(cli("tour", "--profile", "huge", "--out", tmp_path / "o"))
    assert "not a valid actlab store" in one_line_error(cli("tour", "--store", bad, "--out", tmp_path / "o"))
    assert "-j" in one_line_error(cli("tour", "-j", "0"))
    assert "did you mean" in one_line_error(cli("evaluate", "sigmoidd"))
