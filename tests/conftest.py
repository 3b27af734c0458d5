"""Fixtures for the whole suite."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path, monkeypatch):
    """Never touch the user's ~/.actlab store: every test gets its own default store path."""
    monkeypatch.setenv("ACTLAB_STORE", str(tmp_path / "default-store.db"))


@pytest.fixture(autouse=True)
def _one_thread():
    """Tests run torch single-threaded, as the engine runs its units: on a busy 2-core machine torch's
    spinning intra-op threads make small models 50x slower, and timings of tests become noise."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture
def cli():
    """Invoke the ``actlab`` CLI in-process: ``cli("run", "C01", "--seeds", 3)`` returns typer's Result."""
    from typer.testing import CliRunner

    from actlab.cli import app

    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(app, [str(a) for a in args])

    return invoke


@pytest.fixture
def one_line_error():
    """Check a CLI result is handled bad input -- exit 2, one line ``error: ...``, no traceback -- and return
    the line."""

    def check(res) -> str:
        assert res.exit_code == 2, res.output
        lines = [line for line in res.output.strip().splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in res.output, res.output
        return lines[0]

    return check
