import dataclasses
import json
import math

import pytest

from actlab.engine import MIN_SEEDS, Record, Store, contrast_verdict, run_sweep
from actlab.studies import get_study


def _record(act: str, seed: int, value: float, status: str = "done") -> Record:
    return Record(study="T", config_hash="h", activation=act, seed=seed, version="v", status=status,
                  metrics={"a-b/x": value}, curves={})


@pytest.mark.parametrize("values,expected", [
    ([0.10, 0.12, 0.11, 0.09], "supported"),
    ([-0.10, -0.12, -0.11, -0.09], "refuted"),
    ([0.10, -0.12, 0.11, -0.09], "inconclusive"),
    ([0.10, 0.12], "inconclusive"),  # fewer than MIN_SEEDS observations
])
def test_contrast_verdict_rule(values, expected):
    recs = [_record("gelu" if i % 2 else "silu", i, v) for i, v in enumerate(values)]
    v = contrast_verdict(recs, study="T", claim="c", metric="a-b/x", direction="higher")
    assert v.status == expected
    assert v.n_seeds == len(values) and v.effect == pytest.approx(sum(values) / len(values))
    if len(values) < MIN_SEEDS:
        assert any("at least" in n for n in v.notes)
    lower = contrast_verdict(recs, study="T", claim="c", metric="a-b/x", direction="lower")
    assert lower.status == {"supported": "refuted", "refuted": "supported"}.get(expected, "inconclusive")


def test_contrast_verdict_leaves_out_unfinished_units():
    recs = [_record("gelu", s, 0.1 + 0.01 * s) for s in range(3)] + [_record("gelu", 9, math.nan),
                                                                      _record("silu", 1, 5.0, status="diverged")]
    v = contrast_verdict(recs, study="T", claim="c", metric="a-b/x", direction="higher")
    assert v.n_seeds == 3 and v.status == "supported" and any("2 unit(s) left out" in n for n in v.notes)


def test_c06_on_the_engine(tmp_path):
    """A tiny C06 sweep through the store: per-unit contrasts are the arms' differences; the verdict is
    the four-part composite, computed from what the store holds."""
    study = get_study("C06")
    assert study.activations and all(f"--profile {p}" in study.doc for p in study.profiles)
    cfg = dataclasses.replace(study.profile("quick"), steps=20, checkpoints=1, probe_size=32)
    store = Store(tmp_path / "r.db")
    s = run_sweep(study, cfg, activations=["gelu"], seeds=3, store=store, profile="quick", jobs=1)
    assert s.done == 3 and s.failed == 0, s.errors
    recs = store.records("C06", s.config_hash)
    for r in recs:
        m = r.metrics
        for arm in ("true", "newton", "newton-chebyshev", "hermite"):
            assert 0.0 <= m[f"{arm}/test_acc"] <= 1.0
        for v in ("newton", "newton-chebyshev"):
            assert m[f"hermite-{v}/grad_cosine"] == pytest.approx(m["hermite/grad_cosine"] - m[f"{v}/grad_cosine"])
            assert -1.0 <= m[f"{v}/grad_cosine"] <= 1.0
    out = json.loads(json.dumps(study.verdict(recs, cfg).to_json(), allow_nan=False))
    assert out["status"] in ("supported", "refuted", "inconclusive") and len(out["parts"]) == 4
    assert out["metric"] == "hermite-newton-chebyshev/grad_cosine" and out["n_seeds"] == 3
    # the same seed gives the same record
    again = run_sweep(study, cfg, activations=["gelu"], seeds=[0], store=Store(tmp_path / "r2.db"), profile="quick",
                      jobs=1)
    first = next(r for r in recs if r.seed == 0)
    assert Store(tmp_path / "r2.db").records("C06", again.config_hash)[0].metrics == first.metrics
