"""The report card of ``actlab evaluate``: one activation ranked against the standard set, claim by claim.

Like the main report it only reads the store (records written by the studies beforehand, and the theory
cards ``actlab evaluate`` stored, merged with the shipped evidence) and computes nothing.  The evaluated activation is one more arm of each
study: it never changes a claim's verdict, and its comparisons with the claim's baseline and named arms
are the verdict's own ``descriptive`` entry for it (judged by the engine, by the claim's rules); the card
lays them out and computes no statistic.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from . import html as H
from .figures import FigureWriter, verdict_overview
from .page import (Progress, _quiet, activation_names, activation_section, claim_details, key_figures, methodology_html,
                   overview_rows, prepare_out, study_figures, theory_summary, write_verdicts)
from .results import ClaimResult, collect, methodology, rank_metric, ranks, theory_cards

#: how the card reads a descriptive decision's outcome (the engine's words, decide.py)
READING = {"meaningful effect": "better", "opposite direction": "worse", "no meaningful difference": "no meaningful difference",
           "non-inferior": "not worse beyond the margin", "inferior beyond the margin": "worse beyond the margin",
           "equivalent": "equivalent", "not equivalent": "not equivalent", "undecided": "no clear difference",
           "too few observations": "too few observations", "degenerate": "degenerate"}


def comparisons(cr: ClaimResult, name: str) -> list[dict[str, Any]]:
    """The verdict's descriptive comparisons of arm ``name`` (``[]`` when it is a claim arm or has none)."""
    v = cr.verdict or {}
    for d in v.get("descriptive") or []:
        if d.get("arm") == name:
            return list(d.get("comparisons") or [])
    return []


def versus_baseline(cr: ClaimResult, name: str) -> dict[str, Any] | None:
    """The evaluated arm against the claim's baseline on the primary part (against 0 for a within-unit
    part): the verdict's descriptive comparison, with the card's reading of its outcome."""
    v = cr.verdict
    if not v:
        return None
    against = v.get("baseline") or "0"
    if v.get("primary_rule") == "spread" and v.get("compared"):  # an extra arm is put against the baseline
        against = v["compared"][0]
    elif name in (v.get("compared") or []):  # a named arm: its own contrast in the verdict's primary part
        for c in v.get("headline") or []:
            if c.get("arm") == name:
                return {**c, "part": v.get("primary"), "against": against,
                        "label": READING.get(c.get("outcome", ""), c.get("outcome", "")),
                        "reading": f"{v.get('primary')}: {name} vs {against}, {c.get('outcome', '')} (a named arm)",
                        "smoke": bool(v.get("smoke")), "profile": v.get("profile")}
    for c in comparisons(cr, name):
        if c.get("part") == v.get("primary") and c.get("against") == against:
            return {**c, "arm": name, "label": READING.get(c.get("outcome", ""), c.get("outcome", "")),
                    "reading": f"{c['part']}: {name} vs {against}, {c.get('outcome', '')}",
                    "smoke": bool(v.get("smoke")), "profile": v.get("profile")}
    return None


