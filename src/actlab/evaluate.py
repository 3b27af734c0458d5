"""The main jobs: ``tour`` (every study on the default set, then the report) and ``evaluate`` (a user's
activation checked, run through every study beside the standard set, then a report card).

These run experiments and then render; the two halves stay apart: the sweeps write the store, the
report (:mod:`actlab.report`) reads it.  Both resume: a unit the store already holds is skipped.  The
theory numbers of the activation cards are computed here too (:func:`store_cards`), stored as records of
study ``THEORY``, before the report is written; the report only reads them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

__all__ = ["UnfitActivation", "card_names", "evaluate", "fatal_findings", "nearest", "run_studies", "store_cards", "tour"]

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
                jobs: int | None = None, quiet: bool = False, log: Log = _quiet,
                stop: Any = None) -> list[dict[str, Any]]:
    """Run each study's ``profile`` on its default arms (baseline, named arms, controls) plus ``extra``
    arms, skipping stored units.

    ``extra`` arms (a user's activation) are descriptive: ``run_sweep`` always adds the claim's baseline
    and named arms, and the verdict never judges the claim on an extra arm.  Returns one row per study:
    ``id``, ``units``, ``skipped``, ``done``, ``diverged``, ``failed``, ``seconds`` (wall time of this run)
    and ``error`` (a study that could not run at all).

    ``stop`` (:class:`actlab.engine.StopFlag`): once set, the study running stores its work in flight and
    :class:`actlab.engine.Interrupted` is raised, its ``message`` the ``stopped: N of M units stored``
    line over every study of the call.
    """
    from .engine import Interrupted, Store, StoreError, progress, run_sweep
    from .engine.sweep import plan_sweep, stop_line

    _check_profile(studies, profile)
    db = Store(store)  # StoreError (locked, read-only, corrupt) is the caller's bad input
    rows = []

    def arms(study: Any) -> list[str] | None:
        # the study's own arms first; run_sweep drops duplicates by canonical name
        return [*study.arms, *(a for a in extra if a not in study.arms)] if extra else None

    plans = []
    for study in studies:
        try:
            plans.append(plan_sweep(study, profile, activations=arms(study)))
        except Exception:  # reported as the study's error below
            pass
    try:
        for study in studies:
            if stop is not None and stop.requested:
                raise Interrupted(stop.signum)
            acts = arms(study)
            prog = progress.make_progress(quiet=quiet)
            t0 = time.time()
            row: dict[str, Any] = {"id": study.id, "units": 0, "skipped": 0, "done": 0, "diverged": 0, "failed": 0,
                                   "seconds": 0.0, "error": None}
            try:
                s = run_sweep(study, profile, activations=acts, store=db, jobs=jobs, on_start=prog.on_start,
                              on_job=prog.on_job, on_running=prog.on_running, stop=stop)
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
        if stop is not None and stop.requested:
            raise Interrupted(stop.signum)
    except Interrupted as e:
        e.message = stop_line(plans, db)
        raise
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


def card_names(store: Path | None, studies: Sequence[Any], first: Sequence[str]) -> list[str]:
    """``first``, then every arm that the store or the shipped evidence holds a record of for ``studies``
    (any profile): the activations a report of them may show a card for."""
    from .engine import Store, default_path
    from .engine.evidence import EvidenceError, shipped_records

    names, seen = list(first), set(first)
    arms: set[str] = set()
    path = Path(store).expanduser() if store is not None else default_path()
    db = Store(path, readonly=True) if path.exists() else None
    try:
        for s in studies:
            if db is not None:
                arms.update(r.arm for r in db.iter_records(s.id, curves=False, arrays=False))
            try:
                arms.update(r.arm for r in shipped_records(s.id))
            except EvidenceError:  # the report shows that study's error; its arms get no card here
                pass
    finally:
        if db is not None:
            db.close()
    for a in sorted(arms - seen):
        names.append(a)
    return names


def store_cards(store: Any, activations: Sequence[Any], log: Log = _quiet) -> dict[str, Any]:
    """Compute and store the theory card of each activation the store lacks for the current theory code.

    ``store``: a :class:`~actlab.engine.Store` or its path.  ``activations``: Activation objects, or names
    read from a store -- looked up in the zoo registry only (never imported); a name the zoo does not know
    is skipped.  Cards already stored under :func:`actlab.theory.card.card_fingerprint` are not computed
    again.  Returns ``{"fingerprint", "computed", "stored", "skipped", "failed"}`` (names; ``failed``:
    ``{name: error}`` of a card that raised, left unstored so a rerun tries again).
    """
    from .engine import Store
    from .report.page import store_activation
    from .theory.card import CONFIG, STUDY, card_fingerprint, card_record

    fp = card_fingerprint()
    acts, skipped, seen = [], [], set()
    for a in activations:
        if isinstance(a, str) and a in seen:
            continue
        act = store_activation(a) if isinstance(a, str) else a
        if act is None:
            skipped.append(a)
            continue
        if act.name not in seen:
            seen.add(act.name)
            acts.append(act)
    own = not isinstance(store, Store)
    db = Store(store) if own else store
    try:
        have = {arm for _, _, arm, _ in db.finished_keys(STUDY, CONFIG, fp)}
        todo = [a for a in acts if a.name not in have]
        computed: list[str] = []
        failed: dict[str, str] = {}
        for i, act in enumerate(todo):
            log(f"theory card {i + 1}/{len(todo)}: {act.name}")
            try:
                rec = card_record(act, fingerprint=fp)
            except Exception as e:  # a user's callable may fail inside theory in ways the checks missed
                failed[act.name] = f"{type(e).__name__}: {e}"
                log(f"theory card of {act.name} failed ({failed[act.name]}); its card will say it is not computed")
                continue
            db.put([rec])
            computed.append(act.name)
        if not todo:
            log(f"theory cards: all {len(acts)} stored for theory code {fp}")
    finally:
        if own:
            db.close()
    return {"fingerprint": fp, "computed": computed, "stored": sorted(have & seen), "skipped": skipped,
            "failed": failed}


def tour(profile: str = "quick", store: Path | None = None, out: Path = Path("actlab-report"), *,
         jobs: int | None = None, studies: Sequence[Any] | None = None, quiet: bool = False,
         log: Log = _quiet, stop: Any = None) -> dict[str, Any]:
    """Every registered study on its default arms with ``profile``, then the report in ``out``.

    The report judges each study's evidence profile where records of it exist (the shipped evidence
    counts), so a new user's first report shows real verdicts; a study with no evidence shows the
    profile just run, labelled "smoke test, not evidence" when it is one.
    """
    from .report import write_report
    from .report.page import prepare_out

    t0 = time.time()
    studies = _studies(studies)
    _check_profile(studies, profile)
    prepare_out(out)  # fail before hours of work, not after
    store = _usable_store(store)
    rows = run_studies(studies, profile, store, jobs=jobs, quiet=quiet, log=log, stop=stop)
    from .zoo import DEFAULT_SET

    cards = store_cards(store, card_names(store, studies, DEFAULT_SET), log)
    log("writing the report")
    report = write_report(out, store, studies=studies, profile=None, progress=log)
    return {"profile": profile, "store": str(store), "studies": rows, "theory_cards": cards, "report": report,
            "seconds": time.time() - t0}


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
             log: Log = _quiet, stop: Any = None) -> dict[str, Any]:
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
    log(f"{act.name}: nearest known activations (actlab similar)")
    neighbours = nearest(act)
    log(f"{act.name}: {sum(f.ok for f in findings)}/{len(findings)} checks passed; running {len(studies)} studies")
    rows = run_studies(studies, profile, store, extra=[text], jobs=jobs, quiet=quiet, log=log, stop=stop)
    cards = store_cards(store, [act, *card_names(store, studies, DEFAULT_SET)], log)
    log("writing the report card")
    report = write_evaluation(out, store, act, findings, target=text, studies=studies, profile=profile, progress=log,
                              neighbours=neighbours)
    return {"profile": profile, "store": str(store), "activation": act.name, "studies": rows, "theory_cards": cards,
            "neighbours": neighbours, "report": report, "seconds": time.time() - t0}


def nearest(act: Any, k: int = 5) -> dict[str, Any]:
    """``actlab similar``'s top ``k`` for the card (x ~ N(0, 1)), or why there are none: a proposed
    activation is judged against its closest known relatives first."""
    from .similar import similar

    try:
        return similar(act, k).as_dict()
    except ValueError as e:  # e.g. not finite where N(0, 1) puts weight: the card says so
        return {"query": act.name, "error": str(e), "matches": []}
