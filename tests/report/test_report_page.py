"""The report from the store: every claim shown, verdicts from records, cards, figures, self-contained."""

import re
from html.parser import HTMLParser

import pytest

from actlab.claims import CLAIMS
from actlab.engine import Store
from actlab.report import write_report
from actlab.studies import get_study

from report_helpers import tiny_c01


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.hrefs, self.srcs, self.tags = set(), [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if "id" in a:
            assert a["id"] not in self.ids, f"duplicate id {a['id']}"
            self.ids.add(a["id"])
        if "href" in a:
            self.hrefs.append(a["href"])
        if "src" in a:
            self.srcs.append(a["src"])


def parse(path):
    p = _Collect()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def check_self_contained(index):
    text = index.read_text(encoding="utf-8")
    p = parse(index)
    assert "script" not in p.tags and "link" not in p.tags and "iframe" not in p.tags
    assert not re.search(r"@import|url\(", text), "CSS must not load anything"
    assert all(s.startswith("data:image/png;base64,") for s in p.srcs), "figures must be embedded"
    for h in p.hrefs:
        if h.startswith("#"):
            assert h[1:] in p.ids, f"link {h} has no target"
        else:
            assert "://" not in h and not h.startswith("//"), f"external link {h}"
            assert (index.parent / h).is_file(), f"link {h} points to no file"
    return p


def test_empty_store_shows_every_claim_not_run_yet(tmp_path):
    missing = tmp_path / "none.db"
    s = write_report(tmp_path / "out", missing, activations=["relu", "silu"])
    assert not missing.exists(), "the report must not create the store"
    assert set(s["claims"]) == set(CLAIMS) and set(s["claims"].values()) == {"not run yet"}
    p = check_self_contained(tmp_path / "out" / "index.html")
    assert {f"claim-{c}" for c in CLAIMS} <= p.ids and {"act-relu", "act-silu"} <= p.ids
    # an existing store with no records says the same
    Store(tmp_path / "empty.db").close()
    s2 = write_report(tmp_path / "out2", tmp_path / "empty.db", activations=["relu"])
    assert set(s2["claims"].values()) == {"not run yet"}
    text = (tmp_path / "out2" / "index.html").read_text()
    assert "no stored records: run `actlab run C01`" in text and "no study module yet" in text


def test_report_from_a_tiny_c01_run(store_copy, tmp_path):
    out = tmp_path / "rep"
    study = tiny_c01()
    s = write_report(out, store_copy, activations=["relu", "gelu", "silu", "tanh"])
    # the verdict is the study's own, on the stored records
    recs = Store(store_copy, readonly=True).records("C01", curves=False)
    expected = study.verdict(recs, study.profile("quick")).to_json()
    assert s["claims"]["C01"] == expected["status"] in ("supported", "refuted", "inconclusive")
    assert sum(v == "not run yet" for v in s["claims"].values()) == len(CLAIMS) - 1
    index = out / "index.html"
    p = check_self_contained(index)
    text = index.read_text()
    assert {"claim-C01", "act-relu", "act-gelu", "act-silu", "act-tanh", "dashboard", "methodology"} <= p.ids
    assert f"{expected['effect']:.4g}".replace("-", "−") in text  # the effect shown is the verdict's
    assert "rank" in text and "1 of 3" in text  # ranks of the three activations in C01
    # tanh has no record: its card says so instead of inventing a rank
    card = text[text.index('id="act-tanh"'):]
    assert "no stored results include it yet" in card[:card.index('class="card"', 10) if 'class="card"' in card[10:] else None]
    # every figure as PNG and SVG beside the page
    files = {f.rsplit("/", 1)[-1] for f in s["figures"]}
    for stem in ("claims-overview", "claim-c01", "act-relu", "act-tanh"):
        assert {f"{stem}.png", f"{stem}.svg"} <= files
    for f in s["figures"]:
        assert (out / "figures" / f.rsplit("/", 1)[-1]).stat().st_size > 500
    # methodology numbers come from the records
    assert "0, 1, 2" in text and study.profile("quick").__class__.__name__  # seeds
    assert str(store_copy) in text


def test_theory_refusals_become_reasons_not_crashes(tmp_path):
    """Gated units and activations without an edge of chaos get "—" with the reason."""
    s = write_report(tmp_path / "o", tmp_path / "none.db", activations=["swiglu", "softplus", "heaviside"])
    text = (tmp_path / "o" / "index.html").read_text()
    assert "gated unit" in text and "no edge of chaos" in text
    assert {"swiglu", "softplus", "heaviside"} <= set(s["activations"])


def test_profile_selects_records(store_copy, tmp_path):
    """--profile picks that profile's config; the tiny config is not the registered quick profile."""
    s = write_report(tmp_path / "o", store_copy, profile="quick", activations=["relu"])
    assert s["claims"]["C01"] == "not run yet"
    s = write_report(tmp_path / "o2", store_copy, studies=[tiny_c01()], profile="quick", activations=["relu"])
    assert s["claims"]["C01"] != "not run yet"


def test_verdict_error_is_shown_not_raised(store_copy, tmp_path):
    import dataclasses

    def boom(records, config):
        raise RuntimeError("verdict exploded")

    broken = dataclasses.replace(get_study("C01"), verdict=boom)
    s = write_report(tmp_path / "o", store_copy, studies=[broken], activations=["relu"])
    assert s["claims"]["C01"] == "error"
    assert "verdict exploded" in (tmp_path / "o" / "index.html").read_text()
