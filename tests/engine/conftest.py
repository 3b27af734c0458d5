import sys
from pathlib import Path

import pytest

# the toy studies are addressed as "engine_toy:STUDY" (by the CLI and by spawned/Ray workers), so their
# folder must be importable whatever pytest's import mode
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _isolated_store(tmp_path, monkeypatch):
    """Never touch the user's ~/.actlab store: every test gets its own default store path."""
    monkeypatch.setenv("ACTLAB_STORE", str(tmp_path / "default-store.db"))


@pytest.fixture(autouse=True)
def _one_thread():
    """Units run single-threaded in the engine; tests that train directly do the same (on a busy
    2-core machine, torch's spinning intra-op threads make small models 50x slower)."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
