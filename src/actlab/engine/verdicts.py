"""Verdicts: a study's declared parts judged on its stored records (shared by ``actlab verdict`` and the report).

What is judged.  Only the evaluation units (not tuning) of one config and one code fingerprint, only
the profile's pre-registered seeds ``0..n-1`` (more stored seeds are ignored: looking again after each
added seed would inflate the false-verdict rate), and only the claim's declared arms: other arms in the
same store never change the claim's verdict.  Every other arm (a control, a user's activation) gets
its own comparisons with the baseline and the named arms, reported beside the verdict as descriptive.

How a part is judged (rules: :mod:`actlab.engine.decide`).  Units are paired by (cell, seed): the same
seed gives two arms the same initial-weight stream and minibatches.  Each named arm is compared with
the baseline on its own; a part holds only if it holds for every named arm (intersection-union) and
fails if it fails for any.  A ``spread`` part is one decision over all its arms together (does the choice
among them matter by delta: :func:`actlab.engine.decide.spread`); an extra arm is put against the
baseline by the same rule.  ``within`` parts (the metric is already a contrast inside a unit) are
clustered by seed: the observation is the seed's mean over the named arms.  A diverged unit takes the
part's ``worst`` value (it counts against its arm) or, for time-to-event parts, is censored.  The
claim: Holm's step-down over every (part, arm) decision in both directions; supported only if every
non-degenerate part is, refuted if any part is.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from typing import Any, Sequence

from . import decide
from .protocol import Part, Record, Study, config_hash

__all__ = ["SMOKE_LABEL", "judge", "study_records", "verdict"]

SMOKE_LABEL = "smoke test, not evidence"


def _is_main(r: Record) -> bool:
    return "phase" not in r.factors


def _matches(r: Record, cell: dict[str, Any]) -> bool:
    f = r.factors
    return all(f.get(k) == v for k, v in cell.items())


def _value(r: Record, metric: str, worst: float | None) -> float | None:
    if r.status == "diverged" and worst is not None:
        return float(worst)
    if r.status != "done":
        return None
    v = r.metrics.get(metric)
    if not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def _pair_key(r: Record, part: Part) -> tuple[str, int]:
    return r.cell, r.seed  # units pair by (cell, seed); a trend part then groups the pairs by seed


def _transform(part: Part, x: Any) -> float:
    x = float(x)
    return math.log2(x) if part.transform == "log2" else math.log(x) if part.transform == "log" else x


def _by_arm(records: Sequence[Record], part: Part) -> dict[str, dict[tuple[str, int], Record]]:
    t: dict[str, dict[tuple[str, int], Record]] = defaultdict(dict)
    for r in records:
        if _matches(r, dict(part.cell)):
            t[r.arm][_pair_key(r, part)] = r
    return t


def _compare(part: Part, base: dict[tuple[str, int], Record], comp: dict[tuple[str, int], Record],
             base_arm: str, arm: str) -> decide.Decision:
    keys = sorted(set(base) & set(comp))
    kw = dict(direction=part.direction)
    if part.rule == "time_to_event":
        tb, eb, tc, ec = [], [], [], []
        for k in keys:
            for r, ts, es in ((base[k], tb, eb), (comp[k], tc, ec)):
                t = r.metrics.get(part.metric)
                ev = r.metrics.get(part.event) if r.status == "done" else 0.0
                ts.append(float(part.horizon if (t is None or r.status != "done") else t))
                es.append(bool(ev))
        return decide.time_to_event(tc, ec, tb, eb, horizon=part.horizon, delta=part.delta, paired=True, **kw)
    if part.rule == "proportion":
        vb = [_value(base[k], part.metric, part.worst) for k in keys]
        vc = [_value(comp[k], part.metric, part.worst) for k in keys]
        vb = [v for v in vb if v is not None]
        vc = [v for v in vc if v is not None]
        return decide.proportion(int(round(sum(vc))), len(vc), int(round(sum(vb))), len(vb), delta=part.delta, **kw)
    if part.rule == "trend":
        series: dict[int, dict[float, float]] = defaultdict(dict)
        for k in keys:
            vb, vc = _value(base[k], part.metric, part.worst), _value(comp[k], part.metric, part.worst)
            if vb is None or vc is None:
                continue
            x = _transform(part, base[k].factors[part.factor])
            series[k[1]][x] = vc - vb
        levels = sorted({x for s in series.values() for x in s})
        ys = [[s.get(x, math.nan) for x in levels] for _, s in sorted(series.items())]
        return decide.trend(levels, ys, delta=part.delta, **kw)
    diffs, ceiling_hits, n_units = [], 0, 0
    for k in keys:
        vb, vc = _value(base[k], part.metric, part.worst), _value(comp[k], part.metric, part.worst)
        if vb is None or vc is None:
            continue
        diffs.append(vc - vb)
        if part.ceiling is not None:
            n_units += 2
            ceiling_hits += sum((v >= part.ceiling) if part.direction == "higher" else (v <= part.ceiling)
                                for v in (vb, vc))
    degenerate = (f"every unit of {base_arm} and {arm} is at the ceiling {part.metric} = {part.ceiling}"
                  if part.ceiling is not None and n_units and ceiling_hits == n_units else None)
    if part.rule == "noninferiority":
        return decide.noninferiority(diffs, margin=part.delta, degenerate=degenerate, **kw)
    if part.rule == "equivalence":
        return decide.equivalence(diffs, margin=part.delta, degenerate=degenerate)
    return decide.superiority(diffs, delta=part.delta, degenerate=degenerate, **kw)


def _within(part: Part, by_arm: dict[str, dict[tuple[str, int], Record]], arms: Sequence[str]) -> decide.Decision:
    per_seed: dict[tuple[str, int], list[float]] = defaultdict(list)
    for a in arms:
        for k, r in by_arm.get(a, {}).items():
            v = _value(r, part.metric, part.worst)
            if v is not None:
                per_seed[k].append(v)
    values = [sum(v) / len(v) for k, v in sorted(per_seed.items()) if len(v) == len(arms)]
    if part.rule == "exact":
        return _exact(part, values)
    if part.rule == "noninferiority":
        return decide.noninferiority(values, margin=part.delta, direction=part.direction)
    if part.rule == "equivalence":
        return decide.equivalence(values, margin=part.delta)
    return decide.superiority(values, direction=part.direction, delta=part.delta)


def spread_label(arms: Sequence[str]) -> str:
    """How a spread part's one contrast is named: ``"range over 13 arms"``."""
    return f"range over {len(arms)} arms"


