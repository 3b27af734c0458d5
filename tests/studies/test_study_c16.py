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
