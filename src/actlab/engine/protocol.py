"""The study protocol: what a study declares, what a run returns, what a verdict says.

A study is one module in :mod:`actlab.studies` ending in ``STUDY = Study(...)``; see ``docs/engine.md``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

__all__ = ["Result", "Record", "Study", "Verdict", "config_hash", "config_dict"]

STATUSES = ("done", "diverged", "failed")
VERDICTS = ("supported", "refuted", "inconclusive")


@dataclass
class Result:
    """What ``run`` returns for one unit: scalar metrics and curves.

    ``curves`` maps a name to ``{"step": [...], "value": [...]}``.  ``status`` is ``"done"`` or
    ``"diverged"`` (NaN/inf loss: a result, not a crash); ``error`` says where it diverged.
    """

    metrics: dict[str, float]
    curves: dict[str, dict[str, list]] = field(default_factory=dict)
    status: str = "done"
    error: str | None = None

    def __post_init__(self) -> None:
        if self.status not in ("done", "diverged"):
            raise ValueError(f"Result.status must be 'done' or 'diverged', got {self.status!r}")


@dataclass
class Record:
    """One stored unit: ``(study, config_hash, activation, seed, version)`` is the key."""

    study: str
    config_hash: str
    activation: str
    seed: int
    version: str
    status: str
    metrics: dict[str, Any]
    curves: dict[str, Any]
    error: str | None = None
    started: float = 0.0
    finished: float = 0.0
    seconds: float = 0.0
    host: str = ""
    env: dict[str, Any] = field(default_factory=dict)
    profile: str = ""

    @property
    def key(self) -> tuple[str, str, str, int, str]:
        return (self.study, self.config_hash, self.activation, self.seed, self.version)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def config_dict(config: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(config):
        return json.loads(json.dumps(dataclasses.asdict(config), default=str))
    raise TypeError(f"a study config must be a dataclass instance, got {type(config).__name__}")


def config_hash(study_id: str, config: Any) -> str:
    """Stable 16-hex-digit hash of the study id and the config's fields (not the profile's name)."""
    blob = json.dumps({"study": study_id, "config": config_dict(config)}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Study:
    """Everything the engine, CLI and report need to know about one claim's study.

    Args:
        id: the claim id from CLAIMS.md (``"C01"``).
        claim: the claim in our own words.
        kind: ``"experiment"``, ``"theory"``, ``"theory + experiment"`` or ``"benchmark"``.
        profiles: ``{"quick": Config(...), "full": Config(...)}``, configs are frozen dataclasses.
        seeds: default number of seeds per profile.
        expected: expected wall time per profile, as a human string (``"~40 s on 2 cores"``).
        run: ``run(config, activation, seed) -> Result`` for one unit.
        verdict: ``verdict(records, config) -> Verdict``, computed from stored records only.
        run_batch: optional ``run_batch(config, [(activation, seed), ...]) -> [Result, ...]`` that
            trains many units as one vectorised program; the engine uses it automatically.
        max_batch: the most units one ``run_batch`` call should get.
        activations: the default activations (CLAIMS.md default set unless the claim needs others).
        doc: the study module's docstring (command, runtime, expected result).
    """

    id: str
    claim: str
    kind: str
    profiles: Mapping[str, Any]
    seeds: Mapping[str, int]
    expected: Mapping[str, str]
    run: Callable[..., Result]
    verdict: Callable[..., "Verdict"]
    run_batch: Callable[..., list[Result]] | None = None
    max_batch: int = 1
    activations: Sequence[str] = ()
    doc: str = ""

    def __post_init__(self) -> None:
        if set(self.profiles) != set(self.seeds) or set(self.profiles) != set(self.expected):
            raise ValueError(f"study {self.id}: profiles, seeds and expected must name the same profiles")
        if "quick" not in self.profiles:
            raise ValueError(f"study {self.id}: every study needs a 'quick' profile (it runs in the tests)")
        for name, cfg in self.profiles.items():
            config_dict(cfg)
        if self.max_batch < 1:
            raise ValueError(f"study {self.id}: max_batch must be >= 1")

    def profile(self, name: str) -> Any:
        try:
            return self.profiles[name]
        except KeyError:
            raise KeyError(f"study {self.id} has no profile {name!r} (profiles: {', '.join(self.profiles)})") from None

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "claim": self.claim, "kind": self.kind, "profiles": list(self.profiles),
                "seeds": dict(self.seeds), "expected": dict(self.expected),
                "activations": list(self.activations), "vectorised": self.run_batch is not None}


@dataclass
class Verdict:
    """A claim's verdict, computed from stored records; ``to_json()`` is what the report renders.

    ``effect`` is the mean over seeds of the paired difference (compared activations' mean minus the
    baseline, same seed); ``ci`` its confidence interval across seeds. ``summary`` gives, per
    activation and metric, ``{"mean", "lo", "hi", "n"}``. A composite claim lists its ``parts``.
    """

    study: str
    claim: str
    status: str
    metric: str
    direction: str  # "higher" or "lower": which way the claim says the compared activations differ
    baseline: str
    compared: list[str]
    effect: float | None
    ci: list[float] | None
    n_seeds: int
    confidence: float = 0.95
    method: str = ""
    rule: str = ""
    config_hash: str = ""
    summary: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    parts: list["Verdict"] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.status not in VERDICTS:
            raise ValueError(f"verdict status must be one of {VERDICTS}, got {self.status!r}")
        if self.direction not in ("higher", "lower"):
            raise ValueError(f"verdict direction must be 'higher' or 'lower', got {self.direction!r}")

    def to_json(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            if isinstance(v, list):
                return [clean(x) for x in v]
            return v

        d = dataclasses.asdict(self)
        d["parts"] = [p.to_json() for p in self.parts]
        return clean(d)
