"""The CLI at its edges (issue 15): every bad input is one line and exit 2, our own bugs keep their
traceback, and the fuzzed inputs that gave tracebacks are handled."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import actlab

# the installed console script, as a user runs it (its sys.path does not start with the current folder,
# unlike ``python -c``)
ACTLAB = [str(Path(sys.executable).with_name("actlab"))]


def _run(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The console entry point in a fresh process (what a user runs), from ``cwd``."""
    assert Path(ACTLAB[0]).exists(), (f"no actlab console script next to {sys.executable}: install the package "
                                      "(`make install-dev`, or `pip install -e .`) before running the tests")
    return subprocess.run([*ACTLAB, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def _one_line(res: subprocess.CompletedProcess) -> str:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    lines = [ln for ln in (res.stdout + res.stderr).splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in res.stderr, lines
    return lines[0]


@pytest.mark.parametrize("text, match", [
    ("leaky_relu(negative_slope=" + "9" * 400 + ")", "too large"),
    ("-" * 5000 + "1", "nested too deeply"),
    ("elu(alpha=1e309)", "not finite"),
    ("elu(alpha=1, alpha=2)", "alpha twice"),
    ("hardtanh(min_val=-1e400)", "not finite"),
    ("gelu(approximate=" + "[" * 3000 + "]" * 3000 + ")", "cannot parse"),
])
def test_bad_activation_texts_are_one_line_errors(cli, one_line_error, text, match):
    with pytest.raises(ValueError, match=match):
        actlab.get(text)
    assert match in one_line_error(cli("show", "--", text))  # "--": a text may start with "-"


def test_infinite_parameter_values_are_rejected_for_every_numeric_parameter():
    for s in actlab.zoo.all_specs():
        for p in s.params:
            if p.choices is None:
                with pytest.raises(ValueError, match="not finite"):
                    p.check(float("inf"))


def test_theory_with_an_overflowing_std_is_one_line(cli, one_line_error):
    assert "too large" in one_line_error(cli("theory", "moments", "relu", "--std", "1e308"))


def test_list_checks_family_and_where_keys(cli, one_line_error):
    assert "did you mean 'sigmoidal'" in one_line_error(cli("list", "--family", "sigmoidl"))
    assert "--family x" in one_line_error(cli("list", "--where", "family=x"))


def test_usage_errors_and_version_from_the_console_entry_point(tmp_path):
    for args in (["show"], ["list", "--bogus"], ["show", "-" * 50 + "1"]):
        assert "--help" in _one_line(_run(args))
    res = _run(["--version"])
    assert res.returncode == 0 and res.stdout.strip() == f"actlab {actlab.__version__}"


def test_user_module_in_the_current_folder(tmp_path):
    (tmp_path / "my_acts_cwd.py").write_text("import torch\n\ndef wiggle(x):\n    return x * torch.sigmoid(x) + 0.1 * torch.sin(x)\n")
    (tmp_path / "broken_acts.py").write_text("def f(x)\n    return x\n")
    (tmp_path / "raising_acts.py").write_text("raise RuntimeError('no GPU here')\n")
    res = _run(["show", "my_acts_cwd:wiggle"], cwd=tmp_path)
    assert res.returncode == 0 and "wiggle" in res.stdout, res.stderr
    assert "SyntaxError" in _one_line(_run(["show", "broken_acts:f"], cwd=tmp_path))
    assert "RuntimeError: no GPU here" in _one_line(_run(["show", "raising_acts:f"], cwd=tmp_path))
    assert "current folder" in _one_line(_run(["show", "no_such_module_here:f"], cwd=tmp_path))


def test_brackets_survive_in_errors_and_help(cli):
    from actlab.cli._common import console_err

    import io
    from rich.console import Console

    from actlab.cli import _common

    buf = io.StringIO()
    old, _common._err = _common._err, Console(file=buf, width=200)
    try:
        console_err("Parquet export needs pyarrow: pip install 'actlab[parquet]'")
    finally:
        _common._err = old
    assert "'actlab[parquet]'" in buf.getvalue()
    res = cli("--help")
    assert "Approximate an activation on [a, b]" in res.output


def test_our_own_type_errors_are_not_reported_as_bad_input():
    """guard() turns the library's ValueErrors into exit 2; a TypeError from a command is our bug and
    propagates (the traceback and exit 1 of an uncaught exception)."""
    import typer

    from actlab.cli._common import guard

    def buggy():
        return len(3)  # a TypeError of ours

    with pytest.raises(TypeError):
        guard(buggy)
    with pytest.raises(typer.Exit) as e:
        guard(lambda: actlab.get("nonexistent_activation"))
    assert e.value.exit_code == 2


def test_gallery_has_one_card_per_activation(cli, tmp_path):
    from actlab.cli.zoo import gallery_activations

    assert sorted(a.spec.name for a in gallery_activations(None)) == sorted(s.name for s in actlab.zoo.all_specs())
    res = cli("gallery", "--out", tmp_path / "g", "--activations", "relu,swiglu")
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "g").glob("*.md")) == ["README.md", "relu.md", "swiglu.md"]


def test_cards_name_and_explain_every_property(cli):
    from actlab.report.cards import PROPERTY_TEXT
    from actlab.zoo import Properties

    assert set(PROPERTY_TEXT) == set(Properties.__dataclass_fields__)  # a new property needs its explanation
    out = cli("show", "gelu").output
    for label, meaning in PROPERTY_TEXT.values():
        assert label in out
    assert "phi0" not in out and "dphi0" not in out and "zero_centred" not in out
    assert "C^∞" in out and "continuous, with a kink" in cli("show", "relu").output


def test_report_with_a_mistyped_store_is_one_line(cli, one_line_error, tmp_path):
    assert "no store at" in one_line_error(cli("report", "--store", tmp_path / "typo.db", "--out", tmp_path / "r"))
    assert not (tmp_path / "r").exists()


def test_a_zoomed_metric_chart_draws_points_not_truncated_bars():
    """Bars encode length, so their axis starts at 0; when the values are all far from 0 and the axis
    zooms in (accuracies at 0.9), each arm is a point with its CI (bars started at 0.45)."""
    import matplotlib.pyplot as plt

    from actlab.report.figures import metric_chart

    zoomed = metric_chart({"relu": {"acc": {"mean": 0.90, "lo": 0.89, "hi": 0.91}},
                           "gelu": {"acc": {"mean": 0.92, "lo": 0.91, "hi": 0.93}}}, "acc", "higher", title="t")
    ax = zoomed.axes[0]
    assert ax.get_xlim()[0] > 0.5 and not ax.patches  # no bar on a truncated axis
    full = metric_chart({"relu": {"loss": {"mean": 0.5, "lo": 0.1, "hi": 0.9}}}, "loss", "lower", title="t")
    assert full.axes[0].get_xlim()[0] == 0.0 and len(full.axes[0].patches) == 1
    plt.close(zoomed)
    plt.close(full)


def test_only_actlabs_own_input_checks_are_bad_input_other_value_and_key_errors_are_bugs(cli, monkeypatch):
    """A ValueError from inside numpy, a failed dictionary lookup, a ValueError that is not actlab's: a
    traceback and exit 1.  UsageError and actlab's own explicit ``raise ValueError``/``KeyError``: exit 2."""
    import numpy as np
    import typer

    from actlab.cli._common import guard
    from actlab.errors import UsageError, is_usage_error

    def numpy_bug():
        return np.reshape(np.arange(3), (2, 2))  # raised inside numpy's own Python code

    def lookup_bug():
        return {"a": 1}["b"]

    for bug, kind in ((numpy_bug, ValueError), (lookup_bug, KeyError)):
        with pytest.raises(kind) as e:
            guard(bug)
        assert not is_usage_error(e.value)
    for ok in (lambda: actlab.get("relu(negative_slope=1)"),      # the zoo's explicit raise ValueError
               lambda: actlab.get("nonexistent_activation"),     # the registry's explicit KeyError kin
               lambda: (_ for _ in ()).throw(UsageError("use --std > 0"))):
        with pytest.raises(typer.Exit) as e:
            guard(ok)
        assert e.value.exit_code == 2
    # through a command: the theory's quadrature hit by an internal numpy error is a bug, not bad input
    import actlab.theory.moments as tm

    monkeypatch.setattr(tm, "moments", lambda *a, **k: numpy_bug())
    res = cli("theory", "moments", "relu")
    assert res.exit_code == 1 and isinstance(res.exception, ValueError)
    monkeypatch.setattr(tm, "moments", lambda *a, **k: (_ for _ in ()).throw(UsageError("std must be > 0")))
    res = cli("theory", "moments", "relu")
    assert res.exit_code == 2 and "std must be > 0" in res.output


def test_a_reader_that_goes_away_stops_the_output_quietly(tmp_path):
    """`actlab list | head -1`: the closed pipe ends the command without a traceback (it used to end in an
    AttributeError from a missing click exception, which also hid every other uncaught error)."""
    assert Path(ACTLAB[0]).exists()
    with subprocess.Popen([*ACTLAB, "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path) as p:
        assert p.stdout.readline()
        p.stdout.close()  # the reader goes away after one line
        err = p.stderr.read().decode()
        rc = p.wait(timeout=120)
    assert rc in (0, 1) and "Traceback" not in err and "Error" not in err, err
