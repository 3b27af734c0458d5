"""get / register / list_activations: the ways users name activations, and the errors they get."""

from __future__ import annotations

import math

import pytest
import torch

import actlab
from actlab.zoo import ActivationSpec, Param, UnknownActivationError
from actlab.zoo.registry import parse_name


def test_get_by_name_params_and_alias():
    a = actlab.get("leaky_relu(negative_slope=0.2)")
    assert a.params == {"negative_slope": 0.2} and a.name == "leaky_relu(negative_slope=0.2)"
    assert actlab.get("leaky_relu", negative_slope=0.2) == a
    assert actlab.get("swish").spec is actlab.get("silu").spec
    assert actlab.get("gelu(approximate=tanh)") == actlab.get("gelu(approximate='tanh')")
    assert actlab.get("relu").name == "relu"
    assert actlab.get(a) is a and actlab.get(a.spec).name == "leaky_relu"


def test_canonical_names_round_trip():
    for text in ["selu", "gelu(approximate='tanh')", "hill(n=4.0, K=0.5)", "leaky_relu(negative_slope=0.2)"]:
        a = actlab.get(text)
        assert actlab.get(a.name) == a


@pytest.mark.parametrize("text,pattern", [
    ("reluu", r"unknown activation 'reluu'; did you mean 'relu'"),
    ("swishh", r"did you mean 'swish'"),
    ("leaky_relu(slope=0.2)", r"no parameter 'slope'; did you mean 'negative_slope'"),
    ("elu(alpha=-1)", r"alpha=-1 is out of bounds: must be in \[0, inf\)"),
    ("hill(n=0)", r"n=0 is out of bounds: must be in \(0, inf\)"),
    ("gelu(approximate='fast')", r"approximate='fast' is not allowed: must be one of 'none', 'tanh'"),
    ("hardtanh(min_val=2, max_val=1)", r"min_val=2.0 must be below max_val=1.0"),
    ("relu(", r"cannot parse activation"),
    ("elu(1.0)", r"cannot parse activation"),
    ("elu(alpha='a')", r"must be a number"),
    ("elu(alpha=nan)", r"must be a number|out of bounds"),
])
def test_bad_names_give_one_line_errors_that_say_what_to_do(text, pattern):
    with pytest.raises((ValueError, KeyError)) as info:
        actlab.get(text)
    msg = str(info.value)
    assert "\n" not in msg
    import re

    assert re.search(pattern, msg), msg


def test_unknown_activation_error_is_both_key_and_value_error():
    with pytest.raises(KeyError):
        actlab.get("nope")
    with pytest.raises(ValueError):
        actlab.get("nope")
    assert isinstance(UnknownActivationError("x"), LookupError)


def test_parse_name():
    assert parse_name(" softplus( beta = 2 ) ") == ("softplus", {"beta": 2})
    assert parse_name("relu") == ("relu", {})


def test_register_user_spec_and_duplicates():
    spec = ActivationSpec(
        name="test_cube_root", summary="sign(x)|x|^(1/3)", formula="∛x", family="user_test", reference="test",
        fn=lambda x, k: k * torch.sign(x) * x.abs() ** (1 / 3),
        params=(Param("k", 1.0, lower=0.0, learnable=True),),
    )
    try:
        actlab.register(spec)
        with pytest.raises(KeyError, match="already registered"):
            actlab.register(spec)
        assert "test_cube_root" in actlab.list_activations()
        a = actlab.get("test_cube_root(k=2)")
        torch.testing.assert_close(a(torch.tensor([8.0, -27.0])), torch.tensor([4.0, -6.0]))
        # no closed form declared: derivative falls back to autograd
        torch.testing.assert_close(a.derivative(torch.tensor([8.0], dtype=torch.float64)),
                                   torch.tensor([2 / 3 * 8 ** (-2 / 3)], dtype=torch.float64))
        assert a.properties is None
    finally:
        actlab.unregister("test_cube_root")
    assert "test_cube_root" not in actlab.list_activations()


def test_spec_invariants_are_checked():
    with pytest.raises(ValueError, match="lower-case identifier"):
        ActivationSpec(name="Bad-Name", summary="", formula="", family="", reference="", fn=torch.relu)
    with pytest.raises(ValueError, match="needs fn"):
        ActivationSpec(name="nofn", summary="", formula="", family="", reference="")
    with pytest.raises(ValueError, match="out of bounds"):
        Param("a", -1.0, lower=0.0)
    with pytest.raises(ValueError, match="learn_by_default"):
        Param("a", 1.0, learn_by_default=True)
    with pytest.raises(ValueError, match="gated spec"):
        ActivationSpec(name="g", summary="", formula="", family="", reference="", kind="gated")


