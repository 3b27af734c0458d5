"""The report card of ``actlab evaluate``: one activation ranked against the standard set, claim by claim.

Like the main report it only reads the store (records written by the studies beforehand) and computes
theory numbers; every comparison with the claim's baseline is the engine's paired-by-seed statistic on
the stored records.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

from . import html as H
from .figures import FigureWriter, verdict_overview
from .page import (Progress, _quiet, activation_names, activation_section, claim_details, key_figures, methodology_html,
                   prepare_out)
from .results import ClaimResult, collect, methodology, ranks


def versus_baseline(cr: ClaimResult, name: str) -> dict[str, Any] | None:
    """The evaluated activation against the claim's baseline, paired by seed on the headline metric."""
    from ..engine import paired_verdict

    v = cr.verdict
    if not v or name == v["baseline"] or not any(r.activation == name for r in cr.records):
        return None
    pv = paired_verdict(cr.records, study=cr.id, claim=f"{name} vs {v['baseline']}", metric=v["metric"],
                        direction=v["direction"], baseline=v["baseline"], compared=[name],
                        config_hash=cr.config_hash).to_json()
    other = "lower" if v["direction"] == "higher" else "higher"
    words = {"supported": ("better", f"{v['direction']} {v['metric']} than {v['baseline']}"),
             "refuted": ("worse", f"{other} {v['metric']} than {v['baseline']}"),
             "inconclusive": ("no clear difference", f"{v['metric']} not distinguishable from {v['baseline']}'s")}
    pv["label"], pv["reading"] = words[pv["status"]]
    return pv


def _claims_table(results: Sequence[ClaimResult], name: str) -> tuple[str, list[dict[str, Any]]]:
    rows, data = [], []
    for cr in results:
        if cr.study is None:
            continue
        rk = ranks(cr)
        mine = rk.get(name)
        vs = versus_baseline(cr, name)
        best = min(rk.items(), key=lambda kv: kv[1]["rank"])[0] if rk else None
        data.append({"claim": cr.id, "status": cr.status, "why": cr.why, "rank": mine, "versus_baseline": vs,
                     "best": best, "metric": cr.verdict["metric"] if cr.verdict else None})
        if mine is None:
            rank_cell, val_cell = '<td class="muted">not run</td>', "<td>—</td>"
        else:
            rank_cell = f'<td class="num"><b>{mine["rank"]}</b> of {mine["of"]}</td>'
            val_cell = (f'<td class="num">{H.esc(H.fmt(mine["mean"]))} '
                        f'[{H.esc(H.fmt(mine["lo"]))}, {H.esc(H.fmt(mine["hi"]))}]</td>')
        vs_cell = "—" if vs is None else (f"{H.badge(vs['status'], vs['label'])} {H.esc(vs['reading'])}<br>"
                                          f'<span class="small">effect {H.esc(H.effect_text(vs))}, {vs["n_seeds"]} seeds</span>')
        metric = (f"{H.esc(cr.verdict['metric'])} ({H.esc(cr.verdict['direction'])} first)" if cr.verdict
                  else f'<span class="muted">{H.esc(cr.why)}</span>')
        best_cell = "—" if best is None else f"{H.esc(best)} ({H.esc(H.fmt(rk[best]['mean']))})"
        rows.append((H.claim_link(cr.id), H.esc(cr.claim.statement), metric, rank_cell, val_cell, vs_cell,
                     best_cell, H.badge(cr.status)))
    if not rows:
        return '<p class="muted">No studies are registered yet.</p>', data
    return H.table(("claim", "statement", "metric", f"rank of {name}", "mean [95% CI]", "vs the claim's baseline",
                    "best", "claim verdict"), rows), data


def _theory_table(names: Sequence[str], acts: dict[str, Any], name: str, anchors: H.Anchors) -> str:
    from .analysis import theory_card

    rows, cls = [], []
    for n in names:
        act = acts.get(n)
        if act is None:
            continue
        th = theory_card(act)
        m, g, e = th["moments"]["value"] or {}, th["gain"]["value"] or {}, th["edge_of_chaos"]["value"]
        eoc = (H.num(e["sigma_w"]) if e else
               f'<td class="muted small" title="{H.esc(th["edge_of_chaos"]["reason"] or "")}">none</td>')
        rows.append((H.act_link(n, anchors),
                     H.num(g.get("gain")), H.num(m.get("mean")), H.num(m.get("var")), H.num(m.get("d1_mean")),
                     H.num(m.get("d1_second")), eoc))
        cls.append("hl" if n == name else "")
    return H.table(("activation", "gain", "E[φ]", "Var[φ]", "E[φ′]", "E[φ′²]", "edge of chaos σ_w (σ_b = 0)"),
                   rows, row_cls=cls)


def write_evaluation(out: Path, store: Path, act: Any, findings: Sequence[Any], *, target: str,
                     studies: Sequence[Any] | None = None, profile: str | None = None,
                     standard: Sequence[str] | None = None, progress: Progress = _quiet) -> dict[str, Any]:
    """Write ``out/index.html`` for the evaluated activation ``act``; returns a summary for ``--json``."""
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
    overview = figs.save(verdict_overview([{"id": cr.id, "status": cr.status} for cr in results]), "claims-overview",
                         "verdict of every claim")
    keys = key_figures(results, figs, progress, highlight=name)
    claims_html, claims_data = _claims_table(results, name)
    acts = {n: get(n) for n in std}
    acts[name] = act
    progress("theory table")
    theory_html = _theory_table([name] + [n for n in std if n != name], acts, name, anchors)
    cards = activation_section(names, results, figs, anchors, progress, extra={name: act}, highlight=name)
    details = "".join(claim_details(cr, keys.get(cr.id), anchors, highlight=name) for cr in results if cr.study is not None)
    checks = H.table(("check", "result", "message"),
                     [(H.esc(f.check), H.badge("supported" if f.ok else "refuted", "passed" if f.ok else "failed"), H.esc(f.message)) for f in findings])
    meth = methodology(results, store)
    extra = (("evaluated", f"<code>{H.esc(target)}</code> (canonical name {H.esc(name)})"),)
    run = [cr for cr in results if any(r.activation == name for r in cr.records)]
    subtitle = (f"{name} ({target}) against the standard set: {len(run)} of "
                f"{sum(cr.study is not None for cr in results)} studies hold results for it · store {store}")
    body = (f'<h2 id="checks">Checks</h2>{checks}'
            f'<h2 id="ranking">Claim by claim</h2>{claims_html}'
            f'<h2 id="theory">Theory beside the standard set</h2>{theory_html}'
            f'<h2 id="dashboard">Claim details</h2>{H.figure(overview, "verdict of every claim")}{details}'
            f'<h2 id="activations">Activation cards</h2>{cards}'
            f'<h2 id="methodology">Methodology</h2>{methodology_html(meth, time.time() - t0, extra)}')
    nav = [("checks", "Checks"), ("ranking", "Claim by claim"), ("theory", "Theory"), ("dashboard", "Claims"),
           ("activations", "Activations"), ("methodology", "Methodology")]
    index = out / "index.html"
    index.write_text(H.page(f"actlab evaluate: {name}", subtitle, nav, body), encoding="utf-8")
    return {"index": str(index), "store": str(store), "activation": name, "target": target,
            "checks": [{"check": f.check, "ok": f.ok, "message": f.message} for f in findings],
            "claims": claims_data, "figures": [str(p) for f in figs.saved for p in (f.png, f.svg)],
            "seconds": time.time() - t0}
