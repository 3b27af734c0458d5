"""docs/engine.md runs: its complete example study trains and is judged; its calibration table is generated."""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "engine.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    (block,) = [b for b in blocks if "STUDY = Study(" in b]
    return block


@pytest.fixture
def example(tmp_path, monkeypatch):
    (tmp_path / "docs_c09.py").write_text(_example(), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("docs_c09", None)
    yield importlib.import_module("docs_c09")
    sys.modules.pop("docs_c09", None)


def test_the_example_study_runs_and_is_judged(example, tmp_path):
    from actlab.engine import Store, run_sweep
    from actlab.engine.verdicts import verdict

    study = example.STUDY
    assert study.claim.startswith("A minimal model learns the identity")  # from the ledger, not retyped
    with Store(tmp_path / "s.db") as db:
        s = run_sweep(study, "quick", store=db, jobs=1)
        assert s.failed == 0 and s.tuned == 2 * 2 * 2  # 2 cells x 2 arms x 2 grid points x 1 tuning seed
        v = verdict(study, "quick", db.records(study.id))
    json.dumps(v, allow_nan=False)
    assert v["label"] == "smoke test, not evidence" and v["smoke"] is True
    (part,) = v["parts"]
    assert part["rule"] == "time_to_event" and [c["arm"] for c in part["contrasts"]] == ["silu"]
    c = part["contrasts"][0]
    assert c["n"] == 2 * 3  # paired by (cell, seed): two ranges x three seeds
    assert set(v["hyper"]) == {'{"r":0.5}', '{"r":2.0}'}


def test_calibration_table_is_generated_from_the_shipped_calibration():
    from actlab.engine.decide import markdown

    res = json.loads((ROOT / "results" / "calibration.json").read_text())
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- calibration:begin -->\n", 1)[1].split("\n<!-- calibration:end -->", 1)[0]
    assert block == markdown(res)
    # and the shipped calibration meets the protocol's promises
    assert res["superiority"]["false_support_at_0"] <= 0.025 + 3 * res["mc_se_at_alpha"]
    assert res["superiority"]["false_refute_at_delta"] <= 0.025 + 3 * res["mc_se_at_alpha"]
    assert res["composite"]["false_refute_all_at_delta"] <= 0.05
    assert abs(res["superiority"]["coverage_at_0"] - 0.95) < 0.01
