"""Three-way decisions with a smallest effect of interest (study protocol version 2).

Every claim of a version-2 study is decided as **supported**, **refuted** or **inconclusive** against
a pre-registered smallest effect of interest ``delta`` (δ > 0, in the metric's units).  This module is
the whole decision machinery; it is pure statistics (numpy and scipy) and knows nothing of records,
stores or models.

Conventions shared by every rule
--------------------------------
* ``direction`` is ``"higher"`` or ``"lower"``: the way the claim says the *compared* arm beats the
  *baseline*.  Estimates and intervals are reported raw, in the metric's units, as compared − baseline
  (never sign-flipped).  Internally every rule orients the data with s = +1 (higher) or s = −1
  (lower), so that "the claim is right" always means "the oriented effect is positive".
* One confidence level, ``confidence = 0.95``, for two-sided intervals; every one-sided test is at
  α = (1 − confidence)/2 = 0.025.  Hence "the interval excludes x" ⟺ "the one-sided p-value against
  x is below α", exactly, for every rule (the p-values are built that way).
* Observations (seeds) are independent; intervals are Student-t across them (Student 1908), Welch's
  for two unpaired samples (Welch 1947).
* Non-finite inputs are dropped and counted in ``Decision.n_dropped``.  Fewer than ``MIN_N = 3``
  remaining observations give an inconclusive decision with outcome ``"too few observations"``.
* Constant samples: when every observation has the same value c (a fraction that is 0 in every seed,
  two arms that agree exactly), the t rules are decided at their limit as the spread goes to 0: the
  interval is the point c and each one-sided p-value is 0, 1/2 or 1 (``detail["constant"]`` says so).
* Degenerate samples: where the caller says the metric cannot discriminate -- ``degenerate="..."``,
  e.g. every unit at the declared ceiling (both arms at 100 % accuracy) -- the decision is inconclusive
  with outcome ``"degenerate"`` and ``Decision.degenerate`` says why.  A degenerate decision never
  decides a composite (see :func:`composite`).

The rules (oriented effect θ, its estimate m and two-sided interval [lo, hi])
---------------------------------------------------------------------------
* :func:`superiority` — supported iff lo > 0 **and** m ≥ δ ("meaningful effect"); refuted iff
  hi < δ ("opposite direction" when also hi < 0, else "no meaningful difference"); inconclusive
  ("undecided") otherwise.  p_support tests H0: θ ≤ 0, p_refute tests H0: θ ≥ δ.
* :func:`noninferiority` (margin M) — supported iff lo > −M ("non-inferior"); refuted iff hi < −M
  ("inferior beyond the margin").
* :func:`equivalence` (margin M, no direction) — two one-sided tests (TOST, Schuirmann 1987):
  supported iff the interval lies inside (−M, M) ("equivalent"); refuted iff it lies entirely outside
  (lo > M or hi < −M: "not equivalent").
* :func:`exact` — a deterministic comparison with a tolerance (n = 1, no interval).
* :func:`proportion` — the superiority rule on a difference of two independent proportions with
  Newcombe's hybrid score interval (Newcombe 1998, method 10) built from Wilson intervals (Wilson 1927).
* :func:`trend` — the superiority rule on per-seed ordinary-least-squares slopes.
* :func:`time_to_event` — the superiority rule on the difference of restricted mean times to the
  event up to a horizon (RMST; Royston & Parmar 2013), under administrative censoring only.
* :func:`spread` — does the choice among k arms matter: supported iff some pair of arms differs by at
  least δ with a Bonferroni-simultaneous interval above 0; refuted iff every pair is equivalent within
  ±δ (TOST per pair, an intersection-union test; Berger 1982).
* :func:`composite` — a conjunction of parts, with Holm's step-down adjustment (Holm 1979) applied
  separately to the "support" and the "refute" p-values of the parts.

:func:`calibrate` measures the operating characteristics of the rules by simulation (coverage,
false-verdict rates, power) and :func:`power` gives the exact power of the t-based rules for normal
data; ``python -m actlab.engine.decide --json`` prints ``calibrate()``.

References
----------
* Student (1908). The probable error of a mean. *Biometrika* 6:1–25.
* Welch, B. L. (1947). The generalization of "Student's" problem when several different population
  variances are involved. *Biometrika* 34:28–35.
* Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference.
  *JASA* 22:209–212.
* Newcombe, R. G. (1998). Interval estimation for the difference between independent proportions:
  comparison of eleven methods. *Statistics in Medicine* 17:873–890.
* Schuirmann, D. J. (1987). A comparison of the two one-sided tests procedure and the power approach
  for assessing the equivalence of average bioavailability. *J. Pharmacokinet. Biopharm.* 15:657–680.
* Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scand. J. Statist.*
  6:65–70.
* Royston, P. & Parmar, M. K. B. (2013). Restricted mean survival time: an alternative to the hazard
  ratio for the design and analysis of randomized trials with a time-to-event outcome. *BMC Medical
  Research Methodology* 13:152.
* Berger, R. L. (1982). Multiparameter hypothesis testing and acceptance sampling. *Technometrics*
  24:295–300.
* Kaplan, E. L. & Meier, P. (1958). Nonparametric estimation from incomplete observations. *JASA*
  53:457–481.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np
from scipy import integrate, special
from scipy import stats as _st

from .._records import AsDict

__all__ = ["MIN_N", "POWER_TARGET", "SEEDS_CAP", "Decision", "mean_ci", "superiority", "noninferiority",
           "equivalence", "exact", "wilson", "proportion", "trend", "time_to_event", "spread", "holm", "composite", "power",
           "calibrate", "main"]

MIN_N = 3
"""The fewest observations (seeds, or units per arm) a rule decides on."""

POWER_TARGET = 0.8
"""``Decision.seeds_needed`` is the number of observations giving this power."""

SEEDS_CAP = 10_000
"""``Decision.seeds_needed`` is ``None`` when more than this many observations would be needed."""

_DIRECTIONS = ("higher", "lower")
_RELATIONS = ("==", "<=", ">=")
_T_RULES = ("superiority", "noninferiority", "equivalence")
_SUPPORTED, _REFUTED, _INCONCLUSIVE = 1, -1, 0
_STATUS = {_SUPPORTED: "supported", _REFUTED: "refuted", _INCONCLUSIVE: "inconclusive"}


# ---------------------------------------------------------------------------------------------------
# the result type


def _json_safe(x: Any) -> Any:
    """Plain Python values only: numpy scalars unwrapped, non-finite floats replaced by ``None``."""
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_json_safe(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else None
    return x


@dataclass
class Decision(AsDict):
    """One three-way decision.  ``estimate`` and ``ci`` are raw (compared − baseline, metric units).

    ``delta`` holds the rule's threshold: δ for superiority-type rules, the margin for non-inferiority
    and equivalence, the tolerance for :func:`exact`.  ``p_support`` is the one-sided p-value of the
    test whose rejection (p < α) is necessary for "supported", ``p_refute`` the one whose rejection
    means "refuted".  All numbers are plain Python values and non-finite floats are stored as
    ``None``, so :meth:`as_dict` and :meth:`json` are JSON-safe.
    """

    rule: str
    status: str
    outcome: str
    estimate: float | None
    ci: list[float] | None
    n: int
    delta: float | None
    direction: str | None
    confidence: float = 0.95
    p_support: float | None = None
    p_refute: float | None = None
    sd: float | None = None
    seeds_needed: int | None = None
    degenerate: str | None = None
    n_dropped: int = 0
    detail: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("estimate", "delta", "confidence", "p_support", "p_refute", "sd"):
            setattr(self, name, _json_safe(getattr(self, name)))
        self.ci = None if self.ci is None else _json_safe(list(self.ci))
        self.n = int(self.n)
        self.n_dropped = int(self.n_dropped)
        self.seeds_needed = None if self.seeds_needed is None else int(self.seeds_needed)
        self.detail = _json_safe(dict(self.detail))

    def json(self) -> dict[str, Any]:
        """``as_dict()`` with every non-finite float replaced by ``None`` (safe for ``json.dumps``)."""
        return _json_safe(self.as_dict())


# ---------------------------------------------------------------------------------------------------
# input checks (each raises a one-line ValueError that names the fix)


def _sign(direction: str) -> float:
    if direction not in _DIRECTIONS:
        raise ValueError(f"direction must be 'higher' or 'lower' (the way the claim says the compared arm beats "
                         f"the baseline), got {direction!r}")
    return 1.0 if direction == "higher" else -1.0


def _positive(name: str, value: Any, what: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive finite number ({what}), got {value!r}")
    return v


def _alpha(confidence: Any) -> float:
    try:
        c = float(confidence)
    except (TypeError, ValueError):
        c = math.nan
    if not (0.0 < c < 1.0):
        raise ValueError(f"confidence must lie strictly between 0 and 1 (e.g. 0.95), got {confidence!r}")
    return (1.0 - c) / 2.0


def _vector(values: Any, name: str) -> np.ndarray:
    """A 1-D float array; ``None`` entries become NaN."""
    if isinstance(values, np.ndarray):
        a = values.astype(float, copy=True)
    else:
        try:
            a = np.asarray([math.nan if v is None else v for v in values], dtype=float)
        except TypeError:
            raise ValueError(f"{name} must be a sequence of numbers, got {type(values).__name__}") from None
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one value per observation), got shape {a.shape}")
    return a


def _finite(values: Any, name: str) -> tuple[np.ndarray, int]:
    a = _vector(values, name)
    keep = np.isfinite(a)
    return a[keep], int(a.size - keep.sum())


# ---------------------------------------------------------------------------------------------------
# the t machinery shared by the scalar rules and the vectorised calibration


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t interval ``mean ± t_{1−α, n−1} · sd/√n`` over the finite values.

    With fewer than two finite values the interval is ``(nan, nan)`` (and the mean ``nan`` for none).
    """
    alpha = _alpha(confidence)
    x, _ = _finite(values, "values")
    n = x.size
    if n == 0:
        return math.nan, math.nan, math.nan
    m = float(np.mean(x))
    if n == 1:
        return m, math.nan, math.nan
    half = float(_st.t.ppf(1.0 - alpha, n - 1)) * float(np.std(x, ddof=1)) / math.sqrt(n)
    return m, m - half, m + half


