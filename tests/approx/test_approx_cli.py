"""The approx commands: human and --json output, plots, one-line errors with exit code 2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from actlab.cli import app

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, list(args))


def test_approx_json_is_exact():
    r = invoke("approx", "gelu", "--method", "minimax", "--degree", "5", "--interval=-3,3", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["approximant"]["method"] == "minimax" and d["approximant"]["degree"] == 5
    assert len(d["approximant"]["reference"]) == 7
    assert d["errors"]["inside"]["value_max"] == pytest.approx(d["approximant"]["levelled_error"], rel=1e-6)
    assert d["errors"]["outside"]["regions"] == [[-6.0, -3.0], [3.0, 6.0]]


def test_approx_human_and_plot(tmp_path):
    out = tmp_path / "h.png"
    r = invoke("approx", "silu", "-m", "hermite", "-d", "7", "--interval=-4,4", "--plot", str(out))
    assert r.exit_code == 0, r.output
    assert "hermite polynomial of degree 7" in r.stdout and "inside [-4, 4]" in r.stdout
    assert out.stat().st_size > 1000


def test_rational_degree_pair():
    r = invoke("approx", "relu", "-m", "rational", "-d", "3,2", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["approximant"]["degree"] == [3, 2] and set(d["approximant"]["coefficients"]) == {"a0", "a1", "a2", "a3", "b1", "b2"}


def test_sweep_shows_runge(tmp_path):
    r = invoke("approx", "tanh", "--sweep", "10,30", "--interval=-5,5", "-m", "newton", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["rows"]
    assert rows[1]["value_max"] > 10 * rows[0]["value_max"]


@pytest.mark.parametrize("args", [
    ("approx", "gelu", "--degree", "-1"),
    ("approx", "gelu", "--degree", "seven"),
    ("approx", "gelu", "--interval=2,1"),
    ("approx", "gelu", "--interval=0,inf"),
    ("approx", "gelu", "--interval=abc"),
    ("approx", "gelu", "-m", "rational", "-d", "5,-1"),
    ("approx", "gelu", "-m", "rational", "-d", "30,30"),
    ("approx", "gelu", "-m", "spline"),
    ("approx", "gelu", "-m", "hermite", "-d", "6"),
    ("approx", "no_such_act"),
    ("approx", "swiglu"),
    ("approx", "gelu", "--sweep", "3,x"),
])
def test_bad_input_exits_2_with_one_line(args):
    r = invoke(*args)
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr


def test_known_json():
    r = invoke("approx-known", "--json")
    assert r.exit_code == 0, r.output
    d = {(x["approximation"], x["exact"]): x for x in json.loads(r.stdout)}
    assert d[("hardswish", "silu")]["argmax"] == [-3.0, 3.0]


def test_approx_train_is_gone_c06_has_one_home():
    r = invoke("approx-train")
    assert r.exit_code == 2 and "No such command" in r.output