def _claims_table(results: Sequence[ClaimResult], name: str) -> tuple[str, list[dict[str, Any]]]:
    rows, data = [], []
    for cr in results:
        if cr.study is None:
            continue
        rk = ranks(cr)
        mine = rk.get(name)
        vs = versus_baseline(cr, name)
        best = min(rk.items(), key=lambda kv: (kv[1]["rank"], kv[0]))[0] if rk else None
        metric, direction = rank_metric(cr) if cr.verdict else (None, None)
        data.append({"claim": cr.id, **cr.to_json(), "rank": mine, "versus_baseline": vs, "best": best,
                     "metric": metric, "comparisons": comparisons(cr, name)})
        if mine is None:
            rank_cell, val_cell = '<td class="muted">not run</td>', "<td>—</td>"
        else:
            rank_cell = f'<td class="num"><b>{mine["rank"]}</b> of {mine["of"]}</td>'
            val_cell = (f'<td class="num">{H.esc(H.fmt(mine["mean"]))} '
                        f'[{H.esc(H.fmt(mine["lo"]))}, {H.esc(H.fmt(mine["hi"]))}]</td>')
        vs_cell = "—" if vs is None else (
            f"{H.badge(vs['status'], vs['label'])}" + (" " + H.smoke_badge(cr.label) if cr.smoke else "")
            + f"<br>{H.esc(vs['reading'])}<br>"
            f'<span class="small">estimate {H.esc(H.estimate_text(vs))}, n = {H.esc(vs["n"])}, δ = '
            f'{H.esc(H.fmt(vs.get("delta")))} (descriptive)</span>')
        where = f" in {mine['cell']}" if mine and mine.get("cell") else ""
        metric_cell = (f"{H.esc(metric)}{H.esc(where)} ({H.esc(direction)} first)" if cr.verdict
                       else f'<span class="muted">{H.esc(cr.why)}</span>')
        best_cell = "—" if best is None else f"{H.esc(best)} ({H.esc(H.fmt(rk[best]['mean']))})"
        verdict_cell = H.status_html(cr.status, cr.smoke, cr.label) + (
            f'<br><span class="small muted">profile {H.esc(cr.profile)}</span>' if cr.verdict else "")
        rows.append((H.claim_link(cr.id), H.esc(cr.claim.statement), metric_cell, rank_cell, val_cell, vs_cell,
                     best_cell, f'<td data-status="{H.esc(cr.id)}">{verdict_cell}</td>'))
    if not rows:
        return '<p class="muted">No studies are registered yet.</p>', data
    return H.table(("claim", "statement", "rank metric", f"rank of {name}", "mean [95% CI]",
                    "vs the claim's baseline (primary part)", "best", "claim verdict"), rows, cls="evaluation"), data


def _theory_table(names: Sequence[str], theory: dict[str, dict[str, Any]], name: str, anchors: H.Anchors) -> str:
    """One row per activation from its stored card (:func:`actlab.report.results.theory_cards`)."""
    rows, cls = [], []
    for n in names:
        entry = theory.get(n)
        if entry is None:
            rows.append((H.act_link(n, anchors), f'<td colspan="6" class="muted theory-missing">{H.esc(H.NOT_COMPUTED)}</td>'))
            cls.append("hl" if n == name else "")
            continue
        th = entry["card"]
        m, g, e = th["moments"]["value"] or {}, th["gain"]["value"] or {}, th["edge_of_chaos"]["value"]
        eoc = (H.num(e["sigma_w"]) if e else
               f'<td class="muted small" title="{H.esc(th["edge_of_chaos"]["reason"] or "")}">none</td>')
        link = H.act_link(n, anchors) if entry["current"] else (
            f'{H.act_link(n, anchors)}<br><span class="small stale">computed by earlier theory code</span>')
        rows.append((link,
                     H.num(g.get("gain")), H.num(m.get("mean")), H.num(m.get("var")), H.num(m.get("d1_mean")),
                     H.num(m.get("d1_second")), eoc))
        cls.append("hl" if n == name else "")
    return H.table(("activation", "gain", "E[φ]", "Var[φ]", "E[φ′]", "E[φ′²]", "edge of chaos σ_w (σ_b = 0)"),
                   rows, row_cls=cls)


def _neighbours_html(nb: dict[str, Any] | None) -> str:
    """The evaluated activation's nearest zoo relatives up to affine maps (``actlab similar``)."""
    if not nb:
        return '<p class="muted">not computed</p>'
    if nb.get("error"):
        return f'<p class="muted">none: {H.esc(nb["error"])}</p>'
    fmt = lambda v: "—" if v is None else ("≈ 0" if v < 1e-7 else f"{v:.2g}")  # noqa: E731
    rows = [(H.esc(m["name"]), f"<code>{H.esc(m['fit'])}</code>", H.esc(fmt(m["distance"])), H.esc(fmt(m["slope_distance"])),
             H.esc("; ".join(filter(None, ["at the |a|·std bound" if m["at_bound"] else "",
                                           ("same on this range: " + ", ".join(m["same_as"])) if m["same_as"] else ""]))))
            for m in nb["matches"]]
    return (H.table(("activation", "best fit c·g(a·x + b) + d", "values", "slopes", "note"), rows)
            + f'<p class="small">Relative L2 errors of the best affine fit under x ~ N(0, 1) (<code>actlab similar</code>, '
              f'docs/similar.md). A straight line alone fits it to {H.esc(fmt(nb["linear"]))}.</p>')