def test_user_callables_and_modules():
    def my_act(x):
        """Cube."""
        return x**3

    a = actlab.get(my_act)
    assert a.spec.user and a.spec.name == "my_act"
    x = torch.linspace(-2, 2, 5, dtype=torch.float64)
    torch.testing.assert_close(a(x), x**3)
    torch.testing.assert_close(a.derivative(x), 3 * x**2)
    torch.testing.assert_close(a.second_derivative(x), 6 * x)
    m = actlab.get(torch.nn.Tanh)
    torch.testing.assert_close(m(x), torch.tanh(x))
    assert actlab.get(torch.nn.ELU(alpha=0.5))(torch.tensor([-100.0])).item() == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="registered"):
        actlab.get(my_act, k=1)
    with pytest.raises(TypeError, match="cannot make an activation"):
        actlab.get(3.0)


def test_module_path_strings(tmp_path, monkeypatch):
    (tmp_path / "user_acts_mod.py").write_text("import torch\ndef twice(x):\n    return 2 * x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    a = actlab.get("user_acts_mod:twice")
    assert a(torch.tensor([1.5])).item() == 3.0
    with pytest.raises(ValueError, match="has no attribute"):
        actlab.get("user_acts_mod:thrice")
    with pytest.raises(ValueError, match="cannot import"):
        actlab.get("no_such_module_xyz:f")


def test_list_activations_filters():
    convex_monotone = actlab.list_activations(monotone=True, convex=True)
    assert {"relu", "softplus", "elu", "leaky_relu"} <= set(convex_monotone)
    assert not {"selu", "tanh", "gelu", "silu", "mish"} & set(convex_monotone)
    assert set(actlab.list_activations(kind="gated")) == {"glu", "reglu", "geglu", "swiglu", "bilinear"}
    assert "gelu" in actlab.list_activations(smoothness="inf", self_gated="true")
    with pytest.raises(ValueError, match="did you mean 'monotone'"):
        actlab.list_activations(monotne=True)
    with pytest.raises(ValueError, match="cannot read property value"):
        actlab.list_activations(monotone="perhaps")


def test_parameter_dependent_properties():
    assert actlab.get("elu(alpha=1)").properties.convex
    assert not actlab.get("elu(alpha=1.5)").properties.convex
    assert not actlab.get("selu").properties.convex
    assert actlab.get("prelu(negative_slope=-0.5)").properties.monotone is False


def test_selu_constants_match_torch_to_float64_precision():
    selu = actlab.get("selu")
    # torch's hard-coded constants (aten/src/ATen/native/Activation.cpp)
    assert selu.params["scale"] == pytest.approx(1.0507009873554804934193349852946, rel=1e-15)
    assert selu.params["alpha"] == pytest.approx(1.6732632423543772848170429916717, rel=1e-15)


def test_half_precision_is_computed_in_float32():
    x = torch.tensor([-20.0, -10.0, 5.0], dtype=torch.float16)
    y = actlab.get("softplus")(x)
    expect = torch.log1p(torch.exp(x.double())).to(torch.float16)
    torch.testing.assert_close(y, expect, rtol=0, atol=0)
    assert not math.isnan(float(actlab.get("mish")(torch.tensor([-math.inf], dtype=torch.bfloat16))))


def test_user_activation_names_carry_a_fingerprint_of_the_code():
    """Stored results are keyed by name: an edited function must get a new one, the same code the same."""
    def act_a(x):
        return x * torch.tanh(x)

    first = actlab.get(act_a).name

    def act_a(x):  # noqa: F811 -- the same name, another body
        return x * torch.sigmoid(x)

    second = actlab.get(act_a).name
    assert first.startswith("act_a@") and second.startswith("act_a@") and first != second
    assert actlab.get(act_a).name == second
    # a module's parameters are part of what it computes
    assert actlab.get(torch.nn.PReLU(init=0.1)).name != actlab.get(torch.nn.PReLU(init=0.2)).name
    assert actlab.get(torch.nn.PReLU(init=0.1)).name == actlab.get(torch.nn.PReLU(init=0.1)).name
    # closures: the captured value matters
    def scaled(k):
        return lambda x: k * x

    assert actlab.get(scaled(2.0)).name != actlab.get(scaled(3.0)).name


@pytest.mark.parametrize("name", ["silu", "gelu", "softsign", "elu"])
def test_conventions_hold_under_vmap(name):
    """The NaN/±inf conventions are applied under torch.func transforms too (no data-dependent branch)."""
    from torch.func import vmap

    act = actlab.get(name)
    x = torch.tensor([[-math.inf, -1.0, 0.5], [2.0, math.inf, math.nan]], dtype=torch.float64)
    torch.testing.assert_close(vmap(act)(x), act(x), equal_nan=True)
    torch.testing.assert_close(vmap(act.derivative)(x), act.derivative(x), equal_nan=True)
    assert not torch.isnan(vmap(act.derivative)(x)[:, :2]).any()
