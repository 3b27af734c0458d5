"""The report from the store and the shipped evidence: every claim shown, the engine's verdicts laid out
(numbers, labels, provenance), smoke tests labelled, cards, figures, self-contained, nothing imported."""

import json
import re
import sys
from html.parser import HTMLParser


from actlab.claims import CLAIMS
from actlab.engine import SMOKE_LABEL, Store
from actlab.engine.evidence import write_jsonl
from actlab.engine.verdicts import verdict
from actlab.report import write_report
from actlab.report import html as H
from actlab.report.results import collect, ranks

from report_helpers import TOY, c06_metrics, make_records, study, write_records

STATUS_BADGE = re.compile(r'class="badge b-(supported|refuted|inconclusive)"')
SMOKE_BADGE = 'class="badge b-smoke"'


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


def section(text, cid):
    """The HTML of one claim's detail section."""
    start = text.index(f'<div class="claim" id="claim-{cid}">')
    return text[start:text.index("back to the dashboard", start)]


def dashboard_cell(text, cid):
    """The verdict cell of a claim's dashboard row."""
    start = text.index(f'<td data-status="{cid}">')
    return text[start:text.index("</td>", start)]


def dashboard_row(text, cid):
    start = text.index(f'<td data-status="{cid}">')
    return text[start:text.index("</tr>", start)]


def records_of(path, sid):
    with Store(path, readonly=True) as db:
        return db.records(sid, curves=False)


def test_empty_store_shows_every_claim_not_run_yet(tmp_path):
    missing = tmp_path / "none.db"
    s = write_report(tmp_path / "out", missing, activations=["relu", "silu"])
    assert not missing.exists(), "the report must not create the store"
    assert set(s["claims"]) == set(CLAIMS) and {c["status"] for c in s["claims"].values()} == {"not run yet"}
    p = check_self_contained(tmp_path / "out" / "index.html")
    assert {f"claim-{c}" for c in CLAIMS} <= p.ids and {"act-relu", "act-silu"} <= p.ids
    # an existing store with no records says the same, and names what to run
    Store(tmp_path / "empty.db").close()
    s2 = write_report(tmp_path / "out2", tmp_path / "empty.db", activations=["relu"])
    assert {c["status"] for c in s2["claims"].values()} == {"not run yet"}
    text = (tmp_path / "out2" / "index.html").read_text()
    assert "no records of profile full in the store or the shipped evidence: run `actlab run C01 --profile full`" in text
    assert "no study module yet" in text and SMOKE_BADGE not in text
    saved = json.loads((tmp_path / "out2" / "verdicts.json").read_text())
    assert set(saved["claims"]) == set(CLAIMS) and saved["claims"]["C01"]["verdict"] is None


