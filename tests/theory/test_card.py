"""The theory card of an activation (actlab.theory.card): its numbers, its refusals, its fingerprint, and
the store record (study THEORY) it travels as -- through the store, a shipped file and the checkout's
results/THEORY.jsonl.gz."""

import json
import math
import os
import subprocess
import sys

import pytest

import actlab.theory.card as TC
from actlab.engine import Store
from actlab.engine import evidence
from actlab.engine.fingerprint import code_hash
from actlab.zoo import DEFAULT_SET, get

STANDARD = [get(a).name for a in DEFAULT_SET]


def text(records):
    return [json.dumps(evidence.plain(r.to_json()), sort_keys=True) for r in records]


def close(a, b, rel=1e-9):
    """Nested equality, floats within ``rel``."""
    if isinstance(a, float) and isinstance(b, float):
        return a == b or math.isclose(a, b, rel_tol=rel, abs_tol=1e-14)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k], rel) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y, rel) for x, y in zip(a, b))
    return a == b


def test_card_numbers_and_refusals():
    relu = TC.theory_card(get("relu"))
    assert relu["gain"]["value"]["gain"] == pytest.approx(math.sqrt(2), rel=1e-12) and relu["gain"]["reason"] is None
    assert relu["moments"]["value"]["second"] == pytest.approx(0.5, rel=1e-12)
    assert relu["edge_of_chaos"]["value"]["sigma_w"] == pytest.approx(math.sqrt(2), rel=1e-9)
    assert relu["icnn"]["value"]["admissible"] is True
    gated = TC.theory_card(get("swiglu"))
    assert all(v["value"] is None and "gated unit" in v["reason"] for v in gated.values())
    soft = TC.theory_card(get("softplus"))
    assert soft["edge_of_chaos"]["value"] is None and "no edge of chaos" in soft["edge_of_chaos"]["reason"]
    step = TC.theory_card(get("heaviside"))
    assert any(v["value"] is None and v["reason"] for v in step.values())
    json.dumps(relu, allow_nan=False)  # plain JSON data


def test_fingerprint_names_the_theory_code():
    fp = TC.card_fingerprint()
    assert fp == code_hash(["actlab.theory"])[:16] and len(fp) == 16 and int(fp, 16) >= 0


def test_card_record_round_trips_through_the_store_and_a_shipped_file(tmp_path, monkeypatch):
    recs = [TC.card_record(get(n)) for n in ("gelu", "swiglu", "heaviside")]
    r = recs[0]
    assert (r.study, r.config_hash, r.cell, r.hyper, r.arm, r.seed, r.status, r.metrics, r.claim) == \
        ("THEORY", "card", "{}", "{}", "gelu", -1, "done", {}, "theory numbers of an activation card")
    assert r.fingerprint == TC.card_fingerprint() and r.arrays == {"card": TC.theory_card(get("gelu"))}
    with Store(tmp_path / "s.db") as db:
        assert db.put(recs) == 3
        back = db.records("THEORY", "card", r.fingerprint, arrays=True)
        assert {a for _, _, a, _ in db.finished_keys("THEORY", "card", r.fingerprint)} == {"gelu", "swiglu", "heaviside"}
    assert [x.to_json() for x in back] == [x.to_json() for x in sorted(recs, key=lambda x: x.key)]
    folder = tmp_path / "shipped"
    monkeypatch.setenv("ACTLAB_RESULTS", str(folder))
    assert evidence.write_jsonl(folder / "THEORY.jsonl.gz", back) == 3
    assert text(evidence.shipped_records("THEORY")) == text(back)
    assert [x.to_json() for x in evidence.shipped_records("THEORY")] == [x.to_json() for x in back]


def test_write_shipped_writes_the_default_set(tmp_path):
    env = {**os.environ, "ACTLAB_RESULTS": str(tmp_path), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-m", "actlab.theory.card", "--write-shipped"], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert f"theory card 1/{len(STANDARD)}: relu" in out.stdout and "RuntimeWarning" not in out.stderr
    recs = evidence.read_jsonl(tmp_path / "THEORY.jsonl.gz")
    assert sorted(r.arm for r in recs) == sorted(STANDARD) and {r.study for r in recs} == {"THEORY"}


def test_the_checkout_ships_the_default_sets_cards(monkeypatch):
    monkeypatch.delenv("ACTLAB_RESULTS", raising=False)
    folder = evidence.shipped_dir()
    assert folder is not None, "the tests run from a source checkout, which must have results/ (shipped evidence)"
    assert (folder / "THEORY.jsonl.gz").is_file()
    recs = evidence.shipped_records("THEORY")  # the file name is the study id of every record in it
    assert set(STANDARD) <= {r.arm for r in recs} and {r.config_hash for r in recs} == {"card"}
    current = [r for r in recs if r.fingerprint == TC.card_fingerprint()]
    assert current, ("results/THEORY.jsonl.gz is of earlier theory code: regenerate it with "
                     "`python -m actlab.theory.card --write-shipped` and commit it")
    for r in current:
        assert close(r.arrays["card"], TC.theory_card(get(r.arm))), r.arm
