"""Verdict statistics, computed from stored records only.

The effect of a claim "activations C do better than baseline B on metric m" is paired by seed: for
every seed where B and all of C finished, ``d_s = mean_c m(c, s) - m(B, s)``.  The effect is the mean
of ``d_s`` and its confidence interval is Student's t across seeds.  The verdict is

* **supported** if the interval excludes 0 in the claimed direction,
* **refuted** if it excludes 0 in the opposite direction,
* **inconclusive** otherwise, or with fewer than ``MIN_SEEDS`` paired seeds.

Diverged and failed units carry no metric and are left out (and counted in ``notes``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Iterable, Sequence

from .protocol import Record, Verdict

__all__ = ["MIN_SEEDS", "mean_ci", "summarise", "paired_verdict", "contrast_verdict", "combine"]

MIN_SEEDS = 3


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t interval; with one value the interval is (nan, nan)."""
    from scipy import stats

    v = [float(x) for x in values if x is not None and math.isfinite(float(x))]
    n = len(v)
    if n == 0:
        return math.nan, math.nan, math.nan
    m = sum(v) / n
    if n == 1:
        return m, math.nan, math.nan
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return m, m - half, m + half


def _table(records: Iterable[Record]) -> dict[str, dict[int, Record]]:
    """activation -> seed -> newest record (several package versions may hold the same unit)."""
    t: dict[str, dict[int, Record]] = defaultdict(dict)
    for r in records:
        old = t[r.activation].get(r.seed)
        if old is None or r.finished >= old.finished:
            t[r.activation][r.seed] = r
    return t