def test_report_lays_out_the_engines_verdicts(real_copy, tmp_path):
    out = tmp_path / "rep"
    s = write_report(out, real_copy, activations=["relu", "gelu", "silu", "tanh"])
    c01, c06 = study("C01"), study("C06")
    v01 = verdict(c01, "full", records_of(real_copy, "C01"))
    v06 = verdict(c06, "full", records_of(real_copy, "C06"))
    assert v06 is None  # C06 has quick records only: the report falls back to them, labelled
    v06 = verdict(c06, "quick", records_of(real_copy, "C06"))
    assert s["claims"]["C01"] == {"status": v01["status"], "why": "", "profile": "full", "smoke": False,
                                  "label": "evidence", "config_hash": v01["config_hash"],
                                  "fingerprint": v01["fingerprint"], "stale": False}
    assert v01["status"] == "supported"
    assert s["claims"]["C06"]["smoke"] is True and s["claims"]["C06"]["label"] == SMOKE_LABEL
    assert s["claims"]["C06"]["profile"] == "quick" and s["smoke"] == ["C06"]
    assert sum(c["status"] == "not run yet" for c in s["claims"].values()) == len(CLAIMS) - 2

    index = out / "index.html"
    p = check_self_contained(index)
    text = index.read_text()
    assert {"claim-C01", "claim-C06", "act-relu", "act-gelu", "act-silu", "act-tanh", "dashboard",
            "methodology"} <= p.ids
    assert "(1 of them smoke tests, not evidence)" in text

    # C01 (evidence): every contrast of every part, with its numbers, and no smoke label anywhere near it
    sec = section(text, "C01")
    assert SMOKE_BADGE not in sec and SMOKE_LABEL not in sec and SMOKE_LABEL not in dashboard_cell(text, "C01")
    assert len(v01["parts"]) == 8 and sum(p["decides"] for p in v01["parts"]) == 4
    assert sec.count("descriptive: does not decide") == 4
    for part in v01["parts"]:
        assert H.esc(part["name"]) in sec and H.esc(part["why"]) in sec
        for c in part["contrasts"]:
            assert f"{c['arm']} vs relu" in sec
            assert H.esc(H.estimate_text(c)) in sec, (part["name"], c["arm"])
    head = v01["headline"][0]
    assert H.esc(f"gelu vs relu: {H.estimate_text(head)}") in dashboard_row(text, "C01")
    # provenance: profile, config hash, code fingerprint, seeds judged, sources
    assert v01["config_hash"] in sec and v01["fingerprint"] in sec
    assert "8 of 8 pre-registered seeds" in sec and "160 record(s) from the store, 0 shipped" in sec
    assert "stale" not in sec
    # hyper-parameter policy and the chosen values, init policy, divergence, descriptive arms, ranks
    assert "tuned per arm and cell on the validation split" in sec and "lr=0.003" in sec
    assert H.esc(c01.init) in sec
    health = sec[sec.index('class="health"'):]
    softplus = health[health.index("<td>softplus</td>"):health.index("</tr>", health.index("<td>softplus</td>"))]
    assert re.findall(r'class="num">([^<]*)<', softplus) == ["32", "28", "4", "0", "12.5 %"]
    desc = sec[sec.index('class="descriptive"'):]
    assert "descriptive, not part of the verdict" in desc
    leaky = next(d for d in v01["descriptive"] if d["arm"] == "leaky_relu")["comparisons"][0]
    assert leaky["against"] == "relu" and H.esc(H.estimate_text(leaky)) in desc
    ranks_html = sec[sec.index('class="ranks"'):]
    order = re.findall(r'href="#act-([a-z-]+)"', ranks_html[:ranks_html.index("</table>")])
    assert order == ["gelu", "silu", "leaky-relu", "relu", "softplus"]

    # C06 (smoke test): the label beside every status, everywhere
    sec6 = section(text, "C06")
    n_status = len(STATUS_BADGE.findall(sec6))
    assert n_status == 1 + 4 + 4  # the claim, four parts, four contrasts
    assert sec6.count(SMOKE_BADGE) >= n_status + 2  # and beside the profile and the parts table
    assert SMOKE_LABEL in dashboard_cell(text, "C06") and SMOKE_BADGE in dashboard_cell(text, "C06")
    assert "gelu+silu vs 0" in sec6 and "3 of 3 pre-registered seeds" in sec6
    prim = v06["parts"][0]["contrasts"][0]
    assert H.esc(H.estimate_text(prim)) in sec6 and "shared by every arm" in sec6

    # the JSON beside the page: every verdict as judged, with smoke and label
    saved = json.loads((out / "verdicts.json").read_text())
    assert saved["claims"]["C01"]["verdict"] == json.loads(json.dumps(v01))
    assert saved["claims"]["C06"]["smoke"] is True and saved["claims"]["C06"]["verdict"]["label"] == SMOKE_LABEL
    # every figure as PNG and SVG beside the page
    files = {f.rsplit("/", 1)[-1] for f in s["figures"]}
    for stem in ("claims-overview", "claim-c01", "claim-c06", "act-relu", "act-tanh"):
        assert {f"{stem}.png", f"{stem}.svg"} <= files
    for f in s["figures"]:
        assert (out / "figures" / f.rsplit("/", 1)[-1]).stat().st_size > 500
    # tanh has no record: its card says so instead of inventing a rank
    card = text[text.index('id="act-tanh"'):]
    nxt = card.find('class="card"')
    assert "no stored results include it yet" in (card[:nxt] if nxt > 0 else card)
    # methodology numbers come from the records
    assert "0, 1, 2, 3, 4, 5, 6, 7" in text and str(real_copy) in text and "testhost" in text


