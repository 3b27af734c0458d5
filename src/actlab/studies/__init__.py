"""The studies: one module per claim of CLAIMS.md, each ending in ``STUDY = Study(...)``.

Adding a study is adding one module here named ``c<NN>_<topic>.py``; it is discovered by name, so no
list is edited.  A study outside the package is addressed as ``"my_pkg.my_module:STUDY"``.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
import re

from ..engine.protocol import Study
from ..zoo.sets import DEFAULT_SET  # the standard comparison set lives with the zoo; re-exported here

__all__ = ["DEFAULT_SET", "all_studies", "get_study", "register_study"]


_MODULE = re.compile(r"^c\d\d_\w+$")
_STUDIES: dict[str, Study] = {}
_loaded = False


def register_study(study: Study) -> Study:
    """Register a study (KeyError if its id is taken by another study)."""
    if not isinstance(study, Study):
        raise TypeError(f"register_study takes an actlab.engine.Study, got {type(study).__name__}")
    old = _STUDIES.get(study.id)
    if old is not None and old is not study:
        raise KeyError(f"study {study.id!r} is already registered")
    _STUDIES[study.id] = study
    return study


def _discover() -> None:
    global _loaded
    if _loaded:
        return
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if _MODULE.match(info.name):
            mod = importlib.import_module(f"{__name__}.{info.name}")
            register_study(mod.STUDY)
    _loaded = True


def all_studies() -> list[Study]:
    _discover()
    return sorted(_STUDIES.values(), key=lambda s: s.id)


def get_study(ref: str) -> Study:
    """A study by id (``"C01"``, case-insensitive) or by ``"module:attr"``; KeyError with suggestions."""
    if ":" in ref:
        from ..engine.sweep import load_study

        try:
            return load_study(ref)
        except ValueError as e:
            raise KeyError(str(e)) from None
    _discover()
    study = _STUDIES.get(ref.upper())
    if study is None:
        close = difflib.get_close_matches(ref.upper(), list(_STUDIES), n=2)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise KeyError(f"unknown study {ref!r}{hint} (studies: {', '.join(sorted(_STUDIES))}; see `actlab studies`)")
    return study
