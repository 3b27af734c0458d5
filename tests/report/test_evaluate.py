"""`actlab evaluate` on small activations defined in this file (addressed as `<this module>:name`)."""

import json

import pytest
import torch

from actlab.evaluate import UnfitActivation, check, evaluate
from actlab.engine import Store

from report_helpers import TOY, TOY_ARMS


def bent(x):
    """Bent identity: x + (sqrt(x² + 1) − 1)/2, smooth and unbounded both ways."""
    return x + (torch.sqrt(x * x + 1) - 1) / 2


class Wobble(torch.nn.Module):
    """An nn.Module activation: x + 0.1·sin(x)."""

    def forward(self, x):
        return x + 0.1 * torch.sin(x)


def exploding(x):
    return torch.exp(x)


def detached(x):
    return torch.relu(x).detach()


def relu(x):  # shares the standard ReLU's name: its results would mix with it
    return torch.clamp(x, min=0)


ME = __name__
# what an extra arm may change in a verdict: its own descriptive rows, summaries, health, hyper and counts
SAME_EXCEPT = ("descriptive", "summary", "health", "hyper", "provenance")


def test_evaluate_ranks_a_user_activation_claim_by_claim(store_copy, tmp_path):
    import actlab
    from actlab.engine import SMOKE_LABEL
    from actlab.engine.verdicts import verdict
    from actlab.report import html as H
    from actlab.report.figures import slug

    before = verdict(TOY, "quick", Store(store_copy, readonly=True).records("T90", curves=False))
    bent = actlab.get(f"{ME}:bent").name  # "bent@<fingerprint of its code>": the store key
    assert bent.startswith("bent@")
    out = tmp_path / "card"
    res = evaluate(f"{ME}:bent", "quick", out, store_copy, jobs=1, studies=[TOY], quiet=True)
    assert res["activation"] == bent
    (row,) = res["studies"]
    # the four arms of the toy were stored already; only the new activation's 3 seeds ran
    assert (row["units"], row["skipped"], row["done"]) == (15, 12, 3)
    recs = Store(store_copy, readonly=True).records("T90", curves=False)
    assert sorted({r.arm for r in recs}) == sorted([*TOY_ARMS, bent])
    after = verdict(TOY, "quick", recs)
    # an extra arm never changes the claim's verdict: only the descriptive list grows
    assert {k: v for k, v in after.items() if k not in SAME_EXCEPT} == \
        {k: v for k, v in before.items() if k not in SAME_EXCEPT}
    mine = next(d for d in after["descriptive"] if d["arm"] == bent)["comparisons"]
    rep = res["report"]
    assert all(c["ok"] for c in rep["checks"])
    t90 = next(c for c in rep["claims"] if c["claim"] == "T90")
    assert t90["smoke"] is True and t90["label"] == SMOKE_LABEL and t90["status"] == after["status"]
    assert t90["rank"]["of"] == 5 and 1 <= t90["rank"]["rank"] <= 5
    # the comparison with the baseline is the verdict's own descriptive entry, not recomputed
    vs = t90["versus_baseline"]
    primary_vs_relu = next(c for c in mine if c["part"] == "higher score" and c["against"] == "relu")
    assert {k: vs[k] for k in primary_vs_relu} == primary_vs_relu and t90["comparisons"] == mine
    # rank is by the verdict's summary mean of the rank metric (mean of the 3 seeds' scores)
    means = {a: sum(r.metrics["score"] for r in recs if r.arm == a and r.status == "done")
             / sum(r.arm == a and r.status == "done" for r in recs) for a in [*TOY_ARMS, bent]}
    better = sum(m > means[bent] for m in means.values())
    assert t90["rank"]["rank"] == better + 1
    assert t90["rank"]["mean"] == pytest.approx(means[bent], abs=1e-12)
    text = (out / "index.html").read_text()
    assert f'id="act-{slug(bent)}"' in text and "Bent identity" in text and 'class="hl"' in text
    # the card opens with its nearest known relative (actlab similar): the zoo's bent_identity, the same function
    near = res["neighbours"]["matches"][0]
    assert near["name"] == "bent_identity" and near["distance"] < 1e-7 and rep["neighbours"] == res["neighbours"]
    nearest_html = text[text.index('id="nearest"'):]
    assert "bent_identity" in nearest_html[:nearest_html.index("</table>")]
    row_html = text[text.index('<td data-status="T90">'):]
    assert SMOKE_LABEL in row_html[:row_html.index("</td>")]
    table = text[text.index('class="evaluation"'):]
    table = table[:table.index("</table>")]
    assert H.esc(H.estimate_text(vs)) in table and "(descriptive)" in table and SMOKE_LABEL in table
    assert (out / "figures" / f"act-{slug(bent)}.png").is_file() and (out / "figures" / f"act-{slug(bent)}.svg").is_file()
    assert json.loads((out / "verdicts.json").read_text())["claims"]["T90"]["smoke"] is True
    # rerunning resumes: nothing new to train
    again = evaluate(f"{ME}:bent", "quick", tmp_path / "card2", store_copy, jobs=1, studies=[TOY], quiet=True)
    assert again["studies"][0]["done"] == 0 and again["studies"][0]["skipped"] == 15


