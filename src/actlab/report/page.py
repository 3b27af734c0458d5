"""The HTML report: claims dashboard, claim details, activation cards and methodology, from the store.

``write_report(out, store)`` writes ``out/index.html`` (self-contained: inline CSS, figures embedded as
PNG, no script, no network), every figure as ``out/figures/*.png`` and ``*.svg``, and ``out/verdicts.json``
(every verdict as judged, with its profile, ``smoke`` flag and label).  The page lays out the verdicts of
:func:`actlab.engine.verdicts.verdict`; it computes no statistic, and it never imports anything a store
names (a stored arm is looked up in the zoo registry only).  The theory numbers on activation cards are
stored cards too (computed and stored by ``actlab tour`` / ``evaluate``, shipped for the default set).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from . import html as H
from .figures import FigureWriter, SavedFigure, metric_chart, series_chart, slug, verdict_overview
from .results import ClaimResult, cell_text, collect, methodology, primary_cell, rank_metric, ranks, theory_cards

Progress = Callable[[str], None]


def _quiet(msg: str) -> None:
    pass


def prepare_out(out: Path) -> Path:
    """Create ``out`` (and ``out/figures``) or raise ValueError naming the fix."""
    out = Path(out).expanduser()
    try:
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out {out} is a file; pass a folder")
        (out / "figures").mkdir(parents=True, exist_ok=True)
        probe = out / ".actlab-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise ValueError(f"cannot write the report to {out} ({e.strerror or e}); pass a writable --out DIR") from None
    return out


def store_activation(name: str) -> Any:
    """The zoo's Activation for a name read from a store, or None.

    A stored name is data, never code: it is looked up in the zoo registry (``name`` or
    ``name(key=value)``, parsed as literals) and nothing it names is imported.
    """
    from ..zoo.activation import Activation
    from ..zoo.registry import parse_name, spec

    try:
        base, params = parse_name(name)
        s = spec(base)
        return Activation(s, s.resolve(params))
    except (KeyError, ValueError, TypeError):
        return None


def _card_data(name: str) -> tuple[Any, dict[str, Any]]:
    """(Activation, card dict) for a zoo name, or (None, minimal card) for a name the zoo does not know
    (a user's activation stored by ``actlab evaluate``, or a study's own arm)."""
    from .cards import card

    act = store_activation(name)
    if act is None:
        return None, {"name": name, "summary": "not a registered activation (a user's activation stored by "
                      "`actlab evaluate`, or a study's own arm)", "properties": "missing"}
    return act, card(act)


def activation_section(names: Sequence[str], results: Sequence[ClaimResult], figs: FigureWriter, anchors: H.Anchors,
                       progress: Progress, *, theory: dict[str, dict[str, Any]], extra: dict[str, Any] | None = None,
                       highlight: str | None = None) -> str:
    """Cards for ``names``; ``extra`` maps a name to an Activation the zoo cannot look up by name.

    ``theory``: the stored theory cards (:func:`actlab.report.results.theory_cards`); a card without one
    says they are not computed yet (a name the zoo does not know shows none: no tour can compute it)."""
    from .cards import card, plot_activation

    rank_table = {cr.id: (cr, ranks(cr)) for cr in results}
    out = []
    for i, name in enumerate(names):
        progress(f"activation card {i + 1}/{len(names)}: {name}")
        if extra and name in extra:
            act, c = extra[name], card(extra[name])
        else:
            act, c = _card_data(name)
        plot: SavedFigure | None = None
        if act is not None:
            plot = figs.save(plot_activation(act), f"act-{slug(name)}", f"φ, φ′ and φ″ of {name}")
        th = H.stored_theory_html(theory.get(name)) if act is not None or name in theory else ""
        act_ranks = [(cid, {**r[name], "profile": cr.profile, "smoke": cr.smoke})
                     for cid, (cr, r) in rank_table.items() if name in r]
        note = "the activation under evaluation" if name == highlight else ""
        out.append(H.activation_card(anchors.act(name), c, plot, th, act_ranks, note=note))
    return '<div class="cards">' + "".join(out) + "</div>"


def _against(p: dict[str, Any]) -> str:
    if p.get("rule") == "exact":
        return f"target {H.fmt(p.get('target'))}"
    return p.get("baseline") or "0"


def provenance_html(cr: ClaimResult) -> str:
    """Profile (with the smoke label), seeds judged, config hash, code fingerprint, sources, staleness."""
    v = cr.verdict or {}
    prov = cr.provenance
    label = H.smoke_badge(cr.label) if cr.smoke else '<span class="muted">evidence</span>'
    pre = v.get("pre_registered_seeds")
    seeds = (f"{len(v.get('seeds') or [])} of {pre} pre-registered seeds" if pre is not None
             else "deterministic units (no seeds)")
    src = f"{len(cr.records) - cr.shipped} record(s) from the store, {cr.shipped} shipped"
    stale = H.stale_html(prov)
    return (f'<p class="small" data-provenance="{H.esc(cr.id)}">profile <b>{H.esc(cr.profile)}</b> {label} · '
            f"{H.esc(seeds)} · config <code>{H.esc(v.get('config_hash', ''))}</code> · code fingerprint "
            f"<code>{H.esc(v.get('fingerprint', ''))}</code> · {H.esc(src)}"
            + (f" · {stale}" if stale else "") + "</p>")


def parts_table(v: dict[str, Any]) -> str:
    """Every declared part: one row per contrast (part, arm, estimate [CI], delta, n, status, seeds needed)."""
    smoke, label = bool(v.get("smoke")), v.get("label", "")
    rows = []
    for p in v.get("parts") or []:
        cs = p.get("contrasts") or [{}]
        head = (f"{H.esc(p['name'])}{' <b>(primary)</b>' if p.get('primary') else ''}<br>"
                f"{H.status_html(p['status'], smoke, label)}"
                + (' <span class="small muted">excluded: degenerate</span>' if p.get("excluded") else "")
                + ('' if p.get("decides", True) else ' <span class="small muted">descriptive: does not decide</span>')
                + f'<br><span class="small muted">{H.esc(p["metric"])} · {H.esc(p["rule"])} · '
                  f'{H.esc(p["direction"])}</span>')
        for j, c in enumerate(cs):
            row = [f'<td rowspan="{len(cs)}">{head}</td>'] if j == 0 else []
            row += [H.esc(f"{c.get('arm', '—')} vs {_against(p)}"),
                    f'<td class="num">{H.esc(H.estimate_text(c))}</td>', H.num(p.get("delta")), H.num(c.get("n")),
                    (H.status_html(c["status"], smoke, label) + f" {H.esc(c.get('outcome', ''))}"
                     + (f'<br><span class="small muted">{H.esc(c["degenerate"])}</span>' if c.get("degenerate") else ""))
                    if c.get("status") else "—",
                    H.num(c.get("seeds_needed"))]
            rows.append(row)
    return H.table(("part", "arm", "estimate [95% CI]", "delta", "n", "status / outcome", "seeds needed"), rows,
                   cls="parts")


def why_html(v: dict[str, Any]) -> str:
    items = []
    for p in v.get("parts") or []:
        items.append(f"<li><b>{H.esc(p['name'])}</b>: {H.esc(p['rule'])} on {H.esc(p['metric'])}, δ = "
                     f"{H.esc(H.fmt(p.get('delta')))} — {H.esc(p.get('why', ''))}</li>")
    return "<p><b>Why each delta</b> (declared before the runs)</p><ul class=\"why\">" + "".join(items) + "</ul>"


def _values(d: dict[str, Any]) -> str:
    return ", ".join(f"{k}={H.fmt(x)}" for k, x in sorted(d.items())) or "—"


def _policy_text(pol: dict[str, Any]) -> str:
    if pol.get("policy") == "tuned":
        grid = "; ".join(f"{k} ∈ {{{', '.join(H.fmt(x) for x in xs)}}}" for k, xs in pol.get("grid", {}).items())
        return (f"tuned per arm and cell on the validation split: grid {grid}, best mean {pol.get('metric')} "
                f"({pol.get('direction')} is better) over tuning seeds {', '.join(map(str, pol.get('seeds', [])))}; "
                "then fresh seeds on the test set")
    if pol.get("policy") == "shared":
        vals = pol.get("values") or {}
        return f"shared by every arm: {_values(vals)}" if vals else "shared by every arm (fixed by the study's config)"
    return "not declared"


def hyper_html(v: dict[str, Any]) -> str:
    pol = v.get("policy") or {}
    if "policy" in pol or not pol:  # one policy
        out = f"<p><b>Hyper-parameters</b>: {H.esc(_policy_text(pol))}</p>"
        tuned = pol.get("policy") == "tuned"
    else:  # several named policies, each a factor level of the cells
        items = "".join(f"<li><b>{H.esc(name)}</b>: {H.esc(_policy_text(p))}</li>" for name, p in sorted(pol.items()))
        out = f"<p><b>Hyper-parameters</b>, one cell factor <code>policy</code> per policy:</p><ul>{items}</ul>"
        tuned = any(p.get("policy") == "tuned" for p in pol.values())
    chosen = v.get("hyper") or {}
    if chosen and tuned:
        arms = sorted({a for c in chosen.values() for a in c})
        rows = [(H.esc(cell_text(cell) or "—"), *(H.esc(_values(c.get(a, {}))) if a in c else "—" for a in arms))
                for cell, c in sorted(chosen.items())]
        out += "<p class=\"small\">chosen values (per cell and arm)</p>" + H.table(("cell", *arms), rows)
    return out


def health_html(v: dict[str, Any]) -> str:
    h = v.get("health") or {}
    if not h:
        return ""
    rows = [(H.esc(a), H.num(x["units"]), H.num(x["done"]), H.num(x["diverged"]), H.num(x["failed"]),
             f'<td class="num">{H.esc(H.fmt(100 * x["divergence_rate"], 3) + " %" if x.get("divergence_rate") is not None else "—")}</td>')
            for a, x in sorted(h.items())]
    return "<p><b>Divergence per arm</b> (judged units)</p>" + H.table(
        ("arm", "units", "done", "diverged", "failed", "divergence rate"), rows, cls="health")


def descriptive_html(v: dict[str, Any], highlight: str | None = None) -> str:
    ds = v.get("descriptive") or []
    if not ds:
        return ""
    smoke, label = bool(v.get("smoke")), v.get("label", "")
    rows, cls = [], []
    for d in ds:
        for c in d.get("comparisons") or []:
            rows.append((H.esc(d["arm"]), H.esc(c["part"]), H.esc(f"vs {c['against']}"),
                         f'<td class="num">{H.esc(H.estimate_text(c))}</td>', H.num(c.get("n")),
                         H.status_html(c["status"], smoke, label) + f" {H.esc(c.get('outcome', ''))}"))
            cls.append("hl" if d["arm"] == highlight else "")
    return ('<div class="descriptive"><p><b>Descriptive comparisons</b>: the other arms against the baseline '
            "and the named arms, by the same rules — descriptive, not part of the verdict</p>"
            + H.table(("arm", "part", "against", "estimate [95% CI]", "n", "status / outcome"), rows,
                      row_cls=cls, cls="descriptive-table") + "</div>")


def _role(study: Any, v: dict[str, Any], arm: str, highlight: str | None) -> str:
    if arm == highlight:
        return "evaluated"
    if arm == v.get("baseline"):
        return "baseline"
    if arm in (v.get("compared") or []) or (study is not None and arm in study.compared):
        return "named"
    if study is not None and arm in study.controls:
        return "control"
    return "descriptive"


def headline_text(v: dict[str, Any]) -> str:
    if v.get("primary_rule") == "spread":  # one decision across the arms: name the pair that spans the range
        return "; ".join(f"{c['arm']} ({' − '.join((c.get('detail') or {}).get('range_pair') or [])}): "
                         f"{H.estimate_text(c)}" for c in v.get("headline") or []) or "—"
    against = v.get("baseline") or "0"
    return "; ".join(f"{c['arm']} vs {against}: {H.estimate_text(c)}" for c in v.get("headline") or []) or "—"


def claim_details(cr: ClaimResult, key: SavedFigure | None, anchors: H.Anchors, *, highlight: str | None = None,
                  extra: Sequence[SavedFigure] = ()) -> str:
    c = cr.claim
    out = [f'<div class="claim" id="claim-{H.esc(c.id)}"><h3>{H.esc(c.id)} '
           f"{H.status_html(cr.status, cr.smoke, cr.label)}</h3>",
           f"<p>{H.esc(c.statement)}</p>",
           f'<p class="small muted">kind: {H.esc(c.kind)}' + (f" · measured: {H.esc(c.measured)}" if c.measured else "")
           + "</p>"]
    if cr.study is not None and cr.study.claim and cr.study.claim != c.statement:
        out.append(f'<p class="small">Study {H.esc(cr.study.id)} tests: {H.esc(cr.study.claim)}</p>')
    v = cr.verdict
    if v is None:
        out.append(f'<p class="muted">{H.esc(cr.status)}: {H.esc(cr.why)}</p>')
        return "".join(out) + '<p class="small"><a href="#dashboard">back to the dashboard</a></p></div>'
    out.append(provenance_html(cr))
    against = ("each other (one decision across the arms)" if v.get("primary_rule") == "spread"
               else v.get("baseline") or "0 (a within-unit contrast)")
    if v.get("primary_rule") == "spread":  # one decision across the arms: no direction is claimed
        out.append(f"<p><b>Primary</b>: {H.esc(v['primary'])} — {H.esc(v['metric'])} across "
                   f"{H.esc(', '.join(v.get('compared') or []))}, compared with {H.esc(against)}; "
                   f"{H.esc(headline_text(v))} (simultaneous 95% CI)</p>")
    else:
        out.append(f"<p><b>Primary</b>: {H.esc(v['primary'])} — {H.esc(v['metric'])}, "
                   f"{H.esc('/'.join(v.get('compared') or []))} vs {H.esc(against)}, {H.esc(v['direction'])} is the "
                   f"claimed direction; {H.esc(headline_text(v))} (95% CI)</p>")
    if key is not None:
        out.append(H.figure(key, f"{c.id}: {v['metric']} per arm"))
    for f in extra:
        out.append(H.figure(f, f.alt))
    out.append("<p><b>Parts</b> (pre-registered; every named arm is compared on its own)"
               + (" " + H.smoke_badge(cr.label) if cr.smoke else "") + "</p>" + parts_table(v))
    out.append(f'<p class="small muted">rule: {H.esc(v.get("rule", ""))}</p>')
    out.append(why_html(v))
    out.append(hyper_html(v))
    out.append(f"<p><b>Initialisation</b>: {H.esc(v.get('init') or 'not declared')}</p>")
    out.append(health_html(v))
    rk = ranks(cr)
    if rk:
        metric, direction = rank_metric(cr)
        cell = next(iter(rk.values()))["cell"]
        rows, cls = [], []
        for arm, r in sorted(rk.items(), key=lambda kv: (kv[1]["rank"], kv[0])):
            rows.append((H.num(r["rank"]), H.act_link(arm, anchors), H.esc(_role(cr.study, v, arm, highlight)),
                         H.num(r["mean"]),
                         f'<td class="num">[{H.esc(H.fmt(r["lo"]))}, {H.esc(H.fmt(r["hi"]))}]</td>', H.num(r.get("n"))))
            cls.append("hl" if arm == highlight else "")
        out.append(f"<p><b>Per arm</b>: {H.esc(metric)}{H.esc(f' in {cell}' if cell else '')}, "
                   f"{H.esc(direction)} first (mean and 95% CI over the judged seeds)</p>"
                   + H.table(("rank", "arm", "role", "mean", "95% CI", "n"), rows, row_cls=cls, cls="ranks"))
    out.append(descriptive_html(v, highlight))
    for n in v.get("notes") or []:
        out.append(f'<p class="small muted">note: {H.esc(n)}</p>')
    cfg = json.dumps(cr.config, sort_keys=True)
    out.append(f'<p class="small muted">profile {H.esc(cr.profile or "?")} · config {H.esc(cr.config_hash)}: '
               f"<code>{H.esc(cfg)}</code></p>")
    return "".join(out) + '<p class="small"><a href="#dashboard">back to the dashboard</a></p></div>'


def key_figures(results: Sequence[ClaimResult], figs: FigureWriter, progress: Progress,
                highlight: str | None = None) -> dict[str, SavedFigure]:
    out = {}
    for cr in results:
        v = cr.verdict
        if not v:
            continue
        cell, arms = primary_cell(v)
        if not arms:
            continue
        progress(f"figure for {cr.id}")
        where = cell_text(cell)
        title = f"{cr.id}: {v['metric']}" + (f" ({where})" if where else "") + (f" — {cr.label}" if cr.smoke else "")
        direction = v["direction"]
        if v.get("primary_rule") == "spread":  # no claimed direction across arms: order them by the study's rank
            metric, d = rank_metric(cr)
            direction = d if metric == v["metric"] else direction
        fig = metric_chart(arms, v["metric"], direction, title=title, baseline=v.get("baseline"),
                           compared=v.get("compared") or [], highlight=highlight)
        out[cr.id] = figs.save(fig, f"claim-{slug(cr.id)}", f"{cr.id}: {v['metric']} per arm")
    return out


def study_figures(results: Sequence[ClaimResult], figs: FigureWriter, progress: Progress,
                  highlight: str | None = None) -> dict[str, list[SavedFigure]]:
    """Each study's declared figures (series computed into its verdict by the engine), drawn."""
    out: dict[str, list[SavedFigure]] = {}
    for cr in results:
        v = cr.verdict
        for spec in (v or {}).get("figures") or []:
            progress(f"figure {spec['name']} for {cr.id}")
            fig = series_chart(spec, baseline=v.get("baseline"), compared=v.get("compared") or [],
                               highlight=highlight, note=cr.label if cr.smoke else "")
            alt = f"{cr.id}: {spec.get('ylabel') or spec['y']} against {spec.get('xlabel') or spec['x']}"
            out.setdefault(cr.id, []).append(figs.save(fig, f"claim-{slug(cr.id)}-{slug(spec['name'])}", alt))
    return out


