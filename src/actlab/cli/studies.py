"""Study commands: ``studies``, ``run``, ``results``, ``verdict`` (thin wrappers over actlab.engine)."""

from __future__ import annotations

import dataclasses
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


def _config_from_json(study, d: dict) -> Any:
    cls = type(study.profiles["quick"])
    fields = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in fields})


def _pick_config(study, store, profile: Optional[str], config: Optional[str]):
    """(hash, config object, profile name) of the records a verdict or listing is about."""
    from ..engine import config_hash

    if profile is not None:
        cfg = study.profile(profile)
        return config_hash(study.id, cfg), cfg, profile
    known = store.configs(study.id)
    if config is not None:
        known = [c for c in known if c["hash"].startswith(config)]
        if not known:
            raise ValueError(f"no config {config!r} of {study.id} in {store.path}; see `actlab results {study.id}`")
    known = [c for c in known if c["records"]]
    if not known:
        raise ValueError(f"no records of {study.id} in {store.path}; run `actlab run {study.id}` first")
    c = known[0]
    return c["hash"], _config_from_json(study, c["config"]), c["profile"]


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

        t = Table("id", "kind", "claim", "profiles (expected time)")
        for r in rows:
            t.add_row(r["id"], r["kind"], r["claim"], "\n".join(f"{p}: {r['expected'][p]}" for p in r["profiles"]))
        console.print(t)

    @app.command("run")
    def run_cmd(
        study_ids: List[str] = typer.Argument(..., metavar="STUDY...", help="study ids (C01) or module:ATTR"),
        activations: Optional[str] = typer.Option(None, "--activations", "-a", help="comma list; default: the study's set"),
        seeds: Optional[int] = typer.Option(None, "--seeds", help="number of seeds (0..N-1); default per profile"),
        profile: str = typer.Option("quick", "--profile", "-p", help="quick or full"),
        backend: str = typer.Option("local", "--backend", help="local (process pool) or ray"),
        address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address; none starts a local Ray"),
        jobs: Optional[int] = typer.Option(None, "-j", "--jobs", help="parallel workers (default: number of cores)"),
        store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP),
        tensorboard: Optional[Path] = typer.Option(None, "--tensorboard", help="write curves for TensorBoard here"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress output"),
        json_: bool = typer.Option(False, "--json", help="machine-readable summary"),
    ) -> None:
        """Run studies: every (activation, seed) unit not yet in the store, then print the verdicts."""
        from ..engine import StoreError, progress, run_sweep
        from ..engine.sweep import check_address
        from ..studies import get_study

        if backend not in ("local", "ray"):
            fail(f"unknown backend {backend!r}: use --backend local or --backend ray")
        if jobs is not None and jobs < 1:
            fail(f"-j must be a positive number of workers, got {jobs}")
        if seeds is not None and seeds < 1:
            fail(f"--seeds must be >= 1, got {seeds}")
        if address is not None:
            if backend != "ray":
                fail("--address needs --backend ray")
            guard(lambda: check_address(address))
        plan = []
        for sid in study_ids:
            study = guard(lambda: get_study(sid))
            cfg = guard(lambda: study.profile(profile))
            acts = activation_texts(activations) if activations else list(study.activations)
            plan.append((sid, study, cfg, acts))
        db = _store(store, readonly=False)
        tb = guard(lambda: progress.TensorBoard(tensorboard)) if tensorboard else None
        out = []
        for sid, study, cfg, acts in plan:
            prog = progress.make_progress(quiet=quiet or json_)
            sinks = [prog] + ([tb] if tb else [])
            try:
                summary = guard(lambda: run_sweep(
                    study, cfg, activations=acts, seeds=seeds, store=db,
                    profile=profile, backend=backend, jobs=jobs, address=address, ref=sid if ":" in sid else None,
                    on_start=lambda *a: [s.on_start(*a) for s in sinks],
                    on_job=lambda *a: [s.on_job(*a) for s in sinks], on_running=prog.on_running))
            except StoreError as e:
                prog.close()
                fail(str(e))
            finally:
                prog.close()
            v = _verdict(study, db, summary.config_hash, cfg)
            out.append({"summary": summary.to_json(), "verdict": v.to_json() if v else None})
            if not json_:
                console.print(f"[bold]{study.id}[/]: {summary.total} units ({summary.skipped} already stored, "
                              f"{summary.done} done, {summary.diverged} diverged, {summary.failed} failed) "
                              f"in {summary.seconds:.1f}s; store {db.path}", highlight=False)
                for e in summary.errors[:5]:
                    console.print(f"  [red]failed[/] {e}", highlight=False)
                if v:
                    _print_verdict(v)
        db.close()
        if json_:
            print_json(out)

    @app.command("results")
    def results_cmd(
        study_id: Optional[str] = typer.Argument(None, metavar="[STUDY]"),
        store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP),
        json_: bool = typer.Option(False, "--json", help="records as JSON (with curves)"),
        csv: bool = typer.Option(False, "--csv", help="records as CSV on stdout (metrics as m.* columns)"),
        parquet: Optional[Path] = typer.Option(None, "--parquet", help="write records to a Parquet file"),
    ) -> None:
        """Show stored records (one row per unit), or export them."""
        from ..engine import Store, StoreError
        from ..studies import get_study

        sid = guard(lambda: get_study(study_id).id) if study_id else None
        if json_ and csv:
            fail("pass one of --json and --csv")
        db = _store(store, readonly=True)
        try:
            recs = db.records(sid, curves=json_ or parquet is not None)
        except StoreError as e:
            fail(str(e))
        finally:
            db.close()
        if parquet is not None:
            guard(lambda: Store.to_parquet(recs, parquet))
        if json_:
            print_json([r.to_json() for r in recs])
        elif csv:
            sys.stdout.write(Store.to_csv(recs))
        elif parquet is None:
            from rich.table import Table

            t = Table("study", "config", "activation", "seed", "status", "s", "metrics (all: --csv)")
            for r in recs:
                # headline metrics: the study-level ones (no "task/" prefix) first; --json/--csv give all
                keys = [k for k in sorted(r.metrics) if "/" not in k][:3] or sorted(r.metrics)[:3]
                t.add_row(r.study, f"{r.config_hash[:8]} {r.profile}", r.activation, str(r.seed), r.status, f"{r.seconds:.1f}",
                          ", ".join(f"{k}={_fmt(r.metrics[k])}" for k in keys) or (r.error or ""))
            console.print(t)
            console.print(f"{len(recs)} record(s) in {db.path}", highlight=False)
        else:
            console.print(f"wrote {len(recs)} record(s) to {parquet}", highlight=False)

    @app.command("verdict")
    def verdict_cmd(
        study_id: str = typer.Argument(..., metavar="STUDY"),
        store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP),
        profile: Optional[str] = typer.Option(None, "--profile", "-p", help="judge this profile's records "
                                              "(default: the config with the most records)"),
        config: Optional[str] = typer.Option(None, "--config", help="judge the records of this config hash (prefix)"),
        json_: bool = typer.Option(False, "--json", help="the Verdict as JSON"),
    ) -> None:
        """The claim's verdict, computed from the stored records."""
        from ..engine import StoreError
        from ..studies import get_study

        study = guard(lambda: get_study(study_id))
        db = _store(store, readonly=True)
        try:
            h, cfg, _ = guard(lambda: _pick_config(study, db, profile, config))
            v = _verdict(study, db, h, cfg)
        except StoreError as e:
            fail(str(e))
        finally:
            db.close()
        if v is None:
            fail(f"no records of {study.id} for config {h} in {db.path}; run `actlab run {study.id}` first")
        if json_:
            print_json(v.to_json())
        else:
            _print_verdict(v, detail=True)