def _spread(part: Part, by_arm: dict[str, dict[tuple[str, int], Record]], arms: Sequence[str]) -> decide.Decision:
    """A spread part: one row per (cell, seed) present in every arm, one column per arm."""
    keys = sorted(set.intersection(*(set(by_arm.get(a, {})) for a in arms))) if arms else []
    rows = [[_value(by_arm[a][k], part.metric, part.worst) for a in arms] for k in keys]
    rows = [[math.nan if v is None else v for v in r] for r in rows]
    return decide.spread(rows, delta=part.delta, arms=list(arms))


def _exact(part: Part, values: Sequence[float]) -> decide.Decision:
    value = values[0] if len(values) == 1 else math.nan
    return decide.exact(value, target=part.target, tolerance=part.delta or 0.0, relation=part.relation)


def _stats(values: Sequence[float]) -> dict[str, float]:
    m, lo, hi = decide.mean_ci(values)
    return {"mean": m, "lo": lo, "hi": hi, "n": len(values)}


def _summary(records: Sequence[Record], metrics: Sequence[str]) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """cell label -> arm -> metric -> mean/CI/n over seeds (finished units only)."""
    vals: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for r in records:
        if r.status != "done":
            continue
        for m in metrics:
            v = r.metrics.get(m)
            if isinstance(v, (int, float)) and math.isfinite(v):
                vals[r.cell][r.arm][m].append(float(v))
    return {cell: {arm: {m: _stats(v) for m, v in sorted(ms.items())} for arm, ms in sorted(arms.items())}
            for cell, arms in sorted(vals.items())}