def test_ranks_follow_the_summary_in_the_primary_cell(real_copy):
    results = {cr.id: cr for cr in collect(real_copy) if cr.verdict}
    cr = results["C01"]
    rk = ranks(cr)
    means = cr.verdict["summary"]['{"policy":"tuned","task":"mnist1d_mlp"}']
    assert set(rk) == {"relu", "gelu", "silu", "leaky_relu", "softplus"}
    order = sorted(rk, key=lambda a: rk[a]["rank"])
    assert order == sorted(means, key=lambda a: -means[a]["test_acc"]["mean"])
    assert rk["gelu"] == {"rank": 1, "of": 5, "mean": means["gelu"]["test_acc"]["mean"],
                          "lo": means["gelu"]["test_acc"]["lo"], "hi": means["gelu"]["test_acc"]["hi"], "n": 8,
                          "metric": "test_acc", "direction": "higher", "cell": "policy=tuned, task=mnist1d_mlp"}
    assert rk["softplus"]["n"] == 7  # its diverged seed has no finished unit
    # C06 declares its own rank metric
    r6 = ranks(results["C06"])
    assert {r["metric"] for r in r6.values()} == {"hermite/grad_cosine"} and set(r6) == {"gelu", "silu"}


def test_evidence_profile_wins_over_the_smoke_test(real_copy, tmp_path):
    c06 = study("C06")
    write_records(real_copy, c06, "full", make_records(c06, "full", c06_metrics))
    s = write_report(tmp_path / "o", real_copy, activations=["relu"])
    assert s["claims"]["C06"]["profile"] == "full" and s["claims"]["C06"]["smoke"] is False
    text = (tmp_path / "o" / "index.html").read_text()
    assert SMOKE_BADGE not in section(text, "C06") and "8 of 8 pre-registered seeds" in section(text, "C06")
    # --profile quick: that profile only, labelled
    s = write_report(tmp_path / "q", real_copy, profile="quick", activations=["relu"])
    assert s["claims"]["C06"]["smoke"] is True and s["claims"]["C01"]["status"] == "not run yet"
    assert "no records of profile quick" in s["claims"]["C01"]["why"]


def test_stale_code_fingerprint_is_flagged(tmp_path):
    c06 = study("C06")
    path = write_records(tmp_path / "s.db", c06, "full", make_records(c06, "full", c06_metrics,
                                                                     fingerprint="0123456789abcdef"))
    s = write_report(tmp_path / "o", path, activations=["relu"])
    assert s["claims"]["C06"]["stale"] is True and s["claims"]["C06"]["fingerprint"] == "0123456789abcdef"
    text = (tmp_path / "o" / "index.html").read_text()
    sec = section(text, "C06")
    assert "stale: judged records of code fingerprint 0123456789abcdef" in sec
    assert "stale" in dashboard_cell(text, "C06") and "re-run `actlab run C06 --profile full`" in sec


