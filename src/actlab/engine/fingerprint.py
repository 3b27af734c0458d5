"""Code and data fingerprints: a record is a function of its key, so its key must name the code.

A study's fingerprint hashes

* the code of the study module, of the engine modules that train (``train``, ``ensemble``, ``tasks``),
  of :mod:`actlab.nn`, :mod:`actlab.zoo.activation`, :mod:`actlab.models`, :mod:`actlab.data`,
  :mod:`actlab.metrics` (the measurements studies take inside models), and of
  every module the study lists in ``code``; each module is hashed as its syntax tree without
  docstrings, so editing prose (a study's header of measured numbers, which is regenerated from its
  records) keeps the records, while editing code retires them;
* the content hash of every dataset the study declares (``datasets``).

What it does not cover, on purpose: the zoo's family files and the kernels.  Their numerics are held to
mpmath and torch by the contract suite; adding an activation to a family file must not retire every
stored record.  User activations carry their own fingerprint in their name (``fn@hash``).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import inspect
from typing import Any, Iterable

__all__ = ["code_hash", "study_fingerprint", "ENGINE_MODULES"]

ENGINE_MODULES = ("actlab.engine.train", "actlab.engine.ensemble", "actlab.engine.tasks", "actlab.nn",
                  "actlab.zoo.activation", "actlab.models", "actlab.data", "actlab.metrics")


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


@functools.lru_cache(maxsize=None)
def _module_hash(name: str) -> str:
    mod = importlib.import_module(name)
    files = []
    path = getattr(mod, "__file__", None)
    if path and path.endswith("__init__.py"):  # a package: every module file in it
        import pathlib

        files = sorted(pathlib.Path(path).parent.glob("*.py"))
    elif path:
        import pathlib

        files = [pathlib.Path(path)]
    h = hashlib.sha256(name.encode())
    for f in files:
        try:
            src = f.read_text(encoding="utf-8")
            tree = _strip_docstrings(ast.parse(src))
            h.update(f.name.encode())
            h.update(ast.dump(tree, include_attributes=False).encode())
        except (OSError, SyntaxError):
            h.update(inspect.getsource(mod).encode())
    return h.hexdigest()


def code_hash(modules: Iterable[str]) -> str:
    """One hash over the docstring-free syntax trees of ``modules`` (sorted, de-duplicated)."""
    h = hashlib.sha256()
    for name in sorted(set(modules)):
        h.update(name.encode())
        h.update(_module_hash(name).encode())
    return h.hexdigest()


def study_fingerprint(study: Any) -> str:
    """16 hex digits naming the code and data that produce ``study`` 's records."""
    from ..data import fingerprint as data_fingerprint

    mod = getattr(study.run, "__module__", None) or ""
    modules = [m for m in (mod, *ENGINE_MODULES, *study.code) if m and _importable(m)]
    h = hashlib.sha256(code_hash(modules).encode())
    for d in sorted(set(study.datasets)):
        h.update(f"{d}={data_fingerprint(d)}".encode())
    return h.hexdigest()[:16]


def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
        return True
    except ImportError:
        return False