def _health(records: Sequence[Record]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for r in records:
        h = out.setdefault(r.arm, {"units": 0, "done": 0, "diverged": 0, "failed": 0})
        h["units"] += 1
        h[r.status] += 1
    for h in out.values():
        h["divergence_rate"] = h["diverged"] / h["units"] if h["units"] else None
    return out


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


def judge(study: Study, records: Sequence[Record], profile: str) -> dict[str, Any]:
    """The verdict (strict JSON-able dict) of ``study`` 's declared parts on ``records`` of one profile.

    ``records``: one config and one fingerprint (the caller picks them: :func:`verdict`).
    """
    prof = study.profile(profile)
    seeds = set(range(prof.seeds)) | {-1} if prof.seeds is not None else {-1}  # -1: a theory half's units
    main = [r for r in records if _is_main(r)]
    judged = [r for r in main if r.seed in seeds]
    claim_arms = {study.baseline, *study.compared, *(a for p in study.parts for a in (p.baseline, *p.compared) if a)}
    claim_records = [r for r in judged if r.arm in claim_arms]
    notes: list[str] = []
    extra_seeds = sorted({r.seed for r in main} - seeds)
    if extra_seeds:
        notes.append(f"{len(extra_seeds)} stored seed(s) beyond the profile's pre-registered {prof.seeds} are not judged")
    entries: list[tuple[int, str, decide.Decision]] = []  # (part index, arm, decision) for the Holm family
    part_rows: list[dict[str, Any]] = []
    for i, part in enumerate(study.parts):
        base_arm, compared = study.part_arms(part)
        by_arm = _by_arm(claim_records, part)
        if part.within:
            entries.append((i, "+".join(compared), _within(part, by_arm, compared)))
        elif part.rule == "spread":  # one decision over all the part's arms together
            arms = (base_arm, *compared)
            missing = [a for a in arms if a not in by_arm]
            if missing:
                notes.append(f"{part.name}: no records for {', '.join(missing)}")
            entries.append((i, spread_label(arms), _spread(part, by_arm, arms)))
        elif part.rule == "exact":  # each named arm on its own (intersection-union), as every other rule
            for a in compared:
                entries.append((i, a, _exact(part, [v for v in (_value(r, part.metric, part.worst)
                                                               for r in by_arm.get(a, {}).values()) if v is not None])))
        else:
            missing = [a for a in (base_arm, *compared) if a not in by_arm]
            if missing:
                notes.append(f"{part.name}: no records for {', '.join(missing)}")
            for a in compared:
                entries.append((i, a, _compare(part, by_arm.get(base_arm, {}), by_arm.get(a, {}), base_arm, a)))
    deciding = [k for k, (i, _, _) in enumerate(entries) if study.parts[i].decides]
    status, fam = decide.composite([entries[k][2] for k in deciding])
    family = [e[2] for e in entries]
    for k, d in zip(deciding, fam):
        family[k] = d
    for d in family:  # say when Holm's adjustment, not the part's own interval, decided the status
        own = d.detail.get("own_status")
        if own and own != d.status:
            d.outcome = f"{own} on its own ({d.outcome}), {d.status} after Holm's adjustment across the parts"
    for i, part in enumerate(study.parts):
        base_arm, compared = study.part_arms(part)
        mine = [(a, d) for (j, a, d) in zip([e[0] for e in entries], [e[1] for e in entries], family) if j == i]
        sts = [d.status for _, d in mine]
        excluded = all(d.degenerate or d.outcome == "too few observations" for _, d in mine)
        pstatus = ("refuted" if "refuted" in sts else "supported" if sts and all(s == "supported" for s in sts)
                   else "inconclusive")
        part_rows.append({**part.describe(), "baseline": "" if part.within or part.rule == "spread" else base_arm,
                          "compared": list(compared) if part.rule != "spread" else [base_arm, *compared],
                          "status": pstatus, "excluded": excluded, "decides": part.decides,
                          "contrasts": [{"arm": a, **d.json()} for a, d in mine]})
        for a, d in mine:
            if d.degenerate:
                notes.append(f"{part.name} ({a}): degenerate, excluded from the verdict: {d.degenerate}")
    extras = _descriptive(study, judged, claim_arms)
    primary_idx = next(i for i, p in enumerate(study.parts) if p.primary)
    head = part_rows[primary_idx]
    metrics = sorted({p.metric for p in study.parts} | set(study.secondary) | {(study.rank or (study.primary.metric,))[0]})
    hyper = defaultdict(dict)
    for r in judged:
        hyper[r.cell][r.arm] = r.hyperparameters
    notes += _grid_edges(study, prof.config, hyper)
    return _clean({
        "study": study.id, "claim": study.claim, "kind": study.kind, "profile": profile, "smoke": prof.smoke,
        "label": SMOKE_LABEL if prof.smoke else "evidence",
        "status": status, "config_hash": records[0].config_hash if records else config_hash(study.id, prof.config),
        "fingerprint": records[0].fingerprint if records else "",
        "seeds": sorted(seeds & {r.seed for r in judged} - ({-1} if prof.seeds is not None else set())),
        "pre_registered_seeds": prof.seeds, "deterministic_units": sum(r.seed == -1 for r in judged),
        "primary": head["name"], "primary_rule": head.get("rule", "superiority"), "metric": head["metric"],
        "direction": head["direction"], "baseline": head["baseline"],
        "compared": head["compared"], "headline": head["contrasts"],
        "parts": part_rows, "descriptive": extras,
        "rule": ("Holm step-down over every (part, named arm) decision in both directions at one-sided 2.5 %; "
                 "a part holds only if it holds for every named arm; the claim is supported only if every "
                 "non-degenerate part is, refuted if any part is; supported needs the 95 % CI above 0 and the "
                 "estimate at least delta, refuted needs the CI below delta"),
        "summary": _summary(judged, metrics), "health": _health(judged), "hyper": dict(hyper),
        "policy": study.describe_policy(prof.config), "init": study.init, "figures": _figures(study, judged),
        "notes": sorted(set(notes)),
    })


def _level(v: Any) -> Any:
    return v if isinstance(v, (int, float, str)) else json.dumps(v, sort_keys=True)


def _sort_key(v: Any) -> tuple:
    return (0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v))


