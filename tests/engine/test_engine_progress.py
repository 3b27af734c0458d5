"""Progress: the units in flight are reported before they run; the live bar names them."""

import io

from rich.console import Console

from actlab.engine import Store, run_sweep
from actlab.engine.progress import LiveProgress, PlainProgress

import engine_toy


def test_on_running_names_each_job_before_its_records(tmp_path):
    events = []
    # two cells: at least two jobs, whatever max_batch
    s = run_sweep(engine_toy.CELLS, "quick", activations=["tanh"], seeds=2, store=Store(tmp_path / "r.db"), jobs=1,
                  on_start=lambda study, total, skipped: events.append(("start", (study, total, skipped))),
                  on_running=lambda units: events.append(("running", [(u.cell, u.arm, u.seed) for u in units])),
                  on_job=lambda units, recs: events.append(("done", [(r.cell, r.arm, r.seed) for r in recs])))
    assert events[0] == ("start", ("T02", 12, 0)) and s.done == 12
    jobs = events[1:]
    assert len(jobs) >= 4 and len(jobs) % 2 == 0
    for (kind_a, a), (kind_b, b) in zip(jobs[::2], jobs[1::2]):
        assert kind_a == "running" and kind_b == "done" and a == b and len({c for c, _, _ in a}) == 1
    assert sorted(u for kind, us in jobs if kind == "done" for u in us) == sorted(
        (r.cell, r.arm, r.seed) for r in Store(tmp_path / "r.db").records("T02"))


def test_live_bar_shows_the_running_unit(tmp_path):
    out = io.StringIO()
    bar = LiveProgress(console=Console(file=out, force_terminal=True, width=120))
    seen = []
    original = bar.on_running

    def spy(units):
        original(units)
        seen.append(bar._progress.tasks[0].description)

    run_sweep(engine_toy.STUDY, "quick", seeds=2, store=Store(tmp_path / "r.db"), jobs=1, on_start=bar.on_start,
              on_job=bar.on_job, on_running=spy)
    bar.close()
    assert seen == ["T00 · running relu seed=0 (+3 more)"]
    assert bar._progress.tasks[0].completed == 4


def test_plain_progress_prints_one_line_per_unit(tmp_path):
    out = io.StringIO()
    p = PlainProgress(out)
    run_sweep(engine_toy.FAILING, "quick", seeds=1, store=Store(tmp_path / "r.db"), jobs=1, on_start=p.on_start,
              on_job=p.on_job)
    lines = out.getvalue().splitlines()
    assert lines[0] == "T00: 2 units, 0 already in the store"
    assert len(lines) == 3 and any("relu seed=0 done" in x for x in lines)
    assert any("silu seed=0 failed" in x and "configured to fail for silu" in x for x in lines)
