"""Helpers every command uses: one-line errors with exit code 2, JSON output, activation parsing."""

from __future__ import annotations

import json
import math
import sys
from typing import Any, Callable, NoReturn, TypeVar

import typer
from rich.console import Console

T = TypeVar("T")

console = Console()
_err = Console(stderr=True)


from ..errors import UsageError, is_usage_error


class CliError(UsageError):
    """Bad input found by the CLI itself: reported as one line on stderr with exit code 2."""


def console_err(msg: str) -> None:
    from rich.markup import escape

    # escaped: a message is text, not markup ("pip install 'actlab[parquet]'" lost its brackets)
    _err.print(f"[bold red]error:[/] {escape(msg)}", highlight=False, soft_wrap=True)


def fail(msg: str) -> NoReturn:
    """Print ``error: msg`` on stderr and exit with code 2."""
    console_err(msg)
    raise typer.Exit(2)


def guard(fn: Callable[[], T]) -> T:
    """Run ``fn``; turn bad input into ``fail`` (one line, exit 2) and let bugs through (traceback, exit 1).

    Bad input is :class:`actlab.errors.UsageError` and the ``ValueError``/``KeyError`` s that actlab's
    own checks raise (an unknown activation, a parameter out of range); a ``ValueError`` from inside
    torch or numpy, a failed dictionary lookup and every ``TypeError`` are bugs of ours
    (:func:`actlab.errors.is_usage_error`)."""
    try:
        return fn()
    except (ValueError, KeyError) as e:
        if not is_usage_error(e):
            raise
        msg = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e)
        fail(msg)


def activation(text: str):
    """Parse an activation argument (name, ``name(k=v)`` or ``module:attr``) or fail with a suggestion."""
    from ..zoo import get

    return guard(lambda: get(text))


def activation_texts(text: str) -> list[str]:
    """Split a comma-separated activation list (commas inside parentheses do not split) and check each
    item, keeping the texts (a worker process resolves ``my_pkg.mod:MyAct`` from the text itself)."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    names = [p.strip() for p in parts + [cur] if p.strip()]
    if not names:
        fail("no activations given: pass a comma-separated list such as relu,silu")
    for n in names:
        activation(n)
    return names


def activations(text: str) -> list:
    """A comma-separated list of activations, parsed (see :func:`activation_texts`)."""
    return [activation(n) for n in activation_texts(text)]


def jsonable(obj: Any) -> Any:
    """Convert numpy/torch scalars, tuples and non-finite floats into strict JSON values."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "tolist") and not isinstance(obj, (str, bytes)):
        return jsonable(obj.tolist())
    if isinstance(obj, float):
        if math.isnan(obj):
            return None
        if math.isinf(obj):
            return "inf" if obj > 0 else "-inf"
    return obj


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n")


def save_figure(fig: Any, path: str) -> None:
    """Save a matplotlib figure; an unwritable path is bad input (exit 2)."""
    import matplotlib.pyplot as plt

    try:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    except (OSError, ValueError) as e:
        plt.close(fig)
        fail(f"cannot write plot to {path!r}: {e}")
    plt.close(fig)
