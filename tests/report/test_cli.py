"""`actlab tour` and `actlab report` from the command line: output, resume, --json, bad input."""

import json

import pytest


from report_helpers import tiny_c01


def test_tour_runs_every_study_then_reports_and_resumes(cli, tmp_path, monkeypatch):
    import actlab.studies

    study = tiny_c01()
    monkeypatch.setattr(actlab.studies, "all_studies", lambda: [study])
    store, out = tmp_path / "s.db", tmp_path / "rep"
    res = cli("tour", "--profile", "quick", "--store", store, "--out", out, "-j", "1", "-q")
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    c01 = next(l for l in lines if l.startswith("C01"))
    assert c01.split()[1:5] == ["9", "0", "9", "0"]  # units, stored, ran, failed
    assert c01.rstrip().endswith("s") and any(l.startswith("total") for l in lines)
    assert (out / "index.html").is_file() and "report:" in res.output
    # rerun: every unit is in the store, nothing trains again
    res = cli("tour", "--store", store, "--out", out, "-j", "1", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    (row,) = data["studies"]
    assert (row["units"], row["skipped"], row["done"]) == (9, 9, 0)
    assert data["report"]["claims"]["C01"] in ("supported", "refuted", "inconclusive")
    assert data["report"]["claims"]["C02"] == "not run yet"


def test_report_cli(cli, store_copy, tmp_path):
    res = cli("report", "--store", store_copy, "--out", tmp_path / "r", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["claims"]["C01"] != "not run yet" and len(data["claims"]) >= 26
    assert len(data["activations"]) >= 13 and all(p.endswith((".png", ".svg")) for p in data["figures"])
    res = cli("report", "--store", tmp_path / "missing.db", "--out", tmp_path / "r2", "-q")
    assert res.exit_code == 0 and "26 not run yet" in res.output


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
