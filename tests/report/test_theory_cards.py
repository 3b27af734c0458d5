"""Theory numbers on activation cards are stored records (study THEORY): the tour and evaluate compute and
store them, the report and the evaluation card only read them (store merged with the shipped cards)."""

import dataclasses
import re

import pytest
import torch

import actlab.theory.card as TC
from actlab.engine import Store
from actlab.engine.evidence import write_jsonl
from actlab.evaluate import evaluate, store_cards, tour
from actlab.report import write_evaluation, write_report
from actlab.report import html as H
from actlab.report.results import collect, theory_cards
from actlab.zoo import DEFAULT_SET, get

from report_helpers import TOY, TOY_ARMS, run_toy

ME = __name__
STANDARD = [get(a).name for a in DEFAULT_SET]


def soft_bent(x):
    """A softer bent identity: x + (sqrt(x² + 1) − 1)/4."""
    return x + (torch.sqrt(x * x + 1) - 1) / 4


@pytest.fixture
def no_theory(monkeypatch):
    """Any theory computation fails the test."""
    def boom(act, *a, **k):
        raise AssertionError(f"theory numbers of {getattr(act, 'name', act)} were computed")

    for f in ("theory_card", "_moments", "_gain", "_edge", "_icnn"):
        monkeypatch.setattr(TC, f, boom)


@pytest.fixture
def counted(monkeypatch):
    """The names theory_card is called for, in order."""
    calls, real = [], TC.theory_card

    def count(act):
        calls.append(act.name)
        return real(act)

    monkeypatch.setattr(TC, "theory_card", count)
    return calls


def card_html(text, name):
    """The HTML of one activation card."""
    start = text.index(f'id="{H.Anchors().act(name)}"')
    nxt = text.find('<div class="card"', start)
    return text[start:nxt if nxt > 0 else len(text)]


def theory_row(text, name):
    """The row of ``name`` in the evaluation card's theory table."""
    table = text[text.index('<h2 id="theory">'):]
    table = table[:table.index("</table>")]
    start = table.index(f">{H.esc(name)}</a>")
    return table[start:table.index("</tr>", start)]


def test_report_without_cards_says_not_computed_and_computes_nothing(tmp_path, no_theory):
    s = write_report(tmp_path / "o", tmp_path / "none.db", activations=["relu", "swiglu", "softplus"])
    text = (tmp_path / "o" / "index.html").read_text()
    assert s["theory"] == {n: None for n in s["activations"]} and set(s["activations"]) >= {"relu", "swiglu"}
    for n in s["activations"]:
        assert H.esc(H.NOT_COMPUTED) in card_html(text, n), n
    assert "Edge of chaos" not in text and "Moments" not in text
    # a store holding other cards only: the rest still say so, and nothing is computed
    cards_db = tmp_path / "s.db"
    with Store(cards_db) as db:
        db.put([TC.card_record(get("relu"), {"moments": {"value": None, "reason": "stored"}, "gain": {"value": None, "reason": "stored"},
                                            "edge_of_chaos": {"value": None, "reason": "stored"},
                                            "icnn": {"value": None, "reason": "stored"}})])
    s = write_report(tmp_path / "o2", cards_db, activations=["relu", "tanh"])
    text = (tmp_path / "o2" / "index.html").read_text()
    assert s["theory"]["relu"]["current"] is True and s["theory"]["tanh"] is None
    assert H.esc(H.NOT_COMPUTED) not in card_html(text, "relu") and H.esc(H.NOT_COMPUTED) in card_html(text, "tanh")
    # the evaluation card too: its theory table and cards say so
    act = get(f"{ME}:soft_bent")
    write_evaluation(tmp_path / "card", tmp_path / "none.db", act, [], target=f"{ME}:soft_bent", studies=[TOY],
                     standard=["relu"])
    text = (tmp_path / "card" / "index.html").read_text()
    assert H.esc(H.NOT_COMPUTED) in theory_row(text, act.name) and H.esc(H.NOT_COMPUTED) in card_html(text, act.name)


def test_tour_stores_cards_once(tmp_path, counted):
    store, lines = tmp_path / "s.db", []
    run_toy(store, "quick", activations=[*TOY_ARMS, "softsign"])  # an arm outside the default set has records
    res = tour("quick", store, tmp_path / "rep", jobs=1, studies=[TOY], quiet=True, log=lines.append)
    want = [*STANDARD, "softsign"]
    assert sorted(counted) == sorted(want)
    assert f"theory card 1/{len(want)}: {STANDARD[0]}" in lines and lines.index("writing the report") > \
        lines.index(f"theory card {len(want)}/{len(want)}: softsign")
    fp = TC.card_fingerprint()
    with Store(store, readonly=True) as db:
        recs = db.records("THEORY")
    assert sorted(r.arm for r in recs) == sorted(want)
    for r in recs:
        assert (r.config_hash, r.cell, r.hyper, r.seed, r.fingerprint, r.status, r.metrics, r.claim) == \
            ("card", "{}", "{}", -1, fp, "done", {}, "theory numbers of an activation card")
        assert set(r.arrays["card"]) == {"moments", "gain", "edge_of_chaos", "icnn"}
    rep = res["report"]
    assert {n: rep["theory"][n] for n in want} == {n: {"fingerprint": fp, "current": True, "shipped": False} for n in want}
    assert "THEORY" not in rep["claims"] and all(cr.id != "THEORY" for cr in collect(store, [TOY]))
    text = (tmp_path / "rep" / "index.html").read_text()
    assert H.esc(H.NOT_COMPUTED) not in text and text.count("<b>Edge of chaos</b>") == len(rep["activations"])
    # a second tour computes none
    counted.clear()
    lines.clear()
    res = tour("quick", store, tmp_path / "rep2", jobs=1, studies=[TOY], quiet=True, log=lines.append)
    assert counted == [] and res["theory_cards"]["computed"] == []
    assert sorted(res["theory_cards"]["stored"]) == sorted(want)
    assert f"theory cards: all {len(want)} stored for theory code {fp}" in lines
    with Store(store, readonly=True) as db:
        assert len(db.records("THEORY")) == len(want)


