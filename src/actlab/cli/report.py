"""The main jobs: ``tour``, ``report`` and ``evaluate`` (thin wrappers over actlab.evaluate and actlab.report)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

import typer

from ._common import console, fail, guard, print_json

T = TypeVar("T")

STORE_HELP = "results store (default $ACTLAB_STORE or ~/.actlab/results.db)"


def _log(quiet: bool) -> Callable[[str], None]:
    def log(msg: str) -> None:
        if not quiet:
            print(msg, file=sys.stderr, flush=True)

    return log


def _run(fn: Callable[[], T]) -> T:
    """Bad input (ValueError/KeyError, a store that cannot be used) -> one line, exit 2."""
    from ..engine import StoreError

    try:
        return guard(fn)
    except StoreError as e:
        fail(str(e))


def _run_sweeps(fn: Callable[[Any], T]) -> T:
    """:func:`_run` for commands that train: ``fn(stop)``; SIGINT/SIGTERM stop it (the work in flight is
    stored), print one ``stopped: ...`` line and exit 130/143; a second signal stops at once."""
    from ..engine import Interrupted, interruptible
    from .studies import _stopping_hint

    with interruptible(on_first=_stopping_hint) as stop:
        try:
            return _run(lambda: fn(stop))
        except Interrupted as e:
            print(e.message or "stopped: rerun the same command to resume", file=sys.stderr, flush=True)
            raise typer.Exit(e.exit_code) from None


def _print_report_summary(rep: dict[str, Any]) -> None:
    counts = ", ".join(f"{n} {s}" for s, n in rep.get("counts", {}).items())
    smoke = rep.get("smoke") or []
    counts += f"; smoke test, not evidence: {', '.join(smoke)}" if smoke else ""
    console.print(f"report: {rep['index']}" + (f" ({counts})" if counts else ""), highlight=False, soft_wrap=True)
    console.print(f"figures: {len(rep['figures'])} files in {Path(rep['index']).parent / 'figures'}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_cmd(
        store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP),
        out: Path = typer.Option(Path("actlab-report"), "--out", "-o", help="folder for index.html and figures/"),
        profile: Optional[str] = typer.Option(None, "--profile", "-p", help="judge this profile's records "
                                              "(default: each study's evidence profile, or its quick smoke test "
                                              "when only that has records)"),
        shipped: bool = typer.Option(True, "--shipped/--no-shipped", help="include the evidence shipped in results/"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress output"),
        json_: bool = typer.Option(False, "--json", help="machine-readable summary"),
    ) -> None:
        """Write the HTML report (claims dashboard, activation cards, methodology) from the store and the
        shipped evidence."""
        from ..report import write_report

        if store is not None and not store.exists():  # a mistyped path rendered an empty report with exit 0
            fail(f"no store at {store}: check the path (runs write to $ACTLAB_STORE or ~/.actlab/results.db), "
                 "or leave --store out to report the shipped evidence")
        rep = _run(lambda: write_report(out, store, profile=profile, shipped=shipped, progress=_log(quiet or json_)))
        if json_:
            print_json(rep)
        else:
            _print_report_summary(rep)

    @app.command("tour")
    def tour_cmd(
        profile: str = typer.Option("quick", "--profile", "-p", help="quick or full"),
        store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP),
        out: Path = typer.Option(Path("actlab-report"), "--out", "-o", help="folder for the report"),
        jobs: Optional[int] = typer.Option(None, "-j", "--jobs", help="parallel workers (default: number of cores)"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress output"),
        json_: bool = typer.Option(False, "--json", help="machine-readable summary"),
    ) -> None:
        """Run every registered study on the default set (resumable), then write the report."""
        from ..evaluate import timing_table, tour

        if jobs is not None and jobs < 1:
            fail(f"-j must be a positive number of workers, got {jobs}")
        res = _run_sweeps(lambda stop: tour(profile, store, out, jobs=jobs, quiet=quiet or json_,
                                            log=_log(quiet or json_), stop=stop))
        if json_:
            print_json(res)
            return
        console.print(timing_table(res["studies"]), highlight=False, soft_wrap=True)
        _print_report_summary(res["report"])
        console.print(f"tour took {res['seconds']:.1f}s; store {res['store']}", highlight=False, soft_wrap=True)
        if any(r.get("error") for r in res["studies"]):
            raise typer.Exit(1)

    @app.command("evaluate")
    def evaluate_cmd(
        target: str = typer.Argument(..., metavar="ACTIVATION",
                                     help="my_pkg.my_module:MyActivation (function or nn.Module), or a zoo name"),
        profile: str = typer.Option("quick", "--profile", "-p", help="quick or full"),
        out: Path = typer.Option(Path("actlab-evaluate"), "--out", "-o", help="folder for the report card"),
        store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP),
        jobs: Optional[int] = typer.Option(None, "-j", "--jobs", help="parallel workers (default: number of cores)"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress output"),
        json_: bool = typer.Option(False, "--json", help="machine-readable summary"),
    ) -> None:
        """Check your activation, run the theory and every study on it beside the standard set, and
        write a report card that ranks it claim by claim."""
        from ..evaluate import evaluate, timing_table

        if jobs is not None and jobs < 1:
            fail(f"-j must be a positive number of workers, got {jobs}")
        res = _run_sweeps(lambda stop: evaluate(target, profile, out, store, jobs=jobs, quiet=quiet or json_,
                                                log=_log(quiet or json_), stop=stop))
        if json_:
            print_json(res)
            return
        console.print(timing_table(res["studies"]), highlight=False, soft_wrap=True)
        near = res.get("neighbours") or {}
        if near.get("matches"):
            console.print("nearest known activations (actlab similar): " + "; ".join(
                f"{m['name']} {m['distance']:.2g}" for m in near["matches"][:3]), highlight=False, soft_wrap=True)
        for c in res["report"]["claims"]:
            r = c["rank"]
            vs = c["versus_baseline"]
            where = f"rank {r['rank']} of {r['of']} on {r['metric']}" if r else (c["why"] or "no result")
            vs_txt = (f"; {vs['reading']} (estimate {vs['estimate']:.4g}, descriptive)"
                      if vs and vs.get("estimate") is not None else "")
            smoke = f" [{c['label']}]" if c.get("smoke") else ""
            console.print(f"{c['claim']}{smoke}: {where}{vs_txt}", highlight=False, soft_wrap=True)
        console.print(f"report card: {res['report']['index']}", highlight=False, soft_wrap=True)
        if any(r.get("error") for r in res["studies"]):
            raise typer.Exit(1)
