"""`actlab list`, `actlab show`, `actlab gallery`: browse the zoo."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from ._common import activation, activations, console, fail, guard, print_json, save_figure


def _parse_where(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    out = {}
    for part in text.split(","):
        if "=" not in part:
            fail(f"bad filter {part!r}: write PROPERTY=VALUE, e.g. --where monotone=true,convex=false")
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def cmd_list(
    where: str = typer.Option(None, "--where", help="property filters, e.g. monotone=true,convex=false,smoothness=inf"),
    family: str = typer.Option(None, help="only this family (rectifiers, exponential, sigmoidal, self_gated, smooth, learnable, gated)"),
    kind: str = typer.Option(None, help="pointwise or gated"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """List the registered activations and their declared properties."""
    from ..report.cards import card
    from ..zoo import get, list_activations

    from ..zoo import all_specs
    from ..zoo.registry import suggest

    filters = _parse_where(where)
    for key, opt in (("family", "--family"), ("kind", "--kind")):
        if key in filters:
            fail(f"{key} is not a property: use {opt} {filters[key]} instead of --where {key}={filters[key]}")
    if kind is not None and kind not in ("pointwise", "gated"):
        fail(f"unknown kind {kind!r}: use pointwise or gated")
    families = sorted({s.family for s in all_specs()})
    if family is not None and family not in families:
        fail(f"unknown family {family!r}{suggest(family, families)} (families: {', '.join(families)})")
    names = guard(lambda: list_activations(kind=kind, family=family, **filters))
    cards = [card(get(n)) for n in names]
    if as_json:
        print_json(cards)
        return
    t = Table(title=f"{len(cards)} activations", show_lines=False)
    for col in ("name", "mono", "convex", "bounded", "C^k", "φ(0)", "φ′(0)", "zero-c", "gate", "params"):
        t.add_column(col, no_wrap=col != "params")
    for c in cards:
        p = c["properties"]
        params = ", ".join(f"{r['name']}={r['value']}" + ("*" if r["learnable"] else "") for r in c["params"])
        if p is None:
            t.add_row(c["name"], *["—"] * 7, c["gate"], params)
            continue
        yn = lambda b: "✓" if b else "·"  # noqa: E731
        bounded = {(True, True): "both", (True, False): "below", (False, True): "above", (False, False): "no"}[
            (p["bounded_below"], p["bounded_above"])]
        t.add_row(c["name"], yn(p["monotone"]), yn(p["convex"]), bounded, str(p["smoothness"]),
                  f"{p['phi0']:.4g}", f"{p['dphi0']:.4g}", yn(p["zero_centred"]), "self" if p["self_gated"] else "·", params)
    console.print(t)
    console.print("* learnable parameter.  Details: actlab show NAME", style="dim")


def cmd_show(
    name: str = typer.Argument(..., help="activation, e.g. silu, 'leaky_relu(negative_slope=0.2)', my_pkg.mod:fn"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
    plot: Path = typer.Option(None, "--plot", help="write a plot of φ, φ′, φ″ to this file (.png, .svg, .pdf)"),
) -> None:
    """Show one activation: formula, properties, parameters, reference; optionally plot φ, φ′, φ″."""
    from rich.markdown import Markdown

    from ..report.cards import card, card_markdown, plot_activation

    act = activation(name)  # a registered name or a user's module:fn (its card says what is not declared)
    if plot is not None:
        save_figure(plot_activation(act), str(plot))
    if as_json:
        c = card(act)
        c["plot"] = str(plot) if plot else None
        print_json(c)
        return
    console.print(Markdown(card_markdown(act)))
    if plot is not None:
        console.print(f"plot written to {plot}", style="dim")


def gallery_activations(names: str | None) -> list:
    """What ``actlab gallery`` draws: the given list, else one card per registered activation."""
    from ..zoo import all_specs, get

    return activations(names) if names else [get(s) for s in all_specs()]


def cmd_gallery(
    out: Path = typer.Option(Path("actlab-gallery"), "--out", help="folder to write into (created if missing)"),
    names: str = typer.Option(None, "--activations", help="comma-separated activations (default: every registered one)"),
    as_json: bool = typer.Option(False, "--json", help="print what was written as JSON"),
) -> None:
    """Write a gallery: the activation list plus a card (Markdown) and a plot (PNG) per activation."""
    from rich.progress import Progress

    from ..report.cards import card, card_markdown, plot_activation
    acts = gallery_activations(names)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        fail(f"cannot create {out}: {e}")
    written = []
    with Progress(console=console, transient=True, disable=as_json) as bar:
        task = bar.add_task("gallery", total=len(acts))
        for act in acts:
            stem = "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in act.name).strip("_")
            png = out / f"{stem}.png"
            import matplotlib.pyplot as plt

            fig = plot_activation(act, str(png))
            plt.close(fig)
            (out / f"{stem}.md").write_text(card_markdown(act, image=png.name), encoding="utf-8")
            written.append({"name": act.name, "card": str(out / f"{stem}.md"), "plot": str(png)})
            bar.advance(task)
    (out / "activations.json").write_text(json.dumps([card(a) for a in acts], indent=2, default=str), encoding="utf-8")
    index = ["# actlab gallery", "", "| activation | formula | card |", "|---|---|---|"]
    index += [f"| {a.name} | {a.spec.formula} | [{w['card'].split('/')[-1]}]({w['card'].split('/')[-1]}) |"
              for a, w in zip(acts, written)]
    (out / "README.md").write_text("\n".join(index) + "\n", encoding="utf-8")
    if as_json:
        print_json({"out": str(out), "activations": written})
        return
    console.print(f"wrote {len(acts)} cards and plots to {out}/ (index: {out / 'README.md'})")


def register(app: typer.Typer) -> None:
    app.command("list")(cmd_list)
    app.command("show")(cmd_show)
    app.command("gallery")(cmd_gallery)
