"""`actlab evaluate` on small activations defined in this file (addressed as `<this module>:name`)."""

import json

import pytest
import torch

from actlab.evaluate import UnfitActivation, check, evaluate
from actlab.engine import Store

from report_helpers import TINY_ACTS, tiny_c01


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


def test_evaluate_ranks_a_user_activation_claim_by_claim(store_copy, tmp_path):
    import actlab
    from actlab.report.figures import slug

    bent = actlab.get(f"{ME}:bent").name  # "bent@<fingerprint of its code>": the store key
    assert bent.startswith("bent@")
    out = tmp_path / "card"
    res = evaluate(f"{ME}:bent", "quick", out, store_copy, jobs=1, studies=[tiny_c01()], quiet=True)
    assert res["activation"] == bent
    (row,) = res["studies"]
    # the three standard activations were stored already; only the new activation's 3 seeds ran
    assert (row["units"], row["skipped"], row["done"]) == (12, 9, 3)
    recs = Store(store_copy, readonly=True).records("C01", curves=False)
    assert sorted({r.activation for r in recs}) == sorted([*TINY_ACTS, bent])
    rep = res["report"]
    assert all(c["ok"] for c in rep["checks"])
    (c01,) = rep["claims"]
    assert c01["claim"] == "C01" and c01["rank"]["of"] == 4 and 1 <= c01["rank"]["rank"] <= 4
    vs = c01["versus_baseline"]
    assert vs["baseline"] == "relu" and vs["n_seeds"] == 3 and vs["status"] in ("supported", "refuted", "inconclusive")
    # rank is by the stored mean of the headline metric
    means = {a: sum(r.metrics["mean_test_acc"] for r in recs if r.activation == a) / 3 for a in [*TINY_ACTS, bent]}
    better = sum(m > means[bent] for m in means.values())
    assert c01["rank"]["rank"] == better + 1
    text = (out / "index.html").read_text()
    assert f'id="act-{slug(bent)}"' in text and "Bent identity" in text and 'class="hl"' in text
    assert (out / "figures" / f"act-{slug(bent)}.png").is_file() and (out / "figures" / f"act-{slug(bent)}.svg").is_file()
    # rerunning resumes: nothing new to train
    again = evaluate(f"{ME}:bent", "quick", tmp_path / "card2", store_copy, jobs=1, studies=[tiny_c01()], quiet=True)
    assert again["studies"][0]["done"] == 0 and again["studies"][0]["skipped"] == 12


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
