"""What the store holds, as plain data for the page: one entry per claim, ranks, and the methodology.

The report only reads: the store is opened read-only (a missing store is an empty one, and is not
created), and every verdict is the study's own ``verdict(records, config)`` on the stored records.
"""

from __future__ import annotations

import dataclasses
import math
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..claims import CLAIMS, Claim


@dataclass
class ClaimResult:
    """One claim of the ledger and what the store says about it."""

    claim: Claim
    study: Any = None  # the Study, or None when no study module exists yet
    status: str = "not run yet"  # supported | refuted | inconclusive | not run yet | error
    why: str = ""  # why "not run yet" / "error"
    verdict: dict[str, Any] | None = None  # Verdict.to_json()
    profile: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    config_hash: str = ""
    records: list[Any] = field(default_factory=list)  # Records (without curves)

    @property
    def id(self) -> str:
        return self.claim.id

    @property
    def activations(self) -> list[str]:
        return sorted({r.activation for r in self.records})

    @property
    def seeds(self) -> list[int]:
        return sorted({r.seed for r in self.records})


def _config_object(study: Any, h: str, stored: dict[str, Any]) -> Any:
    """The config the records were made with: a profile's own object when the hash matches one."""
    from ..engine import config_hash

    for cfg in study.profiles.values():
        if config_hash(study.id, cfg) == h:
            return cfg
    cls = type(study.profiles["quick"])
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in stored.items() if k in names})


def open_store(path: Path):
    """A read-only Store, or None when the file does not exist yet (an empty store: nothing run)."""
    from ..engine import Store

    if not Path(path).expanduser().exists():
        return None
    return Store(path, readonly=True)


def collect(store_path: Path, studies: Sequence[Any] | None = None, *, profile: str | None = None) -> list[ClaimResult]:
    """Every claim of the ledger (plus any registered study whose id is not a ledger claim), judged.

    ``profile`` picks that profile's records; by default the config with the most records is judged
    (the same rule as ``actlab verdict``).  Raises ``StoreError`` for an unusable store.
    """
    from ..claims import Claim
    from ..engine import config_hash
    from ..studies import all_studies

    studies = list(all_studies() if studies is None else studies)
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
            if store is None:
                cr.why = f"no store at {store_path}: run `actlab tour` or `actlab run {s.id}`"
                continue
            known = [c for c in store.configs(s.id) if c["records"]]
            if profile is not None:
                if profile not in s.profiles:
                    cr.why = f"study {s.id} has no profile {profile!r}"
                    continue
                h = config_hash(s.id, s.profiles[profile])
                known = [c for c in known if c["hash"] == h]
            if not known:
                cr.why = f"no stored records: run `actlab run {s.id}`" + (f" --profile {profile}" if profile else "")
                continue
            c = known[0]
            cr.config_hash, cr.profile, cr.config = c["hash"], c["profile"], c["config"]
            cr.records = store.records(s.id, c["hash"], curves=False)
            try:
                cfg = _config_object(s, c["hash"], c["config"])
                v = s.verdict(cr.records, cfg)
                cr.verdict = v.to_json()
                cr.status = cr.verdict["status"]
            except Exception as e:  # a study's verdict must not take the whole report down
                cr.status = "error"
                cr.why = f"the verdict of {s.id} raised {type(e).__name__}: {e}"
    finally:
        if store is not None:
            store.close()
    return out


def ranks(cr: ClaimResult) -> dict[str, dict[str, Any]]:
    """Each activation's rank on the claim's headline metric, best first in the claim's direction.

    ``{activation: {"rank", "of", "mean", "lo", "hi", "metric", "direction"}}``; activations with no
    finished unit are left out.
    """
    v = cr.verdict
    if not v:
        return {}
    metric, direction = v["metric"], v["direction"]
    rows = []
    for act, s in (v.get("summary") or {}).items():
        m = s.get(metric)
        if m and isinstance(m.get("mean"), (int, float)) and math.isfinite(m["mean"]):
            rows.append((act, m))
    rows.sort(key=lambda r: -r[1]["mean"] if direction == "higher" else r[1]["mean"])
    out: dict[str, dict[str, Any]] = {}
    for i, (act, m) in enumerate(rows):
        # ties share the better rank
        rank = i + 1 if i == 0 or m["mean"] != rows[i - 1][1]["mean"] else out[rows[i - 1][0]]["rank"]
        out[act] = {"rank": rank, "of": len(rows), "mean": m["mean"], "lo": m.get("lo"), "hi": m.get("hi"),
                    "metric": metric, "direction": direction}
    return out


def methodology(results: Sequence[ClaimResult], store_path: Path) -> dict[str, Any]:
    """Profile, seeds, versions, machine and time, read from the records (and this process for the
    versions that render the page)."""
    import torch

    from .. import __version__

    recs = [r for cr in results for r in cr.records]
    envs = [r.env for r in recs if r.env]
    per_study = {}
    for cr in results:
        if cr.records:
            per_study[cr.id] = {
                "profile": cr.profile, "config_hash": cr.config_hash, "config": cr.config,
                "seeds": cr.seeds, "activations": len(cr.activations), "units": len(cr.records),
                "seconds": sum(r.seconds or 0.0 for r in cr.records),
                "statuses": {s: sum(r.status == s for r in cr.records) for s in ("done", "diverged", "failed")},
            }
    started = [r.started for r in recs if r.started]
    finished = [r.finished for r in recs if r.finished]
    return {
        "store": str(Path(store_path).expanduser()),
        "profiles": sorted({r.profile for r in recs if r.profile}),
        "seeds": sorted({r.seed for r in recs}),
        "units": len(recs),
        "compute_seconds": sum(r.seconds or 0.0 for r in recs),
        "first_started": time.strftime("%Y-%m-%d %H:%M", time.localtime(min(started))) if started else None,
        "last_finished": time.strftime("%Y-%m-%d %H:%M", time.localtime(max(finished))) if finished else None,
        "elapsed_seconds": (max(finished) - min(started)) if started and finished else 0.0,
        "record_versions": sorted({r.version for r in recs}),
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
