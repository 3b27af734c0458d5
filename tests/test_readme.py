"""Every Python snippet of the README runs as written (issue 15), in order, in one namespace -- as a
reader pasting them one after the other would; what a snippet registers is removed afterwards."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

# the compile/export lines trace a model; the warnings torch raises about its own internals there are not ours
pytestmark = [pytest.mark.filterwarnings("ignore:.*should not be instantiated:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:.*torch.jit.script_method. is deprecated:DeprecationWarning")]


def _snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_the_readme_has_python_snippets():
    assert len(_snippets()) >= 3


def test_every_python_snippet_runs():
    import actlab

    before = set(actlab.list_activations())
    ns: dict = {}
    try:
        for i, code in enumerate(_snippets()):
            try:
                exec(compile(code, f"README.md snippet {i + 1}", "exec"), ns)
            except Exception as e:  # noqa: BLE001
                raise AssertionError(f"README snippet {i + 1} fails: {type(e).__name__}: {e}\n{code}") from e
        assert ns["model"][1].activation.name == "silu"  # the replace_activations example replaced the ReLU
    finally:
        for name in set(actlab.list_activations()) - before:
            actlab.unregister(name)