def _figure_series(fig: Any, records: Sequence[Record]) -> list[dict[str, Any]]:
    """The lines of a declared :class:`~.protocol.Figure`: mean and 95 % CI over seeds, per arm (and level)."""
    mine = [r for r in records if r.status == "done" and all(r.factors.get(k) == v for k, v in fig.cell.items())]
    lines: dict[tuple, dict[Any, list[float]]] = defaultdict(lambda: defaultdict(list))
    if fig.kind == "arms":
        for label, metric in (fig.lines or ((fig.y, fig.y),)):
            for r in mine:
                v = r.metrics.get(metric)
                if r.arm in fig.levels and isinstance(v, (int, float)) and math.isfinite(v):
                    lines[(label, None)][float(fig.levels[r.arm])].append(float(v))
    elif fig.kind == "factor":
        for r in mine:
            v = r.metrics.get(fig.y)
            if fig.x in r.factors and isinstance(v, (int, float)) and math.isfinite(v):
                lines[(r.arm, None)][_level(r.factors[fig.x])].append(float(v))
    else:
        for r in mine:
            arr = r.arrays.get(fig.y)
            if not isinstance(arr, (list, tuple)):
                continue
            level = _level(r.factors.get(fig.x)) if fig.x else None
            for i, v in enumerate(arr):
                if isinstance(v, (int, float)) and math.isfinite(v):
                    lines[(r.arm, level)][i].append(float(v))
    out = []
    for (arm, level), pts in sorted(lines.items(), key=lambda kv: (kv[0][0], _sort_key(kv[0][1]))):
        xs = sorted(pts, key=_sort_key)
        stats = [decide.mean_ci(pts[x]) for x in xs]
        label = arm if level is None else f"{arm}, {fig.x} {level}"
        out.append({"arm": arm, "level": level, "label": label, "x": xs, "mean": [m for m, _, _ in stats],
                    "lo": [lo for _, lo, _ in stats], "hi": [hi for _, _, hi in stats],
                    "n": [len(pts[x]) for x in xs]})
    return out


