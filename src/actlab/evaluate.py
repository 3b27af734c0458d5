"""The main jobs: ``tour`` (every study on the default set, then the report) and ``evaluate`` (a user's
activation checked, run through every study beside the standard set, then a report card).

These run experiments and then render; the two halves stay apart: the sweeps write the store, the
report (:mod:`actlab.report`) reads it.  Both resume: a unit the store already holds is skipped.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

__all__ = ["UnfitActivation", "evaluate", "fatal_findings", "run_studies", "tour"]

Log = Callable[[str], None]

#: checks whose failure makes an activation unfit to evaluate; NaN propagation is reported, not fatal
#: (a network trains the same whether NaN in gives NaN out or not)
_ADVISORY = ("nan",)


class UnfitActivation(ValueError):
    """The activation failed a check that training or analysis needs (bad input: exit 2)."""


def _quiet(msg: str) -> None:
    pass


def _studies(studies: Sequence[Any] | None) -> list[Any]:
    from .studies import all_studies

    return list(all_studies() if studies is None else studies)


def _check_profile(studies: Sequence[Any], profile: str) -> None:
    missing = [s.id for s in studies if profile not in s.profiles]
    if missing:
        raise ValueError(f"profile {profile!r} is not defined by {', '.join(missing)}; use --profile quick or full")


def run_studies(studies: Sequence[Any], profile: str, store: Path | None, *, extra: Sequence[str] = (),
                jobs: int | None = None, quiet: bool = False, log: Log = _quiet) -> list[dict[str, Any]]:
    """Run each study's ``profile`` on its default arms (baseline, named arms, controls) plus ``extra``
    arms, skipping stored units.

    ``extra`` arms (a user's activation) are descriptive: ``run_sweep`` always adds the claim's baseline
    and named arms, and the verdict never judges the claim on an extra arm.  Returns one row per study:
    ``id``, ``units``, ``skipped``, ``done``, ``diverged``, ``failed``, ``seconds`` (wall time of this run)
    and ``error`` (a study that could not run at all).
    """
    from .engine import Store, StoreError, progress, run_sweep

    _check_profile(studies, profile)
    db = Store(store)  # StoreError (locked, read-only, corrupt) is the caller's bad input
    rows = []
    try:
        for study in studies:
            # the study's own arms first; run_sweep drops duplicates by canonical name
            acts = [*study.arms, *(a for a in extra if a not in study.arms)] if extra else None
            prog = progress.make_progress(quiet=quiet)
            t0 = time.time()
            row: dict[str, Any] = {"id": study.id, "units": 0, "skipped": 0, "done": 0, "diverged": 0, "failed": 0,
                                   "seconds": 0.0, "error": None}
            try:
                s = run_sweep(study, profile, activations=acts, store=db, jobs=jobs, on_start=prog.on_start,
                              on_job=prog.on_job, on_running=prog.on_running)
                row.update(units=s.total, skipped=s.skipped, done=s.done, diverged=s.diverged, failed=s.failed,
                           errors=s.errors[:5])
            except StoreError:
                raise
            except Exception as e:  # one broken study must not stop the tour; the report shows it
                row["error"] = f"{type(e).__name__}: {e}"
                log(f"{study.id}: could not run ({row['error']})")
            finally:
                prog.close()
            row["seconds"] = time.time() - t0
            rows.append(row)
    finally:
        db.close()
    return rows


def timing_table(rows: Sequence[dict[str, Any]]) -> str:
    """The per-study time table printed at the end of a tour (so the budget is visible)."""
    lines = [f"{'study':<7}{'units':>7}{'stored':>8}{'ran':>6}{'failed':>8}{'time':>10}"]
    for r in rows:
        ran = r["done"] + r["diverged"]
        t = f"{r['seconds']:.1f}s"
        lines.append(f"{r['id']:<7}{r['units']:>7}{r['skipped']:>8}{ran:>6}{r['failed']:>8}{t:>10}"
                     + (f"  error: {r['error']}" if r.get("error") else ""))
    lines.append(f"{'total':<7}{sum(r['units'] for r in rows):>7}{sum(r['skipped'] for r in rows):>8}"
                 f"{sum(r['done'] + r['diverged'] for r in rows):>6}{sum(r['failed'] for r in rows):>8}"
                 f"{sum(r['seconds'] for r in rows):>9.1f}s")
    return "\n".join(lines)


def tour(profile: str = "quick", store: Path | None = None, out: Path = Path("actlab-report"), *,
         jobs: int | None = None, studies: Sequence[Any] | None = None, quiet: bool = False,
         log: Log = _quiet) -> dict[str, Any]:
    """Every registered study on its default arms with ``profile``, then the report of that profile in ``out``
    (a quick tour's verdicts are labelled "smoke test, not evidence")."""
    from .report import write_report
    from .report.page import prepare_out

    t0 = time.time()
    studies = _studies(studies)
    _check_profile(studies, profile)
    prepare_out(out)  # fail before hours of work, not after
    store = _usable_store(store)
    rows = run_studies(studies, profile, store, jobs=jobs, quiet=quiet, log=log)
    log("writing the report")
    report = write_report(out, store, studies=studies, profile=profile, progress=log)
    return {"profile": profile, "store": str(store), "studies": rows, "report": report, "seconds": time.time() - t0}


def _usable_store(store: Path | None) -> Path:
    """The store path, opened once for writing so a locked, read-only or corrupt store fails (StoreError)
    before any work or output."""
    from .engine import Store, default_path

    path = Path(store).expanduser() if store is not None else default_path()
    Store(path).close()
    return path


def fatal_findings(findings: Sequence[Any]) -> list[Any]:
    return [f for f in findings if not f.ok and f.check not in _ADVISORY]


def _target_text(target: Any) -> str:
    """A string a worker process can resolve: the text itself, or ``module:qualname`` of an object."""
    if isinstance(target, str):
        return target
    mod, qual = getattr(target, "__module__", None), getattr(target, "__qualname__", None)
    if mod and qual and "<" not in qual and mod != "__main__":
        return f"{mod}:{qual}"
    raise ValueError("evaluate needs an importable activation: pass 'my_pkg.my_module:MyActivation' "
                     "(a module-level function or nn.Module class) or a zoo name")


def check(target: Any) -> tuple[Any, list[Any]]:
    """``(Activation, findings)``; raises :class:`UnfitActivation` naming every failed check."""
    from .zoo import get
    from .zoo.check import check_activation

    act = get(target)
    findings = check_activation(act)
    bad = fatal_findings(findings)
    if bad:
        raise UnfitActivation(f"{act.name} is not fit to evaluate: " + "; ".join(f"{f.check}: {f.message}" for f in bad))
    return act, findings


def evaluate(target: Any, profile: str = "quick", out: Path = Path("actlab-evaluate"), store: Path | None = None, *,
             jobs: int | None = None, studies: Sequence[Any] | None = None, quiet: bool = False,
             log: Log = _quiet) -> dict[str, Any]:
    """Check ``target``, run every study on it beside each study's default arms, write the card.

    The target is an extra, descriptive arm of every study: its comparisons on the card are the
    verdict's ``descriptive`` entry for it, and it never changes a claim's verdict.

    ``target``: ``"my_pkg.my_module:MyActivation"`` (a function, an ``nn.Module`` instance or class),
    a zoo name or spec string, or an importable module-level object.
    """
    from .report.evaluation import write_evaluation
    from .report.page import prepare_out
    from .zoo import DEFAULT_SET, get

    t0 = time.time()
    text = _target_text(target)
    act, findings = check(text)
    if act.spec.user:
        for std in DEFAULT_SET:
            if get(std).name == act.spec.name:
                raise ValueError(f"your activation's name {act.spec.name!r} is the name of the standard {std}, so their "
                                 "stored results would mix; rename the function or class")
    studies = _studies(studies)
    _check_profile(studies, profile)
    prepare_out(out)
    store = _usable_store(store)
    log(f"{act.name}: {sum(f.ok for f in findings)}/{len(findings)} checks passed; running {len(studies)} studies")
    rows = run_studies(studies, profile, store, extra=[text], jobs=jobs, quiet=quiet, log=log)
    log("writing the report card")
    report = write_evaluation(out, store, act, findings, target=text, studies=studies, profile=profile, progress=log)
    return {"profile": profile, "store": str(store), "activation": act.name, "studies": rows, "report": report,
            "seconds": time.time() - t0}
