"""The zoo commands, driven as a user would: exit codes, one-line errors, --json, plots."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from actlab.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_list_json_has_at_least_thirty_with_properties():
    r = run("list", "--json")
    assert r.exit_code == 0, r.output
    cards = json.loads(r.stdout)
    assert len(cards) >= 30
    relu = next(c for c in cards if c["name"] == "relu")
    assert relu["properties"]["convex"] is True and relu["properties"]["smoothness"] == 0
    assert next(c for c in cards if c["name"] == "gelu")["properties"]["smoothness"] == "inf"


def test_list_where_filters():
    r = run("list", "--where", "monotone=true,convex=false", "--json")
    names = {c["name"] for c in json.loads(r.stdout)}
    assert "tanh" in names and "relu" not in names and "gelu" not in names
    r = run("list", "--kind", "gated", "--json")
    assert {c["name"] for c in json.loads(r.stdout)} == {"glu", "reglu", "geglu", "swiglu", "bilinear"}
    assert run("list").exit_code == 0


def test_show_text_json_and_plot(tmp_path):
    r = run("show", "leaky_relu(negative_slope=0.2)")
    assert r.exit_code == 0 and "negative_slope" in r.stdout
    png = tmp_path / "silu.png"
    r = run("show", "silu", "--json", "--plot", str(png))
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data["aliases"] == ["swish"] and data["plot"] == str(png)
    assert png.stat().st_size > 5000 and png.read_bytes()[:4] == b"\x89PNG"
    assert run("show", "swiglu").exit_code == 0


@pytest.mark.parametrize("args,needle", [
    (("show", "reluu"), "did you mean 'relu'"),
    (("show", "elu(alpha=-2)"), "out of bounds"),
    (("show", "leaky_relu(slope=1)"), "did you mean 'negative_slope'"),
    (("list", "--where", "monotone"), "PROPERTY=VALUE"),
    (("list", "--where", "monotne=true"), "did you mean 'monotone'"),
    (("list", "--kind", "weird"), "pointwise or gated"),
    (("show", "relu", "--plot", "/nonexistent-dir/x.png"), "cannot write plot"),
])
def test_bad_input_is_one_line_exit_2(args, needle):
    r = run(*args)
    assert r.exit_code == 2, r.output
    assert needle in r.output
    assert "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_gallery(tmp_path):
    r = run("gallery", "--out", str(tmp_path / "g"), "--activations", "relu,gelu(approximate='tanh'),swiglu", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert [a["name"] for a in out["activations"]] == ["relu", "gelu(approximate='tanh')", "swiglu"]
    for a in out["activations"]:
        assert (tmp_path / "g" / a["plot"].split("/")[-1]).stat().st_size > 5000
    assert len(json.loads((tmp_path / "g" / "activations.json").read_text())) == 3


def test_console_script_exit_code_and_help():
    """Through the real entry point: --help works and bad input exits 2 without a traceback."""
    exe = [sys.executable, "-c", "from actlab.cli import main; main()"]
    r = subprocess.run([*exe, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "list" in r.stdout and "show" in r.stdout
    r = subprocess.run([*exe, "show", "nope"], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr and "unknown activation" in r.stderr
