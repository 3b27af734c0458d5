"""HTML pieces of the report: one self-contained page (inline CSS, embedded figures, no JavaScript).

Everything shown is escaped here; numbers are formatted here.  Anchors: ``claim-C01``, ``act-<slug>``
(``act-relu``, ``act-gelu-approximate-tanh``), ``dashboard``, ``activations``, ``methodology``.
"""

from __future__ import annotations

import html
import math
from typing import Any, Iterable, Sequence

from .figures import SavedFigure, slug

STATUSES = ("supported", "refuted", "inconclusive", "not run yet", "error")

CSS = """
:root { --fg:#1c2833; --muted:#5d6d7e; --line:#d5d8dc; --bg:#ffffff; --soft:#f4f6f7; --link:#1f618d; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: var(--fg); background: var(--bg); margin: 0; }
header { background: #1c2833; color: #fff; padding: 18px 28px; }
header h1 { margin: 0 0 4px 0; font-size: 22px; }
header p { margin: 0; color: #d5dbdb; }
nav { position: sticky; top: 0; background: var(--soft); border-bottom: 1px solid var(--line); padding: 6px 28px;
      z-index: 2; }
nav a { margin-right: 16px; color: var(--link); text-decoration: none; font-weight: 600; }
main { padding: 8px 28px 40px 28px; max-width: 1280px; }
h2 { border-bottom: 2px solid var(--line); padding-bottom: 4px; margin-top: 34px; }
h3 { margin: 22px 0 6px 0; }
a { color: var(--link); }
table { border-collapse: collapse; margin: 8px 0 14px 0; }
th, td { border: 1px solid var(--line); padding: 4px 8px; vertical-align: top; text-align: left; }
th { background: var(--soft); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
         white-space: nowrap; }
.b-supported { background: #27ae60; color: #fff; } .b-refuted { background: #c0392b; color: #fff; }
.b-inconclusive { background: #e1a100; color: #1c2833; } .b-not-run-yet { background: #d5d8dc; color: #1c2833; }
.b-error { background: #6c3483; color: #fff; }
.b-smoke { background: #fff; color: #a04000; border: 1px dashed #a04000; }
.stale { color: #a93226; font-weight: 600; }
.descriptive { border-left: 3px dashed var(--line); padding-left: 10px; }
.muted { color: var(--muted); } .small { font-size: 12px; }
.thumb { width: 400px; max-width: 100%; height: auto; display: block; }
figure { margin: 8px 0 14px 0; } figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { font-size: 12px; color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 18px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; background: #fff; }
.card h3 { margin-top: 4px; }
.formula { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--soft);
           padding: 2px 6px; border-radius: 3px; }
.claim { border-left: 4px solid var(--line); padding-left: 12px; margin: 18px 0; }
.hl td { background: #fdedec; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
.kv td:first-child { color: var(--muted); white-space: nowrap; }
[id] { scroll-margin-top: 48px; }
.props { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 2px 14px; margin: 4px 0 12px 0;
         font-size: 13px; }
.props span b { font-weight: 400; color: var(--muted); }
"""


def esc(v: Any) -> str:
    return html.escape(str(v), quote=True)


