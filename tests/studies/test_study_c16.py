"""C16's own measurements: exact zeros per layer, the corrupted test sets, the hidden layers of a CNN."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from actlab.models import cnn1d, mlp
from actlab.studies import c16_sparsity_robustness as c16


def test_zero_fractions_count_exact_zeros_of_each_hidden_layer():
    torch.manual_seed(0)
    model = mlp("relu", 4, 3, hidden=(5, 6))
    x = torch.randn(50, 4)
    h1 = torch.relu(model[0](x))
    h2 = torch.relu(model[2](h1))
    want = [float((h1 == 0).double().mean()), float((h2 == 0).double().mean())]
    assert c16.zero_fractions(model, x) == pytest.approx(want, abs=0)
    assert c16.zero_fractions(mlp("silu", 4, 3, hidden=(5, 6)), x) == [0.0, 0.0]  # smooth: no exact zeros
    # the model is left as it was: no hooks stay behind
    assert all(not m._forward_hooks for m in model.modules())


def test_the_cnns_hidden_layers_are_the_activations_after_each_convolution():
    model = cnn1d("relu", 40, 10, channels=4)
    acts = c16.hidden_modules(model)
    convs = [i for i, m in enumerate(model) if isinstance(m, nn.Conv1d)]
    assert len(acts) == 3 and all(model[i + 1] is a for i, a in zip(convs, acts))
    x = torch.randn(7, 40)
    zs = c16.zero_fractions(model, x)
    h = model[0](x)
    first = torch.relu(model[1](h))
    assert zs[0] == pytest.approx(float((first == 0).double().mean()), abs=0)


def test_corrupted_test_sets_have_the_declared_noise_and_outliers_and_are_drawn_once():
    config = c16.Config()
    sets = c16.corrupted("digits_mlp", config.noise, config.outlier_fraction, config.outlier_scale)
    data = c16._task("digits_mlp").data
    s = float(data.x_train.std())
    x = sets["clean"]
    assert torch.equal(x, data.x_test)
    for sigma in config.noise:
        e = (sets[f"noise_{sigma:g}"] - x) / (sigma * s)
        assert abs(float(e.mean())) < 0.02 and float(e.std()) == pytest.approx(1.0, rel=0.02)
    changed = sets["outlier"] != x
    assert float(changed.double().mean()) == pytest.approx(config.outlier_fraction, abs=0.01)
    assert torch.allclose(sets["outlier"][changed].abs(), torch.tensor(config.outlier_scale * s))
    again = c16.corrupted.__wrapped__("digits_mlp", config.noise, config.outlier_fraction, config.outlier_scale)
    assert all(torch.equal(sets[k], again[k]) for k in sets)  # the same corruption for every arm and seed


def test_the_headers_reading_of_the_shipped_records_is_what_the_records_say():
    """The header's prose quotes numbers from results/C16.jsonl.gz: recompute each one from the records."""
    from actlab.engine.evidence import shipped_records
    from actlab.engine.verdicts import verdict

    recs = shipped_records("C16")
    v = verdict(c16.STUDY, "full", recs)
    doc = " ".join(c16.__doc__.split())
    s = v["summary"]

    def mean(task, arm, metric):
        return s[f'{{"task":"{task}"}}'][arm][metric]["mean"]

    def pct(x):
        return f"{100 * x:.0f} %"

    assert f"{pct(mean('mnist1d_mlp', 'relu', 'zero'))[:-2]}-{pct(mean('mnist1d_cnn', 'relu', 'zero'))}" in doc
    assert f"{pct(mean('digits_mlp', 'relu', 'zero'))[:-2]}-{pct(mean('digits_cnn', 'relu', 'zero'))}" in doc
    assert f"exactly 0 on {pct(mean('mnist1d_mlp', 'gelu', 'zero'))}" in doc
    assert f"({pct(mean('mnist1d_mlp', 'gelu(approximate=' + chr(39) + 'tanh' + chr(39) + ')', 'zero'))} for" in doc
    spreads = [p for p in v["parts"] if p["rule"] == "spread"]
    assert f"{sum(p['status'] == 'supported' for p in spreads)} of the {len(spreads)}" in doc
    (cnn_noise,) = [p["contrasts"][0] for p in spreads if p["name"].startswith("digits CNN: Gaussian")]
    assert f"span {100 * cnn_noise['estimate']:.1f} points" in doc and f"reaches {100 * cnn_noise['ci'][1]:.0f} points" in doc
    assert f"sigmoid: {mean('mnist1d_cnn', 'sigmoid', 'acc_clean'):.2f} clean accuracy" in doc
    others = [mean("mnist1d_cnn", a, "acc_clean") for a in ("relu", "leaky_relu", "prelu", "gelu",
                                                            "gelu(approximate='tanh')")]
    assert f"{min(others):.2f}-{max(others):.2f}" in doc
    drops = [mean("mnist1d_cnn", a, "noise_drop") for a in ("relu", "leaky_relu", "prelu", "gelu",
                                                             "gelu(approximate='tanh')")]
    assert f"noise drop {mean('mnist1d_cnn', 'sigmoid', 'noise_drop'):.2f} against {min(drops):.2f}-{max(drops):.2f}" in doc
    clean = [mean(t, a, "acc_clean") for t in ("digits_mlp", "digits_cnn") for a in s['{"task":"digits_cnn"}']]
    assert f"reaches {100 * min(clean):.0f}-{100 * max(clean):.0f} % clean" in doc
    assert (f"cost tanh {100 * mean('digits_cnn', 'tanh', 'outlier_drop'):.0f} points and PReLU "
            f"{100 * mean('digits_cnn', 'prelu', 'outlier_drop'):.0f}") in doc
    assert f"({sum(r.seconds for r in recs):.0f} s of unit time" in doc
