import os
import shutil
import sys
from pathlib import Path

import pytest

# the helpers (and the test activations evaluate imports by name) live beside this file; pytest's
# importlib mode does not put this folder on sys.path before conftest runs
sys.path.insert(0, str(Path(__file__).parent))

from report_helpers import tiny_c01  # noqa: E402


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory):
    """A store holding a tiny C01 run (relu, gelu, silu x 3 seeds); copy it before writing to it."""
    from actlab.engine import Store, run_sweep

    path = tmp_path_factory.mktemp("tiny") / "c01.db"
    study = tiny_c01()
    with Store(path) as db:
        s = run_sweep(study, study.profile("quick"), store=db, profile="quick", jobs=1)
    assert s.done == 9, s.errors
    return path


@pytest.fixture
def store_copy(tiny_store, tmp_path):
    dst = tmp_path / "copy.db"
    shutil.copy(tiny_store, dst)
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
