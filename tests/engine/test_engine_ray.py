"""The Ray backend for real: a local Ray cluster started and stopped by the sweep itself."""

import pytest

from actlab.engine import Store, run_sweep

import engine_toy

ray = pytest.importorskip("ray")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_same_records_on_local_and_ray(tmp_path, monkeypatch):
    import os
    from pathlib import Path

    # Ray workers must import the toy study like local workers do
    here = str(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    local, remote = Store(tmp_path / "local.db"), Store(tmp_path / "ray.db")
    run_sweep(engine_toy.STUDY, "quick", store=local, jobs=1)  # one group of 6; ray: two jobs of 3
    s = run_sweep(engine_toy.STUDY, "quick", store=remote, jobs=2, backend="ray")
    assert s.done == 6 and not ray.is_initialized()  # the sweep stopped the cluster it started
    a = {r.key: r for r in local.records()}
    b = {r.key: r for r in remote.records()}
    assert a.keys() == b.keys()
    for k in a:  # a record is a function of its key: the backend does not enter it
        assert (a[k].status, a[k].metrics, a[k].curves) == (b[k].status, b[k].metrics, b[k].curves)
    assert {r.env["backend"] for r in remote.records()} == {"ray"}
    assert {r.env["backend"] for r in local.records()} == {"local"}
