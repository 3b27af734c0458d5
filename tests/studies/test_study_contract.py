"""The contract every study keeps (protocol v2), checked for each study of ``actlab.studies``.

Each study's quick profile runs once (unchanged: C01 ~25 s, C06 ~25 s on 2 busy cores) through a
temporary store, shared by the tests of this module; the verdict must be strict JSON labelled with its
profile and code fingerprint.  The rest is what a reviewer needs before any data exists: a module
docstring with the commands, a runtime per profile and where the measured numbers are; parts with a
smallest effect of interest and a reason, exactly one primary; arms that resolve to their own names;
metrics the units really report; a unit's numbers independent of the group it trained in.  (That the
header's measured numbers are what the shipped records give is ``test_measured.py``'s.)
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
import time

import pytest

from actlab.engine import SMOKE_LABEL, Figure, Store, Tuned, run_sweep
from actlab.engine.fingerprint import study_fingerprint
from actlab.engine.protocol import RULES, canonical, config_hash
from actlab.engine.sweep import Unit, execute_job, resolve_arm, study_ref
from actlab.engine.verdicts import verdict
from actlab.studies import all_studies

STUDIES = all_studies()
USER = "user_acts:swishlike"
FIGURES = ("metric", "curves")
RUNTIME = re.compile(r"~?\s*\d+(\.\d+)?\s*(s|min|h)\b")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """``quick(study) -> (summary, records, seconds)``: the quick profile run once per study."""
    cache: dict = {}

    def get(study):
        if study.id not in cache:
            store = Store(tmp_path_factory.mktemp(study.id) / "r.db")
            t0 = time.time()
            # the claim's arms, its controls and a user's plain function with nothing declared
            s = run_sweep(study, "quick", activations=[*study.controls, USER], store=store, jobs=1)
            cache[study.id] = (s, store.records(study.id, s.config_hash, s.fingerprint), time.time() - t0)
        return cache[study.id]

    return get


def test_a_users_activation_runs_through_the_study_and_is_compared(study, quick):
    from actlab.zoo import get

    s, recs, _ = quick(study)
    name = get(USER).name
    mine = [r for r in _main(recs) if r.arm == name]
    assert mine and all(r.status == "done" for r in mine), [r.error for r in mine]
    v = verdict(study, "quick", recs)
    (d,) = [d for d in v["descriptive"] if d["arm"] == name]
    assert d["comparisons"] and all(isinstance(c["estimate"], float) for c in d["comparisons"])
    assert name not in {c["arm"] for p in v["parts"] for c in p["contrasts"]}  # never part of the claim


def _composite_of(parts):
    """The claim's status from its parts' statuses, by the rule the verdict states (an independent re-derivation)."""
    deciding = [p["status"] for p in parts if p["decides"] and not p["excluded"]]
    if "refuted" in deciding:
        return "refuted"
    return "supported" if deciding and all(s == "supported" for s in deciding) else "inconclusive"


def _main(records):
    return [r for r in records if "phase" not in r.factors]


def _doc(study) -> str:
    return sys.modules[study.run.__module__].__doc__ or ""


@pytest.fixture(params=STUDIES, ids=[s.id for s in STUDIES])
def study(request):
    return request.param


def test_quick_profile_runs_and_its_verdict_is_strict_json(study, quick):
    s, recs, seconds = quick(study)
    print(f"{study.id} quick: {s.total} units in {seconds:.1f}s")
    assert s.failed == 0, s.errors
    assert s.done + s.diverged == s.total - s.skipped and len(recs) == s.total
    v = verdict(study, "quick", recs)
    assert v is not None
    v = json.loads(json.dumps(v, allow_nan=False))
    prof = study.profile("quick")
    assert (v["study"], v["claim"], v["profile"], v["smoke"], v["label"]) == (study.id, study.claim, "quick", True,
                                                                            SMOKE_LABEL)
    assert v["fingerprint"] == study_fingerprint(study) == s.fingerprint and not v["provenance"]["stale"]
    assert v["config_hash"] == config_hash(study.id, prof.config)
    assert v["status"] == _composite_of(v["parts"]), v["parts"]
    assert v["seeds"] == (list(range(prof.seeds)) if prof.seeds is not None else [-1])
    assert [p["name"] for p in v["parts"]] == [p.name for p in study.parts] and v["primary"] == study.primary.name
    assert all(p["contrasts"] for p in v["parts"])
    json.dumps(study.describe(), allow_nan=False)


def test_every_declared_metric_is_one_the_units_report(study, quick):
    _, recs, _ = quick(study)
    main = [r for r in _main(recs) if r.status == "done"]
    assert main, "no finished evaluation unit"
    for part in study.parts:
        mine = [r for r in main if all(r.factors.get(k) == v for k, v in part.cell.items())]
        assert mine, f"part {part.name!r}: no unit of cell {dict(part.cell)}"
        for m in (part.metric, part.event):
            if m:
                assert all(m in r.metrics for r in mine), f"part {part.name!r}: metric {m!r} is not reported"
    reported = set().union(*(r.metrics for r in main))
    rank = (study.rank or (study.primary.metric, study.primary.direction))[0]
    missing = [m for m in (*study.secondary, rank) if m not in reported]
    assert not missing, f"declared metrics no unit reports: {missing}"
    arrays = set().union(*(r.arrays for r in main))
    for f in study.figures:  # every declared figure has something to draw
        if isinstance(f, Figure) and f.kind == "arms":  # each line's metric, at arms the study runs
            for _, metric in (f.lines or ((f.y, f.y),)):
                assert metric in reported, f"figure {f.name!r}: no unit reports metric {metric!r}"
            assert set(f.levels) <= set(study.arms), f"figure {f.name!r}: levels name arms the study does not run"
        elif isinstance(f, Figure):
            where = arrays if f.kind == "layers" else reported
            assert f.y in where, f"figure {f.name!r}: no unit reports {'array' if f.kind == 'layers' else 'metric'} {f.y!r}"
    for cell, policy in study.plan_cells(study.profile("quick").config):
        if isinstance(policy, Tuned):
            tune = [r for r in recs if r.cell == canonical({**cell, "phase": "tune"})]
            assert tune and all(policy.metric in r.metrics for r in tune if r.status == "done")
            assert not any(k.startswith("test_") for r in tune for k in r.metrics), "tuning saw the test split"
    if "curves" in study.figures:
        assert all(r.curves for r in main), "the study draws curves, but its units record none"


def test_a_units_numbers_do_not_depend_on_its_group(study, quick):
    """Stored units (trained in the sweep's groups) re-run alone give the same bits."""
    s, recs, _ = quick(study)
    main = sorted(_main(recs), key=lambda r: r.key)
    cell = main[0].cell
    picked = [main[0]]
    if study.max_batch > 1:  # the engine grouped these: take another arm and seed of the same group
        # (a declared arm: a user's arm is stored as "fn@hash", which only its module:name reference resolves)
        picked.append(next(r for r in main if r.cell == cell and r.arm != main[0].arm and r.seed != main[0].seed
                           and r.arm in study.arms))
    ref, config = study_ref(study), study.profile("quick").config
    for r in picked:
        (new,) = execute_job(ref, config, [Unit(r.study, ref, r.config_hash, r.cell, r.hyper, r.arm, r.arm, r.seed,
                                                r.fingerprint)], "quick")
        assert (new.status, new.metrics, new.curves, new.arrays) == (r.status, r.metrics, r.curves, r.arrays), r.key


def test_the_module_docstring_states_commands_runtimes_and_where_the_numbers_are(study):
    doc = _doc(study)
    assert study.doc and f"actlab run {study.id}" in doc
    for name, prof in study.profiles.items():
        lines = [line for line in doc.splitlines() if f"actlab run {study.id} --profile {name}" in line]
        assert lines and RUNTIME.search(lines[0]), f"no command with a runtime for profile {name!r}"
        assert prof.runtime and RUNTIME.search(prof.runtime)
    assert "Measured" in doc
    assert f"actlab verdict {study.id}" in doc


def test_parts_are_pre_registered(study):
    assert study.parts and sum(p.primary for p in study.parts) == 1 and study.primary.decides
    arms = set(study.arms)
    cells = [c for p in study.profiles.values() for c, _ in study.plan_cells(p.config)]
    for p in study.parts:
        assert p.rule in RULES and p.why.strip() and p.delta is not None
        assert p.delta > 0 or (p.rule == "exact" and p.delta == 0)
        base, compared = study.part_arms(p)
        assert compared and set(compared) <= arms and (p.within or base in arms)
        assert any(all(c.get(k) == v for k, v in p.cell.items()) for c in cells), f"{p.name}: no such cell"
        if p.factor:  # every cell the part selects has the factor (a theory half's cell need not)
            assert all(p.factor in c for c in cells if all(c.get(k) == v for k, v in p.cell.items()))
    assert len({p.name for p in study.parts}) == len(study.parts)


def test_arms_resolve_to_their_own_names(study):
    for a in study.arms:
        canon, obj = resolve_arm(study, a)
        assert canon == a and obj is not None  # records are keyed by the canonical name the parts use


def test_profiles_and_figures(study):
    ev, q = study.profile(study.evidence), study.profile("quick")
    assert not ev.smoke and q.smoke and study.evidence != "quick"
    if ev.seeds is not None:
        assert q.seeds is not None and ev.seeds >= q.seeds
    else:
        assert q.seeds is None
    assert config_hash(study.id, ev.config) != config_hash(study.id, q.config)
    assert study.figures and all(isinstance(f, Figure) or f in FIGURES for f in study.figures)
    names = [f.name for f in study.figures if isinstance(f, Figure)]
    assert len(names) == len(set(names)), "two declared figures share a name (their files would collide)"
    for f in study.figures:
        if isinstance(f, Figure) and f.x:  # the x axis is a design factor of some cell of every profile
            for p in study.profiles.values():
                assert any(f.x in c for c in study.design(p.config)), f"figure {f.name!r}: no cell has factor {f.x!r}"
    for p in study.profiles.values():
        dataclasses.asdict(p.config)
        assert study.policies(p.config) and canonical(study.describe_policy(p.config))