def summarise(records: Iterable[Record], confidence: float = 0.95) -> dict[str, dict[str, dict[str, float]]]:
    """Per activation and metric: ``{"mean", "lo", "hi", "n"}`` over finished seeds, plus status counts."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for act, by_seed in sorted(_table(records).items()):
        values: dict[str, list[float]] = defaultdict(list)
        for r in by_seed.values():
            if r.status == "done":
                for k, v in r.metrics.items():
                    if isinstance(v, (int, float)):
                        values[k].append(float(v))
        stats_ = {}
        for k, vs in sorted(values.items()):
            m, lo, hi = mean_ci(vs, confidence)
            stats_[k] = {"mean": m, "lo": lo, "hi": hi, "n": len([x for x in vs if math.isfinite(x)])}
        statuses = [r.status for r in by_seed.values()]
        stats_["_units"] = {s: float(statuses.count(s)) for s in ("done", "diverged", "failed")}
        out[act] = stats_
    return out


def _decide(values: Sequence[float], direction: str, confidence: float, notes: list[str],
            what: str) -> tuple[float, float, float, str]:
    """Effect, CI and status from per-seed (or per-unit) values -- the rule in the module docstring."""
    effect, lo, hi = mean_ci(values, confidence) if values else (math.nan, math.nan, math.nan)
    if len(values) < MIN_SEEDS:
        notes.append(f"{len(values)} {what}; a verdict needs at least {MIN_SEEDS}")
        return effect, lo, hi, "inconclusive"
    sign = 1.0 if direction == "higher" else -1.0
    lo_s, hi_s = sorted((sign * lo, sign * hi))
    return effect, lo, hi, "supported" if lo_s > 0 else "refuted" if hi_s < 0 else "inconclusive"


def paired_verdict(records: Sequence[Record], *, study: str, claim: str, metric: str, direction: str, baseline: str,
                   compared: Sequence[str], confidence: float = 0.95, config_hash: str = "") -> Verdict:
    """The paired-by-seed verdict described in the module docstring."""
    if direction not in ("higher", "lower"):
        raise ValueError(f"direction must be 'higher' or 'lower', got {direction!r}")
    table = _table(records)
    notes: list[str] = []
    present = [a for a in (baseline, *compared) if a in table]
    missing = [a for a in (baseline, *compared) if a not in table]
    if missing:
        notes.append(f"no records for {', '.join(missing)}: run the study with them in --activations")
    diffs: list[float] = []
    left_out = 0
    seeds = sorted(set.intersection(*(set(table[a]) for a in present))) if present and not missing else []
    for s in seeds:
        rs = [table[a][s] for a in (baseline, *compared)]
        vals = [r.metrics.get(metric) for r in rs]
        if any(r.status != "done" for r in rs) or any(v is None or not math.isfinite(float(v)) for v in vals):
            left_out += 1
            continue
        base, *others = (float(v) for v in vals)
        diffs.append(sum(others) / len(others) - base)
    if left_out:
        notes.append(f"{left_out} seed(s) left out: a unit diverged, failed or lacks {metric!r}")
    n = len(diffs)
    effect, lo, hi, status = _decide(diffs, direction, confidence, notes, "paired seed(s)")
    return Verdict(study=study, claim=claim, status=status, metric=metric, direction=direction, baseline=baseline,
                   compared=list(compared), effect=effect if n else None, ci=[lo, hi] if n >= 2 else None, n_seeds=n,
                   confidence=confidence, config_hash=config_hash,
                   method=f"paired by seed: mean({', '.join(compared)}) - {baseline}; Student-t {confidence:.0%} CI",
                   rule="supported if the CI excludes 0 in the claimed direction, refuted if it excludes 0 the other way",
                   notes=notes)


def contrast_verdict(records: Sequence[Record], *, study: str, claim: str, metric: str, direction: str,
                     confidence: float = 0.95, config_hash: str = "") -> Verdict:
    """A claim about a contrast *inside* each unit (arm A minus arm B of the same activation and seed).

    ``metric`` is a per-unit difference the study stores (e.g. ``"hermite-newton/grad_cosine"``).  Every
    finished unit -- each activation and seed -- is one observation; the effect is their mean with a
    Student-t interval, and the rule is :func:`paired_verdict`'s (at least ``MIN_SEEDS`` observations).
    """
    if direction not in ("higher", "lower"):
        raise ValueError(f"direction must be 'higher' or 'lower', got {direction!r}")
    notes: list[str] = []
    values: list[float] = []
    acts: set[str] = set()
    left_out = 0
    for act, by_seed in sorted(_table(records).items()):
        for r in by_seed.values():
            v = r.metrics.get(metric)
            if r.status != "done" or v is None or not math.isfinite(float(v)):
                left_out += 1
                continue
            values.append(float(v))
            acts.add(act)
    if left_out:
        notes.append(f"{left_out} unit(s) left out: diverged, failed or lacking {metric!r}")
    n = len(values)
    effect, lo, hi, status = _decide(values, direction, confidence, notes, "unit(s)")
    return Verdict(study=study, claim=claim, status=status, metric=metric, direction=direction, baseline="0",
                   compared=sorted(acts), effect=effect if n else None, ci=[lo, hi] if n >= 2 else None, n_seeds=n,
                   confidence=confidence, config_hash=config_hash,
                   method=f"mean over units (activation x seed) of the within-unit contrast {metric}; "
                          f"Student-t {confidence:.0%} CI",
                   rule="supported if the CI excludes 0 in the claimed direction, refuted if it excludes 0 the other way",
                   notes=notes)


def combine(parts: Sequence[Verdict], *, study: str, claim: str, primary: int = 0, records: Sequence[Record] = (),
            config_hash: str = "") -> Verdict:
    """A composite claim: supported if every part is, refuted if any part is, else inconclusive.

    The headline metric, effect and CI are those of ``parts[primary]``; ``summary`` is filled from
    ``records``.
    """
    statuses = [p.status for p in parts]
    status = ("supported" if statuses and all(s == "supported" for s in statuses)
              else "refuted" if "refuted" in statuses else "inconclusive")
    head = parts[primary]
    return Verdict(study=study, claim=claim, status=status, metric=head.metric, direction=head.direction,
                   baseline=head.baseline, compared=head.compared, effect=head.effect, ci=head.ci, n_seeds=head.n_seeds,
                   confidence=head.confidence, method=head.method, config_hash=config_hash,
                   rule="composite: supported if every part is supported, refuted if any part is refuted, "
                        "inconclusive otherwise; headline numbers are those of the first part",
                   summary=summarise(records, head.confidence), parts=list(parts),
                   notes=sorted({n for p in parts for n in p.notes}))
