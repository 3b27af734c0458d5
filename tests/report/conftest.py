import os
import shutil
import sys
from pathlib import Path

import pytest

# the helpers (and the test activations evaluate imports by name) live beside this file; pytest's
# importlib mode does not put this folder on sys.path before conftest runs
sys.path.insert(0, str(Path(__file__).parent))

from report_helpers import c01_metrics, c06_metrics, make_records, run_toy, study, write_records  # noqa: E402


@pytest.fixture(autouse=True)
def _no_shipped_evidence(tmp_path, monkeypatch):
    """Shipped evidence comes from an empty folder unless a test writes some: the checkout's results/
    must not change what these tests see."""
    d = tmp_path / "shipped"
    d.mkdir()
    monkeypatch.setenv("ACTLAB_RESULTS", str(d))
    return d


@pytest.fixture(scope="session")
def real_store(tmp_path_factory):
    """The registered C01 (evidence profile, 8 seeds, both tasks, 5 arms; softplus diverges on seed 2 of
    each task) and C06 (quick smoke test, 3 seeds) as records written directly: no training."""
    path = tmp_path_factory.mktemp("real") / "real.db"
    c01, c06 = study("C01"), study("C06")
    write_records(path, c01, "full", make_records(c01, "full", c01_metrics, hyper={"lr": 0.003},
                                                  diverged=[("softplus", 2)]))
    write_records(path, c06, "quick", make_records(c06, "quick", c06_metrics))
    return path


@pytest.fixture
def real_copy(real_store, tmp_path):
    dst = tmp_path / "real-copy.db"
    shutil.copy(real_store, dst)
    return dst


@pytest.fixture(scope="session")
def toy_store(tmp_path_factory):
    """The toy study T90 run on its quick profile: relu, gelu, silu, tanh x 3 seeds (tanh seed 1 diverges)."""
    path = tmp_path_factory.mktemp("toy") / "toy.db"
    s = run_toy(path, "quick")
    assert (s.done, s.diverged, s.failed) == (11, 1, 0), s.errors
    return path


@pytest.fixture
def store_copy(toy_store, tmp_path):
    dst = tmp_path / "copy.db"
    shutil.copy(toy_store, dst)
    return dst


def chromium_path() -> str | None:
    env = os.environ.get("ACTLAB_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    return shutil.which("chromium") or (str(Path("/usr/bin/chromium")) if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """A real headless Chromium (Debian's, installed by `make test` when run as root), fresh profile."""
    exe = chromium_path()
    if exe is None:
        pytest.fail("Debian's chromium is not installed: `make test` installs it with apt-get when run as root; "
                    "otherwise install it (apt-get install chromium), point ACTLAB_CHROMIUM at one, or deselect "
                    "these tests with -m 'not browser'")
    from playwright.sync_api import sync_playwright

    user_data = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            str(user_data), executable_path=exe, headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
            viewport={"width": 1280, "height": 900})
        try:
            yield ctx
        finally:
            ctx.close()
