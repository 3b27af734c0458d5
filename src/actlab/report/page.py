"""The HTML report: claims dashboard, claim details, activation cards and methodology, from the store.

``write_report(out, store)`` writes ``out/index.html`` (self-contained: inline CSS, figures embedded as
PNG, no script, no network) and every figure as ``out/figures/*.png`` and ``*.svg``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from . import html as H
from .figures import FigureWriter, SavedFigure, metric_chart, slug, verdict_overview
from .results import ClaimResult, collect, methodology, ranks

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


def _card_data(name: str) -> tuple[Any, dict[str, Any]] | tuple[None, dict[str, Any]]:
    """(Activation, card dict) for a zoo name, or (None, minimal card) for a name the zoo does not know
    (a user's activation stored by ``actlab evaluate``)."""
    from ..zoo import get
    from .cards import card

    try:
        act = get(name)
    except (KeyError, ValueError, TypeError):
        return None, {"name": name, "summary": "not a registered activation (stored by `actlab evaluate`)",
                      "properties": "missing"}
    return act, card(act)


def activation_section(names: Sequence[str], results: Sequence[ClaimResult], figs: FigureWriter, anchors: H.Anchors,
                       progress: Progress, *, extra: dict[str, Any] | None = None, highlight: str | None = None) -> str:
    """Cards for ``names``; ``extra`` maps a name to an Activation the zoo cannot look up by name."""
    from .analysis import theory_card
    from .cards import card, plot_activation

    rank_table = {cr.id: ranks(cr) for cr in results}
    out = []
    for i, name in enumerate(names):
        progress(f"activation card {i + 1}/{len(names)}: {name}")
        if extra and name in extra:
            act, c = extra[name], card(extra[name])
        else:
            act, c = _card_data(name)
        plot: SavedFigure | None = None
        theory = None
        if act is not None:
            plot = figs.save(plot_activation(act), f"act-{slug(name)}", f"φ, φ′ and φ″ of {name}")
            theory = theory_card(act)
        act_ranks = [(cid, r[name]) for cid, r in rank_table.items() if name in r]
        note = "the activation under evaluation" if name == highlight else ""
        out.append(H.activation_card(anchors.act(name), c, plot, theory, act_ranks, note=note))
    return '<div class="cards">' + "".join(out) + "</div>"


def _verdict_line(v: dict[str, Any]) -> str:
    comp = "/".join(v.get("compared") or [])
    return (f"{v['metric']}: {comp} vs {v['baseline']}, {v['direction']} is the claimed direction; "
            f"effect {H.effect_text(v)} ({v.get('confidence', 0.95):.0%} CI), {v['n_seeds']} paired seeds")


def claim_details(cr: ClaimResult, key: SavedFigure | None, anchors: H.Anchors, *, highlight: str | None = None) -> str:
    c = cr.claim
    out = [f'<div class="claim" id="claim-{H.esc(c.id)}"><h3>{H.esc(c.id)} {H.badge(cr.status)}</h3>',
           f"<p>{H.esc(c.statement)}</p>",
           f'<p class="small muted">kind: {H.esc(c.kind)}' + (f" · measured: {H.esc(c.measured)}" if c.measured else "")
           + "</p>"]
    if cr.study is not None and cr.study.claim and cr.study.claim != c.statement:
        out.append(f'<p class="small">Study {H.esc(cr.study.id)} tests: {H.esc(cr.study.claim)}</p>')
    v = cr.verdict
    if v is None:
        out.append(f'<p class="muted">{H.esc(cr.status)}: {H.esc(cr.why)}</p>')
        return "".join(out) + '<p class="small"><a href="#dashboard">back to the dashboard</a></p></div>'
    out.append(f"<p><b>Verdict</b>: {H.esc(_verdict_line(v))}</p>")
    if v.get("method"):
        out.append(f'<p class="small muted">method: {H.esc(v["method"])} · rule: {H.esc(v.get("rule", ""))}</p>')
    if key is not None:
        out.append(H.figure(key, f"{c.id}: {v['metric']} per activation"))
    parts = v.get("parts") or []
    if parts:
        rows = [(H.esc(p["claim"]), H.badge(p["status"]), H.esc(f"{p['metric']} ({p['direction']})"),
                 f'<td class="num">{H.esc(H.effect_text(p))}</td>', H.num(p["n_seeds"])) for p in parts]
        out.append("<p><b>Parts</b></p>" + H.table(("part", "verdict", "metric", "effect [95% CI]", "seeds"), rows))
    rk = ranks(cr)
    if rk:
        rows, cls = [], []
        for act, r in sorted(rk.items(), key=lambda kv: kv[1]["rank"]):
            units = (v.get("summary") or {}).get(act, {}).get("_units", {})
            unit_txt = ", ".join(f"{int(n)} {s}" for s, n in units.items() if n)
            role = ("baseline" if act == v["baseline"] else "compared" if act in (v.get("compared") or [])
                    else "evaluated" if act == highlight else "")
            rows.append((H.num(r["rank"]), H.act_link(act, anchors), H.esc(role), H.num(r["mean"]),
                         f'<td class="num">[{H.esc(H.fmt(r["lo"]))}, {H.esc(H.fmt(r["hi"]))}]</td>', H.esc(unit_txt)))
            cls.append("hl" if act == highlight else "")
        out.append(f"<p><b>Per activation</b>: {H.esc(v['metric'])}, {H.esc(v['direction'])} first</p>"
                   + H.table(("rank", "activation", "role", "mean", "95% CI", "units"), rows, row_cls=cls))
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
        if v and v.get("summary"):
            progress(f"figure for {cr.id}")
            fig = metric_chart(v["summary"], v["metric"], v["direction"], title=f"{cr.id}: {v['metric']}",
                               baseline=v["baseline"], compared=v.get("compared") or [], highlight=highlight)
            out[cr.id] = figs.save(fig, f"claim-{slug(cr.id)}", f"{cr.id}: {v['metric']} per activation")
    return out


def dashboard(results: Sequence[ClaimResult], keys: dict[str, SavedFigure], overview: SavedFigure) -> str:
    rows = []
    for cr in results:
        v = cr.verdict
        eff = "—"
        if v:
            eff = f"{H.esc(H.effect_text(v))}<br><span class=\"small muted\">{H.esc(v['metric'])}, {H.esc(v['direction'])}</span>"
        key = H.img(keys[cr.id], "thumb") if cr.id in keys else '<span class="muted small">—</span>'
        status = H.badge(cr.status) + (f'<br><span class="small muted">{H.esc(cr.why)}</span>' if cr.why else "")
        rows.append((f'<td><a href="#claim-{H.esc(cr.id)}">{H.esc(cr.id)}</a></td>',
                     H.esc(cr.claim.statement) + f'<br><span class="small muted">{H.esc(cr.claim.kind)}</span>',
                     status, f'<td class="num">{eff}</td>',
                     H.num(len(cr.seeds) if cr.records else None), H.num(len(cr.activations) if cr.records else None),
                     key, H.claim_link(cr.id, "details")))
    return (H.figure(overview, "verdict of every claim") +
            H.table(("claim", "statement", "verdict", "effect [95% CI]", "seeds", "activations", "key figure", ""), rows))


def methodology_html(meth: dict[str, Any], wall: float, extra_rows: Sequence[tuple[str, str]] = ()) -> str:
    def hms(s: float) -> str:
        s = int(round(s))
        return f"{s // 3600}h {s % 3600 // 60:02d}m {s % 60:02d}s" if s >= 3600 else f"{s // 60}m {s % 60:02d}s"

    def listing(v: Sequence[Any]) -> str:
        return ", ".join(str(x) for x in v) if v else "—"

    rows = [
        ("store", f"<code>{H.esc(meth['store'])}</code>"),
        ("profile(s) of the stored records", H.esc(listing(meth["profiles"]))),
        ("seeds", H.esc(listing(meth["seeds"]))),
        ("stored units", H.esc(meth["units"])),
        ("compute time of the stored units (sum)", H.esc(hms(meth["compute_seconds"]))),
        ("records made between", H.esc(f"{meth['first_started'] or '—'} and {meth['last_finished'] or '—'}"
                                       + (f" ({hms(meth['elapsed_seconds'])} elapsed)" if meth["units"] else ""))),
        ("actlab version of the records", H.esc(listing(meth["record_versions"]))),
        ("torch version of the records", H.esc(listing(meth["record_torch"]))),
        ("python of the records", H.esc(listing(meth["record_python"]))),
        ("machine(s)", H.esc(listing(meth["record_hosts"]) + " · " + listing(meth["record_platforms"]))),
        ("backend", H.esc(listing(meth["record_backends"]))),
        ("page rendered by", H.esc(f"actlab {meth['actlab']}, torch {meth['torch']}, python {meth['python']}, "
                                   f"{meth['platform']}, {meth['generated']}, in {wall:.1f} s")),
        *extra_rows,
    ]
    out = [H.table(("", ""), rows, cls="kv")]
    if meth["per_study"]:
        srows = []
        for sid, s in meth["per_study"].items():
            srows.append((H.claim_link(sid), H.esc(s["profile"]), H.esc(listing(s["seeds"])), H.num(s["activations"]),
                          H.num(s["units"]), H.esc(", ".join(f"{n} {k}" for k, n in s["statuses"].items() if n)),
                          H.esc(hms(s["seconds"])), f"<code>{H.esc(s['config_hash'])}</code>"))
        out.append("<p><b>Per study</b></p>" + H.table(
            ("claim", "profile", "seeds", "activations", "units", "status", "compute time", "config"), srows))
    out.append('<p class="small muted">Verdicts: each study pairs its compared activations with its baseline by '
               "seed and takes a Student-t 95% confidence interval of the mean difference; supported if the "
               "interval excludes 0 in the claimed direction, refuted if it excludes 0 the other way, "
               "inconclusive otherwise or with fewer than 3 paired seeds. Ranks order activations by the "
               "claim's headline metric in the claimed direction; theory numbers are computed by actlab.theory "
               "(quadrature to 1e-10) when the page is written.</p>")
    return "".join(out)


def activation_names(results: Sequence[ClaimResult], first: Sequence[str]) -> list[str]:
    """``first`` (canonical names), then every other activation the store holds, sorted."""
    from ..zoo import get

    names = [get(a).name for a in first]
    seen = set(names)
    for a in sorted({a for cr in results for a in cr.activations}):
        if a not in seen:
            names.append(a)
            seen.add(a)
    return names


def write_report(out: Path, store: Path | None = None, *, studies: Sequence[Any] | None = None,
                 profile: str | None = None, activations: Sequence[str] | None = None,
                 progress: Progress = _quiet) -> dict[str, Any]:
    """Write the report; returns a summary (paths, statuses, figure files) for ``--json``."""
    from ..engine import default_path
    from ..zoo import DEFAULT_SET

    t0 = time.time()
    out = prepare_out(out)
    store = Path(store).expanduser() if store is not None else default_path()
    results = collect(store, studies, profile=profile)
    progress(f"read {sum(len(cr.records) for cr in results)} records from {store}")
    figs = FigureWriter(out)
    anchors = H.Anchors()
    names = activation_names(results, activations if activations is not None else DEFAULT_SET)
    for n in names:
        anchors.act(n)
    overview = figs.save(verdict_overview([{"id": cr.id, "status": cr.status} for cr in results]), "claims-overview",
                         "verdict of every claim")
    keys = key_figures(results, figs, progress)
    cards = activation_section(names, results, figs, anchors, progress)
    details = "".join(claim_details(cr, keys.get(cr.id), anchors) for cr in results)
    meth = methodology(results, store)
    counts = {s: sum(cr.status == s for cr in results) for s in H.STATUSES}
    subtitle = ", ".join(f"{n} {s}" for s, n in counts.items() if n) + f" · {len(results)} claims · store {store}"
    body = (f'<h2 id="dashboard">Claims dashboard</h2>{dashboard(results, keys, overview)}'
            f'<h2 id="claims">Claim details</h2>{details}'
            f'<h2 id="activations">Activation cards</h2>{cards}'
            f'<h2 id="methodology">Methodology</h2>{methodology_html(meth, time.time() - t0)}')
    nav = [("dashboard", "Dashboard"), ("claims", "Claims"), ("activations", "Activations"), ("methodology", "Methodology")]
    index = out / "index.html"
    index.write_text(H.page("actlab report: activation claims, measured", subtitle, nav, body), encoding="utf-8")
    return {"index": str(index), "store": str(store), "claims": {cr.id: cr.status for cr in results},
            "counts": {k: v for k, v in counts.items() if v}, "activations": names,
            "figures": [str(p) for f in figs.saved for p in (f.png, f.svg)], "seconds": time.time() - t0}
