"""The study protocol, version 2: what a study declares, what a unit returns, what a record holds.

A study is one module in :mod:`actlab.studies` ending in ``STUDY = Study(...)``.  It declares, before
any data exists, everything a reviewer needs to judge its verdict (see ``docs/engine.md``):

* the claim (taken from the ledger, :mod:`actlab.claims`, by id -- never retyped),
* named :class:`Profile` s (config, number of seeds, runtime; a smoke test is labelled as one),
* the arms (the baseline and the activations the claim names, plus descriptive controls),
* the design factors (``cells``) and the hyper-parameter policy (:class:`Shared` or :class:`Tuned`),
* the pre-registered estimands (:class:`Part`): metric, rule, direction, smallest effect of interest
  and why, and which part is primary.

The engine runs units (one arm x cell x seed, grouped for speed by the plan), stamps every record with
study, claim, profile, config hash and the code fingerprint, and judges the declared parts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

__all__ = ["Figure", "Part", "Profile", "Record", "Result", "Shared", "Study", "Tuned", "UnitSpec", "canonical", "config_dict",
           "config_hash", "RULES"]

STATUSES = ("done", "diverged", "failed")
RULES = ("superiority", "noninferiority", "equivalence", "exact", "proportion", "trend", "time_to_event", "spread")


def canonical(obj: Any) -> str:
    """Canonical JSON (sorted keys, no spaces): the text form of a cell or hyper-parameter dict in a key."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


@dataclass
class Result:
    """What ``run`` returns for one unit.

    ``metrics``: scalars; ``curves``: ``{name: {"step": [...], "value": [...]}}``; ``arrays``: per-unit
    arrays (per-layer statistics, maps) as nested lists.  ``status`` is ``"done"`` or ``"diverged"``
    (non-finite loss: a result that counts against its arm, not a crash); ``error`` says where.
    """

    metrics: dict[str, float]
    curves: dict[str, dict[str, list]] = field(default_factory=dict)
    status: str = "done"
    error: str | None = None
    arrays: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in ("done", "diverged"):
            raise ValueError(f"Result.status must be 'done' or 'diverged', got {self.status!r}")


@dataclass
class Record:
    """One stored unit.  The key is ``(study, config_hash, cell, hyper, arm, seed, fingerprint)``.

    ``cell`` and ``hyper`` are canonical JSON (:func:`canonical`) of the design factors and of the
    hyper-parameters the unit trained with; ``seed`` is ``-1`` for a deterministic unit (no seed);
    ``fingerprint`` hashes the code and data that produced it (:mod:`actlab.engine.fingerprint`).
    """

    study: str
    config_hash: str
    cell: str
    hyper: str
    arm: str
    seed: int
    fingerprint: str
    status: str
    metrics: dict[str, Any]
    curves: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    started: float = 0.0
    finished: float = 0.0
    seconds: float = 0.0
    host: str = ""
    env: dict[str, Any] = field(default_factory=dict)
    profile: str = ""
    claim: str = ""

    @property
    def key(self) -> tuple[str, str, str, str, str, int, str]:
        return (self.study, self.config_hash, self.cell, self.hyper, self.arm, self.seed, self.fingerprint)

    @property
    def activation(self) -> str:
        return self.arm

    @property
    def factors(self) -> dict[str, Any]:
        return json.loads(self.cell) if self.cell else {}

    @property
    def hyperparameters(self) -> dict[str, Any]:
        return json.loads(self.hyper) if self.hyper else {}

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Record":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"a record has unknown field(s) {sorted(unknown)}: written by a newer actlab?")
        return cls(**{k: v for k, v in d.items()})


