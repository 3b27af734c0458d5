"""`actlab similar`: the nearest known activations of a function, up to affine changes of input and output."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ._common import activation, console, fail, guard, print_json, save_figure


def _fmt(v: float | None) -> str:
    if v is None:
        return "—"
    return "≈ 0" if v < 1e-7 else f"{v:.2g}"  # below 1e−7: rounding (see similar._TIE)


def cmd_similar(
    target: str = typer.Argument(..., metavar="ACTIVATION",
                                 help="a zoo name or spec string (\"silu(beta=2)\"), or my_pkg.my_module:my_fn"),
    k: int = typer.Option(5, "-k", "--top", help="how many neighbours to show"),
    mean: float = typer.Option(0.0, "--mean", help="mean of the pre-activations x ~ N(mean, std²) that weight the fit"),
    std: float = typer.Option(1.0, "--std", help="standard deviation of the pre-activations"),
    map_path: Path = typer.Option(None, "--map", help="also draw the zoo's 2-D map with this activation highlighted "
                                  "(.png, .svg, .pdf)"),
    no_cache: bool = typer.Option(False, "--no-cache", help="recompute the zoo's pairwise matrix for --map"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """The nearest zoo activations of ACTIVATION up to c·g(a·x + b) + d -- the affine maps the layers
    around an activation absorb -- weighted by x ~ N(mean, std²), on values and on slopes."""
    from .. import similar as S

    if k < 1:
        fail(f"-k must be a positive number of neighbours, got {k}")
    if map_path is not None and map_path.suffix.lower() not in (".png", ".svg", ".pdf"):
        fail(f"--map {str(map_path)!r}: write a .png, .svg or .pdf file")
    act = activation(target)
    res = guard(lambda: S.similar(act, k, mean=mean, std=std))
    if map_path is not None:
        m = guard(lambda: S.zoo_map(act, mean=mean, std=std, use_cache=not no_cache))
        save_figure(S.map_figure(m, f"the zoo up to affine maps, x ~ N({mean:g}, {std:g}²): {res.query} highlighted"),
                    str(map_path))
    if as_json:
        out = res.as_dict()
        out["map"] = str(map_path) if map_path is not None else None
        print_json(out)
        return
    t = Table(title=f"nearest activations to {res.query}, x ~ N({mean:g}, {std:g}²), up to c·g(a·x + b) + d")
    for col in ("#", "activation", "best fit", "values", "slopes", "note"):
        t.add_column(col, no_wrap=col in ("#", "activation", "values", "slopes"))
    for i, m in enumerate(res.matches, 1):
        note = []
        if m.at_bound:
            note.append("at the |a|·std bound: a limit, not a match")
        if m.same_as:
            note.append("same on this range: " + ", ".join(m.same_as))
        t.add_row(str(i), m.name, m.formula(), _fmt(m.distance), _fmt(m.slope_distance), "; ".join(note))
    console.print(t)
    console.print(f"values, slopes: relative L2 errors of the fit. A straight line alone fits {res.query} to "
                  f"{_fmt(res.linear)}.", style="dim", highlight=False, soft_wrap=True)
    if map_path is not None:
        console.print(f"map written to {map_path}", style="dim")


def register(app: typer.Typer) -> None:
    app.command("similar")(cmd_similar)
