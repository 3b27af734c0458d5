"""Claim halves, dying ReLU, and the CLI contract (--json, exit code 2 on bad input)."""

import json
import math

import pytest
from typer.testing import CliRunner

from actlab.cli import app
from actlab.theory.relations import (bn_scale, gradient_noise, icnn_admissible, residual_mean, second_derivative_mlp,
                                  update_jacobian)
from actlab.theory.dying import born_dead_mc, dead_probability

runner = CliRunner()


def test_c08_residual_mean():
    assert residual_mean("relu") == pytest.approx(1 / math.sqrt(2 * math.pi), abs=1e-12)
    assert abs(residual_mean("silu")) < abs(residual_mean("relu"))


@pytest.mark.parametrize("a", [0.0, 0.25, 0.7])
def test_c19_bn_scale_prelu_closed_form(a):
    var = (1 + a * a) / 2 - (1 - a) ** 2 / (2 * math.pi)
    assert bn_scale(f"prelu(negative_slope={a})")["gamma_var"] == pytest.approx(var**-0.5, rel=1e-11)


@pytest.mark.parametrize("a,r,b", [(0.0, 0.0, 1), (0.5, 0.0, 1), (0.01, 0.3, 8)])
def test_c20_gradient_noise_closed_form(a, r, b):
    d1, d2 = (1 + a) / 2, (1 + a * a) / 2
    expected = ((1 + r) * d2 / d1**2 - 1) / b
    assert gradient_noise(f"prelu(negative_slope={a})", batch=b, delta_rel_var=r) == pytest.approx(expected, rel=1e-11)
    assert gradient_noise("prelu(negative_slope=0.5)") < gradient_noise("leaky_relu") < gradient_noise("relu")


@pytest.mark.parametrize("name,ok", [("relu", True), ("leaky_relu", True), ("softplus", True), ("elu", True),
                                     ("elu(alpha=0.5)", True), ("elu(alpha=1.5)", False), ("selu", False),
                                     ("tanh", False), ("gelu", False), ("silu", False), ("mish", False)])
def test_c26_icnn_admissibility(name, ok):
    r = icnn_admissible(name)
    assert r["admissible"] is ok and r["consistent"] and r["source"] == "declared"


def test_c26_user_callable_is_decided_numerically():
    import torch

    r = icnn_admissible(lambda x: torch.nn.functional.softplus(x) ** 2 * 0 + torch.exp(x))
    assert r["source"] == "numerical" and r["admissible"]


@pytest.mark.parametrize("name", ["silu", "elu", "tanh", "relu", "sigmoid"])
def test_c15_jacobian_depends_on_dphi0(name):
    r = update_jacobian(name, dim=16)
    assert r["max_abs_error"] < 1e-12
    assert r["spectral_radius"] == pytest.approx(r["predicted"], rel=1e-10)
    assert r["dphi0"] == {"silu": 0.5, "elu": 1.0, "tanh": 1.0, "relu": 0.0, "sigmoid": 0.25}[name]


def test_c14_relu_curvature_zero_smooth_not():
    assert second_derivative_mlp("relu", points=64, nets=2)["zero_almost_everywhere"]
    for name in ["tanh", "silu", "gelu"]:
        assert second_derivative_mlp(name, points=64, nets=2)["mean_abs_uxx"] > 1e-3


def test_dying_closed_form_and_monte_carlo():
    assert dead_probability(1, 1) == 0.5
    assert dead_probability(3, 2) == pytest.approx(1 - (7 / 8) ** 2, rel=1e-15)
    assert dead_probability(60, 10) == pytest.approx(10 * 2.0**-60, rel=1e-12)  # no cancellation
    for n, l in [(2, 5), (3, 10)]:
        r = born_dead_mc("relu", n, l, trials=6000, seed=n)
        assert abs(r["p_dead"] - r["closed_form"]) <= 4 * r["stderr"]  # 4 s.e.: false alarm < 1e-4
    assert born_dead_mc("tanh", 2, 10, trials=500)["p_dead"] == 0.0
    with pytest.raises(ValueError, match="width"):
        dead_probability(0, 3)


def _json(args):
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_cli_json_commands(tmp_path):
    assert _json(["theory", "moments", "relu", "--json"])["mean"] == pytest.approx(1 / math.sqrt(2 * math.pi))
    rows = _json(["theory", "gain", "relu,tanh", "--json"])
    assert rows[0]["gain"] == pytest.approx(math.sqrt(2)) and rows[1]["torch_gain"] == pytest.approx(5 / 3)
    sn = _json(["theory", "selfnorm", "--json"])
    assert sn["params"]["alpha"] == pytest.approx(1.6732632423543772, rel=1e-12)
    assert _json(["theory", "eoc", "relu", "--sigma-b", "0", "--json"])["sigma_w"] == pytest.approx(math.sqrt(2))
    gf = _json(["theory", "gradflow", "sigmoid", "--steps", "4", "--json"])
    assert gf["axis"] == "time" and gf["max_slope"] == pytest.approx(0.25)
    assert len(_json(["theory", "slopes", "--json"])) == 13
    assert _json(["theory", "icnn", "relu,selu", "--json"])[1]["admissible"] is False
    assert _json(["theory", "residual-mean", "relu", "--json"])[0]["residual_mean"] == pytest.approx(
        1 / math.sqrt(2 * math.pi), abs=1e-12)
    bs = _json(["theory", "bn-scale", "prelu(negative_slope=0.25)", "--json"])[0]["gamma_var"]
    assert bs == pytest.approx(((1 + 0.25**2) / 2 - 0.75**2 / (2 * math.pi)) ** -0.5, rel=1e-11)
    nz = _json(["theory", "noise", "--values", "0,0.5", "--json"])
    assert [r["rel_var"] for r in nz] == pytest.approx([1.0, 1 / 9], rel=1e-10)
    d = _json(["theory", "dying", "--width", "2", "--depth", "3", "--trials", "200", "--json"])
    assert d[0]["closed_form"] == pytest.approx(1 - 0.75**3)
    png = tmp_path / "phase.png"
    r = runner.invoke(app, ["theory", "phase", "tanh", "--plot", str(png), "--grid", "6"])
    assert r.exit_code == 0 and png.stat().st_size > 1000


@pytest.mark.parametrize("args", [["theory", "moments", "relu", "--std", "0"], ["theory", "moments", "nope"],
                                  ["theory", "moments", "swiglu"], ["theory", "eoc", "relu", "--sigma-b", "0.1"],
                                  ["theory", "selfnorm", "--target-mean", "-5", "--target-var", "0.01"],
                                  ["theory", "noise", "--values", "a,b"], ["theory", "icnn", "nope"], ["theory", "gradflow", "tanh", "--depth", "3",
                                                                "--steps", "3"]])
def test_cli_bad_input_exits_2_with_one_line(args):
    r = runner.invoke(app, args)
    assert r.exit_code == 2
    err = r.stderr.strip()
    assert err.startswith("error:") and "Traceback" not in r.output
