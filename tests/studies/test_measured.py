"""Measured numbers in the study headers and the README are generated from the shipped records, never typed."""

from __future__ import annotations

from pathlib import Path

import pytest

from actlab.studies import _measured, all_studies

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("study", all_studies(), ids=lambda s: s.id)
def test_header_matches_the_shipped_evidence(study):
    want = _measured.expected(study)
    assert _measured.current(study) == want, (
        f"{study.id}'s header is out of date with results/: run `python -m actlab.studies._measured --write`")


def test_readme_verdicts_match_the_shipped_evidence():
    assert _measured.sync_readme(ROOT / "README.md", write=False), \
        "README.md's verdict list is out of date: run `python -m actlab.studies._measured --write`"


def test_the_block_is_rendered_from_the_verdict_not_typed():
    v = {"profile": "full", "seeds": [0, 1, 2], "fingerprint": "abcdef0123456789", "status": "refuted",
         "baseline": "relu", "metric": "m", "summary": {},
         "parts": [{"name": "p", "delta": 0.5, "status": "refuted", "baseline": "relu",
                    "contrasts": [{"arm": "silu", "estimate": -1.25, "ci": [-2.0, -0.5], "status": "refuted",
                                   "outcome": "opposite direction", "seeds_needed": None}]}]}
    text = _measured.render(v, "results/X.jsonl.gz")
    assert "verdict: REFUTED" in text and "silu - relu: -1.2500 [-2.0000, -0.5000] -> refuted (opposite direction)" in text
