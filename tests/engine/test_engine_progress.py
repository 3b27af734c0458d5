"""Progress: the units in flight are reported before they run; the live bar names them."""

import io

import engine_toy
from rich.console import Console

from actlab.engine import Store, run_sweep
from actlab.engine.progress import LiveProgress


def test_on_running_names_each_job_before_its_records(tmp_path):
    events = []
    run_sweep(engine_toy.STUDY, engine_toy.Config(), activations=["relu", "tanh"], seeds=2,
              store=Store(tmp_path / "r.db"), jobs=1, ref="engine_toy:STUDY",
              on_running=lambda units: events.append(("running", [(u.activation, u.seed) for u in units])),
              on_job=lambda units, recs: events.append(("done", [(r.activation, r.seed) for r in recs])))
    assert len(events) == 8
    for (kind_a, a), (kind_b, b) in zip(events[::2], events[1::2]):
        assert kind_a == "running" and kind_b == "done" and a == b


def test_live_bar_shows_the_running_unit(tmp_path):
    out = io.StringIO()
    bar = LiveProgress(console=Console(file=out, force_terminal=True, width=120))
    seen = []
    original = bar.on_running

    def spy(units):
        original(units)
        seen.append(bar._progress.tasks[0].description)

    run_sweep(engine_toy.STUDY, engine_toy.Config(), activations=["relu"], seeds=2, store=Store(tmp_path / "r.db"),
              jobs=1, ref="engine_toy:STUDY", on_start=bar.on_start, on_job=bar.on_job, on_running=spy)
    bar.close()
    assert seen and all("running relu seed=" in d for d in seen)
    assert bar._progress.tasks[0].completed == 2
