"""Figures of the report: each is saved as PNG and SVG beside the page and embedded in it as a PNG.

Charts read verdicts and specs only (plain data); nothing here trains or opens the store.
"""

from __future__ import annotations

import base64
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

_DPI = 100


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def slug(text: str) -> str:
    """A safe file and anchor fragment: ``gelu(approximate='tanh')`` -> ``gelu-approximate-tanh``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


@dataclass(frozen=True)
class SavedFigure:
    name: str  # file stem under figures/
    png: Path
    svg: Path
    data_uri: str  # the PNG, base64, for embedding
    alt: str


class FigureWriter:
    """Saves figures under ``out/figures`` (PNG and SVG) and hands back the embeddable PNG."""

    def __init__(self, out: Path):
        self.dir = out / "figures"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.saved: list[SavedFigure] = []

    def save(self, fig: Any, name: str, alt: str) -> SavedFigure:
        plt = _plt()
        try:
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=_DPI)
            png, svg = self.dir / f"{name}.png", self.dir / f"{name}.svg"
            png.write_bytes(buf.getvalue())
            fig.savefig(svg, format="svg")
        finally:
            plt.close(fig)
        uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
        f = SavedFigure(name, png, svg, uri, alt)
        self.saved.append(f)
        return f


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def metric_chart(summary: dict[str, dict[str, dict[str, float]]], metric: str, direction: str, *, title: str,
                 baseline: str | None = None, compared: Sequence[str] = (), highlight: str | None = None):
    """Per-arm mean of ``metric`` with its CI (``summary``: arm -> metric -> stats, one cell of a verdict's
    summary), best first in the claim's ``direction``.

    Baseline grey, compared activations blue, ``highlight`` (the evaluated activation) red, the rest light.
    """
    plt = _plt()
    rows = [(a, s[metric]) for a, s in summary.items() if metric in s and _finite(s[metric].get("mean"))]
    rows.sort(key=lambda r: -r[1]["mean"] if direction == "higher" else r[1]["mean"])
    fig, ax = plt.subplots(figsize=(6.4, 0.32 * max(len(rows), 3) + 1.1))
    names = [a for a, _ in rows]
    means = [s["mean"] for _, s in rows]
    lo = [s["mean"] - s["lo"] if _finite(s.get("lo")) else 0.0 for _, s in rows]
    hi = [s["hi"] - s["mean"] if _finite(s.get("hi")) else 0.0 for _, s in rows]
    colors = ["#c0392b" if a == highlight else "#7f8c8d" if a == baseline else "#2e86c1" if a in compared
              else "#aab7c4" for a in names]
    y = list(range(len(rows)))
    zoom = False
    if means:
        span = max(m + h for m, h in zip(means, hi)) - min(m - l for m, l in zip(means, lo))
        left = min(m - l for m, l in zip(means, lo))
        right = max(m + h for m, h in zip(means, hi))
        zoom = left > 0 and span < 0.5 * right  # every value far from zero (accuracies)
    if zoom:
        # a bar's length is its value, so a bar cannot start at 0.45 (issue 15): when the axis zooms in,
        # each arm is a point with its CI instead
        for yi, m, l_, h_, c in zip(y, means, lo, hi, colors):
            ax.errorbar([m], [yi], xerr=[[l_], [h_]], fmt="o", color=c, ecolor="#333333", capsize=2, ms=6)
        ax.set_xlim(max(0.0, left - 0.15 * max(span, 1e-9)), right + 0.05 * max(span, 1e-9))
        ax.grid(axis="x", color="0.9", lw=0.6)
    elif means:
        ax.barh(y, means, xerr=[lo, hi], color=colors, ecolor="#333333", capsize=2, height=0.7)
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    if not means:
        ax.text(0.5, 0.5, "no finished units", ha="center", va="center", transform=ax.transAxes)
    best = "higher" if direction == "higher" else "lower"
    ax.set_xlabel(f"{metric} (mean, 95% CI over seeds; {best} ranks first)", fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    return fig


def verdict_overview(rows: Sequence[dict[str, Any]]):
    """The dashboard's overview: every claim's status as a coloured cell (ids on the x axis)."""
    plt = _plt()
    colors = {"supported": "#27ae60", "refuted": "#c0392b", "inconclusive": "#e1a100", "not run yet": "#d5d8dc",
              "error": "#6c3483"}
    fig, ax = plt.subplots(figsize=(9.0, 1.5))
    for i, r in enumerate(rows):
        # a smoke test's verdict is hatched: it is not evidence
        ax.add_patch(plt.Rectangle((i, 0), 0.92, 1, facecolor=colors.get(r["status"], "#d5d8dc"),
                                   edgecolor="white" if r.get("smoke") else "none", hatch="///" if r.get("smoke") else None,
                                   linewidth=0))
        ax.text(i + 0.46, 0.5, r["id"][1:], ha="center", va="center", fontsize=7,
                color="white" if r["status"] in ("supported", "refuted", "error") else "black")
    ax.set_xlim(0, max(len(rows), 1))
    ax.set_ylim(0, 1)
    ax.axis("off")
    counts = {s: sum(r["status"] == s for r in rows) for s in colors}
    legend = [plt.Rectangle((0, 0), 1, 1, color=c) for s, c in colors.items() if counts[s]]
    labels = [f"{s} ({counts[s]})" for s in colors if counts[s]]
    n_smoke = sum(bool(r.get("smoke")) for r in rows)
    if n_smoke:
        legend.append(plt.Rectangle((0, 0), 1, 1, facecolor="#aab7c4", edgecolor="white", hatch="///"))
        labels.append(f"smoke test, not evidence ({n_smoke})")
    ax.legend(legend, labels, loc="upper center", bbox_to_anchor=(0.5, -0.05), ncol=6, frameon=False, fontsize=8)
    ax.set_title(f"claims {rows[0]['id']}–{rows[-1]['id']}" if rows else "claims", fontsize=9)
    fig.tight_layout()
    return fig


def series_chart(fig_spec: dict[str, Any], *, baseline: str | None = None, compared: Sequence[str] = (),
                 highlight: str | None = None, note: str = ""):
    """A study's declared figure (``verdict["figures"][i]``): one line per series with its 95 % CI band.

    The engine computed every number (:func:`actlab.engine.verdicts.judge`); this only draws.  Factor
    levels that are not numbers are placed evenly and named on the axis.
    """
    plt = _plt()
    series = fig_spec.get("series") or []
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    levels = sorted({x for s in series for x in s["x"]}, key=lambda v: (not isinstance(v, (int, float)), str(v)
                                                                        if not isinstance(v, (int, float)) else v))
    numeric = all(isinstance(v, (int, float)) for v in levels)
    pos = {v: (v if numeric else i) for i, v in enumerate(levels)}
    palette = ["#2e86c1", "#e67e22", "#27ae60", "#8e44ad", "#16a085", "#d35400", "#2c3e50", "#c71585"]
    arms = sorted({s["arm"] for s in series}, key=lambda a: (a != baseline, a not in compared, a))
    if len(arms) > len(palette) + 2:  # many arms (C16's 13): a colour each, none repeated
        cmap = plt.get_cmap("tab20")
        palette = [cmap(i) for i in range(20) if i not in (6, 7, 14, 15)]  # red and grey mark highlight/baseline
    styles = ["-", "--", ":", "-."]
    markers = ["o", "s", "^", "D", "v", "P", "X", "*"]
    lv = sorted({str(s["level"]) for s in series if s["level"] is not None})
    width = 0.6  # categorical levels: the series side by side within each level, points and error bars
    for k, s in enumerate(series):
        ok = [i for i, m in enumerate(s["mean"]) if _finite(m)]
        if not ok:
            continue
        color = ("#c0392b" if s["arm"] == highlight else "#7f8c8d" if s["arm"] == baseline
                 else palette[arms.index(s["arm"]) % len(palette)])
        if not numeric:  # no order between the levels: nothing joins them
            off = (k + 0.5) / len(series) * width - width / 2 if len(series) > 1 else 0.0
            xs = [pos[s["x"][i]] + off for i in ok]
            ys = [s["mean"][i] for i in ok]
            err = [[max(0.0, s["mean"][i] - s["lo"][i]) if _finite(s["lo"][i]) else 0.0 for i in ok],
                   [max(0.0, s["hi"][i] - s["mean"][i]) if _finite(s["hi"][i]) else 0.0 for i in ok]]
            ax.errorbar(xs, ys, yerr=err, fmt=markers[arms.index(s["arm"]) % len(markers)], ms=3.5, color=color,
                        ecolor=color, elinewidth=1, capsize=0, label=s["label"])
            continue
        xs = [pos[x] for x in s["x"]]
        ls = styles[lv.index(str(s["level"])) % len(styles)] if s["level"] is not None else "-"
        ax.plot([xs[i] for i in ok], [s["mean"][i] for i in ok], ls, marker="o", ms=3, color=color,
                label=s["label"], lw=1.4)
        band = [i for i in ok if _finite(s["lo"][i]) and _finite(s["hi"][i])]
        if band:
            ax.fill_between([xs[i] for i in band], [s["lo"][i] for i in band], [s["hi"][i] for i in band],
                            color=color, alpha=0.15, lw=0)
    if not series:
        ax.text(0.5, 0.5, "no finished units", ha="center", va="center", transform=ax.transAxes)
    means = [m for s in series for m in s["mean"] if _finite(m)]
    if means and min(means) > 0 and max(means) / min(means) > 100:  # lines orders of magnitude apart
        ax.set_yscale("log")
    if fig_spec.get("logx") and numeric and levels and min(levels) > 0:
        from matplotlib.ticker import NullLocator

        ax.set_xscale("log")
        ax.set_xticks(levels, [f"{v:g}" for v in levels], fontsize=8)  # the design's levels, plainly
        ax.xaxis.set_minor_locator(NullLocator())
    if not numeric:
        ax.set_xticks(list(pos.values()), [str(v) for v in levels], fontsize=8)
    elif not fig_spec.get("logx") and (fig_spec.get("kind") == "layers" or all(float(v).is_integer() for v in levels)):
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(fig_spec.get("xlabel", ""), fontsize=8)
    ax.set_ylabel(fig_spec.get("ylabel", ""), fontsize=8)
    how = "points: mean over seeds; bars: 95% CI" if not numeric else "lines: mean over seeds; bands: 95% CI"
    ax.set_title(fig_spec.get("title", "") + (f" — {note}" if note else "") + f"\n({how})", fontsize=9)
    ax.tick_params(labelsize=8)
    if series:
        if len(series) > 8:  # many series: the legend beside the axes, not over the data
            ax.legend(fontsize=6.5, ncol=1, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        else:
            ax.legend(fontsize=7, ncol=2 if len(series) > 6 else 1, frameon=False)
    fig.tight_layout()
    return fig
