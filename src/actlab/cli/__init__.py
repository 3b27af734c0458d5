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
    # help text is plain text: with rich markup "[a, b]" in a docstring vanished from --help
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"actlab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="print the version and exit")) -> None:
    """actlab: the activation-function laboratory. Every command has --help; most have --json."""


def _load() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        importlib.import_module(f"{__name__}.{info.name}").register(app)


_load()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: bad input exits 2 with one line on stderr, never a traceback.

    Click's own usage errors (a missing argument, an unknown option) are caught here too and printed
    as one line instead of typer's six-line panel; ``actlab`` alone still prints the help.
    """
    try:
        from typer import _click as click  # typer vendors its own click (the exceptions it raises)
    except ImportError:  # older typer: the click package
        import click  # type: ignore[no-redef]
    exc = click.exceptions
    try:
        rc = app(args=argv, prog_name="actlab", standalone_mode=False)
    except CliError as e:  # raised outside typer's own handling (should be rare)
        console_err(str(e))
        sys.exit(2)
    except exc.NoArgsIsHelpError as e:
        e.show()
        sys.exit(2)
    except exc.UsageError as e:
        cmd = e.ctx.command_path if e.ctx is not None else "actlab"
        console_err(f"{e.format_message()} (see `{cmd} --help`)")
        sys.exit(2)
    except exc.ClickException as e:
        console_err(e.format_message())
        sys.exit(e.exit_code)
    except typer.Abort:
        console_err("aborted")
        sys.exit(1)
    except BrokenPipeError:  # the reader went away (`actlab verdict C03 | head`): stop quietly, as cat does
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error while flushing at exit
        sys.exit(1)
    sys.exit(rc if isinstance(rc, int) else 0)
