"""What the store holds, as plain data for the page: one entry per claim, ranks, and the methodology.

The report only reads and lays out: the store is opened read-only (a missing store is an empty one, and
is not created), its records are merged with the shipped evidence (:mod:`actlab.engine.evidence`), and
every verdict is :func:`actlab.engine.verdicts.verdict` on those records -- the same function ``actlab
verdict`` prints.  Nothing here computes a statistic: ranks order the verdict's own ``summary``.

Which profile is judged: the one passed (``actlab report --profile P``; the tour passes the profile it
ran), else the study's ``evidence`` profile, else -- when that has no records -- its ``quick`` one and
then any other profile with records.  A smoke-test profile's verdict carries ``smoke`` and the label
"smoke test, not evidence", and the page shows that label beside its status everywhere.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..claims import CLAIMS, Claim


@dataclass
class ClaimResult:
    """One claim of the ledger and what the store (and the shipped evidence) says about it."""

    claim: Claim
    study: Any = None  # the Study, or None when no study module exists yet
    status: str = "not run yet"  # supported | refuted | inconclusive | not run yet | error
    why: str = ""  # why "not run yet" / "error"
    verdict: dict[str, Any] | None = None  # actlab.engine.verdicts.verdict(...), plain JSON
    profile: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    config_hash: str = ""
    records: list[Any] = field(default_factory=list)  # the records the verdict judged from (no curves)
    shipped: int = 0  # how many of ``records`` came from the shipped evidence (not the store)

    @property
    def id(self) -> str:
        return self.claim.id

    @property
    def smoke(self) -> bool:
        return bool(self.verdict and self.verdict.get("smoke"))

    @property
    def label(self) -> str:
        return (self.verdict or {}).get("label", "")

    @property
    def provenance(self) -> dict[str, Any]:
        return (self.verdict or {}).get("provenance") or {}

    @property
    def stale(self) -> bool:
        return bool(self.provenance.get("stale"))

    @property
    def main_records(self) -> list[Any]:
        return [r for r in self.records if "phase" not in r.factors]

    @property
    def activations(self) -> list[str]:
        """Every arm with a main-phase record (the claim's, the controls, a user's)."""
        return sorted({r.arm for r in self.main_records})

    @property
    def seeds(self) -> list[int]:
        return sorted({r.seed for r in self.main_records})

    def to_json(self) -> dict[str, Any]:
        """What ``--json`` and ``verdicts.json`` say about the claim (the verdict carries smoke and label)."""
        return {"status": self.status, "why": self.why, "profile": self.profile, "smoke": self.smoke,
                "label": self.label, "config_hash": self.config_hash,
                "fingerprint": (self.verdict or {}).get("fingerprint", ""), "stale": self.stale}


def open_store(path: Path):
    """A read-only Store, or None when the file does not exist yet (an empty store: nothing run)."""
    from ..engine import Store

    if not Path(path).expanduser().exists():
        return None
    return Store(path, readonly=True)


def _candidates(study: Any) -> list[str]:
    """The evidence profile, then quick, then the other profiles in their declared order."""
    out = [study.evidence]
    for p in ("quick", *study.profiles):
        if p not in out:
            out.append(p)
    return out


def collect(store_path: Path, studies: Sequence[Any] | None = None, *, profile: str | None = None,
            shipped: bool = True) -> list[ClaimResult]:
    """Every claim of the ledger (plus any registered study whose id is not a ledger claim), judged.

    ``profile`` judges that profile's records only; by default the study's evidence profile, falling back
    to its quick smoke test (then any other profile) when the evidence profile has no records.
    ``shipped=False`` leaves the shipped evidence out.  Raises ``StoreError`` for an unusable store.
    """
    from ..engine.evidence import EvidenceError, merged, shipped_records
    from ..engine.protocol import config_dict
    from ..engine.verdicts import study_records, verdict
    from ..studies import all_studies

    from ..theory.card import STUDY as THEORY

    # stored theory cards (study THEORY) are no ledger claim: never judged, never shown as one
    studies = [s for s in (all_studies() if studies is None else studies) if s.id != THEORY]
    by_id = {s.id: s for s in studies}
    claims = dict(CLAIMS)
    for s in studies:  # a study for a claim outside the ledger is still shown, under its own claim text
        claims.setdefault(s.id, Claim(s.id, s.claim, s.kind, ""))  # type: ignore[arg-type]
    out = [ClaimResult(c, by_id.get(cid)) for cid, c in sorted(claims.items())]
    store = open_store(store_path)
    try:
        for cr in out:
            s = cr.study
            if s is None:
                cr.why = "no study module yet"
                continue
            if profile is not None and profile not in s.profiles:
                cr.why = f"study {s.id} has no profile {profile!r} (profiles: {', '.join(s.profiles)})"
                continue
            own = store.records(s.id, curves=False, arrays=s.needs_arrays) if store is not None else []
            try:
                ship = shipped_records(s.id) if shipped else []
            except EvidenceError as e:
                cr.status, cr.why = "error", f"the shipped evidence of {s.id} cannot be read: {e}"
                continue
            records = merged(own, ship)
            own_keys = {r.key for r in own}
            for prof in [profile] if profile is not None else _candidates(s):
                try:
                    v = verdict(s, prof, records)
                except Exception as e:  # a study's verdict must not take the whole report down
                    cr.status, cr.profile = "error", prof
                    cr.why = f"the verdict of {s.id} --profile {prof} raised {type(e).__name__}: {e}"
                    break
                if v is None:
                    continue
                cr.verdict, cr.status, cr.profile = v, v["status"], prof
                cr.config_hash = v["config_hash"]
                cr.config = config_dict(s.profile(prof).config)
                cr.records = study_records(s, prof, records)[0]
                cr.shipped = sum(r.key not in own_keys for r in cr.records)
                break
            else:
                want = profile or s.evidence
                where = "in the store or the shipped evidence" if shipped else "in the store"
                cr.why = (f"no records of profile {want} {where}: run `actlab run {s.id} --profile {want}`"
                          + ("" if profile else " (or `--profile quick`, a smoke test)"))
    finally:
        if store is not None:
            store.close()
    return out


def theory_cards(store_path: Path, *, shipped: bool = True, progress: Any = None) -> dict[str, dict[str, Any]]:
    """The stored theory card of each activation, by canonical name: read, never computed.

    Cards are records of study ``THEORY`` (:func:`actlab.theory.card.card_record`, written by ``actlab
    tour`` and ``actlab evaluate``) in the store, merged with the shipped ones (``results/THEORY.jsonl.gz``;
    the store's wins on a clash).  Per name: the card of the current theory code's fingerprint, else the
    newest of another.  Each entry: ``{"card", "fingerprint", "current", "current_fingerprint", "shipped",
    "finished"}``.  A missing store has no cards; a shipped file that cannot be read is left out (and
    ``progress`` told why).
    """
    from ..engine.evidence import EvidenceError, merged, shipped_records
    from ..theory.card import CONFIG, STUDY, card_fingerprint

    store = open_store(store_path)
    try:
        own = store.records(STUDY, CONFIG, curves=False, arrays=True) if store is not None else []
    finally:
        if store is not None:
            store.close()
    try:
        ship = [r for r in shipped_records(STUDY) if r.config_hash == CONFIG] if shipped else []
    except EvidenceError as e:
        if progress is not None:
            progress(f"shipped theory cards left out: {e}")
        ship = []
    own_keys = {r.key for r in own}
    fp = card_fingerprint()
    best: dict[str, Any] = {}
    for r in merged(own, ship):
        card = (r.arrays or {}).get("card")
        if r.status != "done" or not isinstance(card, dict):
            continue
        rank = (r.fingerprint == fp, r.finished or 0.0, r.key in own_keys)
        if r.arm not in best or rank > best[r.arm][0]:
            best[r.arm] = (rank, r)
    return {arm: {"card": r.arrays["card"], "fingerprint": r.fingerprint, "current": r.fingerprint == fp,
                  "current_fingerprint": fp, "shipped": r.key not in own_keys, "finished": r.finished}
            for arm, (_, r) in sorted(best.items())}


def _primary(v: dict[str, Any]) -> dict[str, Any]:
    return next((p for p in v.get("parts") or [] if p.get("primary")), {})


def primary_cell(v: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(cell key, {arm: {metric: stats}})``: the verdict's summary in the primary part's cell.

    The cell is the first (in key order) whose design factors include the primary part's ``cell``.
    """
    want = _primary(v).get("cell") or {}
    for key, arms in sorted((v.get("summary") or {}).items()):
        try:
            factors = json.loads(key) if key else {}
        except ValueError:
            continue
        if all(factors.get(k) == x for k, x in want.items()):
            return key, arms
    return "", {}


def rank_metric(cr: ClaimResult) -> tuple[str, str]:
    """The metric and direction that order arms: the study's ``rank``, else the primary part's."""
    v = cr.verdict or {}
    if cr.study is not None and getattr(cr.study, "rank", None):
        m, d = cr.study.rank
        return m, d
    return v.get("metric", ""), v.get("direction", "higher")


def cell_text(key: str) -> str:
    """``{"task":"mnist1d_mlp"}`` -> ``task=mnist1d_mlp``; the single cell ``{}`` -> ``""``."""
    try:
        f = json.loads(key) if key else {}
    except ValueError:
        return key
    return ", ".join(f"{k}={v}" for k, v in f.items())


def ranks(cr: ClaimResult) -> dict[str, dict[str, Any]]:
    """Each arm's rank on the study's rank metric in the primary part's cell, best first.

    ``{arm: {"rank", "of", "mean", "lo", "hi", "n", "metric", "direction", "cell"}}``, read from the
    verdict's ``summary`` (mean and 95 % CI over the judged seeds); arms with no finished unit are left
    out; equal means share the better rank.
    """
    v = cr.verdict
    if not v:
        return {}
    metric, direction = rank_metric(cr)
    cell, arms = primary_cell(v)
    rows = []
    for arm, stats in arms.items():
        m = stats.get(metric)
        if m and isinstance(m.get("mean"), (int, float)):
            rows.append((arm, m))
    rows.sort(key=lambda r: (-r[1]["mean"] if direction == "higher" else r[1]["mean"], r[0]))
    out: dict[str, dict[str, Any]] = {}
    for i, (arm, m) in enumerate(rows):
        rank = i + 1 if i == 0 or m["mean"] != rows[i - 1][1]["mean"] else out[rows[i - 1][0]]["rank"]
        out[arm] = {"rank": rank, "of": len(rows), "mean": m["mean"], "lo": m.get("lo"), "hi": m.get("hi"),
                    "n": m.get("n"), "metric": metric, "direction": direction, "cell": cell_text(cell)}
    return out


def methodology(results: Sequence[ClaimResult], store_path: Path) -> dict[str, Any]:
    """Profile, seeds, versions, machine and time, read from the judged records (and this process for the
    versions that render the page)."""
    import torch

    from .. import __version__

    recs = [r for cr in results for r in cr.records]
    envs = [r.env for r in recs if r.env]
    per_study = {}
    for cr in results:
        if cr.verdict is not None:
            prov = cr.provenance
            per_study[cr.id] = {
                "profile": cr.profile, "smoke": cr.smoke, "label": cr.label, "config_hash": cr.config_hash,
                "fingerprint": cr.verdict.get("fingerprint", ""), "stale": cr.stale,
                "current_fingerprint": prov.get("current_fingerprint", prov.get("fingerprint", "")),
                "config": cr.config, "seeds": cr.seeds, "pre_registered_seeds": cr.verdict.get("pre_registered_seeds"),
                "activations": len(cr.activations), "units": len(cr.records), "shipped": cr.shipped,
                "seconds": sum(r.seconds or 0.0 for r in cr.records),
                "statuses": {s: sum(r.status == s for r in cr.records) for s in ("done", "diverged", "failed")},
            }
    started = [r.started for r in recs if r.started]
    finished = [r.finished for r in recs if r.finished]
    return {
        "store": str(Path(store_path).expanduser()),
        "profiles": sorted({cr.profile for cr in results if cr.verdict is not None}),
        "seeds": sorted({r.seed for cr in results for r in cr.main_records}),
        "units": len(recs),
        "shipped_units": sum(cr.shipped for cr in results),
        "compute_seconds": sum(r.seconds or 0.0 for r in recs),
        "first_started": time.strftime("%Y-%m-%d %H:%M", time.localtime(min(started))) if started else None,
        "last_finished": time.strftime("%Y-%m-%d %H:%M", time.localtime(max(finished))) if finished else None,
        "elapsed_seconds": (max(finished) - min(started)) if started and finished else 0.0,
        "record_fingerprints": sorted({r.fingerprint for r in recs}),
        "record_torch": sorted({str(e.get("torch")) for e in envs if e.get("torch")}),
        "record_python": sorted({str(e.get("python")) for e in envs if e.get("python")}),
        "record_hosts": sorted({r.host for r in recs if r.host}),
        "record_platforms": sorted({str(e.get("platform")) for e in envs if e.get("platform")}),
        "record_backends": sorted({str(e.get("backend")) for e in envs if e.get("backend")}),
        "actlab": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "per_study": per_study,
        "generated": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