def fmt(v: Any, digits: int = 4) -> str:
    """A number for people: 4 significant digits, ∞, — for missing."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "—"
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        return f"{v:.{digits}g}".replace("-", "−")
    if isinstance(v, str) and v in ("inf", "-inf"):
        return "∞" if v == "inf" else "−∞"
    return str(v)


def signed(v: Any) -> str:
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0:
        return "+" + fmt(v)
    return fmt(v)


def _fixed(v: float, decimals: int, sign: bool = False) -> str:
    text = f"{v:+.{decimals}f}" if sign else f"{v:.{decimals}f}"
    if float(text) == 0:  # no "-0.000" or "+0.000": zero at this precision is 0
        text = f"{0:.{decimals}f}"
    return text.replace("-", "−")


def estimate_text(c: dict[str, Any] | None) -> str:
    """``+0.019 [0.0076, 0.030]``: a decision's estimate (compared − baseline) and its 95 % CI, or — .

    Printed at the precision the interval supports: two significant digits of its half-width (so an
    estimate of 4e−08 inside [−0.012, 0.012] reads 0.000, not +3.974e−08); a decision without an interval
    (an exact check) keeps four significant digits.
    """
    if not c or c.get("estimate") is None:
        return "—"
    est, ci = c["estimate"], c.get("ci")
    if not (ci and None not in ci and all(isinstance(v, (int, float)) and math.isfinite(v) for v in (est, *ci))):
        return f"{signed(est)}" + (" (no CI)" if not ci or None in ci else f" [{fmt(ci[0])}, {fmt(ci[1])}]")
    half = (ci[1] - ci[0]) / 2
    if not half > 0:
        return f"{signed(est)} [{fmt(ci[0])}, {fmt(ci[1])}]"
    decimals = min(8, max(0, 1 - math.floor(math.log10(half))))
    return f"{_fixed(est, decimals, sign=True)} [{_fixed(ci[0], decimals)}, {_fixed(ci[1], decimals)}]"


def badge(status: str, label: str | None = None) -> str:
    """A coloured verdict badge; ``label`` replaces the status text (the colour stays the status's)."""
    return f'<span class="badge b-{slug(status)}">{esc(label or status)}</span>'


SMOKE = "smoke test, not evidence"


def smoke_badge(label: str = SMOKE) -> str:
    return f'<span class="badge b-smoke" data-smoke="1">{esc(label or SMOKE)}</span>'


def status_html(status: str, smoke: bool = False, label: str = "") -> str:
    """A status badge, with the smoke-test label beside it when the verdict is a smoke test's."""
    return badge(status) + (" " + smoke_badge(label) if smoke else "")


def stale_html(prov: dict[str, Any]) -> str:
    if not prov.get("stale"):
        return ""
    return (f'<span class="stale">stale: judged records of code fingerprint {esc(prov.get("fingerprint", ""))}, '
            f'the current code is {esc(prov.get("current_fingerprint", ""))}</span>')


def img(fig: SavedFigure, cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<img{c} src="{fig.data_uri}" alt="{esc(fig.alt)}" data-figure="{esc(fig.name)}">'


def figure(fig: SavedFigure, caption: str) -> str:
    return (f"<figure>{img(fig)}<figcaption>{esc(caption)} "
            f'(<a href="figures/{esc(fig.png.name)}">PNG</a>, <a href="figures/{esc(fig.svg.name)}">SVG</a>)'
            "</figcaption></figure>")


def table(header: Sequence[str], rows: Iterable[Sequence[str]], *, cls: str = "", row_cls: Sequence[str] | None = None) -> str:
    """``rows`` are already-escaped HTML cells."""
    c = f' class="{cls}"' if cls else ""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    thead = f"<thead><tr>{head}</tr></thead>" if any(header) else ""
    body = []
    for i, r in enumerate(rows):
        rc = f' class="{row_cls[i]}"' if row_cls and row_cls[i] else ""
        body.append(f"<tr{rc}>" + "".join(_cell(x) for x in r) + "</tr>")
    return f"<table{c}>{thead}<tbody>{''.join(body)}</tbody></table>"


def _cell(x: str) -> str:
    if x.startswith("<td"):
        return x
    return f"<td>{x}</td>"


def num(v: Any) -> str:
    return f'<td class="num">{esc(fmt(v))}</td>'


def page(title: str, subtitle: str, nav: Sequence[tuple[str, str]], body: str) -> str:
    links = "".join(f'<a href="#{esc(anchor)}">{esc(label)}</a>' for anchor, label in nav)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
            f'<header id="top"><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>'
            f"<nav>{links}</nav><main>{body}</main></body></html>\n")


class Anchors:
    """Unique anchor ids per activation name (two names may slug the same)."""

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}
        self._used: set[str] = set()

    def act(self, name: str) -> str:
        if name not in self._ids:
            base = "act-" + slug(name)
            cand, k = base, 2
            while cand in self._used:
                cand, k = f"{base}-{k}", k + 1
            self._ids[name] = cand
            self._used.add(cand)
        return self._ids[name]

    def known(self, name: str) -> bool:
        return name in self._ids