def dashboard(results: Sequence[ClaimResult], keys: dict[str, SavedFigure], overview: SavedFigure) -> str:
    rows = []
    for cr in results:
        v = cr.verdict
        eff = "—"
        if v:
            eff = (f"{H.esc(headline_text(v))}<br><span class=\"small muted\">{H.esc(v['metric'])}, "
                   f"{H.esc(v['direction'])}</span>")
        key = H.img(keys[cr.id], "thumb") if cr.id in keys else '<span class="muted small">—</span>'
        status = H.status_html(cr.status, cr.smoke, cr.label)
        if v:
            status += f'<br><span class="small muted">profile {H.esc(cr.profile)}</span>'
            stale = H.stale_html(cr.provenance)
            status += f"<br>{stale}" if stale else ""
        if cr.why:
            status += f'<br><span class="small muted">{H.esc(cr.why)}</span>'
        rows.append((f'<td><a href="#claim-{H.esc(cr.id)}">{H.esc(cr.id)}</a></td>',
                     H.esc(cr.claim.statement) + f'<br><span class="small muted">{H.esc(cr.claim.kind)}</span>',
                     f'<td data-status="{H.esc(cr.id)}">{status}</td>', f'<td class="num">{eff}</td>',
                     H.num(len(v["seeds"]) if v else None), H.num(len(cr.activations) if v else None),
                     key, H.claim_link(cr.id, "details")))
    return (H.figure(overview, "verdict of every claim") +
            H.table(("claim", "statement", "verdict", "headline estimate [95% CI]", "seeds", "arms", "key figure", ""),
                    rows, cls="dashboard"))