def write_evaluation(out: Path, store: Path, act: Any, findings: Sequence[Any], *, target: str,
                     studies: Sequence[Any] | None = None, profile: str | None = None,
                     standard: Sequence[str] | None = None, progress: Progress = _quiet,
                     neighbours: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write ``out/index.html`` for the evaluated activation ``act``; returns a summary for ``--json``.

    ``neighbours``: :func:`actlab.evaluate.nearest`'s result (computed by the caller; shown, not computed here)."""
    from ..zoo import DEFAULT_SET, get

    t0 = time.time()
    out = prepare_out(out)
    store = Path(store).expanduser()
    name = act.name
    results = collect(store, studies, profile=profile)
    figs = FigureWriter(out)
    anchors = H.Anchors()
    std = [get(a).name for a in (standard if standard is not None else DEFAULT_SET)]
    names = activation_names(results, [*std]) if name in std else [name, *activation_names(results, std)]
    names = [name] + [n for n in names if n != name]
    for n in names:
        anchors.act(n)
    overview = figs.save(verdict_overview(overview_rows(results)), "claims-overview", "verdict of every claim")
    keys = key_figures(results, figs, progress, highlight=name)
    claims_html, claims_data = _claims_table(results, name)
    theory = theory_cards(store, progress=progress)
    progress("theory table")
    theory_html = _theory_table([name] + [n for n in std if n != name], theory, name, anchors)
    cards = activation_section(names, results, figs, anchors, progress, theory=theory, extra={name: act},
                               highlight=name)
    extra = study_figures([cr for cr in results if cr.study is not None], figs, progress, highlight=name)
    details = "".join(claim_details(cr, keys.get(cr.id), anchors, highlight=name, extra=extra.get(cr.id, ()))
                      for cr in results if cr.study is not None)
    checks = H.table(("check", "result", "message"),
                     [(H.esc(f.check), H.badge("supported" if f.ok else "refuted", "passed" if f.ok else "failed"), H.esc(f.message)) for f in findings])
    meth = methodology(results, store)
    extra = (("evaluated", f"<code>{H.esc(target)}</code> (canonical name {H.esc(name)})"),)
    run = [cr for cr in results if name in cr.activations]
    n_smoke = sum(cr.smoke for cr in run)
    subtitle = (f"{name} ({target}) against the standard set: {len(run)} of "
                f"{sum(cr.study is not None for cr in results)} studies hold results for it"
                + (f" ({n_smoke} of them smoke tests, not evidence)" if n_smoke else "") + f" · store {store}")
    near_html = _neighbours_html(neighbours)
    body = (f'<h2 id="checks">Checks</h2>{checks}'
            f'<h2 id="nearest">Nearest known activations</h2>{near_html}'
            f'<h2 id="ranking">Claim by claim</h2>{claims_html}'
            f'<h2 id="theory">Theory beside the standard set</h2>{theory_html}'
            f'<h2 id="dashboard">Claim details</h2>{H.figure(overview, "verdict of every claim")}{details}'
            f'<h2 id="activations">Activation cards</h2>{cards}'
            f'<h2 id="methodology">Methodology</h2>{methodology_html(meth, time.time() - t0, extra)}')
    nav = [("checks", "Checks"), ("nearest", "Nearest"), ("ranking", "Claim by claim"), ("theory", "Theory"), ("dashboard", "Claims"),
           ("activations", "Activations"), ("methodology", "Methodology")]
    verdicts = write_verdicts(out, results, store)
    index = out / "index.html"
    index.write_text(H.page(f"actlab evaluate: {name}", subtitle, nav, body), encoding="utf-8")
    return {"index": str(index), "verdicts": str(verdicts), "store": str(store), "activation": name, "target": target,
            "checks": [{"check": f.check, "ok": f.ok, "message": f.message} for f in findings], "neighbours": neighbours,
            "claims": claims_data, "theory": theory_summary(names, theory), "figures": [str(p) for f in figs.saved for p in (f.png, f.svg)],
            "seconds": time.time() - t0}