def act_link(name: str, anchors: Anchors) -> str:
    if anchors.known(name):
        return f'<a href="#{anchors.act(name)}">{esc(name)}</a>'
    return esc(name)


def claim_link(cid: str, text: str | None = None) -> str:
    return f'<a href="#claim-{esc(cid)}">{esc(text or cid)}</a>'


# -- activation cards -------------------------------------------------------------------------------

_MOMENTS = (("mean", "E[φ(z)]"), ("second", "E[φ(z)²]"), ("var", "Var[φ(z)]"), ("d1_mean", "E[φ′(z)]"),
            ("d1_second", "E[φ′(z)²]"))


def _reason(entry: dict[str, Any]) -> str:
    return f'— <span class="muted small">({esc(entry.get("reason") or "not available")})</span>'


def theory_html(th: dict[str, Any]) -> str:
    parts = []
    m = th["moments"]
    if m["value"]:
        cells = "".join(f"<span><b>{esc(label)}</b> {esc(fmt(m['value'][k]))}</span>" for k, label in _MOMENTS)
        parts.append(f'<p><b>Moments</b> under z ~ N(0, 1)</p><div class="props">{cells}</div>')
    else:
        parts.append(f"<p><b>Moments</b>: {_reason(m)}</p>")
    g = th["gain"]
    if g["value"]:
        gv = g["value"]
        torch_txt = fmt(gv["torch_gain"]) if gv["torch_gain"] is not None else "—"
        parts.append(f"<p><b>Gain</b> (second moment, q = {fmt(gv['q'])}): {esc(fmt(gv['gain']))} · "
                     f"torch.nn.init.calculate_gain: {esc(torch_txt)} "
                     f'<span class="muted small">({esc(gv["note"])})</span></p>')
    else:
        parts.append(f"<p><b>Gain</b>: {_reason(g)}</p>")
    e = th["edge_of_chaos"]
    if e["value"]:
        ev = e["value"]
        q_txt = "q* → 0 (limit)" if ev["q"] == 0 else f"q* = {fmt(ev['q'])}"
        stable = "" if ev["stable"] else " (q* is not a stable fixed point)"
        parts.append(f"<p><b>Edge of chaos</b> at σ_b = 0: σ_w = {esc(fmt(ev['sigma_w']))}, {esc(q_txt)}, "
                     f"χ₁ = {esc(fmt(ev['chi1']))}{esc(stable)}</p>")
    else:
        parts.append(f"<p><b>Edge of chaos</b> at σ_b = 0: none {_reason(e)}</p>")
    ic = th["icnn"]
    if ic["value"]:
        iv = ic["value"]
        verdict = "admissible" if iv["admissible"] else "not admissible"
        why = f"monotone: {fmt(iv['monotone'])}, convex: {fmt(iv['convex'])} ({iv['source']}"
        why += "" if iv["consistent"] else "; the grid check disagrees with the declaration"
        parts.append(f"<p><b>Input-convex networks</b> (C26): {esc(verdict)} "
                     f'<span class="muted small">{esc(why)})</span></p>')
    else:
        parts.append(f"<p><b>Input-convex networks</b>: {_reason(ic)}</p>")
    return "".join(parts)


#: what a card shows when neither the store nor the shipped evidence holds its theory numbers
NOT_COMPUTED = "theory numbers not computed yet: run `actlab tour`"