METHOD_TEXT = (
    "Verdicts: each study pre-registers its parts (metric, decision rule, direction, smallest effect of interest δ "
    "and why) and its seeds before any run. Units are paired by cell and seed; each named arm is compared with the "
    "baseline on its own (a part holds only if it holds for every named arm); a within-unit part is judged against "
    "0 with seeds as the observations. Supported needs the 95% CI above 0 and the estimate at least δ; refuted needs "
    "the CI below δ; Holm's step-down runs over every (part, arm) decision; the claim is supported only if every "
    "non-degenerate part is, refuted if any part is. Only the profile's pre-registered seeds of one config and one "
    "code fingerprint are judged; other arms (controls, an evaluated activation) are compared by the same rules "
    "but descriptively, never changing the verdict. A smoke-test profile's verdict is labelled \u201csmoke test, "
    "not evidence\u201d. Ranks order arms by the study's rank metric in the primary part's cell; theory numbers "
    "are computed by actlab.theory (quadrature to 1e-10) when the page is written. The page computes no statistic: "
    "every number is the verdict's (verdicts.json holds them all).")


def methodology_html(meth: dict[str, Any], wall: float, extra_rows: Sequence[tuple[str, str]] = ()) -> str:
    def hms(s: float) -> str:
        s = int(round(s))
        return f"{s // 3600}h {s % 3600 // 60:02d}m {s % 60:02d}s" if s >= 3600 else f"{s // 60}m {s % 60:02d}s"

    def listing(v: Sequence[Any]) -> str:
        return ", ".join(str(x) for x in v) if v else "—"

    rows = [
        ("store", f"<code>{H.esc(meth['store'])}</code>"),
        ("profile(s) judged", H.esc(listing(meth["profiles"]))),
        ("seeds", H.esc(listing(meth["seeds"]))),
        ("judged units (with tuning)", H.esc(f"{meth['units']} ({meth['shipped_units']} from the shipped evidence)")),
        ("compute time of the judged units (sum)", H.esc(hms(meth["compute_seconds"]))),
        ("records made between", H.esc(f"{meth['first_started'] or '—'} and {meth['last_finished'] or '—'}"
                                       + (f" ({hms(meth['elapsed_seconds'])} elapsed)" if meth["units"] else ""))),
        ("code fingerprints of the records", H.esc(listing(meth["record_fingerprints"]))),
        ("torch version of the records", H.esc(listing(meth["record_torch"]))),
        ("python of the records", H.esc(listing(meth["record_python"]))),
        ("machine(s)", H.esc(listing(meth["record_hosts"]) + " · " + listing(meth["record_platforms"]))),
        ("backend", H.esc(listing(meth["record_backends"]))),
        ("page rendered by", H.esc(f"actlab {meth['actlab']}, torch {meth['torch']}, python {meth['python']}, "
                                   f"{meth['platform']}, {meth['generated']}, in {wall:.1f} s")),
        ("every verdict as JSON", '<a href="verdicts.json">verdicts.json</a>'),
        *extra_rows,
    ]
    out = [H.table(("", ""), rows, cls="kv")]
    if meth["per_study"]:
        srows = []
        for sid, s in meth["per_study"].items():
            prof = H.esc(s["profile"]) + (" " + H.smoke_badge(s["label"]) if s["smoke"] else "")
            fp = f"<code>{H.esc(s['fingerprint'])}</code>" + (
                f' <span class="stale">stale (current code: {H.esc(s["current_fingerprint"])})</span>' if s["stale"] else "")
            pre = s["pre_registered_seeds"]
            seeds = listing(s["seeds"]) + (f" (of {pre} pre-registered)" if pre is not None else "")
            srows.append((H.claim_link(sid), f"<td>{prof}</td>", H.esc(seeds), H.num(s["activations"]),
                          H.esc(f"{s['units']} ({s['shipped']} shipped)"),
                          H.esc(", ".join(f"{n} {k}" for k, n in s["statuses"].items() if n)),
                          H.esc(hms(s["seconds"])), f"<code>{H.esc(s['config_hash'])}</code>", f"<td>{fp}</td>"))
        out.append("<p><b>Per study</b></p>" + H.table(
            ("claim", "profile", "seeds", "arms", "units", "status", "compute time", "config", "code fingerprint"),
            srows))
    out.append(f'<p class="small muted">{H.esc(METHOD_TEXT)}</p>')
    return "".join(out)


