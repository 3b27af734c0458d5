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