def config_dict(config: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return json.loads(json.dumps(dataclasses.asdict(config), default=str))
    raise TypeError(f"a study config must be a dataclass instance, got {type(config).__name__}")


def config_hash(study_id: str, config: Any) -> str:
    """Stable 16-hex-digit hash of the study id and the config's fields (not the profile's name)."""
    blob = json.dumps({"study": study_id, "config": config_dict(config)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Profile:
    """One way to run a study: its config, how many seeds, how long it takes, and whether it is evidence.

    ``seeds=None`` means the units are deterministic computations (theory): one unit per arm and cell,
    stored with seed ``-1``, never averaged over fake seeds.  ``smoke=True`` marks a smoke test: its
    verdicts are labelled "smoke test, not evidence" everywhere they are shown.
    """

    config: Any
    seeds: int | None
    runtime: str
    smoke: bool = False

    def __post_init__(self) -> None:
        config_dict(self.config)
        if self.seeds is not None and (not isinstance(self.seeds, int) or self.seeds < 1):
            raise ValueError(f"Profile.seeds must be a positive int or None, got {self.seeds!r}")


@dataclass(frozen=True)
class Shared:
    """One set of hyper-parameters for every arm (what a claim about a default recipe tests)."""

    values: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"policy": "shared", "values": dict(self.values)}


@dataclass(frozen=True)
class Tuned:
    """Hyper-parameters tuned per arm (and cell) on a validation split, then fresh seeds on the test set.

    Every point of ``grid`` is trained with each of ``seeds`` (disjoint from the evaluation seeds 0..n-1)
    and judged by ``metric`` (a validation metric the study's ``run`` reports in the ``"tune"`` phase);
    the best mean wins, ties going to the first grid point.
    """

    grid: Mapping[str, Sequence[Any]]
    metric: str
    direction: str = "higher"
    seeds: tuple[int, ...] = (1000, 1001)

    def __post_init__(self) -> None:
        if not self.grid or any(len(v) == 0 for v in self.grid.values()):
            raise ValueError("Tuned.grid needs at least one value per hyper-parameter")
        if self.direction not in ("higher", "lower"):
            raise ValueError(f"Tuned.direction must be 'higher' or 'lower', got {self.direction!r}")
        if not self.seeds or any(s < 1000 for s in self.seeds):
            raise ValueError("Tuned.seeds must be >= 1000, disjoint from the evaluation seeds")

    def points(self) -> list[dict[str, Any]]:
        import itertools

        keys = sorted(self.grid)
        return [dict(zip(keys, vals)) for vals in itertools.product(*(tuple(self.grid[k]) for k in keys))]

    def describe(self) -> dict[str, Any]:
        return {"policy": "tuned", "grid": {k: list(v) for k, v in self.grid.items()}, "metric": self.metric,
                "direction": self.direction, "seeds": list(self.seeds)}


@dataclass(frozen=True)
class Figure:
    """A figure a study declares; the engine computes its series into the verdict, the report draws them.

    * ``kind="factor"``: the mean and 95 % CI over the judged seeds of metric ``y`` per arm, against the
      levels of design factor ``x`` (dead fraction vs depth, gradient noise vs slope, steps vs input range);
    * ``kind="layers"``: a per-layer array ``y`` (a unit's ``arrays[y]``, one number per layer) averaged
      over seeds per arm against the layer index, one line per arm and, when ``x`` names a factor, per
      level of it (per-layer variance for each depth);
    * ``kind="arms"``: metric ``y`` against a number each arm stands for (``levels``: arm -> value, e.g.
      PReLU's slope alpha: gradient noise vs alpha), mean and 95 % CI over seeds at each arm's value;
      ``lines`` ((label, metric) pairs) draws several metrics so, one line each (at init, mid-training).

    ``cell`` keeps units whose factors include these values; ``xlabel``/``ylabel`` label the axes (the
    metric and factor names otherwise); ``logx`` draws the x axis on a log scale.
    """

    name: str
    y: str
    x: str = ""
    kind: str = "factor"
    cell: Mapping[str, Any] = field(default_factory=dict)
    xlabel: str = ""
    ylabel: str = ""
    logx: bool = False
    title: str = ""
    levels: Mapping[str, float] = field(default_factory=dict)
    lines: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("factor", "layers", "arms"):
            raise ValueError(f"Figure {self.name!r}: kind must be 'factor', 'layers' or 'arms', got {self.kind!r}")
        if self.kind == "arms" and not self.levels:
            raise ValueError(f"Figure {self.name!r}: an 'arms' figure maps arms to values: levels={{arm: x, ...}}")
        if self.kind == "factor" and not self.x:
            raise ValueError(f"Figure {self.name!r}: a factor figure names its design factor x=")
        if not self.name or not self.y:
            raise ValueError("Figure needs a name and a y (metric or array)")

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "x": self.x, "y": self.y, "cell": dict(self.cell),
                "levels": dict(self.levels), "lines": [list(p) for p in self.lines],
                "xlabel": self.xlabel or (self.x if self.kind != "layers" else "layer (input side first)"),
                "ylabel": self.ylabel or self.y, "logx": self.logx, "title": self.title or self.name}


@dataclass(frozen=True)
class Part:
    """One pre-registered estimand of a claim.

    Args:
        name: what the part says, in words ("MNIST-1D MLP: higher final test accuracy").
        metric: the metric (per unit) the part is about.
        rule: a decision rule of :mod:`actlab.engine.decide` (:data:`RULES`).
        direction: ``"higher"`` or ``"lower"``: which way the claim says the compared arms beat the baseline.
        delta: the smallest effect of interest (superiority, proportion, trend, time-to-event), the margin
            (non-inferiority, equivalence) or the tolerance (exact), in the metric's units.
        why: the reason for ``delta``.
        compared: the named arms; each is compared with the baseline on its own and the part holds only
            if every one does (intersection-union); empty means the study's ``compared``.
        baseline: empty means the study's ``baseline``; ``within=True`` parts have none (the metric is
            already a within-unit contrast, judged against 0).
        cell: only units whose design factors include these values (``{"task": "mnist1d_mlp"}``).
        worst: the value a diverged unit gets (it counts against its arm); ``None`` drops it (noted).
        event, horizon: time-to-event parts: the metric holding 1.0 when the event happened, and the
            budget at which units without it are censored.
        factor, transform: trend parts: the design factor whose level is the x-axis (``"log2"``, ``"id"``).
        target, relation: exact parts (``"=="``, ``"<="``, ``">="``).
        ceiling: units at or beyond this value are "at the ceiling"; a part where every unit is flags
            itself degenerate and cannot decide.
        primary: the headline part (exactly one per study).
        decides: ``False`` makes the part descriptive: judged by its rule and reported, but outside the
            Holm family and the claim's verdict (a robustness check, e.g. the other hyper-parameter policy).
    """

    name: str
    metric: str
    rule: str = "superiority"
    direction: str = "higher"
    delta: float | None = None
    why: str = ""
    compared: tuple[str, ...] = ()
    baseline: str = ""
    within: bool = False
    cell: Mapping[str, Any] = field(default_factory=dict)
    worst: float | None = None
    event: str | None = None
    horizon: float | None = None
    factor: str | None = None
    transform: str = "id"
    target: float | None = None
    relation: str = "=="
    ceiling: float | None = None
    primary: bool = False
    decides: bool = True

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise ValueError(f"Part {self.name!r}: unknown rule {self.rule!r} (rules: {', '.join(RULES)})")
        if self.direction not in ("higher", "lower"):
            raise ValueError(f"Part {self.name!r}: direction must be 'higher' or 'lower', got {self.direction!r}")
        if self.delta is None or not (self.delta > 0 and math.isfinite(self.delta)):
            if not (self.rule == "exact" and self.delta == 0):
                raise ValueError(f"Part {self.name!r}: declare delta > 0 (the smallest effect of interest, "
                                 "margin or tolerance) and why")
        if not self.why:
            raise ValueError(f"Part {self.name!r}: say why delta is {self.delta} (the why= field)")
        if self.rule == "time_to_event" and (self.event is None or self.horizon is None):
            raise ValueError(f"Part {self.name!r}: a time-to-event part needs event= and horizon=")
        if self.rule == "trend" and self.factor is None:
            raise ValueError(f"Part {self.name!r}: a trend part needs factor=")
        if self.rule == "exact" and self.target is None:
            raise ValueError(f"Part {self.name!r}: an exact part needs target=")
        if self.transform not in ("id", "log2", "log"):
            raise ValueError(f"Part {self.name!r}: transform must be id, log2 or log")
        if self.primary and not self.decides:
            raise ValueError(f"Part {self.name!r}: the primary part must decide")

    def describe(self) -> dict[str, Any]:
        d = {k: v for k, v in dataclasses.asdict(self).items() if v not in (None, (), "", {}) or k == "primary"}
        d["cell"] = dict(self.cell)
        return d


@dataclass(frozen=True)
class UnitSpec:
    """What ``run`` receives per unit: the arm's name and resolved object, seed, cell, hyper, phase."""

    arm: str
    activation: Any
    seed: int
    cell: Mapping[str, Any]
    hyper: Mapping[str, Any]
    phase: str = "main"  # "tune": report validation metrics only; "main": the evaluated run


def _claim_text(study_id: str) -> tuple[str, str]:
    from ..claims import CLAIMS

    c = CLAIMS.get(study_id.upper())
    return (c.statement, c.kind) if c else ("", "")


@dataclass(frozen=True)
class Study:
    """Everything the engine, CLI and report need to know about one claim's study.

    Args:
        id: the claim id from the ledger (``"C01"``); the claim's statement and kind come from there.
        profiles: ``{name: Profile}``; one must be ``evidence`` (the default of ``actlab verdict``) and a
            ``"quick"`` one must exist (it runs in the tests); quick profiles are smoke tests.
        run: ``run(config, units: list[UnitSpec]) -> list[Result]``, one result per unit in order.  The
            engine groups units of one cell and phase (at most ``max_batch``) so a study can train them as
            one vectorised program; a unit's numbers must not depend on its group (tested).  A ``run``
            that returns an iterator instead has each unit stored as soon as it is yielded.
        parts: the pre-registered estimands; exactly one is ``primary``.
        baseline, compared: the claim's arms; ``controls`` are descriptive arms run by default.
        cells: ``cells(config) -> list[dict]`` design factors (default: one cell ``{}``).  A cell with
            ``"half": "theory"`` is the claim's theory half inside the same study: a deterministic
            computation, one unit per arm with seed ``-1`` (never fake seeds), no tuning, judged by
            ``exact`` parts whose ``cell`` selects it; the other cells are seeded as the profile says.
        hyper: the hyper-parameter policy (:class:`Shared` or :class:`Tuned`), ``{name: policy}`` to run several
            (each evaluated cell gets the factor ``policy``: report both where a claim is about speed or
            stability), or ``hyper(config)`` returning either.
        resolve: ``resolve(name) -> object | None`` for arms that are not zoo activations.
        rank: ``(metric, direction)`` that orders arms in the report (default: the primary part's).
        figures: what the report draws for the study: ``"metric"`` (the primary metric per arm) and
            :class:`Figure` s (a metric against a design factor, a per-layer array), computed into the
            verdict from the judged records.
        code: extra modules whose code the records depend on (fingerprinted with the study's).
        datasets: dataset names the study uses (their content hashes enter the fingerprint).
        secondary: descriptive metrics reported beside the verdict, never deciding it.
        init: the declared initialisation policy, in words (also implemented by the study's models).
        threads, device: per unit.
        claim, kind: only for a study outside the ledger (a test's toy study).
    """

    id: str
    profiles: Mapping[str, Profile]
    run: Callable[..., list[Result]]
    parts: Sequence[Part]
    baseline: str
    compared: Sequence[str]
    controls: Sequence[str] = ()
    evidence: str = "full"
    cells: Callable[[Any], list[dict[str, Any]]] | None = None
    hyper: Any = field(default_factory=Shared)
    resolve: Callable[[str], Any] | None = None
    rank: tuple[str, str] | None = None
    figures: Sequence[Any] = ("metric",)
    code: Sequence[str] = ()
    datasets: Sequence[str] = ()
    secondary: Sequence[str] = ()
    init: str = ""
    max_batch: int = 1
    threads: int = 1
    device: str = "cpu"
    doc: str = ""
    claim: str = ""
    kind: str = ""

    def __post_init__(self) -> None:
        stated, kind = _claim_text(self.id)
        if stated:
            if self.claim and self.claim != stated:
                raise ValueError(f"study {self.id}: the claim comes from the ledger; drop claim=")
            object.__setattr__(self, "claim", stated)
            object.__setattr__(self, "kind", kind)
        elif not self.claim:
            raise ValueError(f"study {self.id}: not a ledger claim, so pass claim= and kind=")
        if "quick" not in self.profiles:
            raise ValueError(f"study {self.id}: every study needs a 'quick' profile (it runs in the tests)")
        if self.evidence not in self.profiles:
            raise ValueError(f"study {self.id}: evidence profile {self.evidence!r} is not among its profiles")
        if self.profiles[self.evidence].smoke:
            raise ValueError(f"study {self.id}: the evidence profile cannot be a smoke test")
        for name, p in self.profiles.items():
            if not isinstance(p, Profile):
                raise TypeError(f"study {self.id}: profile {name!r} must be a Profile, got {type(p).__name__}")
        prim = [p for p in self.parts if p.primary]
        if len(prim) != 1:
            raise ValueError(f"study {self.id}: exactly one part must be primary (found {len(prim)})")
        if self.max_batch < 1 or self.threads < 1:
            raise ValueError(f"study {self.id}: max_batch and threads must be >= 1")
        if not self.baseline and not all(p.within for p in self.parts):
            raise ValueError(f"study {self.id}: name the baseline arm")

    # -- what the plan and the verdict use ---------------------------------------------------------
    @property
    def primary(self) -> Part:
        return next(p for p in self.parts if p.primary)

    @property
    def arms(self) -> list[str]:
        """The default arms: baseline, the named activations, then the controls (no duplicates)."""
        out: list[str] = []
        for a in (self.baseline, *self.compared, *self.controls):
            if a and a not in out:
                out.append(a)
        return out

    @property
    def activations(self) -> list[str]:  # the name the CLI and tour use
        return self.arms

    def profile(self, name: str) -> Profile:
        try:
            return self.profiles[name]
        except KeyError:
            raise KeyError(f"study {self.id} has no profile {name!r} (profiles: {', '.join(self.profiles)})") from None

    def design(self, config: Any) -> list[dict[str, Any]]:
        cells = self.cells(config) if self.cells is not None else [{}]
        if not cells:
            raise ValueError(f"study {self.id}: its cells() gave no cell")
        return [dict(c) for c in cells]

    def policy(self, config: Any) -> Any:
        """The declared policy: one :class:`Shared`/:class:`Tuned`, or ``{name: policy}`` for several."""
        return self.hyper(config) if callable(self.hyper) and not isinstance(self.hyper, (Shared, Tuned)) else self.hyper

    def policies(self, config: Any) -> dict[str, Any]:
        """``{name: policy}``; a single policy is named ``""`` (and adds no factor to the cells)."""
        p = self.policy(config)
        if isinstance(p, (Shared, Tuned)):
            return {"": p}
        if not p or not all(isinstance(v, (Shared, Tuned)) for v in p.values()):
            raise ValueError(f"study {self.id}: hyper must be Shared, Tuned or {{name: Shared | Tuned}}")
        return dict(p)

    @property
    def needs_arrays(self) -> bool:
        """Whether judging reads per-unit arrays (a ``layers`` figure): readers load them only then."""
        return any(isinstance(f, Figure) and f.kind == "layers" for f in self.figures)

    @staticmethod
    def is_theory(cell: Mapping[str, Any]) -> bool:
        """Whether ``cell`` is a theory half: deterministic units (seed -1), no hyper-parameter policy."""
        return cell.get("half") == "theory"

    def plan_cells(self, config: Any) -> list[tuple[dict[str, Any], Any]]:
        """``(cell, policy)`` for every evaluated cell: the design crossed with named policies (factor ``policy``);
        a theory cell is computed once, under :class:`Shared` with no values."""
        pols = self.policies(config)
        out: list[tuple[dict[str, Any], Any]] = []
        for c in self.design(config):
            if self.is_theory(c):
                out.append((dict(c), Shared()))
                continue
            out += [({**c, "policy": name} if name else dict(c), pol) for name, pol in pols.items()]
        return out

    def describe_policy(self, config: Any) -> dict[str, Any]:
        pols = self.policies(config)
        return pols[""].describe() if "" in pols else {n: p.describe() for n, p in pols.items()}

    def part_arms(self, part: Part) -> tuple[str, tuple[str, ...]]:
        return part.baseline or self.baseline, tuple(part.compared or self.compared)

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "claim": self.claim, "kind": self.kind, "evidence": self.evidence,
                "profiles": {n: {"seeds": p.seeds, "runtime": p.runtime, "smoke": p.smoke,
                                 "config": config_dict(p.config)} for n, p in self.profiles.items()},
                "baseline": self.baseline, "compared": list(self.compared), "controls": list(self.controls),
                "parts": [p.describe() for p in self.parts], "secondary": list(self.secondary),
                "hyper": {n: self.describe_policy(p.config) for n, p in self.profiles.items()},
                "init": self.init, "figures": [f.describe() if isinstance(f, Figure) else f for f in self.figures], "rank": list(self.rank or (self.primary.metric,
                                                                                              self.primary.direction))}