def activation_names(results: Sequence[ClaimResult], first: Sequence[str]) -> list[str]:
    """``first`` (canonical names, given by the caller), then every other arm the judged records hold, sorted."""
    from ..zoo import get

    names = [get(a).name for a in first]
    seen = set(names)
    for a in sorted({a for cr in results for a in cr.activations}):
        if a not in seen:
            names.append(a)
            seen.add(a)
    return names


def theory_summary(names: Sequence[str], theory: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Per card: where its theory numbers came from (``None``: not computed yet, or a name the zoo does not know)."""
    return {n: ({k: theory[n][k] for k in ("fingerprint", "current", "shipped")} if n in theory else None)
            for n in names}


def overview_rows(results: Sequence[ClaimResult]) -> list[dict[str, Any]]:
    return [{"id": cr.id, "status": cr.status, "smoke": cr.smoke} for cr in results]


def write_verdicts(out: Path, results: Sequence[ClaimResult], store: Path) -> Path:
    """``out/verdicts.json``: every claim's status, profile, smoke flag and label, and its whole verdict."""
    path = out / "verdicts.json"
    data = {"store": str(store), "generated": time.strftime("%Y-%m-%d %H:%M:%S"),
            "claims": {cr.id: {**cr.to_json(), "verdict": cr.verdict} for cr in results}}
    path.write_text(json.dumps(data, indent=1, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")
    return path


def summary_json(index: Path, store: Path, results: Sequence[ClaimResult], verdicts: Path) -> dict[str, Any]:
    counts = {s: sum(cr.status == s for cr in results) for s in H.STATUSES}
    return {"index": str(index), "verdicts": str(verdicts), "store": str(store),
            "claims": {cr.id: cr.to_json() for cr in results},
            "counts": {k: v for k, v in counts.items() if v}, "smoke": sorted(cr.id for cr in results if cr.smoke)}


def write_report(out: Path, store: Path | None = None, *, studies: Sequence[Any] | None = None,
                 profile: str | None = None, activations: Sequence[str] | None = None, shipped: bool = True,
                 progress: Progress = _quiet) -> dict[str, Any]:
    """Write the report; returns a summary (paths, per-claim status/profile/smoke/label, figure files) for
    ``--json``.  ``profile``: judge that profile (default: each study's evidence profile, or its quick smoke
    test when only that has records); ``shipped=False`` leaves the shipped evidence out."""
    from ..engine import default_path
    from ..zoo import DEFAULT_SET

    t0 = time.time()
    out = prepare_out(out)
    store = Path(store).expanduser() if store is not None else default_path()
    results = collect(store, studies, profile=profile, shipped=shipped)
    progress(f"read {sum(len(cr.records) for cr in results)} judged records (store {store} and shipped evidence)")
    figs = FigureWriter(out)
    anchors = H.Anchors()
    names = activation_names(results, activations if activations is not None else DEFAULT_SET)
    for n in names:
        anchors.act(n)
    overview = figs.save(verdict_overview(overview_rows(results)), "claims-overview", "verdict of every claim")
    keys = key_figures(results, figs, progress)
    theory = theory_cards(store, shipped=shipped, progress=progress)
    cards = activation_section(names, results, figs, anchors, progress, theory=theory)
    extra = study_figures(results, figs, progress)
    details = "".join(claim_details(cr, keys.get(cr.id), anchors, extra=extra.get(cr.id, ())) for cr in results)
    meth = methodology(results, store)
    counts = {s: sum(cr.status == s for cr in results) for s in H.STATUSES}
    n_smoke = sum(cr.smoke for cr in results)
    subtitle = (", ".join(f"{n} {s}" for s, n in counts.items() if n)
                + (f" ({n_smoke} of them smoke tests, not evidence)" if n_smoke else "")
                + f" · {len(results)} claims · store {store}")
    body = (f'<h2 id="dashboard">Claims dashboard</h2>{dashboard(results, keys, overview)}'
            f'<h2 id="claims">Claim details</h2>{details}'
            f'<h2 id="activations">Activation cards</h2>{cards}'
            f'<h2 id="methodology">Methodology</h2>{methodology_html(meth, time.time() - t0)}')
    nav = [("dashboard", "Dashboard"), ("claims", "Claims"), ("activations", "Activations"), ("methodology", "Methodology")]
    verdicts = write_verdicts(out, results, store)
    index = out / "index.html"
    index.write_text(H.page("actlab report: activation claims, measured", subtitle, nav, body), encoding="utf-8")
    return {**summary_json(index, store, results, verdicts), "activations": names, "theory": theory_summary(names, theory),
            "figures": [str(p) for f in figs.saved for p in (f.png, f.svg)], "seconds": time.time() - t0}
