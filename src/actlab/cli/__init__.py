"""The ``actlab`` command line: thin commands over the library.

Each module in this package (other than those starting with ``_``) defines ``register(app)`` and adds
its commands; this file only discovers them, so command groups never edit a shared list.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from ._common import CliError, console_err

app = typer.Typer(
    name="actlab",
    help="actlab: the activation-function laboratory. Every command has --help; most have --json.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _load() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        importlib.import_module(f"{__name__}.{info.name}").register(app)


_load()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: bad input exits 2 with one line on stderr, never a traceback."""
    try:
        app(args=argv, prog_name="actlab", standalone_mode=True)
    except CliError as e:  # raised outside typer's own handling (should be rare)
        console_err(str(e))
        sys.exit(2)
