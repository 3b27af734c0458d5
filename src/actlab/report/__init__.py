"""Rendering: activation cards, plots, the HTML report and the report card of ``actlab evaluate``.

Reads specs and stored results (theory cards included) only; nothing here trains a model, computes theory
numbers or writes the store.

* :func:`write_report` -- the claims dashboard, claim details, activation cards and methodology;
* :func:`write_evaluation` -- one activation ranked against the standard set, claim by claim;
* :mod:`.cards` -- one activation as a dict, Markdown and a φ/φ′/φ″ plot (``actlab show``/``gallery``).
"""

from .evaluation import write_evaluation
from .page import write_report

__all__ = ["write_evaluation", "write_report"]