def test_shipped_evidence_is_judged_beside_the_store(tmp_path, _no_shipped_evidence):
    c06 = study("C06")
    recs = make_records(c06, "full", c06_metrics)
    write_jsonl(_no_shipped_evidence / "C06.jsonl", recs)
    s = write_report(tmp_path / "o", tmp_path / "missing.db", activations=["relu"])
    assert s["claims"]["C06"]["profile"] == "full" and s["claims"]["C06"]["status"] != "not run yet"
    assert s["claims"]["C06"]["status"] == verdict(c06, "full", recs)["status"]
    sec = section((tmp_path / "o" / "index.html").read_text(), "C06")
    assert "0 record(s) from the store, 16 shipped" in sec
    s = write_report(tmp_path / "o2", tmp_path / "missing.db", activations=["relu"], shipped=False)
    assert s["claims"]["C06"]["status"] == "not run yet"
    # a broken shipped file is shown as an error of that claim, not raised
    (_no_shipped_evidence / "C06.jsonl").write_text("{not json\n")
    s = write_report(tmp_path / "o3", tmp_path / "missing.db", activations=["relu"])
    assert s["claims"]["C06"]["status"] == "error" and "line 1" in s["claims"]["C06"]["why"]


def test_theory_refusals_become_reasons_not_crashes(tmp_path):
    """Gated units and activations without an edge of chaos get "—" with the reason (from their stored cards)."""
    from actlab.evaluate import store_cards

    store_cards(tmp_path / "s.db", ["swiglu", "softplus", "heaviside"])
    s = write_report(tmp_path / "o", tmp_path / "s.db", activations=["swiglu", "softplus", "heaviside"])
    text = (tmp_path / "o" / "index.html").read_text()
    assert "gated unit" in text and "no edge of chaos" in text
    assert {"swiglu", "softplus", "heaviside"} <= set(s["activations"])


def test_profile_argument_picks_the_profile(store_copy, tmp_path):
    s = write_report(tmp_path / "o", store_copy, studies=[TOY], profile="full", activations=["relu"])
    assert s["claims"]["T90"]["status"] == "not run yet" and "profile full" in s["claims"]["T90"]["why"]
    s = write_report(tmp_path / "o2", store_copy, studies=[TOY], activations=["relu"])  # evidence empty: quick
    assert s["claims"]["T90"]["profile"] == "quick" and s["claims"]["T90"]["label"] == SMOKE_LABEL
    s = write_report(tmp_path / "o3", store_copy, studies=[TOY], profile="huge", activations=["relu"])
    assert "has no profile 'huge'" in s["claims"]["T90"]["why"]
    text = (tmp_path / "o2" / "index.html").read_text()
    assert "toy claim" in text and "none: the toy evaluates the activation" in text


def test_verdict_error_is_shown_not_raised(store_copy, tmp_path, monkeypatch):
    import actlab.engine.verdicts

    def boom(study, profile, records):
        raise RuntimeError("verdict exploded")

    monkeypatch.setattr(actlab.engine.verdicts, "verdict", boom)
    s = write_report(tmp_path / "o", store_copy, studies=[TOY], activations=["relu"])
    assert s["claims"]["T90"]["status"] == "error"
    assert "verdict exploded" in (tmp_path / "o" / "index.html").read_text()


def test_rendering_never_imports_a_stored_name(store_copy, tmp_path, monkeypatch):
    """An arm named ``module:attr`` in a store is shown as a name; the module is never imported."""
    mod = tmp_path / "mods" / "report_evil_mod.py"
    mod.parent.mkdir()
    marker = tmp_path / "imported"
    mod.write_text(f"open({str(marker)!r}, 'w').write('yes')\ndef act(x):\n    return x\n")
    monkeypatch.syspath_prepend(str(mod.parent))
    (base,) = [r for r in records_of(store_copy, "T90") if r.arm == "relu" and r.seed == 0]
    import dataclasses

    evil = [dataclasses.replace(base, arm=name, seed=s) for name in ("report_evil_mod:act", "report_evil_mod")
            for s in range(3)]
    with Store(store_copy) as db:
        db.put(evil)
    s = write_report(tmp_path / "o", store_copy, studies=[TOY], activations=["relu"])
    assert not marker.exists() and "report_evil_mod" not in sys.modules
    assert {"report_evil_mod:act", "report_evil_mod"} <= set(s["activations"])
    text = (tmp_path / "o" / "index.html").read_text()
    assert "not a registered activation" in text
