"""Study commands: ``studies``, ``run``, ``results``, ``verdict``, ``reproduce`` (thin wrappers over actlab.engine)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, List, Optional

import typer

from ._common import activation_texts, console, fail, guard, print_json

STORE_HELP = "results store (default $ACTLAB_STORE or ~/.actlab/results.db)"


def _store(path: Optional[Path], readonly: bool):
    from ..engine import Store, StoreError

    try:
        return Store(path, readonly=readonly)
    except StoreError as e:
        fail(str(e))


def judged_records(study, store_path: Optional[Path], shipped: bool) -> list:
    """Records of ``study`` from the store (if it exists) merged with the shipped evidence."""
    from ..engine import Store, StoreError, default_path
    from ..engine.evidence import merged, shipped_records

    path = Path(store_path).expanduser() if store_path is not None else default_path()
    own: list = []
    if path.exists():
        try:
            with Store(path, readonly=True) as db:
                own = db.records(study.id, curves=False, arrays=study.needs_arrays)
        except StoreError as e:
            fail(str(e))
    elif store_path is not None and not shipped:
        fail(f"store {path} does not exist; run `actlab run {study.id}` first or drop --store")
    return merged(own, shipped_records(study.id)) if shipped else own


def register(app: typer.Typer) -> None:
    @app.command("studies")
    def studies_cmd(json_: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
        """List the studies: id, claim, kind, profiles and expected time."""
        from ..studies import all_studies

        rows = [s.describe() for s in all_studies()]
        if json_:
            print_json(rows)
            return
        from rich.table import Table

        t = Table("id", "kind", "claim", "profiles (runtime)")
        for r in rows:
            t.add_row(r["id"], r["kind"], r["claim"], "\n".join(
                f"{p}: {v['runtime']}" + (" (smoke test)" if v["smoke"] else " (evidence)" if p == r["evidence"] else "")
                for p, v in r["profiles"].items()))
        console.print(t)

    @app.command("run")
    def run_cmd(
        study_ids: List[str] = typer.Argument(..., metavar="STUDY...", help="study ids (C01) or module:ATTR"),
        activations: Optional[str] = typer.Option(None, "--activations", "-a", help="comma list of arms added to the "
                                                  "claim's own (default: the study's controls)"),
        seeds: Optional[int] = typer.Option(None, "--seeds", help="number of seeds (0..N-1); default: the profile's "
                                            "pre-registered number (other counts are labelled in the verdict)"),
        profile: str = typer.Option("quick", "--profile", "-p", help="a profile of the study (quick is a smoke test)"),
        backend: str = typer.Option("local", "--backend", help="local (process pool) or ray"),
        address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address; none starts a local Ray"),
        jobs: Optional[int] = typer.Option(None, "-j", "--jobs", help="parallel workers (default: number of cores)"),
        store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP),
        tensorboard: Optional[Path] = typer.Option(None, "--tensorboard", help="write curves for TensorBoard here"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress output"),
        json_: bool = typer.Option(False, "--json", help="machine-readable summary"),
        yes: bool = typer.Option(False, "--yes", "-y", help="run a plan larger than the ceiling (MAX_UNITS units)"),
    ) -> None:
        """Run studies: every unit not yet in the store, then print the verdicts (exit 1 if units failed).

        Ctrl-C (or SIGTERM) stops new work, stores what is in flight and exits 130 (143); a second one
        stops at once.  Rerun the same command to resume."""
        from ..engine import Interrupted, StoreError, interruptible, progress, run_sweep
        from ..engine.sweep import MAX_SEEDS, check_address, check_plan, plan_sweep, stop_line
        from ..studies import get_study

        if backend not in ("local", "ray"):
            fail(f"unknown backend {backend!r}: use --backend local or --backend ray")
        if jobs is not None and not 1 <= jobs <= 256:
            fail(f"-j must be between 1 and 256 workers, got {jobs}")
        if seeds is not None and not 1 <= seeds <= MAX_SEEDS:
            fail(f"--seeds must be between 1 and {MAX_SEEDS}, got {seeds}")
        if address is not None:
            if backend != "ray":
                fail("--address needs --backend ray")
            guard(lambda: check_address(address))
        plan = []
        for sid in study_ids:
            study = guard(lambda: get_study(sid))
            guard(lambda: study.profile(profile))
            acts = activation_texts(activations) if activations else None
            units = guard(lambda: plan_sweep(study, profile, activations=acts, seeds=seeds,
                                             ref=sid if ":" in sid else None))
            guard(lambda: check_plan(units, yes))
            plan.append((sid, study, acts, units))
        db = _store(store, readonly=False)
        tb = guard(lambda: progress.TensorBoard(tensorboard)) if tensorboard else None
        out, failed = [], 0
        with interruptible(on_first=_stopping_hint) as stop:
            try:
                for sid, study, acts, _ in plan:
                    prog = progress.make_progress(quiet=quiet or json_)
                    sinks = [prog] + ([tb] if tb else [])
                    try:
                        summary = guard(lambda: run_sweep(
                            study, profile, activations=acts, seeds=seeds, store=db, backend=backend, jobs=jobs,
                            address=address, ref=sid if ":" in sid else None,
                            on_start=lambda *a: [s.on_start(*a) for s in sinks],
                            on_job=lambda *a: [s.on_job(*a) for s in sinks], on_running=prog.on_running, stop=stop,
                            yes=yes))
                    except StoreError as e:
                        prog.close()
                        fail(str(e))
                    finally:
                        prog.close()
                    _report_run(study, profile, summary, db, json_, out)
                    failed += summary.failed
                if stop.requested:
                    raise Interrupted(stop.signum)
            except Interrupted as e:
                print(stop_line([p for *_, p in plan], db), file=sys.stderr, flush=True)
                db.close()
                raise typer.Exit(e.exit_code) from None
        db.close()
        if json_:
            print_json(out)
        if failed:
            raise typer.Exit(1)

    def _report_run(study, profile, summary, db, json_: bool, out: list) -> None:
        """Judge a finished sweep and print its line, failures and verdict (or keep them for --json)."""
        from ..engine.verdicts import verdict

        v = verdict(study, profile, db.records(study.id, summary.config_hash, summary.fingerprint, curves=False,
                                               arrays=study.needs_arrays))
        out.append({"summary": summary.to_json(), "verdict": v})
        if not json_:
            console.print(f"[bold]{study.id}[/] ({profile}): {summary.total} units ({summary.skipped} already stored, "
                          f"{summary.done} done, {summary.diverged} diverged, {summary.failed} failed) "
                          f"in {summary.seconds:.1f}s; store {db.path}", highlight=False)
            for e in summary.errors[:5]:
                console.print(f"  [red]failed[/] {e}", highlight=False)
            if len(summary.errors) > 5:
                console.print(f"  [red]failed[/] ... and {len(summary.errors) - 5} more (actlab results "
                              f"{study.id} --csv lists them)", highlight=False)
            if v:
                print_verdict(v, detail=False)

    @app.command("results")
    def results_cmd(
        study_id: Optional[str] = typer.Argument(None, metavar="[STUDY]"),
        store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP),
        json_: bool = typer.Option(False, "--json", help="records as JSON lines (with curves)"),
        csv: bool = typer.Option(False, "--csv", help="records as CSV on stdout (metrics as m.* columns)"),
        parquet: Optional[Path] = typer.Option(None, "--parquet", help="write records to a Parquet file"),
    ) -> None:
        """Show stored records (one row per unit), or export them."""
        import json

        from ..engine import Store, StoreError
        from ..studies import get_study

        sid = guard(lambda: get_study(study_id).id) if study_id else None
        if json_ and csv:
            fail("pass one of --json and --csv")
        db = _store(store, readonly=True)
        try:
            if json_:  # streamed: one record per line, whatever the store's size
                for r in db.iter_records(sid):
                    sys.stdout.write(json.dumps(r.to_json(), allow_nan=False, default=str) + "\n")
                return
            recs = db.records(sid, curves=parquet is not None)
        except (StoreError, ValueError) as e:
            fail(str(e))
        finally:
            db.close()
        if parquet is not None:
            guard(lambda: Store.to_parquet(recs, parquet))
        if csv:
            sys.stdout.write(Store.to_csv(recs))
        elif parquet is None:
            from rich.table import Table

            t = Table("study", "config", "cell", "arm", "seed", "status", "s", "metrics (all: --csv)")
            for r in recs:
                keys = [k for k in sorted(r.metrics) if "/" not in k][:3] or sorted(r.metrics)[:3]
                t.add_row(r.study, f"{r.config_hash[:8]} {r.profile}", r.cell, r.arm, str(r.seed), r.status,
                          f"{r.seconds:.1f}", ", ".join(f"{k}={_fmt(r.metrics[k])}" for k in keys) or (r.error or ""))
            console.print(t)
            console.print(f"{len(recs)} record(s) in {db.path}", highlight=False)
        else:
            console.print(f"wrote {len(recs)} record(s) to {parquet}", highlight=False)

    @app.command("verdict")
    def verdict_cmd(
        study_id: str = typer.Argument(..., metavar="STUDY"),
        store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP),
        profile: Optional[str] = typer.Option(None, "--profile", "-p", help="judge this profile's records "
                                              "(default: the study's evidence profile)"),
        shipped: bool = typer.Option(True, "--shipped/--no-shipped", help="include the evidence shipped in results/"),
        json_: bool = typer.Option(False, "--json", help="the verdict as JSON"),
    ) -> None:
        """The claim's verdict, computed from stored records: the declared parts, each named arm, the other arms."""
        from ..engine.verdicts import verdict
        from ..studies import get_study

        study = guard(lambda: get_study(study_id))
        prof = profile or study.evidence
        guard(lambda: study.profile(prof))
        v = verdict(study, prof, judged_records(study, store, shipped))
        if v is None:
            fail(f"no records of {study.id} --profile {prof}; run `actlab run {study.id} --profile {prof}` first")
        if json_:
            print_json(v)
        else:
            print_verdict(v, detail=True)

    @app.command("reproduce")
    def reproduce_cmd(
        study_id: str = typer.Argument(..., metavar="STUDY"),
        units: int = typer.Option(3, "--units", "-k", help="how many shipped units to re-run"),
        json_: bool = typer.Option(False, "--json", help="machine-readable comparison"),
    ) -> None:
        """Re-run K shipped units of a study and compare their metrics with the shipped records (exit 1 if any differ)."""
        from ..engine.evidence import reproduce
        from ..studies import get_study

        study = guard(lambda: get_study(study_id))
        if units < 1:
            fail(f"--units must be >= 1, got {units}")
        rows = guard(lambda: reproduce(study, units, log=None if json_ else lambda m: console.print(m, highlight=False)))
        if json_:
            print_json(rows)
        else:
            from rich.table import Table

            t = Table("unit", "metrics", "identical", "max |difference|")
            for r in rows:
                t.add_row(r["unit"], str(r["metrics"]), str(r["identical"]), _fmt(r["max_abs_diff"]))
            console.print(t)
        if not all(r["identical"] for r in rows):
            raise typer.Exit(1)


