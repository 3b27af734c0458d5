"""Torch modules derived from specs, and replace_activations on real models."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import actlab
from actlab.nn import ActivationModule


def test_prelu_module_shared_and_per_channel():
    m = actlab.get("prelu").module()
    assert isinstance(m.negative_slope, nn.Parameter) and m.negative_slope.shape == (1,)
    assert m.negative_slope.item() == pytest.approx(0.25)
    assert repr(m) == repr(nn.PReLU()) == "PReLU(num_parameters=1)"
    pc = actlab.get("prelu").module(num_parameters=3)
    x = torch.randn(2, 3, 4, 4)
    with torch.no_grad():
        pc.negative_slope.copy_(torch.tensor([0.0, 0.5, 1.0]))
    y = pc(x)
    torch.testing.assert_close(y[:, 0], torch.relu(x[:, 0]))
    torch.testing.assert_close(y[:, 2], x[:, 2])
    torch.testing.assert_close(y, torch.nn.functional.prelu(x, pc.negative_slope.detach()))
    with pytest.raises(ValueError, match="channels are dimension 1"):
        pc(torch.randn(2, 5))


def test_learning_choices():
    assert [n for n, _ in actlab.get("silu").module().named_parameters()] == []
    assert [n for n, _ in actlab.get("silu").module(learn=True).named_parameters()] == ["beta"]
    assert [n for n, _ in actlab.get("prelu").module(learn=False).named_parameters()] == []
    with pytest.raises(ValueError, match="cannot learn 'alpha'"):
        actlab.get("elu").module(learn=["alpha"])
    with pytest.raises(ValueError, match="num_parameters"):
        actlab.get("relu").module(num_parameters=4)
    with pytest.raises(ValueError, match="positive integer"):
        actlab.get("prelu").module(num_parameters=0)


def test_relu_elu_knob_learns_only_from_negative_inputs():
    m = actlab.get("relu_elu").module()
    m(torch.linspace(0.1, 3, 20)).sum().backward()
    assert m.knob.grad.item() == 0.0
    m.zero_grad()
    m(torch.linspace(-3, 3, 20)).sum().backward()
    assert m.knob.grad.item() < 0


def test_replace_activations_in_torch_model():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 2), nn.ReLU())
    names = actlab.replace_activations(model, old="relu", new="silu")
    assert names == ["1", "5"]
    assert isinstance(model[1], ActivationModule) and model[1].activation.name == "silu"
    assert isinstance(model[3], nn.Tanh)
    assert actlab.replace_activations(model, old=nn.Tanh, new="gelu") == ["3"]
    # every recognised activation, each with its own learnable parameter
    names = actlab.replace_activations(model, old=None, new="prelu")
    assert names == ["1", "3", "5"]
    assert model[1].negative_slope is not model[5].negative_slope
    x = torch.randn(3, 4)
    assert model(x).shape == (3, 2)
    # the replacements train
    model(x).sum().backward()
    assert model[1].negative_slope.grad is not None


def test_replace_by_name_respects_parameters():
    model = nn.Sequential(nn.LeakyReLU(0.2), nn.LeakyReLU())
    assert actlab.replace_activations(model, old="leaky_relu", new="elu") == ["1"]
    assert actlab.replace_activations(model, old="leaky_relu(negative_slope=0.2)", new="elu") == []
    assert actlab.replace_activations(model, old=lambda m: isinstance(m, nn.LeakyReLU), new="elu") == ["0"]
    with pytest.raises(TypeError, match="old must be"):
        actlab.replace_activations(model, old=3, new="relu")


def test_replace_with_factory():
    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    actlab.replace_activations(model, old=nn.ReLU, new=lambda: nn.Hardtanh())
    assert isinstance(model[1], nn.Hardtanh)


@pytest.mark.filterwarnings("ignore")
def test_replace_activations_in_huggingface_gpt2():
    transformers = pytest.importorskip("transformers")
    from transformers.activations import NewGELUActivation

    cfg = transformers.GPT2Config(n_layer=3, n_head=2, n_embd=32, vocab_size=64, n_positions=16,
                                  bos_token_id=0, eos_token_id=0)
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(cfg).eval()
    ids = torch.randint(0, 64, (2, 10), generator=torch.Generator().manual_seed(0))
    before = model(ids).logits
    # GPT-2's "gelu_new" is the tanh GELU: swapping in actlab's must not change the output
    names = actlab.replace_activations(model, old=NewGELUActivation, new="gelu(approximate='tanh')")
    assert names == [f"transformer.h.{i}.mlp.act" for i in range(3)]
    torch.testing.assert_close(model(ids).logits, before, rtol=1e-5, atol=1e-5)
    # a different activation changes it, and the model still trains
    actlab.replace_activations(model, old="gelu(approximate='tanh')", new="swish")
    after = model(ids).logits
    assert not torch.allclose(after, before, atol=1e-3)
    model.train()
    loss = model(ids, labels=ids).loss
    loss.backward()
    assert torch.isfinite(loss)
