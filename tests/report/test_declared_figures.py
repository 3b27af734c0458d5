"""A study's declared figures reach the report: the engine computes the series, the page draws each one."""

import dataclasses
import json

from report_helpers import TOY, toy_run

from actlab.engine import Figure, Result, Store, run_sweep
from actlab.report.page import write_report


def _scaled(config, units):
    out = []
    for u, r in zip(units, toy_run(config, units)):
        k = u.cell["scale"]
        out.append(Result({m: v * k for m, v in r.metrics.items()}, status=r.status, error=r.error,
                          arrays={"per_layer": [k * (i + 1) for i in range(3)]}))
    return out


def _cells(config):
    return [{"scale": 1}, {"scale": 3}]


STUDY = dataclasses.replace(
    TOY, run=_scaled, cells=_cells, parts=[dataclasses.replace(p, cell={"scale": 1}) for p in TOY.parts],
    figures=("metric", Figure("score vs scale", "score", x="scale", xlabel="scale factor", ylabel="score"),
             Figure("per layer", "per_layer", kind="layers", x="scale")))


def test_declared_figures_are_drawn_in_the_claims_section(tmp_path, monkeypatch):
    import actlab.studies

    study = STUDY
    monkeypatch.setattr(actlab.studies, "all_studies", lambda: [study])
    with Store(tmp_path / "s.db") as db:
        run_sweep(study, "quick", store=db, jobs=1)
    rep = write_report(tmp_path / "out", tmp_path / "s.db", studies=[study], shipped=False)
    names = {p.rsplit("/", 1)[-1] for p in rep["figures"]}
    assert {"claim-t90-score-vs-scale.png", "claim-t90-per-layer.svg"} <= names
    html = (tmp_path / "out" / "index.html").read_text()
    assert "T90: score against scale factor" in html and "T90: per_layer against layer (input side first)" in html
    v = json.loads((tmp_path / "out" / "verdicts.json").read_text())
    figs = {f["name"]: f for f in v["claims"]["T90"]["verdict"]["figures"]}
    layer = {(x["arm"], x["level"]): x for x in figs["per layer"]["series"]}  # arrays were read for it
    assert layer[("relu", 3)]["mean"] == [3.0, 6.0, 9.0] and layer[("relu", 1)]["x"] == [0, 1, 2]
    assert {x["arm"] for x in figs["score vs scale"]["series"]} == {"relu", "gelu", "silu", "tanh"}
    fig = next(f for f in study.describe()["figures"] if isinstance(f, dict))
    assert fig["xlabel"] == "scale factor"


def test_lines_orders_of_magnitude_apart_get_a_log_axis_and_log_levels_plain_ticks():
    from actlab.report.figures import series_chart

    def spec(means, logx=False):
        return {"name": "f", "kind": "factor", "x": "d", "y": "m", "xlabel": "d", "ylabel": "m", "logx": logx,
                "title": "f", "series": [{"arm": a, "level": None, "label": a, "x": [2, 8], "mean": m,
                                          "lo": [v * 0.9 for v in m], "hi": [v * 1.1 for v in m], "n": [5, 5]}
                                         for a, m in zip(("relu", "elu"), means)]}

    assert series_chart(spec([[1.0, 1.2], [300.0, 500.0]])).axes[0].get_yscale() == "log"
    assert series_chart(spec([[1.0, 1.2], [1.5, 2.0]])).axes[0].get_yscale() == "linear"
    assert series_chart(spec([[-1.0, 1.2], [300.0, 500.0]])).axes[0].get_yscale() == "linear"  # a sign change
    ax = series_chart(spec([[1.0, 1.2], [1.5, 2.0]], logx=True)).axes[0]
    assert ax.get_xscale() == "log" and [t.get_text() for t in ax.get_xticklabels()] == ["2", "8"]


def test_estimates_print_at_the_precision_their_interval_supports():
    from actlab.report import html as H

    assert H.estimate_text({"estimate": 3.974e-08, "ci": [-0.012, 0.012]}) == "0.000 [−0.012, 0.012]"
    assert H.estimate_text({"estimate": -0.2775, "ci": [-0.3928, -0.1623]}) == "−0.28 [−0.39, −0.16]"
    assert H.estimate_text({"estimate": 0.0053, "ci": [0.00329, 0.00728]}) == "+0.0053 [0.0033, 0.0073]"
    assert H.estimate_text({"estimate": 1.0, "ci": None}) == "+1 (no CI)"  # an exact check keeps its digits
    assert H.estimate_text({"estimate": 0.5, "ci": [0.5, 0.5]}) == "+0.5 [0.5, 0.5]"  # no width: 4 digits


def test_categorical_levels_get_points_and_bars_never_joining_lines_and_a_colour_per_arm():
    """Tasks have no order: a line from 'digits_cnn' to 'mnist1d_mlp' would draw a trend that is not there."""
    from matplotlib.colors import to_hex

    from actlab.report.figures import series_chart

    arms = [f"a{i:02d}" for i in range(13)]
    series = [{"arm": a, "level": None, "label": a, "x": ["digits", "mnist1d"], "mean": [0.1 + i / 100, 0.2],
               "lo": [0.05, 0.15], "hi": [0.15, 0.25], "n": [3, 3]} for i, a in enumerate(arms)]
    fig = series_chart({"name": "drop", "kind": "factor", "x": "task", "series": series, "title": "drop"})
    ax = fig.axes[0]
    drawn = [ln for ln in ax.lines if len(ln.get_xdata()) > 1]
    assert drawn and all(ln.get_linestyle() == "None" for ln in drawn)  # markers only
    colours = {to_hex(ln.get_color()) for ln in drawn}
    assert len(colours) == len(arms)
    xs = sorted(x for ln in drawn for x in ln.get_xdata())
    assert len(set(xs)) == 2 * len(arms)  # side by side within each level, none on top of another
    assert [t.get_text() for t in ax.get_xticklabels()] == ["digits", "mnist1d"]