def _stopping_hint(signum: int) -> None:
    """Said at the first Ctrl-C on a terminal only (a log gets the one ``stopped:`` line)."""
    if sys.stderr.isatty():
        sys.stderr.write("\nstopping: storing the units in flight; press Ctrl-C again to stop now\n")
        sys.stderr.flush()


def _fmt(v: Any) -> str:
    if v is None:
        return "n/a"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


_COLOR = {"supported": "green", "refuted": "red", "inconclusive": "yellow"}


def _ci(d: dict) -> str:
    return f"[{_fmt(d['ci'][0])}, {_fmt(d['ci'][1])}]" if d.get("ci") else "n/a"


def print_verdict(v: dict, detail: bool = False) -> None:
    label = v["label"] if not v.get("smoke") else f"[bold red]{v['label']}[/]"
    stale = " · [red]stale code fingerprint[/]" if v.get("provenance", {}).get("stale") else ""
    console.print(f"[bold]{v['study']}[/] {v['claim']}", highlight=False)
    console.print(f"  verdict: [{_COLOR[v['status']]}]{v['status']}[/]  (profile {v['profile']} · {label} · "
                  f"seeds {len(v['seeds'])} · config {v['config_hash'][:8]} · code {v['fingerprint'][:8]}{stale})",
                  highlight=False)
    rows = v["parts"] if detail else [p for p in v["parts"] if p.get("primary")]
    for p in rows:
        console.print(f"    [{_COLOR[p['status']]}]{p['status']}[/]  {p['name']}  (delta {_fmt(p.get('delta'))}"
                      f"{', excluded: degenerate' if p.get('excluded') else ''})", highlight=False)
        for c in p["contrasts"]:
            against = ("(across arms)" if p.get("rule") == "spread" else
                       f"vs {p['baseline']}" if p.get("baseline") else "vs 0")
            seeds = f", ~{c['seeds_needed']} seeds would resolve it" if c.get("seeds_needed") else ""
            console.print(f"        {c['arm']} {against}: {_fmt(c['estimate'])} {_ci(c)} n={c['n']} -> "
                          f"{c['status']} ({c['outcome']}{seeds})", highlight=False)
    if detail:
        for d in v.get("descriptive", []):
            console.print(f"  [dim]descriptive[/] {d['arm']} (not part of the claim's verdict):", highlight=False)
            for c in d["comparisons"]:
                console.print(f"        {c['part']} vs {c['against']}: {_fmt(c['estimate'])} {_ci(c)} -> "
                              f"{c['status']} ({c['outcome']})", highlight=False)
        for arm, h in sorted(v.get("health", {}).items()):
            if h["diverged"] or h["failed"]:
                console.print(f"  {arm}: {h['diverged']} of {h['units']} units diverged, {h['failed']} failed", highlight=False)
        for n in v["notes"]:
            console.print(f"  note: {n}", highlight=False)