def _verdict(study, db, h: str, cfg: Any):
    recs = db.records(study.id, h, curves=False)
    return study.verdict(recs, cfg) if recs else None


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


_COLOR = {"supported": "green", "refuted": "red", "inconclusive": "yellow"}


def _print_verdict(v, detail: bool = False) -> None:
    def line(p, indent: str = "") -> str:
        ci = f"[{_fmt(p.ci[0])}, {_fmt(p.ci[1])}]" if p.ci else "n/a"
        eff = _fmt(p.effect) if p.effect is not None else "n/a"
        return (f"{indent}[{_COLOR[p.status]}]{p.status}[/]  {p.metric} ({p.direction} is better for "
                f"{'/'.join(p.compared)} vs {p.baseline}): effect {eff}, {p.confidence:.0%} CI {ci}, {p.n_seeds} seeds")

    console.print(f"[bold]{v.study}[/] {v.claim}", highlight=False)
    console.print(line(v, "  verdict: "), highlight=False)
    if detail:
        for p in v.parts:
            console.print(line(p, "    "), highlight=False)
        for n in v.notes:
            console.print(f"  note: {n}", highlight=False)
        if v.summary:
            from rich.table import Table

            metric = v.metric
            t = Table("activation", f"{metric} mean", "95% CI", "n")
            rows = sorted(v.summary.items(), key=lambda kv: -(kv[1].get(metric, {}).get("mean") or float("-inf")))
            for act, s in rows:
                m = s.get(metric)
                if m:
                    t.add_row(act, _fmt(m["mean"]), f"[{_fmt(m['lo'])}, {_fmt(m['hi'])}]", str(m["n"]))
            console.print(t)
