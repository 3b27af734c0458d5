"""`actlab approx`, `actlab approx-known`: approximating activations (the training half of claim C06 is `actlab run C06`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from ._common import activation, console, fail, guard, print_json, save_figure



def _fmt(v: Any, spec: str = ".3g") -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return format(v, spec)
    return str(v)


def _degree(text: str | None, method: str) -> Any:
    if text is None:
        return None
    if method == "rational":
        return text
    try:
        return int(text.strip())
    except ValueError:
        fail(f"--degree {text!r} is not a whole number: use e.g. --degree 7 (or --degree 5,4 with --method rational)")


def _degrees(text: str) -> list[int]:
    try:
        return [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        fail(f"cannot read --sweep {text!r}: write degrees separated by commas, e.g. --sweep 3,7,15,31")


def cmd_approx(
    name: str = typer.Argument(..., help="activation to approximate, e.g. gelu, 'silu(beta=2.0)'"),
    method: str = typer.Option(None, "--method", "-m",
                               help="newton | newton-chebyshev | hermite | chebyshev | legendre | minimax | rational "
                                    "(default chebyshev; with --sweep: every polynomial method)"),
    degree: str = typer.Option(None, "--degree", "-d", help="polynomial degree N (default 7; hermite: odd), or M,N for rational (default 5,4)"),
    interval: str = typer.Option("-3,3", "--interval", help="fitting interval a,b (write --interval=-3,3)"),
    outside: float = typer.Option(0.5, "--outside", help="width of each outside flank, as a fraction of b − a"),
    sweep: str = typer.Option(None, "--sweep", help="degrees, e.g. 3,7,15,31: error against degree (shows Runge)"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    plot: Path = typer.Option(None, "--plot", help="write the approximant and its error curves to this file"),
) -> None:
    """Approximate an activation on [a, b] and report value and derivative errors inside and outside."""
    from .. import approx
    from ..approx.report import convergence, error_report, plot_approximant, plot_convergence

    act = activation(name)
    ab = guard(lambda: approx.parse_interval(interval))
    if method is not None and method not in approx.METHODS:
        guard(lambda: approx.approximate(act, method))  # the library's message (with a suggestion)
    if sweep is not None:
        methods = [method] if method else [m for m in approx.METHODS if m != "rational"]
        rows = guard(lambda: convergence(act, methods, _degrees(sweep), ab, outside=outside))
        if plot is not None:
            save_figure(plot_convergence(rows, f"{act.name} on [{ab[0]:g}, {ab[1]:g}]"), str(plot))
        if as_json:
            print_json({"activation": act.name, "interval": list(ab), "rows": rows, "plot": str(plot) if plot else None})
            return
        t = Table(title=f"max |error| in [{ab[0]:g}, {ab[1]:g}] for {act.name}: value (derivative)")
        degs = sorted({r["degree"] for r in rows})
        t.add_column("method")
        for d in degs:
            t.add_column(f"N={d}", justify="right")
        for m in methods:
            cells = {r["degree"]: f"{r['value_max']:.1e} ({r['derivative_max']:.1e})" for r in rows if r["method"] == m}
            t.add_row(m, *[cells.get(d, "—") for d in degs])
        console.print(t)
        if "newton" in methods:
            console.print("equispaced newton growing with N is the Runge phenomenon; Chebyshev points cure it",
                          style="dim")
        return
    method = method or "chebyshev"
    p = guard(lambda: approx.approximate(act, method, _degree(degree, method), ab))
    rep = guard(lambda: error_report(p, outside=outside))
    if plot is not None:
        save_figure(plot_approximant(p, outside=outside), str(plot))
    if as_json:
        print_json({"approximant": p.summary(), "errors": rep.as_dict(), "plot": str(plot) if plot else None})
        return
    a, b = ab
    kind = "safe Padé (PAU) rational" if p.kind == "rational" else f"{method} polynomial"
    console.print(f"[bold]{act.name}[/] ≈ {kind} of degree {p.degree_text.replace('_', '/')} on [{a:g}, {b:g}]"
                  f"  [dim]{p.formula()}[/]", highlight=False)
    t = Table()
    for col in ("region", "max |φ−p|", "at x", "RMS", "max |φ′−p′|", "at x", "RMS′"):
        t.add_column(col, justify="right" if col != "region" else "left")
    (la, lb), (ra, rb) = rep.outside
    for label, e in ((f"inside [{a:g}, {b:g}]", rep.inside_errors), (f"outside [{la:g}, {lb:g}) ∪ ({ra:g}, {rb:g}]", rep.outside_errors)):
        t.add_row(label, _fmt(e.value_max), _fmt(e.value_argmax, ".4g"), _fmt(e.value_rms), _fmt(e.derivative_max),
                  _fmt(e.derivative_argmax, ".4g"), _fmt(e.derivative_rms))
    console.print(t)
    info = p.info
    if method == "minimax":
        console.print(f"levelled error {info['levelled_error']:.6g} on {len(info['reference'])} alternation points "
                      f"({'converged' if info['converged'] else 'not converged'} in {info['iterations']} exchanges)", highlight=False)
    if "nodes" in info:
        console.print("nodes: " + ", ".join(f"{v:.4g}" for v in info["nodes"]), highlight=False)
    coeffs = ", ".join(f"{k}={v:.6g}" for k, v in p.coefficients.items())
    console.print(f"coefficients: {coeffs}", highlight=False, soft_wrap=True)
    console.print("use it: approx.approximate(...).register('my_name'); actlab.get('my_name').module(learn=True)", style="dim")


def cmd_known(
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Measure the known approximations: GELU's tanh and sigmoid forms, hard-swish, hard-sigmoid."""
    from ..approx.known import compare_known

    rows = guard(compare_known)
    if as_json:
        print_json([r.as_dict() for r in rows])
        return
    t = Table(title="known approximations against the exact functions (over the real line)")
    for col in ("approximation", "exact", "max |Δφ|", "at x", "max |Δφ′|", "at x", "RMS Δφ (N(0,1))", "RMS Δφ′ (N(0,1))"):
        t.add_column(col, justify="left" if col in ("approximation", "exact") else "right")
    for r in rows:
        where = lambda xs: ", ".join(f"{x:.4g}" for x in xs)  # noqa: E731
        t.add_row(r.approximation, r.exact, _fmt(r.max_error, ".4g"), where(r.argmax), _fmt(r.derivative_max_error, ".4g"),
                  where(r.derivative_argmax), _fmt(r.gaussian_rms_error, ".3g"), _fmt(r.gaussian_rms_derivative_error, ".3g"))
    console.print(t)
    console.print("maxima located on a 1/4000 grid, refined, and re-evaluated with mpmath at 30 digits; at a kink the "
                  "derivative error is the one-sided supremum", style="dim")



def register(app: typer.Typer) -> None:
    app.command("approx")(cmd_approx)
    app.command("approx-known")(cmd_known)