def stored_theory_html(entry: dict[str, Any] | None) -> str:
    """A stored card's theory numbers (:func:`actlab.report.results.theory_cards` entry), flagged when an
    earlier theory code computed them; ``None``: the "not computed yet" line."""
    if entry is None:
        return f'<p class="theory-missing"><b>Theory</b>: <span class="muted">{esc(NOT_COMPUTED)}</span></p>'
    out = theory_html(entry["card"])
    if not entry.get("current", True):
        out = (f'<p class="small theory-stale"><span class="stale">computed by earlier theory code</span> '
               f'<span class="muted">(theory fingerprint {esc(entry.get("fingerprint", ""))}, the code now is '
               f'{esc(entry.get("current_fingerprint", ""))}; run `actlab tour` to refresh)</span></p>' + out)
    return out


def properties_html(card: dict[str, Any]) -> str:
    props = card.get("properties")
    if not props:
        return '<p><b>Properties</b>: <span class="muted">none declared (a user callable; derivatives by autograd)</span></p>'
    cells = "".join(f"<span><b>{esc(k.replace('_', ' '))}</b> {esc(fmt(v))}</span>" for k, v in props.items())
    return f'<p><b>Properties</b> (declared, checked by the contract tests)</p><div class="props">{cells}</div>'


def params_html(card: dict[str, Any]) -> str:
    if not card.get("params"):
        return ""
    rows = [(esc(p["name"]), num(p["value"]), esc(p["allowed"]), esc(fmt(p["learnable"]))) for p in card["params"]]
    return "<p><b>Parameters</b></p>" + table(("parameter", "value", "allowed", "learnable"), rows)


def ranks_html(act_ranks: Sequence[tuple[str, dict[str, Any]]]) -> str:
    if not act_ranks:
        return '<p><b>Rank in each study</b>: <span class="muted">no stored results include it yet</span></p>'
    rows = []
    for cid, r in act_ranks:
        ci = f"[{fmt(r['lo'])}, {fmt(r['hi'])}]" if r.get("lo") is not None and r.get("hi") is not None else ""
        where = f" in {r['cell']}" if r.get("cell") else ""
        prof = esc(r.get("profile", "")) + (" " + smoke_badge() if r.get("smoke") else "")
        rows.append((claim_link(cid), f'<td class="num">{r["rank"]} of {r["of"]}</td>',
                     esc(f"{r['metric']}{where} ({r['direction']} first)"),
                     f'<td class="num">{esc(fmt(r["mean"]))} {esc(ci)}</td>', prof))
    return "<p><b>Rank in each study</b> (by the study's rank metric)</p>" + table(
        ("claim", "rank", "metric", "mean [95% CI]", "profile"), rows)


def activation_card(anchor: str, card: dict[str, Any], plot: SavedFigure | None, theory: str,
                    act_ranks: Sequence[tuple[str, dict[str, Any]]], *, note: str = "") -> str:
    """One card; ``theory`` is its theory block as HTML (:func:`stored_theory_html`), ``""`` for none."""
    head = (f'<div class="card" id="{esc(anchor)}"><h3>{esc(card["name"])}</h3>'
            f"<p>{esc(card.get('summary', ''))}</p>")
    if card.get("formula"):
        head += f'<p><b>Formula</b>: <span class="formula">{esc(card["formula"])}</span></p>'
    if card.get("family"):
        head += (f'<p class="small muted">family {esc(card["family"])} · {esc(card.get("reference", ""))}'
                 + (f" · gate {esc(card['gate'])}" if card.get("gate") else "") + "</p>")
    if note:
        head += f'<p class="muted">{esc(note)}</p>'
    body = ""
    if plot is not None:
        body += figure(plot, f"φ, φ′ and φ″ of {card['name']}" + (" (through its gate)" if card.get("gate") else ""))
    body += params_html(card) if card.get("params") is not None else ""
    if card.get("properties", "missing") != "missing":
        body += properties_html(card)
    body += theory
    body += ranks_html(act_ranks)
    return head + body + "</div>"