def _figures(study: Study, records: Sequence[Record]) -> list[dict[str, Any]]:
    from .protocol import Figure

    return [{**f.describe(), "series": _figure_series(f, records)} for f in study.figures if isinstance(f, Figure)]


def _grid_edges(study: Study, config: Any, hyper: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """A reviewer's first question of a tuned comparison: did any arm's optimum sit at the grid's edge?"""
    from .protocol import Tuned

    out = []
    for name, pol in study.policies(config).items():
        if not isinstance(pol, Tuned):
            continue
        for k, grid in pol.grid.items():
            vals = sorted(v for v in grid if isinstance(v, (int, float)))
            if len(vals) < 3:
                continue
            for cell, arms in hyper.items():
                if name and json.loads(cell).get("policy") != name:
                    continue
                for edge, where in ((vals[0], "smallest"), (vals[-1], "largest")):
                    at = sorted(a for a, h in arms.items() if h.get(k) == edge)
                    if at:
                        out.append(f"tuning chose the {where} {k} on the grid ({edge:g}) for {', '.join(at)} in "
                                   f"{cell}: the optimum may lie beyond the grid")
    return out


def _descriptive(study: Study, judged: Sequence[Record], claim_arms: set[str]) -> list[dict[str, Any]]:
    """Every other arm against the baseline (each part) and against each named arm (primary part)."""
    others = sorted({r.arm for r in judged} - claim_arms)
    out = []
    for arm in others:
        rows = []
        for part in study.parts:
            if part.rule == "exact":
                continue
            by_arm = _by_arm(judged, part)
            if part.within:  # the arm's own within-unit contrast, by seed
                rows.append({"part": part.name, "against": "0", **_within(part, by_arm, [arm]).json()})
                continue
            base_arm, compared = study.part_arms(part)
            if part.rule == "spread":  # does the arm's metric differ from the baseline's by delta, either way
                d = _spread(part, by_arm, (base_arm, arm))
                rows.append({"part": part.name, "against": base_arm, **d.json()})
                continue
            refs = [base_arm] + (list(compared) if part.primary else [])
            for ref in refs:
                d = _compare(part, by_arm.get(ref, {}), by_arm.get(arm, {}), ref, arm)
                rows.append({"part": part.name, "against": ref, **d.json()})
        out.append({"arm": arm, "comparisons": rows})
    return out


def study_records(study: Study, profile: str, records: Sequence[Record]) -> tuple[list[Record], dict[str, Any]]:
    """The records a verdict of ``profile`` judges, and where they came from.

    Picks the profile's config hash and, among its fingerprints, the current code's; if the current
    code has none, the fingerprint with the most records, flagged ``stale``.
    """
    from .fingerprint import study_fingerprint

    h = config_hash(study.id, study.profile(profile).config)
    mine = [r for r in records if r.study == study.id and r.config_hash == h]
    current = study_fingerprint(study)
    counts: dict[str, int] = defaultdict(int)
    for r in mine:
        counts[r.fingerprint] += 1
    if not counts:
        return [], {"config_hash": h, "fingerprint": current, "stale": False, "fingerprints": {}}
    fp = current if current in counts else max(counts, key=lambda f: (counts[f], f))
    return ([r for r in mine if r.fingerprint == fp],
            {"config_hash": h, "fingerprint": fp, "current_fingerprint": current, "stale": fp != current,
             "fingerprints": dict(counts)})


def verdict(study: Study, profile: str, records: Sequence[Record]) -> dict[str, Any] | None:
    """:func:`judge` on the right slice of ``records`` (None when the profile has none), with provenance."""
    recs, prov = study_records(study, profile, records)
    if not any(_is_main(r) for r in recs):
        return None
    v = judge(study, recs, profile)
    v["provenance"] = prov
    if prov["stale"]:
        v["notes"] = sorted(set(v["notes"]) | {
            f"judged records made by code fingerprint {prov['fingerprint']}; the current code is "
            f"{prov['current_fingerprint']}: re-run `actlab run {study.id} --profile {profile}` to refresh"})
    return v
