"""Judging declared parts on records: each rule wired to the right numbers, planted effects and nulls.

Records are written by hand (no training), so each test knows the exact paired differences and holds
the verdict to ``actlab.engine.decide`` computed on them directly.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from actlab.engine import Part, Profile, Record, Study, decide
from actlab.engine.protocol import canonical
from actlab.engine.verdicts import judge


def _cfg():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Config:
        x: int = 1

    return Config()


def study(parts, compared=("silu",), seeds=6, baseline="relu"):
    return Study(id="T50", claim="toy claim for verdict tests", kind="experiment",
                 profiles={"quick": Profile(_cfg(), seeds=3, runtime="1 s", smoke=True),
                           "full": Profile(_cfg(), seeds=seeds, runtime="1 s")},
                 run=lambda config, units: [], parts=parts, baseline=baseline, compared=compared)


def rec(arm, seed, metrics, cell=None, status="done"):
    return Record("T50", "h", canonical(cell or {}), "{}", arm, seed, "fp", status, metrics)


def records(values: dict[str, list[float]], metric="m", cell=None):
    return [rec(a, s, {metric: v}, cell) for a, vs in values.items() for s, v in enumerate(vs)]


SUP = Part("higher m", "m", delta=0.5, why="test", primary=True)


def contrast(v, part=0, arm=None):
    cs = v["parts"][part]["contrasts"]
    return cs[0] if arm is None else next(c for c in cs if c["arm"] == arm)


def test_superiority_is_decided_on_the_paired_differences():
    rng = np.random.default_rng(0)
    base = rng.normal(0, 1, 6)
    comp = base + 1.0 + rng.normal(0, 0.2, 6)
    v = judge(study([SUP]), records({"relu": list(base), "silu": list(comp)}), "full")
    want = decide.superiority(list(comp - base), direction="higher", delta=0.5)
    c = contrast(v)
    assert c["estimate"] == pytest.approx(want.estimate, abs=1e-12) and c["ci"] == pytest.approx(want.ci, abs=1e-12)
    assert v["status"] == "supported" == c["status"]
    json.dumps(v, allow_nan=False)


def test_each_named_arm_on_its_own_never_their_average():
    # gelu far better, silu worse: the average beats relu, the claim ("gelu and silu") must not be supported
    base = [0.0, 0.1, -0.1, 0.05, 0.0, -0.05]
    gelu = [b + 3.0 + 0.1 * i for i, b in enumerate(base)]
    silu = [b - 0.8 + 0.05 * i for i, b in enumerate(base)]
    s = study([SUP], compared=("gelu", "silu"))
    v = judge(s, records({"relu": base, "gelu": gelu, "silu": silu}), "full")
    assert contrast(v, arm="gelu")["status"] == "supported"
    assert contrast(v, arm="silu")["outcome"] == "opposite direction"
    assert v["status"] == "refuted" and v["parts"][0]["status"] == "refuted"


def test_other_arms_never_change_the_verdict_and_get_descriptive_comparisons():
    vals = {"relu": [0, 0.2, 0.1, 0.3, 0.0, 0.1], "silu": [0.9, 1.1, 0.8, 1.2, 1.0, 0.7]}
    s = study([SUP])
    alone = judge(s, records(vals), "full")
    crowd = judge(s, records({**vals, "mine@abc": [5, 6, 5, 6, 5, 6], "tanh": [-3, -2, -3, -2, -3, -2]}), "full")
    assert alone["parts"] == crowd["parts"] and alone["status"] == crowd["status"]
    desc = {d["arm"]: d for d in crowd["descriptive"]}
    assert set(desc) == {"mine@abc", "tanh"}
    mine = [c for c in desc["mine@abc"]["comparisons"] if c["against"] == "relu"][0]
    assert mine["estimate"] == pytest.approx(np.mean([5, 6, 5, 6, 5, 6]) - np.mean(vals["relu"]))
    assert any(c["against"] == "silu" for c in desc["tanh"]["comparisons"])  # primary part: vs each named arm


def test_only_pre_registered_seeds_are_judged():
    vals = {"relu": [0.0] * 6 + [0.0] * 4, "silu": [0.0, 0.1, -0.1, 0.05, -0.05, 0.0] + [9.0] * 4}
    v = judge(study([SUP]), records(vals), "full")
    assert contrast(v)["n"] == 6 and v["seeds"] == list(range(6))
    assert any("beyond the profile" in n for n in v["notes"])


def test_a_diverged_unit_counts_against_its_arm():
    part = Part("higher m", "m", delta=0.5, why="test", worst=0.0, primary=True)
    recs = records({"relu": [1.0] * 5, "silu": [2.0, 2.1, 1.9, 2.0, 2.2]})
    recs.append(rec("relu", 5, {"m": 1.0}))
    recs.append(rec("silu", 5, {}, status="diverged"))
    v = judge(study([part]), recs, "full")
    c = contrast(v)
    assert c["n"] == 6 and c["estimate"] == pytest.approx((1.0 + 1.1 + 0.9 + 1.0 + 1.2 - 1.0) / 6)
    assert v["health"]["silu"]["diverged"] == 1 and v["health"]["silu"]["divergence_rate"] == pytest.approx(1 / 6)


def test_a_part_at_the_ceiling_is_degenerate_and_excluded():
    ceil = Part("higher acc", "acc", delta=0.01, why="test", ceiling=1.0)
    recs = records({"relu": [0.0, 0.1, 0.2, 0.1, 0.0, 0.2], "silu": [1.0, 1.1, 1.2, 1.1, 0.9, 1.3]})
    for r in recs:
        r.metrics["acc"] = 1.0  # every unit of both arms at the ceiling
    v = judge(study([SUP, ceil]), recs, "full")
    assert v["parts"][1]["excluded"] is True and contrast(v, 1)["degenerate"]
    assert v["status"] == "supported"  # the degenerate part neither blocks nor decides


def test_time_to_event_censors_at_the_horizon():
    part = Part("reaches the target sooner", "t", rule="time_to_event", direction="lower", delta=10, why="test",
                event="hit", horizon=100, primary=True)
    tb, eb = [100, 100, 90, 100, 95, 100], [0, 0, 1, 0, 1, 0]
    tc, ec = [40, 50, 45, 60, 55, 100], [1, 1, 1, 1, 1, 0]
    recs = [rec("relu", s, {"t": t, "hit": e}) for s, (t, e) in enumerate(zip(tb, eb))] + \
        [rec("silu", s, {"t": t, "hit": e}) for s, (t, e) in enumerate(zip(tc, ec))]
    v = judge(study([part]), recs, "full")
    want = decide.time_to_event(tc, [bool(e) for e in ec], tb, [bool(e) for e in eb], horizon=100, delta=10,
                                direction="lower")
    c = contrast(v)
    assert c["estimate"] == pytest.approx(want.estimate) and c["status"] == "supported"


def test_trend_over_a_factor_uses_per_seed_slopes_of_the_difference():
    part = Part("gap grows with depth", "m", rule="trend", delta=0.1, why="test", factor="depth",
                transform="log2", primary=True)
    recs = []
    for d in (2, 4, 8, 16):
        for s in range(6):
            gap = 0.3 * math.log2(d) + 0.01 * s
            recs += [rec("relu", s, {"m": 1.0 + 0.1 * s}, {"depth": d}), rec("silu", s, {"m": 1.0 + 0.1 * s + gap}, {"depth": d})]
    v = judge(study([part]), recs, "full")
    c = contrast(v)
    assert c["estimate"] == pytest.approx(0.3, abs=1e-9) and c["n"] == 6


def test_proportion_counts_events_per_arm():
    part = Part("diverges less", "diverged", rule="proportion", direction="lower", delta=0.1, why="test", primary=True)
    recs = [rec("relu", s, {"diverged": float(s < 5)}) for s in range(6)] + \
        [rec("silu", s, {"diverged": 0.0}) for s in range(6)]
    v = judge(study([part]), recs, "full")
    want = decide.proportion(0, 6, 5, 6, direction="lower", delta=0.1)
    c = contrast(v)
    assert c["estimate"] == pytest.approx(want.estimate) and c["ci"] == pytest.approx(want.ci)


def test_within_parts_are_clustered_by_seed():
    part = Part("hermite better", "d", delta=0.05, why="test", within=True, primary=True)
    s = Study(id="T51", claim="toy", kind="experiment", profiles={"quick": Profile(_cfg(), 3, "1 s", True),
                                                                  "full": Profile(_cfg(), 4, "1 s")},
              run=lambda c, u: [], parts=[part], baseline="", compared=("gelu", "silu"))
    recs = [Record("T51", "h", "{}", "{}", a, seed, "fp", "done", {"d": v})
            for a, vs in {"gelu": [0.1, 0.2, 0.3, 0.2], "silu": [0.3, 0.2, 0.1, 0.4]}.items() for seed, v in enumerate(vs)]
    v = judge(s, recs, "full")
    c = contrast(v)
    assert c["n"] == 4  # seeds, not activation x seed
    assert c["estimate"] == pytest.approx(np.mean([0.2, 0.2, 0.2, 0.3]))


def test_smoke_profiles_are_labelled():
    vals = {"relu": [0.0, 0.1, 0.2], "silu": [1.0, 1.2, 1.1]}
    quick = judge(study([SUP]), records(vals), "quick")
    full = judge(study([SUP]), records(vals), "full")
    assert quick["label"] == "smoke test, not evidence" and quick["smoke"] is True
    assert full["label"] == "evidence" and full["smoke"] is False


def test_a_tuned_optimum_at_the_grid_edge_is_noted():
    from actlab.engine import Tuned

    s = Study(id="T52", claim="toy", kind="experiment",
              profiles={"quick": Profile(_cfg(), 3, "1 s", True), "full": Profile(_cfg(), 3, "1 s")},
              run=lambda c, u: [], parts=[SUP], baseline="relu", compared=("silu",),
              hyper=Tuned(grid={"lr": (1e-3, 1e-2, 1e-1)}, metric="val"))
    recs = [Record("T52", "h", "{}", canonical({"lr": lr}), a, seed, "fp", "done", {"m": v})
            for a, lr, vs in (("relu", 1e-1, [0.0, 0.1, 0.2]), ("silu", 1e-2, [1.0, 1.1, 1.3]))
            for seed, v in enumerate(vs)]
    notes = judge(s, recs, "full")["notes"]
    assert any("largest lr" in n and "relu" in n for n in notes)
    assert not any("silu" in n for n in notes if "grid" in n)  # silu's optimum is inside the grid


def test_a_theory_half_is_one_deterministic_unit_per_arm_beside_a_seeded_tuned_half(tmp_path):
    """Cells with ``half=theory`` are computed once per arm (seed -1, no tuning, no fake seeds) and judged
    by their exact part; the experiment half of the same study is tuned and seeded as declared."""
    import json as _json

    from actlab.engine import Store, run_sweep
    from actlab.engine.sweep import plan_sweep
    from actlab.engine.verdicts import verdict as _verdict

    import engine_toy

    plan = plan_sweep(engine_toy.HALVES, "quick")
    theory = [u for u in plan.fixed if _json.loads(u.cell).get("half") == "theory"]
    assert sorted((u.arm, u.seed, u.hyper) for u in theory) == [("relu", -1, "{}"), ("silu", -1, "{}")]
    assert all(_json.loads(u.cell).get("half") == "experiment" for u in plan.tune_units)
    assert len(plan.tune_units) == 2 * 3 * 2 and plan.total == 2 + 12 + 2 * 2  # theory + tuning + main
    with Store(tmp_path / "s.db") as db:
        s = run_sweep(engine_toy.HALVES, "quick", store=db, jobs=1)
        assert (s.total, s.failed) == (plan.total, 0)
        v = _verdict(engine_toy.HALVES, "quick", db.records("T07"))
    exact, sup = v["parts"]
    assert [c["arm"] for c in exact["contrasts"]] == ["silu"] and exact["status"] == "supported"
    assert exact["contrasts"][0]["estimate"] == pytest.approx(1 / (1 + math.exp(-1)), abs=1e-6)
    # the experiment half was tuned (relu 1e-2, silu 1e-3: PLANTED's table) and trained on seeds 0, 1:
    # scores -|log10(lr) + 2| + 0.01 seed, so silu - relu is exactly -1 on each seed
    assert sup["contrasts"][0]["estimate"] == pytest.approx(-1.0, abs=1e-12) and sup["contrasts"][0]["n"] == 2
    hyper = v["hyper"][canonical({"half": "experiment"})]
    assert {a: h["lr"] for a, h in hyper.items()} == engine_toy.BEST
    assert v["seeds"] == [0, 1] and v["deterministic_units"] == 2


def test_declared_figures_get_their_series_computed_from_the_judged_records():
    """A factor figure: mean and t interval over seeds per (arm, level); a layers figure: per layer, per arm
    and level; failed/diverged units, undeclared seeds and other cells stay out."""
    import dataclasses

    from actlab.engine import Figure

    figs = (Figure("m vs depth", "m", x="depth", logx=True), Figure("per-layer var", "var", kind="layers", x="depth"),
            Figure("only depth 2", "m", x="depth", cell={"depth": 2}))
    s = dataclasses.replace(study([Part("higher m", "m", delta=0.5, why="test", primary=True, cell={"depth": 2})]),
                            figures=("metric", *figs))
    rng = np.random.default_rng(3)
    recs, want = [], {}
    for d in (2, 8):
        for a in ("relu", "silu"):
            vals = list(rng.normal(d, 1, 6))
            want[(a, d)] = vals
            for seed, v in enumerate(vals):
                r = rec(a, seed, {"m": v}, {"depth": d})
                r.arrays = {"var": [v * (i + 1) for i in range(d // 2)]}
                recs.append(r)
    recs.append(rec("relu", 9, {"m": 1e9}, {"depth": 2}))  # a seed beyond the profile's six: not judged
    recs.append(rec("silu", 1, {"m": -1e9}, {"depth": 8}, status="diverged"))
    v = judge(s, recs, "full")
    f0, f1, f2 = v["figures"]
    assert (f0["kind"], f0["x"], f0["y"], f0["logx"], f0["xlabel"]) == ("factor", "depth", "m", True, "depth")
    silu = next(x for x in f0["series"] if x["arm"] == "silu")
    assert silu["x"] == [2, 8] and silu["n"] == [6, 6]
    for i, d in enumerate((2, 8)):
        m, lo, hi = decide.mean_ci(want[("silu", d)])
        assert (silu["mean"][i], silu["lo"][i], silu["hi"][i]) == pytest.approx((m, lo, hi), abs=1e-12)
    lines = {(x["arm"], x["level"]): x for x in f1["series"]}
    assert set(lines) == {(a, d) for a in ("relu", "silu") for d in (2, 8)} and lines[("relu", 8)]["x"] == [0, 1, 2, 3]
    assert lines[("relu", 8)]["mean"][3] == pytest.approx(4 * np.mean(want[("relu", 8)]), abs=1e-12)
    assert lines[("silu", 2)]["label"] == "silu, depth 2" and f1["xlabel"].startswith("layer")
    assert all(x["x"] == [2] for x in f2["series"])
    json.dumps(v, allow_nan=False)
    with pytest.raises(ValueError, match="names its design factor"):
        Figure("bad", "m")


def test_a_part_without_enough_observations_keeps_the_claim_from_being_supported():
    """Theory parts (exact, supported) beside an experiment part that has one seed: the claim is not yet
    measured, so it is inconclusive -- never supported on the theory alone.  A degenerate part is passed over."""
    exact = decide.exact(1.0, target=1.0, tolerance=0.0)
    one_seed = decide.superiority([3.0], direction="higher", delta=0.5)
    assert one_seed.outcome == "too few observations"
    status, fam = decide.composite([exact, one_seed])
    assert status == "inconclusive" and fam[1].detail["excluded"] == "too few observations"
    assert decide.composite([exact])[0] == "supported"
    refuted = decide.superiority([-1.0, -1.2, -0.9, -1.1], direction="higher", delta=0.5)
    assert decide.composite([exact, one_seed, refuted])[0] == "refuted"  # a refuted part still refutes


def test_a_spread_part_is_one_decision_over_its_arms_and_extra_arms_stay_descriptive():
    rng = np.random.default_rng(5)
    seed_effect = rng.normal(0, 1, 6)
    vals = {a: list(seed_effect + shift + rng.normal(0, 0.1, 6)) for a, shift in
            (("relu", 0.0), ("silu", 0.1), ("tanh", 2.0))}
    part = Part("the choice matters", "m", rule="spread", delta=0.5, why="test", primary=True)
    s = study([part], compared=("silu", "tanh"))
    v = judge(s, records(vals), "full")
    want = decide.spread(np.array([vals["relu"], vals["silu"], vals["tanh"]]).T, delta=0.5,
                         arms=["relu", "silu", "tanh"])
    c = contrast(v)
    assert c["arm"] == "range over 3 arms" and c["estimate"] == pytest.approx(want.estimate, abs=1e-12)
    assert c["detail"]["range_pair"] == ["tanh", "relu"] and v["status"] == "supported"
    assert v["parts"][0]["baseline"] == "" and v["parts"][0]["compared"] == ["relu", "silu", "tanh"]
    crowd = judge(s, records({**vals, "mine@abc": list(seed_effect + 9.0)}), "full")
    assert crowd["parts"] == v["parts"]
    (mine,) = [x for d in crowd["descriptive"] if d["arm"] == "mine@abc" for x in d["comparisons"]]
    assert mine["against"] == "relu" and mine["estimate"] == pytest.approx(9.0 - np.mean(
        np.array(vals["relu"]) - seed_effect), abs=1e-9)


def test_an_arms_figure_puts_each_arm_at_the_value_it_stands_for_one_line_per_metric():
    import dataclasses

    from actlab.engine import Figure

    with pytest.raises(ValueError, match="levels"):
        Figure("noise vs alpha", "m", kind="arms")
    fig = Figure("noise vs alpha", "m", kind="arms", levels={"relu": 0.0, "silu": 0.5},
                 lines=(("at init", "m0"), ("end", "m")))
    s = dataclasses.replace(study([SUP]), figures=("metric", fig))
    rng = np.random.default_rng(4)
    vals = {(a, k): list(rng.normal(i + j, 0.1, 6)) for i, a in enumerate(("relu", "silu")) for j, k in
            enumerate(("m0", "m"))}
    recs = [rec(a, seed, {"m0": vals[(a, "m0")][seed], "m": vals[(a, "m")][seed]}) for a in ("relu", "silu")
            for seed in range(6)] + [rec("tanh", 0, {"m0": 9.0, "m": 9.0})]  # not on the figure's levels
    (f,) = judge(s, recs, "full")["figures"]
    lines = {x["label"]: x for x in f["series"]}
    assert set(lines) == {"at init", "end"}
    for label, metric in (("at init", "m0"), ("end", "m")):
        assert lines[label]["x"] == [0.0, 0.5]
        for arm, x in (("relu", 0), ("silu", 1)):
            m, lo, hi = decide.mean_ci(vals[(arm, metric)])
            assert lines[label]["mean"][x] == pytest.approx(m) and lines[label]["lo"][x] == pytest.approx(lo)