def _classify(rule: str, m: Any, lo: Any, hi: Any, delta: float) -> np.ndarray:
    """Status codes (1 supported, −1 refuted, 0 inconclusive) from the *oriented* estimate and interval.

    This is the one place where the three-way rules are written down; the scalar functions and
    :func:`calibrate` both call it.
    """
    m, lo, hi = np.asarray(m, float), np.asarray(lo, float), np.asarray(hi, float)
    if rule == "superiority":        # lo > 0 and m ≥ δ  |  hi < δ
        sup, ref = (lo > 0) & (m >= delta), hi < delta
    elif rule == "noninferiority":   # lo > −M  |  hi < −M
        sup, ref = lo > -delta, hi < -delta
    elif rule == "equivalence":      # −M < lo ≤ hi < M  |  lo > M or hi < −M   (TOST)
        sup, ref = (lo > -delta) & (hi < delta), (lo > delta) | (hi < -delta)
    else:  # pragma: no cover - internal
        raise AssertionError(rule)
    return np.where(sup, _SUPPORTED, np.where(ref, _REFUTED, _INCONCLUSIVE))


def _t_pvalues(rule: str, m: Any, se: Any, df: Any, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """One-sided Student-t p-values ``(p_support, p_refute)`` for the oriented estimate ``m``.

    * superiority: p_support for H0: θ ≤ 0; p_refute for H0: θ ≥ δ.
    * non-inferiority: p_support for H0: θ ≤ −M; p_refute for H0: θ ≥ −M.
    * equivalence (TOST, Schuirmann 1987): p_support = max(p for H0: θ ≤ −M, p for H0: θ ≥ M);
      p_refute = min(p for H0: θ ≤ M, p for H0: θ ≥ −M), so p_refute < α ⟺ (lo > M or hi < −M).
    """
    m, se = np.asarray(m, float), np.asarray(se, float)
    t = _st.t
    if rule == "superiority":
        return t.sf(m / se, df), t.cdf((m - delta) / se, df)
    if rule == "noninferiority":
        z = (m + delta) / se
        return t.sf(z, df), t.cdf(z, df)
    if rule == "equivalence":
        above_lower, below_upper = (m + delta) / se, (m - delta) / se
        p_support = np.maximum(t.sf(above_lower, df), t.cdf(below_upper, df))
        p_refute = np.minimum(t.sf(below_upper, df), t.cdf(above_lower, df))
        return p_support, p_refute
    raise AssertionError(rule)  # pragma: no cover - internal


def _limit_pvalues(rule: str, m: float, delta: float) -> tuple[float, float]:
    """:func:`_t_pvalues` in the limit se -> 0 (a constant sample): each one-sided p is 0, 1/2 or 1."""
    def sf(z: float) -> float:   # P(T > z / se) as se -> 0
        return 0.0 if z > 0 else 1.0 if z < 0 else 0.5

    def cdf(z: float) -> float:
        return 1.0 - sf(z)

    if rule == "superiority":
        return sf(m), cdf(m - delta)
    if rule == "noninferiority":
        return sf(m + delta), cdf(m + delta)
    if rule == "equivalence":
        return max(sf(m + delta), cdf(m - delta)), min(sf(m - delta), cdf(m + delta))
    raise AssertionError(rule)  # pragma: no cover - internal


def _outcome(rule: str, code: int, hi_oriented: float) -> str:
    if code == _INCONCLUSIVE:
        return "undecided"
    if rule == "superiority":
        return "meaningful effect" if code == _SUPPORTED else (
            "opposite direction" if hi_oriented < 0 else "no meaningful difference")
    if rule == "noninferiority":
        return "non-inferior" if code == _SUPPORTED else "inferior beyond the margin"
    return "equivalent" if code == _SUPPORTED else "not equivalent"


def _phi(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def _regions(rule: str, target: str, h: float, delta: float) -> list[tuple[float, float]]:
    """Intervals of the oriented estimate m̂ that give ``target`` when the interval is m̂ ± h."""
    inf = math.inf
    if rule == "superiority":
        return [(max(delta, h), inf)] if target == "supported" else [(-inf, delta - h)]
    if rule == "noninferiority":
        return [(h - delta, inf)] if target == "supported" else [(-inf, -delta - h)]
    if target == "supported":
        return [(h - delta, delta - h)] if h < delta else []
    return [(-inf, -delta - h), (delta + h, inf)]


def power(rule: str, *, effect: float, sd: float, n: int, delta: float, target: str = "supported",
          confidence: float = 0.95) -> float:
    """Probability that ``rule`` returns ``target`` with ``n`` normal observations of mean ``effect``.

    ``effect`` is the *oriented* true mean (positive = the claimed direction), ``sd`` the true
    standard deviation, ``delta`` the rule's δ or margin.  Exact for normal data up to quadrature
    error (~1e-8): given the sample sd s the interval is m̂ ± h with h = t_{1−α,n−1}·s/√n, so

        P(target) = ∫ f_{χ²(n−1)}(u) · P(m̂ ∈ R(h(u))) du,   s² = sd²·u/(n−1),  m̂ ~ N(effect, sd²/n),

    where R(h) is the set of estimates that give ``target`` (e.g. m̂ > max(δ, h) for superiority
    support; for superiority refutation this is the noncentral-t power P(m̂ + h < δ)).
    """
    if rule not in _T_RULES:
        raise ValueError(f"rule must be one of {', '.join(_T_RULES)}, got {rule!r}")
    if target not in ("supported", "refuted"):
        raise ValueError(f"target must be 'supported' or 'refuted', got {target!r}")
    alpha = _alpha(confidence)
    delta = _positive("delta", delta, "the rule's smallest effect of interest or margin")
    sd = _positive("sd", sd, "the true standard deviation of one observation")
    if int(n) != n or n < 2:
        raise ValueError(f"n must be an integer ≥ 2, got {n!r}")
    n = int(n)
    nu = n - 1
    tcrit = float(_st.t.ppf(1.0 - alpha, nu))
    se = sd / math.sqrt(n)
    log_norm = -0.5 * nu * math.log(2.0) - math.lgamma(0.5 * nu)

    def integrand(u: float) -> float:
        if u <= 0.0:
            return 0.0
        h = tcrit * se * math.sqrt(u / nu)
        p = 0.0
        for a, b in _regions(rule, target, h, delta):
            if b > a:
                # upper-tail form for accuracy far above the mean
                p += (_phi((effect - a) / se) - _phi((effect - b) / se))
        return p * math.exp((0.5 * nu - 1.0) * math.log(u) - 0.5 * u + log_norm)

    u_lo, u_hi = float(_st.chi2.ppf(1e-13, nu)), float(_st.chi2.isf(1e-13, nu))
    # the integrand has a kink where h(u) = δ (superiority support, equivalence support)
    u_kink = nu * (delta / (tcrit * se)) ** 2
    points = [u_kink] if u_lo < u_kink < u_hi else None
    val, _ = integrate.quad(integrand, u_lo, u_hi, points=points, limit=200, epsabs=1e-11, epsrel=1e-9)
    return float(min(1.0, max(0.0, val)))


def _seeds_target(rule: str, m: float, delta: float) -> str | None:
    """Which verdict more seeds would most likely reach, judged at the observed oriented effect ``m``."""
    if rule == "superiority":
        return "supported" if m >= delta else "refuted"
    if rule == "noninferiority":
        return None if m == -delta else "supported" if m > -delta else "refuted"
    return None if abs(m) == delta else "supported" if abs(m) < delta else "refuted"


def _seeds_needed(rule: str, m: float, sd: float, n: int, delta: float, confidence: float) -> int | None:
    """Smallest N ≥ max(n, MIN_N) with :func:`power` ≥ ``POWER_TARGET`` at the observed effect and sd."""
    target = _seeds_target(rule, m, delta)
    if target is None or not (sd > 0 and math.isfinite(sd)):
        return None
    effect = m if rule != "equivalence" else abs(m)

    def ok(k: int) -> bool:
        return power(rule, effect=effect, sd=sd, n=k, delta=delta, target=target,
                     confidence=confidence) >= POWER_TARGET

    lo = max(int(n), MIN_N)
    if ok(lo):
        return lo
    hi = lo
    while True:  # exponential search, then bisection (power is increasing in N for these targets)
        hi = min(2 * hi, SEEDS_CAP)
        if ok(hi):
            break
        if hi == SEEDS_CAP:
            return None
        lo = hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def _t_decision(rule_name: str, rule: str, x: np.ndarray, dropped: int, sign: float, direction: str | None,
                delta: float, confidence: float, degenerate: str | None, what: str,
                detail: dict | None = None) -> Decision:
    """The shared body of the one-sample t rules; ``x`` are the finite raw observations."""
    alpha = _alpha(confidence)
    detail = dict(detail or {})
    n = int(x.size)
    base = dict(rule=rule_name, n=n, delta=delta, direction=direction, confidence=confidence, n_dropped=dropped)
    if n == 0:
        return Decision(status="inconclusive", outcome="too few observations", estimate=None, ci=None,
                        degenerate=degenerate, detail={**detail, "reason": f"no finite {what}; need {MIN_N}"}, **base)
    m_raw = float(np.mean(x))
    if n == 1:
        return Decision(status="inconclusive", outcome="too few observations", estimate=m_raw, ci=None,
                        degenerate=degenerate, detail={**detail, "reason": f"1 {what}; need {MIN_N}"}, **base)
    sd = float(np.std(x, ddof=1))
    if bool(np.all(x == x[0])):
        if n < MIN_N or degenerate is not None:
            reason = f"zero variance: every {what} is {x[0]:.6g}"
            degenerate = reason if degenerate is None else f"{degenerate}; {reason}"
            outcome = "too few observations" if n < MIN_N else "degenerate"
            return Decision(status="inconclusive", outcome=outcome, estimate=m_raw, ci=None, sd=0.0,
                            degenerate=degenerate, detail=detail, **base)
        # every observation the same value: the t rule's limit as the spread goes to 0 -- the interval is
        # that point, and the decision is made at it (a fraction that is 0 in every seed is below delta)
        m = sign * m_raw
        p_s, p_r = _limit_pvalues(rule, m, delta)
        detail["constant"] = f"every {what} is {x[0]:.6g}: decided at that value (the interval is the point)"
        code = int(_classify(rule, m, m, m, delta))
        return Decision(status=_STATUS[code], outcome=_outcome(rule, code, m), estimate=m_raw, ci=[m_raw, m_raw],
                        sd=0.0, p_support=p_s, p_refute=p_r, degenerate=None, detail=detail, **base)
    se = sd / math.sqrt(n)
    df = n - 1
    tcrit = float(_st.t.ppf(1.0 - alpha, df))
    lo_raw, hi_raw = m_raw - tcrit * se, m_raw + tcrit * se
    m = sign * m_raw
    lo, hi = (lo_raw, hi_raw) if sign > 0 else (-hi_raw, -lo_raw)
    p_s, p_r = (float(p) for p in _t_pvalues(rule, m, se, df, delta))
    if rule == "equivalence":
        detail["p_lower"] = float(_st.t.sf((m + delta) / se, df))
        detail["p_upper"] = float(_st.t.cdf((m - delta) / se, df))
    detail.update(se=se, df=df, t_crit=tcrit)
    nums = dict(estimate=m_raw, ci=[lo_raw, hi_raw], sd=sd, p_support=p_s, p_refute=p_r, detail=detail, **base)
    if n < MIN_N:
        return Decision(status="inconclusive", outcome="too few observations", degenerate=degenerate,
                        seeds_needed=None if degenerate else _seeds_needed(rule, m, sd, n, delta, confidence), **nums)
    if degenerate is not None:
        return Decision(status="inconclusive", outcome="degenerate", degenerate=degenerate, **nums)
    code = int(_classify(rule, m, lo, hi, delta))
    seeds = _seeds_needed(rule, m, sd, n, delta, confidence) if code == _INCONCLUSIVE else None
    return Decision(status=_STATUS[code], outcome=_outcome(rule, code, hi), seeds_needed=seeds, **nums)


# ---------------------------------------------------------------------------------------------------
# the rules


def superiority(values: Sequence[float], *, direction: str, delta: float, confidence: float = 0.95,
                degenerate: str | None = None) -> Decision:
    """Superiority with a smallest effect of interest, on per-seed paired differences.

    ``values`` are per-seed differences compared − baseline.  With oriented x = s·values (s = +1 for
    ``direction="higher"``, −1 for ``"lower"``), mean m and two-sided Student-t interval [lo, hi] of
    the mean of x at ``confidence``:

    * **supported** ("meaningful effect") iff lo > 0 and m ≥ δ;
    * **refuted** iff hi < δ — "opposite direction" if hi < 0, else "no meaningful difference";
    * **inconclusive** ("undecided") otherwise.

    ``p_support`` is the one-sided t p-value for H0: θ ≤ 0 (lo > 0 ⟺ p_support < α) and
    ``p_refute`` the one for H0: θ ≥ δ (hi < δ ⟺ p_refute < α), α = (1 − confidence)/2.  Requiring
    the point estimate to reach δ keeps "supported" for effects that are both real and meaningful; its
    false-support rate at θ = 0 is at most α, and the false-refute rate at θ = δ is exactly α.

    ``seeds_needed`` (inconclusive decisions only): the smallest N ≥ max(n, MIN_N), at most
    ``SEEDS_CAP``, at which the rule reaches the verdict the observed mean points to — supported if
    m ≥ δ, refuted otherwise — with probability ≥ 0.8 when the truth is N(m, sd²), computed exactly
    by :func:`power` (not by the normal-approximation formula (t_{1−α}+t_{0.8})·sd/√N ≤ h, which
    ignores the m̂ ≥ δ condition).  ``None`` when sd = 0, when m = δ exactly (then P(m̂ ≥ δ) stays at
    ½ for every N) or when more than ``SEEDS_CAP`` seeds would be needed.
    """
    s = _sign(direction)
    delta = _positive("delta", delta, "the smallest effect of interest, in the metric's units")
    _alpha(confidence)
    x, dropped = _finite(values, "values")
    return _t_decision("superiority", "superiority", x, dropped, s, direction, delta, confidence, degenerate,
                       "paired difference")


def noninferiority(values: Sequence[float], *, direction: str, margin: float, confidence: float = 0.95,
                   degenerate: str | None = None) -> Decision:
    """Non-inferiority with margin M on per-seed paired differences compared − baseline.

    With the oriented interval [lo, hi] (as in :func:`superiority`): **supported** ("non-inferior")
    iff lo > −M; **refuted** ("inferior beyond the margin") iff hi < −M; inconclusive otherwise.
    ``p_support`` tests H0: θ ≤ −M, ``p_refute`` tests H0: θ ≥ −M (one-sided t at α).  ``delta``
    in the result holds M; ``seeds_needed`` is as in :func:`superiority` (target "supported" if
    m > −M, "refuted" if m < −M).
    """
    s = _sign(direction)
    margin = _positive("margin", margin, "the non-inferiority margin, in the metric's units")
    _alpha(confidence)
    x, dropped = _finite(values, "values")
    return _t_decision("noninferiority", "noninferiority", x, dropped, s, direction, margin, confidence,
                       degenerate, "paired difference")


def equivalence(values: Sequence[float], *, margin: float, confidence: float = 0.95,
                degenerate: str | None = None) -> Decision:
    """Equivalence within ±M by two one-sided tests (TOST; Schuirmann 1987) on paired differences.

    With the two-sided interval [lo, hi] at ``confidence`` (whose ends are the two one-sided tests at
    α): **supported** ("equivalent") iff −M < lo and hi < M; **refuted** ("not equivalent") iff the
    interval lies entirely outside the band, lo > M or hi < −M; inconclusive otherwise.
    ``p_support`` = max(p for H0: θ ≤ −M, p for H0: θ ≥ M) (both in ``detail`` as ``p_lower``,
    ``p_upper``); ``p_refute`` = min(p for H0: θ ≤ M, p for H0: θ ≥ −M).  The refute test has size α
    at θ = ±M plus the (negligible unless M is small beside the standard error) chance that the
    interval falls beyond the other end of the band.
    """
    margin = _positive("margin", margin, "the equivalence margin, in the metric's units")
    _alpha(confidence)
    x, dropped = _finite(values, "values")
    return _t_decision("equivalence", "equivalence", x, dropped, 1.0, None, margin, confidence, degenerate,
                       "paired difference")


def exact(value: float, *, target: float, tolerance: float, relation: str = "==") -> Decision:
    """A deterministic check of one number (n = 1, no interval, no p-values).

    * ``"=="``: supported iff |value − target| ≤ tolerance;
    * ``"<="``: supported iff value ≤ target + tolerance;
    * ``">="``: supported iff value ≥ target − tolerance;

    otherwise refuted ("outside tolerance").  A non-finite ``value`` is inconclusive ("undecided",
    counted in ``n_dropped``).  ``delta`` in the result holds the tolerance.
    """
    if relation not in _RELATIONS:
        raise ValueError(f"relation must be one of '==', '<=', '>=', got {relation!r}")
    try:
        tol = float(tolerance)
        tgt = float(target)
    except (TypeError, ValueError):
        raise ValueError(f"target and tolerance must be numbers, got {target!r} and {tolerance!r}") from None
    if not (math.isfinite(tol) and tol >= 0):
        raise ValueError(f"tolerance must be a finite number ≥ 0, got {tolerance!r}")
    if not math.isfinite(tgt):
        raise ValueError(f"target must be a finite number, got {target!r}")
    detail = {"target": tgt, "tolerance": tol, "relation": relation}
    v = math.nan if value is None else float(value)
    if not math.isfinite(v):
        return Decision(rule="exact", status="inconclusive", outcome="undecided", estimate=None, ci=None, n=0,
                        delta=tol, direction=None, n_dropped=1, detail={**detail, "reason": "value is not finite"})
    ok = {"==": abs(v - tgt) <= tol, "<=": v <= tgt + tol, ">=": v >= tgt - tol}[relation]
    return Decision(rule="exact", status="supported" if ok else "refuted",
                    outcome="within tolerance" if ok else "outside tolerance", estimate=v, ci=None, n=1, delta=tol,
                    direction=None, detail={**detail, "difference": v - tgt})


def _count(k: Any, n: Any, what: str) -> tuple[int, int]:
    try:
        ki, ni = int(k), int(n)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: counts must be integers, got k={k!r}, n={n!r}") from None
    if ki != k or ni != n or ni < 1 or not 0 <= ki <= ni:
        raise ValueError(f"{what}: need integers 0 ≤ k ≤ n and n ≥ 1, got k={k!r}, n={n!r}")
    return ki, ni


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson's (1927) score interval for a proportion k/n (no continuity correction).

    With p = k/n and z = Φ⁻¹(1 − α): centre (p + z²/(2n)) / (1 + z²/n) and half-width
    z·√(p(1 − p)/n + z²/(4n²)) / (1 + z²/n), clipped to [0, 1].
    """
    alpha = _alpha(confidence)
    k, n = _count(k, n, "wilson")
    z = float(special.ndtri(1.0 - alpha))
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _norm_sf_ratio(num: float, den: float) -> float:
    """P(Z > num/den) for a standard normal Z, with the limits for den = 0."""
    return float(special.ndtr(-num / den)) if den > 0 else (0.0 if num > 0 else 1.0)


def _norm_cdf_ratio(num: float, den: float) -> float:
    """P(Z < num/den) for a standard normal Z, with the limits for den = 0."""
    return float(special.ndtr(num / den)) if den > 0 else (0.0 if num < 0 else 1.0)


def proportion(k_c: int, n_c: int, k_b: int, n_b: int, *, direction: str, delta: float, confidence: float = 0.95,
               degenerate: str | None = None) -> Decision:
    """The superiority rule on a difference of independent proportions p_c − p_b (units, not seeds).

    Interval: Newcombe's (1998) hybrid score interval, his method 10, from the Wilson intervals
    [l_c, u_c] and [l_b, u_b] of the two arms at ``confidence``:

        L = d − √((p_c − l_c)² + (u_b − p_b)²),   U = d + √((u_c − p_c)² + (p_b − l_b)²),   d = p_c − p_b.

    The three-way rule of :func:`superiority` is applied to the oriented d and [L, U] (δ is a
    difference of proportions).  The p-values are normal approximations whose standard error is read
    off the relevant side of the Newcombe interval (se = side length / z_{1−α}), so that p_support < α
    ⟺ the oriented L > 0 and p_refute < α ⟺ the oriented U < δ exactly.  Fewer than ``MIN_N``
    units in either arm is "too few observations"; every unit of both arms with the same outcome
    (k_c + k_b = 0 or n_c + n_b) is degenerate.  ``n`` is n_c + n_b; ``detail`` holds both
    proportions and Wilson intervals.
    """
    s = _sign(direction)
    delta = _positive("delta", delta, "the smallest difference of proportions of interest")
    alpha = _alpha(confidence)
    k_c, n_c = _count(k_c, n_c, "compared arm")
    k_b, n_b = _count(k_b, n_b, "baseline arm")
    p_c, p_b = k_c / n_c, k_b / n_b
    l_c, u_c = wilson(k_c, n_c, confidence)
    l_b, u_b = wilson(k_b, n_b, confidence)
    d = p_c - p_b
    lo_raw = d - math.sqrt((p_c - l_c) ** 2 + (u_b - p_b) ** 2)
    hi_raw = d + math.sqrt((u_c - p_c) ** 2 + (p_b - l_b) ** 2)
    m = s * d
    lo, hi = (lo_raw, hi_raw) if s > 0 else (-hi_raw, -lo_raw)
    z = float(special.ndtri(1.0 - alpha))
    p_support = _norm_sf_ratio(m, (m - lo) / z)                # H0: θ ≤ 0
    p_refute = _norm_cdf_ratio(m - delta, (hi - m) / z)        # H0: θ ≥ δ
    detail = {"k_c": k_c, "n_c": n_c, "k_b": k_b, "n_b": n_b, "p_c": p_c, "p_b": p_b, "wilson_c": [l_c, u_c],
              "wilson_b": [l_b, u_b], "interval": "Newcombe (1998) hybrid score, method 10",
              "p_method": "normal approximation, se read off the relevant side of the Newcombe interval"}
    if k_c + k_b in (0, n_c + n_b) and degenerate is None:
        degenerate = f"every unit of both arms has the same outcome ({'1' if k_c else '0'})"
    nums = dict(rule="proportion", estimate=d, ci=[lo_raw, hi_raw], n=n_c + n_b, delta=delta, direction=direction,
                confidence=confidence, p_support=p_support, p_refute=p_refute, degenerate=degenerate, detail=detail)
    if min(n_c, n_b) < MIN_N:
        return Decision(status="inconclusive", outcome="too few observations", **nums)
    if degenerate is not None:
        return Decision(status="inconclusive", outcome="degenerate", **nums)
    code = int(_classify("superiority", m, lo, hi, delta))
    return Decision(status=_STATUS[code], outcome=_outcome("superiority", code, hi), **nums)


def trend(levels: Sequence[float], series: Sequence[Sequence[float]], *, direction: str, delta: float,
          confidence: float = 0.95, degenerate: str | None = None) -> Decision:
    """The superiority rule on per-seed least-squares slopes of y on a factor x.

    ``levels`` are the factor's values x (e.g. log2 depth); ``series`` holds one sequence of y per
    seed, aligned with ``levels`` (NaN allowed).  For each seed the ordinary-least-squares slope
    b = Σ(x − x̄)(y − ȳ)/Σ(x − x̄)² over its finite points; a seed with fewer than two finite points
    (or with all of them at one level) is dropped and counted in ``n_dropped``.  The slopes then go
    through :func:`superiority` (δ in y-units per x-unit; ``direction`` is the claimed sign of the
    slope).  ``detail`` holds the mean slope and mean intercept and the per-seed values.
    """
    s = _sign(direction)
    delta = _positive("delta", delta, "the smallest slope of interest, in y-units per x-unit")
    _alpha(confidence)
    x = _vector(levels, "levels")
    if not np.all(np.isfinite(x)):
        raise ValueError("levels must all be finite numbers (put missing values in series as NaN)")
    slopes, intercepts, dropped = [], [], 0
    for i, ys in enumerate(series):
        y = _vector(ys, f"series[{i}]")
        if y.size != x.size:
            raise ValueError(f"series[{i}] has {y.size} values but levels has {x.size}: align each seed with levels")
        keep = np.isfinite(y)
        xs, yk = x[keep], y[keep]
        if xs.size < 2 or np.all(xs == xs[0]):
            dropped += 1
            continue
        xc = xs - xs.mean()
        b = float(np.dot(xc, yk - yk.mean()) / np.dot(xc, xc))
        slopes.append(b)
        intercepts.append(float(yk.mean() - b * xs.mean()))
    detail = {"levels": x.tolist(), "slopes": slopes, "intercepts": intercepts,
              "mean_slope": float(np.mean(slopes)) if slopes else None,
              "mean_intercept": float(np.mean(intercepts)) if intercepts else None}
    return _t_decision("trend", "superiority", np.asarray(slopes, float), dropped, s, direction, delta, confidence,
                       degenerate, "per-seed slope", detail)


def _arm(times: Any, events: Any, horizon: float, name: str) -> tuple[np.ndarray, np.ndarray]:
    t = _vector(times, f"times_{name}")
    e = _vector(events, f"events_{name}")
    if t.size != e.size:
        raise ValueError(f"times_{name} has {t.size} values but events_{name} has {e.size}: "
                         f"give one event flag per time")
    return t, e


def _restricted(t: np.ndarray, e: np.ndarray, horizon: float, name: str) -> tuple[np.ndarray, np.ndarray]:
    bad = ~np.isin(e, (0.0, 1.0))
    if np.any(bad):
        raise ValueError(f"events_{name} must be booleans (True = the event happened), got {e[bad][0]!r}")
    if np.any(t < 0):
        raise ValueError(f"times_{name} must be ≥ 0, got {t[t < 0][0]!r}")
    early = (e == 0) & (t < horizon)
    if np.any(early):
        raise ValueError(f"censored time {t[early][0]:g} < horizon {horizon:g} in arm {name}: only administrative "
                         f"censoring at or after the horizon is allowed (lower the horizon or extend the run)")
    return np.where(e == 1, np.minimum(t, horizon), horizon), e


def _counts(t: np.ndarray, e: np.ndarray, horizon: float) -> dict[str, int]:
    return {"events": int(np.sum(e == 1)), "censored": int(np.sum(e == 0)),
            "events_after_horizon": int(np.sum((e == 1) & (t > horizon)))}


def time_to_event(times_c: Sequence[float], events_c: Sequence[bool], times_b: Sequence[float],
                  events_b: Sequence[bool], *, horizon: float, direction: str = "lower", delta: float,
                  paired: bool = True, confidence: float = 0.95, degenerate: str | None = None) -> Decision:
    """Difference in restricted mean time to the event up to ``horizon`` (RMST; Royston & Parmar 2013).

    Each unit has a time and an event flag (``True``: the event — e.g. reaching a target loss —
    happened at that time; ``False``: the run stopped at that time without it).  Only administrative
    censoring at or after the horizon is allowed (a censored time below it raises ``ValueError``).
    Then the Kaplan–Meier curve up to the horizon is the empirical survival curve of the event times,
    and its area — the RMST — is the mean of the restricted times r = min(t, horizon) for an event and
    r = horizon without one.  The estimand is RMST_c − RMST_b (time units, default ``direction``
    "lower": the compared arm reaches the event sooner).

    * ``paired=True`` (unit i of both arms shares a seed): :func:`superiority` on the per-seed
      differences r_c − r_b; pairs with a non-finite time are dropped.
    * ``paired=False``: Welch's t interval (Welch 1947) on the two samples of restricted times, with
      the superiority rule and one-sided Welch t p-values; ``seeds_needed`` is not computed.

    Degenerate when no unit of either arm has its event by the horizon (every restricted time is
    the horizon).  ``detail``: per arm the events, censored and events-after-horizon counts and RMST.
    """
    s = _sign(direction)
    delta = _positive("delta", delta, "the smallest difference in restricted mean time of interest")
    horizon = _positive("horizon", horizon, "the time up to which the restricted mean is taken")
    alpha = _alpha(confidence)
    tc, ec = _arm(times_c, events_c, horizon, "c")
    tb, eb = _arm(times_b, events_b, horizon, "b")
    if paired:
        if tc.size != tb.size:
            raise ValueError(f"paired=True needs one unit per seed in both arms, got {tc.size} and {tb.size} "
                             f"(or pass paired=False)")
        keep = np.isfinite(tc) & np.isfinite(tb)
        dropped = int(keep.size - keep.sum())
        tc, ec, tb, eb = tc[keep], ec[keep], tb[keep], eb[keep]
    else:
        kc, kb = np.isfinite(tc), np.isfinite(tb)
        dropped = int(kc.size - kc.sum() + kb.size - kb.sum())
        tc, ec, tb, eb = tc[kc], ec[kc], tb[kb], eb[kb]
    rc, ec = _restricted(tc, ec, horizon, "c")
    rb, eb = _restricted(tb, eb, horizon, "b")
    detail: dict[str, Any] = {"horizon": horizon, "paired": bool(paired)}
    for name, t, e, r in (("c", tc, ec, rc), ("b", tb, eb, rb)):
        detail.update({f"{k}_{name}": v for k, v in _counts(t, e, horizon).items()})
        detail[f"rmst_{name}"] = float(np.mean(r)) if r.size else None
    if (rc.size or rb.size) and not np.any(rc < horizon) and not np.any(rb < horizon):
        reason = "no event before the horizon in either arm: every restricted time equals the horizon"
        degenerate = reason if degenerate is None else f"{degenerate}; {reason}"
    if paired:
        return _t_decision("time_to_event", "superiority", rc - rb, dropped, s, direction, delta, confidence,
                           degenerate, "paired difference of restricted times", detail)
    # Welch's unpaired interval
    n_c, n_b = rc.size, rb.size
    base = dict(rule="time_to_event", n=n_c + n_b, delta=delta, direction=direction, confidence=confidence,
                n_dropped=dropped, degenerate=degenerate)
    detail.update(n_c=n_c, n_b=n_b)
    if min(n_c, n_b) < 2:
        est = detail["rmst_c"] - detail["rmst_b"] if n_c and n_b else None
        return Decision(status="inconclusive", outcome="too few observations", estimate=est, ci=None,
                        detail=detail, **base)
    m_raw = float(rc.mean() - rb.mean())
    vc, vb = float(np.var(rc, ddof=1)) / n_c, float(np.var(rb, ddof=1)) / n_b
    if vc + vb == 0:
        reason = "zero variance: every restricted time is the same within each arm"
        base["degenerate"] = reason if degenerate is None else f"{degenerate}; {reason}"
        outcome = "too few observations" if min(n_c, n_b) < MIN_N else "degenerate"
        return Decision(status="inconclusive", outcome=outcome, estimate=m_raw, ci=None, sd=0.0, detail=detail, **base)
    se = math.sqrt(vc + vb)
    df = (vc + vb) ** 2 / (vc ** 2 / (n_c - 1) + vb ** 2 / (n_b - 1))
    tcrit = float(_st.t.ppf(1.0 - alpha, df))
    lo_raw, hi_raw = m_raw - tcrit * se, m_raw + tcrit * se
    m = s * m_raw
    lo, hi = (lo_raw, hi_raw) if s > 0 else (-hi_raw, -lo_raw)
    p_s, p_r = (float(p) for p in _t_pvalues("superiority", m, se, df, delta))
    detail.update(se=se, df=df, t_crit=tcrit)
    nums = dict(estimate=m_raw, ci=[lo_raw, hi_raw], p_support=p_s, p_refute=p_r, detail=detail, **base)
    if min(n_c, n_b) < MIN_N:
        return Decision(status="inconclusive", outcome="too few observations", **nums)
    if base["degenerate"] is not None:
        return Decision(status="inconclusive", outcome="degenerate", **nums)
    code = int(_classify("superiority", m, lo, hi, delta))
    return Decision(status=_STATUS[code], outcome=_outcome("superiority", code, hi), **nums)


# ---------------------------------------------------------------------------------------------------
# multiplicity


def spread(values: Sequence[Sequence[float]], *, delta: float, arms: Sequence[str] | None = None,
           confidence: float = 0.95, degenerate: str | None = None) -> Decision:
    """Does the choice among k ≥ 2 arms matter by at least δ?  Every pair of arms, paired by seed.

    ``values`` holds one row per seed and one column per arm (a row with a non-finite entry is dropped
    and counted in ``n_dropped``).  For each of the P = k(k − 1)/2 pairs (i, j) the per-seed differences
    y_i − y_j give a mean m_ij, a standard error and Student-t p-values (df = n − 1), as in
    :func:`superiority`.

    * **supported** ("the arms differ"): some pair has |m_ij| ≥ δ and a Bonferroni-adjusted p-value
      min(1, 2P·p_ij) below α, p_ij the one-sided p-value in the direction of m_ij -- equivalently its
      simultaneous interval at two-sided level 1 − α/P excludes 0.  Bonferroni over the 2P one-sided
      tests keeps the false-support rate at most α when every arm has the same mean, whatever the
      correlation between the pairs.
    * **refuted** ("no meaningful difference"): every pair is equivalent within ±δ by two one-sided
      tests at α (its two-sided interval at ``confidence`` lies inside (−δ, δ)).  An
      intersection-union test (Berger 1982) needs no multiplicity correction: when some pair truly
      differs by δ or more, the false-refute rate is at most α.
    * **inconclusive** otherwise.

    ``estimate`` is the range of the arm means (the largest |m_ij|, ≥ 0) and ``ci`` the simultaneous
    interval of that pair, oriented so that its estimate is positive (``detail["range_pair"]`` names it,
    larger mean first).  ``p_support`` is the smallest adjusted p-value among the pairs with |m_ij| ≥ δ
    (among all pairs when none is); ``p_refute`` is the largest TOST p-value over the pairs.
    ``detail["max_abs_bound"]`` is the farthest end from 0 of any pair's interval at ``confidence``:
    "refuted" ⟺ it is below δ.  ``seeds_needed`` (inconclusive): for the range pair, the seeds at which
    its Bonferroni superiority would reach δ with 80 % power when the range is at least δ, else the
    seeds at which the least equivalent pair would be shown equivalent (a lower bound for the whole).
    """
    delta = _positive("delta", delta, "the smallest difference between arms of interest, in the metric's units")
    alpha = _alpha(confidence)
    rows = [list(r) for r in values]
    k = len(rows[0]) if rows else (len(arms) if arms is not None else 0)
    names = list(arms) if arms is not None else [str(i) for i in range(k)]
    if len(names) < 2 or any(len(r) != len(names) for r in rows):
        raise ValueError(f"spread needs one value per arm in every row and at least 2 arms, got {len(names)} arm(s)")
    y = np.asarray(rows, float).reshape(len(rows), len(names))
    keep = np.all(np.isfinite(y), axis=1)
    dropped = int((~keep).sum())
    y = y[keep]
    n = int(y.shape[0])
    pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
    P = len(pairs)
    base = dict(rule="spread", n=n, delta=delta, direction=None, confidence=confidence, n_dropped=dropped)
    means = y.mean(0).tolist() if n else [None] * len(names)
    detail: dict[str, Any] = {"arms": names, "pairs": P, "arm_means": means,
                              "bonferroni_confidence": 1.0 - alpha / P}
    if n < MIN_N:
        return Decision(status="inconclusive", outcome="too few observations", estimate=None, ci=None,
                        degenerate=degenerate, detail={**detail, "reason": f"{n} complete seed(s); need {MIN_N}"}, **base)
    df = n - 1
    t = _st.t
    t95 = float(t.ppf(1.0 - alpha, df))
    tsim = float(t.ppf(1.0 - alpha / (2 * P), df))
    rows_out = []
    for i, j in pairs:
        d = y[:, i] - y[:, j]
        m = float(d.mean())
        sd = float(d.std(ddof=1))
        se = sd / math.sqrt(n)
        if se > 0:
            p_one = float(t.sf(abs(m) / se, df))
            tost = float(max(t.sf((m + delta) / se, df), t.cdf((m - delta) / se, df)))
        else:  # every seed gives the same difference: it is known exactly
            p_one = 0.5 if m == 0 else 0.0
            tost = 0.0 if abs(m) < delta else 1.0
        rows_out.append({"i": i, "j": j, "m": m, "sd": sd, "se": se, "p_adj": min(1.0, 2 * P * p_one), "tost": tost,
                         "bound": abs(m) + t95 * se})
    big = [r for r in rows_out if abs(r["m"]) >= delta]
    p_support = min(r["p_adj"] for r in (big or rows_out))
    p_refute = max(r["tost"] for r in rows_out)
    top = max(rows_out, key=lambda r: (abs(r["m"]), -r["p_adj"]))
    hi_first = (top["i"], top["j"]) if top["m"] >= 0 else (top["j"], top["i"])
    est = abs(top["m"])
    ci = [est - tsim * top["se"], est + tsim * top["se"]]
    worst = max(rows_out, key=lambda r: (r["tost"], r["bound"]))
    detail.update(range_pair=[names[hi_first[0]], names[hi_first[1]]], max_abs_bound=max(r["bound"] for r in rows_out),
                  least_equivalent_pair=[names[worst["i"]], names[worst["j"]]], df=df, t_crit=t95, t_crit_simultaneous=tsim)
    if any(r["p_adj"] < alpha for r in big):
        status, outcome, seeds = "supported", "the arms differ", None
    elif p_refute < alpha:
        status, outcome, seeds = "refuted", "no meaningful difference", None
    else:
        status, outcome = "inconclusive", "undecided"
        if est >= delta:
            seeds = _seeds_needed("superiority", est, top["sd"], n, delta, 1.0 - alpha / P)
        else:
            seeds = _seeds_needed("equivalence", abs(worst["m"]), worst["sd"], n, delta, confidence)
    if degenerate is not None:
        status, outcome, seeds = "inconclusive", "degenerate", None
    return Decision(status=status, outcome=outcome, estimate=est, ci=ci, sd=top["sd"], p_support=p_support,
                    p_refute=p_refute, seeds_needed=seeds, degenerate=degenerate, detail=detail, **base)


def _holm_matrix(p: np.ndarray) -> np.ndarray:
    """Holm (1979) adjusted p-values along the last axis: sorted p_(1) ≤ … ≤ p_(m) become
    max_{j ≤ i} min(1, (m − j + 1)·p_(j)), returned in the original order."""
    p = np.asarray(p, float)
    m = p.shape[-1]
    order = np.argsort(p, axis=-1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=-1) * (m - np.arange(m))
    adjusted = np.minimum(1.0, np.maximum.accumulate(ranked, axis=-1))
    out = np.empty_like(adjusted)
    np.put_along_axis(out, order, adjusted, axis=-1)
    return out


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's (1979) step-down adjusted p-values, in the input order.

    The family is the non-``None`` (and non-NaN) entries, m of them; sorted ascending
    p_(1) ≤ … ≤ p_(m), the adjusted value of p_(i) is max_{j ≤ i} min(1, (m − j + 1)·p_(j)) —
    monotone in the raw p and capped at 1.  Rejecting every hypothesis with adjusted p < α controls
    the family-wise error rate at α.  ``None`` (and NaN) entries come back as ``None``.
    """
    vals = [None if p is None or not math.isfinite(float(p)) else float(p) for p in pvalues]
    present = [i for i, p in enumerate(vals) if p is not None]
    for i in present:
        if not 0.0 <= vals[i] <= 1.0:  # type: ignore[operator]
            raise ValueError(f"p-values must lie in [0, 1], got {vals[i]!r} at position {i}")
    out: list[float | None] = [None] * len(vals)
    if present:
        adj = _holm_matrix(np.array([vals[i] for i in present]))
        for i, a in zip(present, adj):
            out[i] = float(a)
    return out


def _excluded(part: Decision) -> str | None:
    if part.degenerate is not None:
        return f"degenerate: {part.degenerate}"
    if part.outcome == "too few observations":
        return "too few observations"
    return None


def composite(parts: Sequence[Decision], *, alpha: float = 0.025) -> tuple[str, list[Decision]]:
    """A conjunction: the claim holds only if every part holds.

    1. Parts that are degenerate or have too few observations are excluded from the family; they
       keep their own (inconclusive) status and cannot decide the composite.  A degenerate part (every
       unit at the ceiling, no variance) says nothing either way and is passed over; a part with too few
       observations has not been measured yet, so while one exists the composite cannot be supported.
    2. Over the remaining parts that carry p-values, Holm's adjustment is applied twice, once to
       the ``p_support`` values and once to the ``p_refute`` values.  A part is *family-supported*
       if it is supported on its own and its adjusted p_support < ``alpha``; *family-refuted* if it
       is refuted on its own and its adjusted p_refute < ``alpha``; else family-inconclusive.
       Parts without p-values (:func:`exact`) keep their own status.
    3. The composite is **supported** iff at least one part remains, every remaining part is
       family-supported and no part lacks observations; **refuted** iff any part is family-refuted; **inconclusive** otherwise.

    Returns the status and copies of the parts with ``status`` set to the family status and
    ``detail["holm_p_support"]``, ``detail["holm_p_refute"]`` and ``detail["own_status"]`` added
    (and ``detail["excluded"]`` for excluded parts).  Since a supported composite needs every part
    supported, its false-support rate is at most that of its weakest part; Holm makes the
    false-refute rate (any one part falsely refuted) at most ``alpha`` for the family.
    """
    a = float(alpha)
    if not 0.0 < a < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1 (e.g. 0.025), got {alpha!r}")
    parts = list(parts)
    for i, p in enumerate(parts):
        if not isinstance(p, Decision):
            raise ValueError(f"parts[{i}] is a {type(p).__name__}, not a Decision")
    reasons = [_excluded(p) for p in parts]
    family = [i for i, r in enumerate(reasons) if r is None]
    adj_s = holm([parts[i].p_support for i in family])
    adj_r = holm([parts[i].p_refute for i in family])
    out = [replace(p, detail={**p.detail, "own_status": p.status, "holm_p_support": None, "holm_p_refute": None,
                              "excluded": reasons[i]})
           for i, p in enumerate(parts)]
    for j, i in enumerate(family):
        p = parts[i]
        if p.p_support is None and p.p_refute is None:      # exact: own status stands
            status = p.status
        elif p.status == "supported" and adj_s[j] is not None and adj_s[j] < a:
            status = "supported"
        elif p.status == "refuted" and adj_r[j] is not None and adj_r[j] < a:
            status = "refuted"
        else:
            status = "inconclusive"
        detail = {**out[i].detail, "holm_p_support": adj_s[j], "holm_p_refute": adj_r[j]}
        del detail["excluded"]
        out[i] = replace(out[i], status=status, detail=detail)
    fam = [out[i].status for i in family]
    missing = any(r == "too few observations" for r in reasons)  # a part not yet measured cannot be passed over
    if any(s == "refuted" for s in fam):
        status = "refuted"
    elif fam and all(s == "supported" for s in fam) and not missing:
        status = "supported"
    else:
        status = "inconclusive"
    return status, out


# ---------------------------------------------------------------------------------------------------
# calibration by simulation


def _simulate(rule: str, z: np.ndarray, effect: float | np.ndarray, sd: float, delta: float, tcrit: float):
    """Vectorised t rule on normal data ``effect + sd·z`` (observations on the last axis).

    Returns the oriented mean, interval ends, the two p-values and the status codes.
    """
    n = z.shape[-1]
    m = np.asarray(effect, float) + sd * z.mean(axis=-1)
    se = sd * z.std(axis=-1, ddof=1) / math.sqrt(n)
    lo, hi = m - tcrit * se, m + tcrit * se
    p_s, p_r = _t_pvalues(rule, m, se, n - 1, delta)
    return m, lo, hi, p_s, p_r, _classify(rule, m, lo, hi, delta)


def calibrate(*, reps: int = 20000, n: int = 10, delta: float = 0.5, sd: float = 1.0, parts: int = 3,
              seed: int = 0, confidence: float = 0.95) -> dict[str, Any]:
    """Operating characteristics of the rules on normal paired differences, by simulation.

    ``reps`` simulated studies of ``n`` seeds each, the per-seed difference ~ N(θ, sd²) (θ oriented;
    the rules are symmetric in ``direction``).  Reported (fractions of ``reps``):

    * ``superiority``: coverage of the interval at θ = 0 and θ = δ; false support at θ = 0;
      ``lo_gt_0_at_0`` (how often the interval alone excludes 0 at θ = 0, ≈ α); false refutation at
      θ = δ; power to support at θ = δ and 2δ; power to refute at θ = 0; and the exact powers from
      :func:`power` beside the simulated ones.
    * ``composite`` of ``parts`` independent superiority parts through :func:`composite`'s rule:
      false support with all parts null and with one part null and the others at 2δ; false refutation
      with all parts at δ; power to support with all parts at δ and at 2δ; power to refute with all
      parts null.
    * ``noninferiority`` and ``equivalence`` with margin M = δ: coverage, false support and false
      refutation at their boundaries (θ = −M; θ = M) and power to support at θ = 0.

    ``mc_se_at_alpha`` is the Monte-Carlo standard error of a rate equal to α.  Everything is
    vectorised (one matrix of draws per scenario), and every number is JSON-safe.
    """
    alpha = _alpha(confidence)
    delta = _positive("delta", delta, "the smallest effect of interest")
    sd = _positive("sd", sd, "the standard deviation of one paired difference")
    if int(reps) != reps or reps < 1 or int(n) != n or n < 2 or int(parts) != parts or parts < 1:
        raise ValueError(f"reps ≥ 1, n ≥ 2 and parts ≥ 1 must be integers, "
                         f"got reps={reps!r}, n={n!r}, parts={parts!r}")
    reps, n, parts = int(reps), int(n), int(parts)
    rng = np.random.default_rng(seed)
    tcrit = float(_st.t.ppf(1.0 - alpha, n - 1))
    frac = lambda mask: float(np.mean(mask))  # noqa: E731

    # one matrix of standard normal draws, shifted for every effect (common random numbers)
    z = rng.standard_normal((reps, n))

    def sup(effect: float):
        return _simulate("superiority", z, effect, sd, delta, tcrit)

    m0, lo0, hi0, *_, c0 = sup(0.0)
    m1, lo1, hi1, *_, c1 = sup(delta)
    *_, c2 = sup(2 * delta)
    superiority_ = {
        "coverage_at_0": frac((lo0 <= 0) & (0 <= hi0)),
        "coverage_at_delta": frac((lo1 <= delta) & (delta <= hi1)),
        "false_support_at_0": frac(c0 == _SUPPORTED),
        "lo_gt_0_at_0": frac(lo0 > 0),
        "false_refute_at_delta": frac(c1 == _REFUTED),
        "power_support_at_delta": frac(c1 == _SUPPORTED),
        "power_support_at_2delta": frac(c2 == _SUPPORTED),
        "power_refute_at_0": frac(c0 == _REFUTED),
        "exact_power_support_at_delta": power("superiority", effect=delta, sd=sd, n=n, delta=delta,
                                              confidence=confidence),
        "exact_power_support_at_2delta": power("superiority", effect=2 * delta, sd=sd, n=n, delta=delta,
                                               confidence=confidence),
        "exact_power_refute_at_0": power("superiority", effect=0.0, sd=sd, n=n, delta=delta, target="refuted",
                                         confidence=confidence),
    }

    zc = rng.standard_normal((reps, parts, n))

    def comp(effects: Sequence[float]) -> tuple[float, float]:
        _, _, _, p_s, p_r, code = _simulate("superiority", zc, np.asarray(effects, float), sd, delta, tcrit)
        fam_sup = (code == _SUPPORTED) & (_holm_matrix(p_s) < alpha)
        fam_ref = (code == _REFUTED) & (_holm_matrix(p_r) < alpha)
        return frac(fam_sup.all(axis=-1)), frac(fam_ref.any(axis=-1))

    null_s, null_r = comp([0.0] * parts)
    one_null_s, _ = comp([0.0] + [2 * delta] * (parts - 1))
    at_d_s, at_d_r = comp([delta] * parts)
    at_2d_s, _ = comp([2 * delta] * parts)
    composite_ = {
        "parts": parts,
        "false_support_all_null": null_s,
        "false_support_one_null_others_at_2delta": one_null_s,
        "false_refute_all_at_delta": at_d_r,
        "power_support_all_at_delta": at_d_s,
        "power_support_all_at_2delta": at_2d_s,
        "power_refute_all_null": null_r,
    }

    M = delta
    _, lo, hi, *_, c = _simulate("noninferiority", z, -M, sd, M, tcrit)
    *_, c_0 = _simulate("noninferiority", z, 0.0, sd, M, tcrit)
    noninferiority_ = {
        "margin": M,
        "coverage_at_minus_margin": frac((lo <= -M) & (-M <= hi)),
        "false_support_at_minus_margin": frac(c == _SUPPORTED),
        "false_refute_at_minus_margin": frac(c == _REFUTED),
        "power_support_at_0": frac(c_0 == _SUPPORTED),
        "exact_power_support_at_0": power("noninferiority", effect=0.0, sd=sd, n=n, delta=M, confidence=confidence),
    }
    _, lo, hi, *_, c = _simulate("equivalence", z, M, sd, M, tcrit)
    *_, c_0 = _simulate("equivalence", z, 0.0, sd, M, tcrit)
    equivalence_ = {
        "margin": M,
        "coverage_at_margin": frac((lo <= M) & (M <= hi)),
        "false_support_at_margin": frac(c == _SUPPORTED),
        "false_refute_at_margin": frac(c == _REFUTED),
        "power_support_at_0": frac(c_0 == _SUPPORTED),
        "exact_power_support_at_0": power("equivalence", effect=0.0, sd=sd, n=n, delta=M, confidence=confidence),
    }
    return _json_safe({
        "settings": {"reps": reps, "n": n, "delta": delta, "sd": sd, "parts": parts, "seed": seed,
                     "confidence": confidence, "alpha": round(alpha, 12)},
        "mc_se_at_alpha": math.sqrt(alpha * (1 - alpha) / reps),
        "superiority": superiority_,
        "composite": composite_,
        "noninferiority": noninferiority_,
        "equivalence": equivalence_,
    })


def markdown(res: dict) -> str:
    """The calibration as the Markdown table ``docs/engine.md`` shows (generated, never typed)."""
    st = res["settings"]
    rows = [f"Simulated: {st['reps']} studies per scenario, n = {st['n']} seeds, delta = {st['delta']}, "
            f"sd = {st['sd']} per paired difference, composite of {st['parts']} parts; Monte-Carlo SE at "
            f"alpha: {res['mc_se_at_alpha']:.4f}.", "", "| rule | quantity | value |", "|---|---|---:|"]
    for group in ("superiority", "composite", "noninferiority", "equivalence"):
        for k, v in res[group].items():
            if isinstance(v, float):
                rows.append(f"| {group} | {k.replace('_', ' ')} | {v:.4f} |")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m actlab.engine.decide [--json]``: print :func:`calibrate` for the given settings."""
    ap = argparse.ArgumentParser(prog="python -m actlab.engine.decide",
                                 description="Operating characteristics of the version-2 decision rules.")
    ap.add_argument("--json", action="store_true", help="print the calibration as JSON")
    ap.add_argument("--markdown", action="store_true", help="print the calibration as docs/engine.md's table")
    ap.add_argument("--reps", type=int, default=20000)
    ap.add_argument("--n", type=int, default=10, help="seeds per simulated study")
    ap.add_argument("--delta", type=float, default=0.5, help="smallest effect of interest (also the margins)")
    ap.add_argument("--sd", type=float, default=1.0, help="sd of one paired difference")
    ap.add_argument("--parts", type=int, default=3, help="parts of the simulated composite claim")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    res = calibrate(reps=args.reps, n=args.n, delta=args.delta, sd=args.sd, parts=args.parts, seed=args.seed)
    if args.json:
        print(json.dumps(res, indent=2, allow_nan=False))
    elif args.markdown:
        print(markdown(res))
    else:
        print(f"settings: {res['settings']}  (Monte-Carlo se at alpha: {res['mc_se_at_alpha']:.4f})")
        for group in ("superiority", "composite", "noninferiority", "equivalence"):
            print(f"{group}:")
            for k, v in res[group].items():
                print(f"  {k:42s} {v:.4f}" if isinstance(v, float) else f"  {k:42s} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
