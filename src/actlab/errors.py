"""What actlab raises for bad input, and how the CLI tells bad input from a bug.

:class:`UsageError` is the base of actlab's input errors: a one-line message that says what to do.  It
subclasses ``ValueError``, so code that catches ``ValueError`` around actlab keeps working, and the
library's older input checks (``raise ValueError("...")`` with a one-line message, the convention of
every module) count as usage errors too -- but only those: :func:`is_usage_error` accepts a
``ValueError`` or ``KeyError`` only when actlab's own code raised it with an explicit ``raise``.  A
``ValueError`` from inside torch, numpy or scipy, a ``KeyError`` from a dictionary lookup and every
``TypeError`` are bugs of ours: the CLI shows their traceback and exits 1 instead of blaming the input.
"""

from __future__ import annotations

import linecache
import os

__all__ = ["UsageError", "is_usage_error"]

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


class UsageError(ValueError):
    """Bad input: the message is one line that names the fix; the CLI prints it and exits 2."""


def _raised_here(e: BaseException) -> bool:
    """Whether the innermost frame of ``e`` is actlab code executing an explicit ``raise``."""
    tb = e.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    path = os.path.abspath(tb.tb_frame.f_code.co_filename)
    if not path.startswith(_PACKAGE):
        return False
    line = linecache.getline(path, tb.tb_lineno).strip()
    return line.startswith("raise")


def is_usage_error(e: BaseException) -> bool:
    """True for bad input (exit 2), False for a bug (traceback, exit 1); see the module docstring."""
    if isinstance(e, UsageError):
        return True
    return isinstance(e, (ValueError, KeyError)) and _raised_here(e)
