import dataclasses
import json
import time

import pytest

from actlab.engine import MIN_SEEDS, Record, Store, paired_verdict, run_sweep
from actlab.studies import DEFAULT_SET, all_studies, get_study


def test_registry():
    assert "C01" in [s.id for s in all_studies()]
    assert get_study("c01") is get_study("C01")
    with pytest.raises(KeyError, match="did you mean"):
        get_study("C011")
    c01 = get_study("C01")
    assert tuple(c01.activations) == DEFAULT_SET and len(DEFAULT_SET) == 13
    for p in c01.profiles:
        assert f"--profile {p}" in c01.doc and c01.expected[p]


def test_c01_quick_profile_end_to_end(tmp_path):
    """The quick profile (300 steps) on three activations and three seeds, through the store."""
    study = get_study("C01")
    cfg = study.profile("quick")
    store = Store(tmp_path / "r.db")
    t0 = time.time()
    s = run_sweep(study, cfg, activations=["relu", "gelu", "silu"], seeds=3, store=store, profile="quick", jobs=1)
    assert s.done == 9 and s.failed == 0, s.errors
    assert time.time() - t0 < 120
    recs = store.records("C01", s.config_hash)
    r = recs[0]
    for task in cfg.tasks:
        assert 0.3 < r.metrics[f"{task}/test_acc"] <= 1.0
        assert r.curves[f"{task}/test_acc"]["step"][-1] == cfg.steps
    v = study.verdict(recs, cfg)
    out = json.loads(json.dumps(v.to_json(), allow_nan=False))
    assert out["status"] in ("supported", "refuted", "inconclusive") and out["n_seeds"] == 3
    assert out["baseline"] == "relu" and out["compared"] == ["gelu", "silu"] and len(out["ci"]) == 2
    assert len(out["parts"]) == 1 + 2 * len(cfg.tasks)
    assert set(out["summary"]) == {"relu", "gelu", "silu"}
    assert set(out["summary"]["relu"]["mean_test_acc"]) == {"mean", "lo", "hi", "n"}


def test_c01_single_unit_matches_batched_path():
    study = get_study("C01")
    cfg = dataclasses.replace(study.profile("quick"), steps=20, eval_every=10)
    from actlab import get

    single = study.run(cfg, get("silu"), 1)
    (batched, _) = study.run_batch(cfg, [(get("silu"), 1), (get("relu"), 1)])
    for k, v in single.metrics.items():
        assert v == pytest.approx(batched.metrics[k], rel=1e-4, abs=2e-3), k


def _records(diffs, metric="m"):
    out = []
    for s, d in enumerate(diffs):
        out.append(Record("T", "h", "relu", s, "v", "done", {metric: 1.0}, {}))
        out.append(Record("T", "h", "silu", s, "v", "done", {metric: 1.0 + d}, {}))
    return out


@pytest.mark.parametrize("diffs, direction, status", [
    ([0.10, 0.12, 0.09, 0.11], "higher", "supported"),
    ([0.10, 0.12, 0.09, 0.11], "lower", "refuted"),
    ([0.10, -0.12, 0.09, -0.11], "higher", "inconclusive"),
    ([0.10, 0.12], "higher", "inconclusive"),  # too few seeds
])
def test_paired_verdict_rules(diffs, direction, status):
    v = paired_verdict(_records(diffs), study="T", claim="c", metric="m", direction=direction, baseline="relu",
                       compared=["silu"])
    assert v.status == status
    assert v.effect == pytest.approx(sum(diffs) / len(diffs))
    if len(diffs) < MIN_SEEDS:
        assert any("at least" in n for n in v.notes)
    json.dumps(v.to_json(), allow_nan=False)


def test_verdict_leaves_out_diverged_units_and_names_missing_activations():
    recs = _records([0.1, 0.1, 0.2, 0.1])
    recs[1] = dataclasses.replace(recs[1], status="diverged", metrics={})
    v = paired_verdict(recs, study="T", claim="c", metric="m", direction="higher", baseline="relu", compared=["silu"])
    assert v.n_seeds == 3 and any("left out" in n for n in v.notes)
    v = paired_verdict(recs, study="T", claim="c", metric="m", direction="higher", baseline="relu", compared=["gelu"])
    assert v.status == "inconclusive" and any("no records for gelu" in n for n in v.notes)