def test_evaluating_a_named_arm_shows_its_own_contrast(store_copy, tmp_path):
    import actlab
    from actlab.engine.verdicts import verdict
    from actlab.report import write_evaluation

    # gelu is one of the claim's arms, already stored: the card alone (a small standard set, for speed)
    rep = write_evaluation(tmp_path / "card", store_copy, actlab.get("gelu"), [], target="gelu", studies=[TOY],
                           profile="quick", standard=["relu", "gelu"])
    t90 = next(c for c in rep["claims"] if c["claim"] == "T90")

    v = verdict(TOY, "quick", Store(store_copy, readonly=True).records("T90", curves=False))
    head = next(c for c in v["headline"] if c["arm"] == "gelu")
    assert t90["versus_baseline"]["estimate"] == head["estimate"] and t90["comparisons"] == []


def test_check_accepts_modules_and_rejects_unfit_activations():
    act, findings = check(f"{ME}:Wobble")
    assert act.spec.name == "wobble" and act.name.startswith("wobble@") and all(f.ok for f in findings)
    with pytest.raises(UnfitActivation, match="finite"):
        check(f"{ME}:exploding")
    with pytest.raises(UnfitActivation, match="cannot learn"):
        check(f"{ME}:detached")


def test_evaluate_cli_bad_input_is_one_line_exit_2(tmp_path, store_copy, one_line_error, cli):
    assert "not finite" in one_line_error(cli("evaluate", f"{ME}:exploding", "--out", tmp_path / "o"))
    assert "cannot learn" in one_line_error(cli("evaluate", f"{ME}:detached", "--out", tmp_path / "o"))
    assert "no attribute" in one_line_error(cli("evaluate", f"{ME}:nope", "--out", tmp_path / "o"))
    assert "cannot import" in one_line_error(cli("evaluate", "no_such_pkg.mod:act", "--out", tmp_path / "o"))
    assert "did you mean" in one_line_error(cli("evaluate", "reluu", "--out", tmp_path / "o"))
    assert "rename" in one_line_error(cli("evaluate", f"{ME}:relu", "--out", tmp_path / "o"))
    afile = tmp_path / "a-file"
    afile.write_text("x")
    assert "is a file" in one_line_error(cli("evaluate", f"{ME}:bent", "--out", afile))
    assert "writable --out" in one_line_error(cli("evaluate", f"{ME}:bent", "--out", afile / "sub"))
    assert "profile" in one_line_error(cli("evaluate", f"{ME}:bent", "--profile", "huge", "--out", tmp_path / "o"))
    bad = tmp_path / "corrupt.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    assert "not a valid actlab store" in one_line_error(cli("evaluate", f"{ME}:bent", "--out", tmp_path / "o", "--store", bad))
    assert bad.read_bytes() == b"this is not sqlite" * 100
