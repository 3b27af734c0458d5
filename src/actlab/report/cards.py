"""Activation cards: what one activation is, as a dict (for --json), Markdown, and a φ/φ'/φ'' plot."""

from __future__ import annotations

import math
from typing import Any

import torch

from ..zoo import Activation


def _param_rows(act: Activation) -> list[dict[str, Any]]:
    rows = []
    for p in act.spec.params:
        rows.append({
            "name": p.name, "value": act.params[p.name], "default": p.default, "allowed": p.bound_text(),
            "learnable": p.learnable, "learned_by_default": p.learn_by_default, "doc": p.doc,
        })
    return rows


def card(act: Activation) -> dict[str, Any]:
    """Everything the zoo declares about ``act`` as plain data."""
    s = act.spec
    props = act.properties
    return {
        "name": act.name, "spec": s.name, "aliases": list(s.aliases), "family": s.family, "kind": s.kind,
        "summary": s.summary, "formula": s.formula, "reference": s.reference, "notes": s.notes,
        "gate": act.gate.name if act.is_gated else None,
        "params": _param_rows(act),
        "properties": props.as_dict() if props is not None else None,
        "kinks": list(act.kinks) if not act.is_gated else [],
        "closed_form": {"derivative": s.derivative is not None, "second_derivative": s.second_derivative is not None,
                        "mpmath_reference": s.mpmath is not None},
        "torch_module": s.torch_module,
    }


#: how a card names each declared property, and what it measures (the field names are terse: a reader
#: saw "phi0", "smoothness -1" and "zero centred: yes" for GELU, whose mean under N(0, 1) is 0.28)
PROPERTY_TEXT: dict[str, tuple[str, str]] = {
    "monotone": ("monotone", "non-decreasing on the whole real line"),
    "convex": ("convex", "convex on the whole real line"),
    "bounded_below": ("bounded below", "the outputs have a finite lower bound"),
    "bounded_above": ("bounded above", "the outputs have a finite upper bound"),
    "smoothness": ("smoothness", "C^k: k continuous derivatives (−1 a jump, 0 a kink, ∞ smooth)"),
    "zero_centred": ("φ(0) = 0, both signs", "passes through the origin and takes both signs; not E[φ(z)] = 0 "
                     "(see the moments: GELU's mean under N(0, 1) is 0.28)"),
    "self_gated": ("self-gated", "φ(x) = x·g(x) with a gate g rising from 0 to 1"),
    "phi0": ("φ(0)", "value at 0"),
    "dphi0": ("φ′(0)", "slope at 0 (at a kink: the value autograd returns, as PyTorch)"),
}


def _fmt_smoothness(v: Any) -> str:
    if v in ("inf", math.inf):
        return "C^∞"
    return {-1: "discontinuous (C^−1)", 0: "continuous, with a kink (C^0)"}.get(int(v), f"C^{int(v)}")


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return "∞" if v == math.inf else f"{v:.6g}"
    return str(v)


def card_markdown(act: Activation, image: str | None = None) -> str:
    c = card(act)
    lines = [f"# {c['name']}", "", c["summary"], "", f"**Formula:** {c['formula']}", "",
             f"**Family:** {c['family']} · **Reference:** {c['reference']}"]
    if c["aliases"]:
        lines.append(f" · **Aliases:** {', '.join(c['aliases'])}")
    if image:
        lines += ["", f"![{c['name']}]({image})"]
    if c["params"]:
        lines += ["", "| parameter | value | allowed | learnable |", "|---|---|---|---|"]
        lines += [f"| {p['name']} | {_fmt(p['value'])} | {p['allowed']} | {_fmt(p['learnable'])} |" for p in c["params"]]
    if c["properties"]:
        lines += ["", "| property | value | meaning |", "|---|---|---|"]
        for k, v in c["properties"].items():
            label, meaning = PROPERTY_TEXT.get(k, (k, ""))
            lines.append(f"| {label} | {_fmt_smoothness(v) if k == 'smoothness' else _fmt(v)} | {meaning} |")
    if c["notes"]:
        lines += ["", c["notes"]]
    return "\n".join(lines) + "\n"


def plot_activation(act: Activation, path: str | None = None, *, lo: float = -5.0, hi: float = 5.0):
    """φ, φ' and φ'' on [lo, hi] (a gated unit is drawn through its gate).  Returns the figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f = act.gate if act.is_gated else act
    x = torch.linspace(lo, hi, 1001, dtype=torch.float64)
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.axhline(0, color="0.85", lw=0.8)
    ax.axvline(0, color="0.85", lw=0.8)
    curves = [("φ", f(x), "C0"), ("φ′", f.derivative(x), "C1"), ("φ″", f.second_derivative(x), "C2")]
    for label, y, color in curves:
        ax.plot(x.numpy(), y.detach().numpy(), label=label, color=color, lw=1.8 if label == "φ" else 1.2)
    title = act.name if not act.is_gated else f"{act.name} (gate {f.name})"
    ax.set_title(title)
    ax.set_xlabel("x")
    ax.legend(frameon=False, loc="upper left")
    ys = torch.cat([c[1].detach() for c in curves])
    ys = ys[torch.isfinite(ys)]
    if ys.numel():
        top, bot = float(ys.max()), float(ys.min())
        pad = 0.08 * max(top - bot, 1e-6)
        ax.set_ylim(max(bot - pad, -8), min(top + pad, 8))
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
