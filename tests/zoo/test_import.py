"""``import actlab`` stays light and nothing imports upwards (issue 15)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "actlab"


def test_import_actlab_loads_no_theory_engine_or_scipy():
    code = ("import sys, actlab; m = sorted(k for k in sys.modules if k.startswith('actlab')); "
            "print(len(m), 'scipy' in sys.modules, any(k.startswith(('actlab.theory', 'actlab.engine', 'actlab.studies', "
            "'actlab.approx')) for k in m)); actlab.theory.moments; print('actlab.theory' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    n, scipy, heavy, lazy_loaded = int(out[0]), out[1], out[2], out[3]
    assert (scipy, heavy, lazy_loaded) == ("False", "False", "True")
    assert n <= 30, n  # the zoo (one file per family), nn, kernels


def _imports(path: Path) -> list[str]:
    """Absolute names of the actlab modules ``path`` imports (relative imports resolved)."""
    pkg = ".".join(path.relative_to(SRC.parent).with_suffix("").parts)
    if path.name == "__init__.py":
        pkg = pkg.rsplit(".", 1)[0] + "." + "__init__"
    base = pkg.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base[: len(base) - node.level + 1]
                mod = ".".join(parts + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.append(mod)
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names]
    return [m for m in out if m.startswith("actlab")]


def test_the_zoo_imports_nothing_upwards():
    """zoo -> nothing outside the zoo; nn and kernels -> the zoo's public names only (no private
    ``_eval``/``_limits``-style imports across packages)."""
    for f in sorted((SRC / "zoo").glob("*.py")):
        for mod in _imports(f):
            assert mod.startswith("actlab.zoo"), f"{f.name} imports {mod}"
    for f in [SRC / "nn.py", *sorted((SRC / "kernels").glob("*.py"))]:
        tree = ast.parse(f.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and "zoo" in node.module:
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{f.name} imports private {private} from {node.module}"
