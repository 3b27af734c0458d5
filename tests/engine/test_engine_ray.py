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
    cfg = engine_toy.Config()
    run_sweep(engine_toy.BATCHED, cfg, seeds=3, store=local, jobs=2, ref="engine_toy:BATCHED")
    s = run_sweep(engine_toy.BATCHED, cfg, seeds=3, store=remote, jobs=2, backend="ray", ref="engine_toy:BATCHED")
    assert s.done == 6 and not ray.is_initialized()  # the sweep stopped the cluster it started
    a = {(r.activation, r.seed): r for r in local.records()}
    b = {(r.activation, r.seed): r for r in remote.records()}
    assert a.keys() == b.keys()
    for k in a:
        # equal up to float32 rounding: SIMD reductions may differ in the last bit between processes
        assert a[k].status == b[k].status and a[k].metrics.keys() == b[k].metrics.keys()
        assert a[k].metrics == pytest.approx(b[k].metrics, rel=1e-5, abs=1e-6)
        assert a[k].curves["test_acc"] == b[k].curves["test_acc"] or a[k].curves["test_acc"]["value"] == \
            pytest.approx(b[k].curves["test_acc"]["value"], abs=2e-3)
    assert {r.env["backend"] for r in remote.records()} == {"ray"}