def test_store_cards_skips_unknown_names_and_keeps_going_past_a_failure(tmp_path, monkeypatch):
    real = TC.theory_card

    def flaky(act):
        if act.name == "tanh":
            raise RuntimeError("theory exploded")
        return real(act)

    monkeypatch.setattr(TC, "theory_card", flaky)
    got = store_cards(tmp_path / "s.db", ["relu", "tanh", "report_evil_mod:act", "bent@0123"], print)
    assert got["computed"] == ["relu"] and got["skipped"] == ["report_evil_mod:act", "bent@0123"]
    assert got["failed"] == {"tanh": "RuntimeError: theory exploded"}
    monkeypatch.setattr(TC, "theory_card", real)
    assert store_cards(tmp_path / "s.db", ["relu", "tanh"])["computed"] == ["tanh"]  # retried, relu kept


def test_earlier_theory_code_is_shown_as_such(tmp_path, _no_shipped_evidence, no_theory):
    def card(gain):
        return {"moments": {"value": None, "reason": "not stored"}, "edge_of_chaos": {"value": None, "reason": "none"},
                "icnn": {"value": None, "reason": "not stored"},
                "gain": {"value": {"gain": gain, "q": 1.0, "torch_gain": None, "note": "n", "activation": "relu",
                                   "torch_fixed_q": None}, "reason": None}}

    relu = get("relu")
    old = dataclasses.replace(TC.card_record(relu, card(1.111), fingerprint="0" * 16), finished=10.0)
    newer = dataclasses.replace(TC.card_record(relu, card(2.222), fingerprint="1" * 16), finished=20.0)
    write_jsonl(_no_shipped_evidence / "THEORY.jsonl.gz", [old, newer])
    s = write_report(tmp_path / "o", tmp_path / "none.db", activations=["relu"])
    assert s["theory"]["relu"] == {"fingerprint": "1" * 16, "current": False, "shipped": True}
    c = card_html((tmp_path / "o" / "index.html").read_text(), "relu")
    assert "computed by earlier theory code" in c and "2.222" in c and "1.111" not in c and "1" * 16 in c
    # --no-shipped leaves the shipped cards out too
    assert write_report(tmp_path / "o2", tmp_path / "none.db", activations=["relu"], shipped=False)["theory"]["relu"] is None
    # the current code's card wins over a newer card of another fingerprint
    cur = dataclasses.replace(TC.card_record(relu, card(3.333)), finished=5.0)
    with Store(tmp_path / "s.db") as db:
        db.put([cur])
    (entry,) = theory_cards(tmp_path / "s.db").values()
    assert entry["current"] and entry["card"]["gain"]["value"]["gain"] == 3.333 and not entry["shipped"]
    write_report(tmp_path / "o3", tmp_path / "s.db", activations=["relu"])
    c = card_html((tmp_path / "o3" / "index.html").read_text(), "relu")
    assert "3.333" in c and "earlier theory code" not in c


def test_evaluate_card_reads_the_user_functions_theory_numbers_from_the_store(store_copy, tmp_path, counted,
                                                                              monkeypatch):
    target = f"{ME}:soft_bent"
    name = get(target).name
    res = evaluate(target, "quick", tmp_path / "card", store_copy, jobs=1, studies=[TOY], quiet=True)
    assert counted[0] == name and sorted(counted) == sorted([name, *STANDARD])  # the user's first, once each
    with Store(store_copy, readonly=True) as db:
        (rec,) = [r for r in db.records("THEORY") if r.arm == name]
    assert res["report"]["theory"][name] == {"fingerprint": TC.card_fingerprint(), "current": True, "shipped": False}
    gain = rec.arrays["card"]["gain"]["value"]["gain"]
    row = theory_row((tmp_path / "card" / "index.html").read_text(), name)
    assert H.esc(H.fmt(gain)) in row
    # the numbers are the stored ones: change the stored card, and the card shows the change
    counted.clear()
    with Store(store_copy) as db:
        db.delete([rec])
        fake = {**rec.arrays["card"], "gain": {**rec.arrays["card"]["gain"],
                                               "value": {**rec.arrays["card"]["gain"]["value"], "gain": 7.654321}}}
        db.put([dataclasses.replace(rec, arrays={"card": fake})])
    evaluate(target, "quick", tmp_path / "card2", store_copy, jobs=1, studies=[TOY], quiet=True)
    assert counted == []  # every card is stored: none computed
    text = (tmp_path / "card2" / "index.html").read_text()
    assert "7.654" in theory_row(text, name) and "7.654" in card_html(text, name)
    # and rendering alone never computes one
    for f in ("theory_card", "_moments", "_gain", "_edge", "_icnn"):
        monkeypatch.setattr(TC, f, lambda *a: pytest.fail("computed"))
    write_evaluation(tmp_path / "card3", store_copy, get(target), [], target=target, studies=[TOY], standard=["relu"])
    assert "7.654" in theory_row((tmp_path / "card3" / "index.html").read_text(), name)
    assert not re.search("not computed yet", theory_row((tmp_path / "card3" / "index.html").read_text(), "relu"))
