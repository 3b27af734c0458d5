"""The version-2 decision rules (actlab.engine.decide): exactness against scipy, calibration, branches."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import integrate, stats

from actlab.engine import decide as d

ALPHA = 0.025
T975 = lambda n: stats.t.ppf(0.975, n - 1)  # noqa: E731


def shaped(mean: float, sd: float, n: int, seed: int = 1) -> np.ndarray:
    """A sample with exactly the given mean and sample sd."""
    z = np.random.default_rng(seed).standard_normal(n)
    z = (z - z.mean()) / z.std(ddof=1)
    return mean + sd * z


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and msg
    return msg


# --------------------------------------------------------------------------------------- t machinery


@pytest.mark.parametrize("n", [2, 3, 7, 30])
def test_mean_ci_matches_scipy_t_interval(n):
    x = np.random.default_rng(n).normal(0.3, 2.0, n)
    m, lo, hi = d.mean_ci(x)
    elo, ehi = stats.t.interval(0.95, n - 1, loc=x.mean(), scale=stats.sem(x))
    assert m == pytest.approx(x.mean(), abs=1e-12)
    assert lo == pytest.approx(elo, abs=1e-12) and hi == pytest.approx(ehi, abs=1e-12)
    m90, lo90, hi90 = d.mean_ci(x, confidence=0.9)
    elo, ehi = stats.t.interval(0.9, n - 1, loc=x.mean(), scale=stats.sem(x))
    assert (lo90, hi90) == pytest.approx((elo, ehi), abs=1e-12)


def test_mean_ci_small_and_nan():
    m, lo, hi = d.mean_ci([2.0])
    assert m == 2.0 and math.isnan(lo) and math.isnan(hi)
    assert all(math.isnan(v) for v in d.mean_ci([]))
    m, lo, hi = d.mean_ci([1.0, np.nan, 3.0, None])
    elo, ehi = stats.t.interval(0.95, 1, loc=2.0, scale=stats.sem([1.0, 3.0]))
    assert (m, lo, hi) == pytest.approx((2.0, elo, ehi), abs=1e-12)


@pytest.mark.parametrize("direction", ["higher", "lower"])
def test_superiority_ci_and_pvalues_match_ttest_1samp(direction):
    s = 1.0 if direction == "higher" else -1.0
    delta = 0.4
    for seed in range(5):
        x = s * np.random.default_rng(seed).normal(0.5, 1.0, 8)      # raw compared - baseline
        r = d.superiority(x, direction=direction, delta=delta)
        xo = s * x
        m, lo, hi = d.mean_ci(x)
        assert r.estimate == pytest.approx(x.mean(), abs=1e-12)      # raw, not sign-flipped
        assert r.ci == pytest.approx([lo, hi], abs=1e-12)
        assert r.sd == pytest.approx(np.std(x, ddof=1), abs=1e-12)
        assert r.p_support == pytest.approx(stats.ttest_1samp(xo, 0.0, alternative="greater").pvalue, abs=1e-12)
        assert r.p_refute == pytest.approx(stats.ttest_1samp(xo, delta, alternative="less").pvalue, abs=1e-12)
        assert r.direction == direction and r.delta == delta and r.n == 8


def test_interval_and_pvalue_verdicts_agree():
    """'CI excludes x' <=> 'one-sided p < alpha' for every t rule, on many random samples."""
    rng = np.random.default_rng(7)
    for _ in range(120):
        x = rng.normal(rng.uniform(-1.5, 1.5), rng.uniform(0.2, 2.0), rng.integers(3, 12))
        sup = d.superiority(x, direction="higher", delta=0.5)
        lo, hi = sup.ci
        assert (lo > 0) == (sup.p_support < ALPHA)
        assert (sup.status == "refuted") == (sup.p_refute < ALPHA) == (hi < 0.5)
        assert (sup.status == "supported") == ((lo > 0) and (x.mean() >= 0.5))
        ni = d.noninferiority(x, direction="higher", margin=0.5)
        assert (ni.status == "supported") == (ni.p_support < ALPHA) == (lo > -0.5)
        assert (ni.status == "refuted") == (ni.p_refute < ALPHA) == (hi < -0.5)
        eq = d.equivalence(x, margin=0.5)
        assert (eq.status == "supported") == (eq.p_support < ALPHA) == (lo > -0.5 and hi < 0.5)
        assert (eq.status == "refuted") == (eq.p_refute < ALPHA) == (lo > 0.5 or hi < -0.5)


# --------------------------------------------------------------------------------------- calibration


@pytest.fixture(scope="module")
def cal():
    return d.calibrate(reps=20000, n=10, delta=0.5, sd=1.0, parts=3, seed=0)


def expected_power_support(mu, sd, n, delta):
    """P(lo > 0 and mean >= delta) for N(mu, sd^2) data: an integral over the chi-square of s^2."""
    nu, t = n - 1, T975(n)

    def f(u):
        thr = max(delta, t * sd * math.sqrt(u / nu) / math.sqrt(n))
        return stats.chi2.pdf(u, nu) * stats.norm.sf((thr - mu) / (sd / math.sqrt(n)))

    return integrate.quad(f, 0, np.inf, limit=200)[0]


def test_calibration_false_verdict_rates_and_coverage(cal):
    se = cal["mc_se_at_alpha"]
    assert se == pytest.approx(math.sqrt(0.025 * 0.975 / 20000))
    s = cal["superiority"]
    for k in ("coverage_at_0", "coverage_at_delta"):
        assert abs(s[k] - 0.95) <= 0.01
    assert s["false_support_at_0"] <= 0.025 + 3 * se
    assert abs(s["lo_gt_0_at_0"] - 0.025) <= 4 * se             # the bare one-sided test has size alpha
    assert abs(s["false_refute_at_delta"] - 0.025) <= 4 * se    # exactly alpha at the boundary
    c = cal["composite"]
    assert c["parts"] == 3
    assert c["false_support_all_null"] <= 0.05 and c["false_support_one_null_others_at_2delta"] <= 0.05
    assert c["false_refute_all_at_delta"] <= 0.025 + 3 * se     # Holm: family-wise at alpha
    assert c["false_refute_all_at_delta"] <= 0.05
    ni, eq = cal["noninferiority"], cal["equivalence"]
    assert abs(ni["coverage_at_minus_margin"] - 0.95) <= 0.01
    for v in (ni["false_support_at_minus_margin"], ni["false_refute_at_minus_margin"],
              eq["false_support_at_margin"], eq["false_refute_at_margin"]):
        assert v <= 0.025 + 3 * se
    json.dumps(cal, allow_nan=False)


def test_calibration_power_matches_theory(cal):
    s = cal["superiority"]
    want_2d = expected_power_support(1.0, 1.0, 10, 0.5)          # ~0.80
    assert 0.75 < want_2d < 0.85
    se_2d = math.sqrt(want_2d * (1 - want_2d) / 20000)
    assert abs(s["power_support_at_2delta"] - want_2d) <= 4 * se_2d
    assert s["power_support_at_2delta"] > 0.7
    assert s["exact_power_support_at_2delta"] == pytest.approx(want_2d, abs=1e-6)
    want_d = expected_power_support(0.5, 1.0, 10, 0.5)
    assert s["exact_power_support_at_delta"] == pytest.approx(want_d, abs=1e-6)
    assert abs(s["power_support_at_delta"] - want_d) <= 4 * math.sqrt(want_d * (1 - want_d) / 20000)
    # refuting at theta = 0 is a noncentral-t event: (mean - delta)/(s/sqrt n) < -t
    want_r = stats.nct.cdf(-T975(10), 9, (0.0 - 0.5) * math.sqrt(10))
    assert s["exact_power_refute_at_0"] == pytest.approx(want_r, abs=1e-7)
    assert abs(s["power_refute_at_0"] - want_r) <= 4 * math.sqrt(want_r * (1 - want_r) / 20000)
    # non-inferiority at theta = 0 with margin delta: the same noncentral-t event mirrored
    assert cal["noninferiority"]["exact_power_support_at_0"] == pytest.approx(want_r, abs=1e-7)
    # composite of 3 independent parts at 2 delta: at most the product of the single-part powers
    assert cal["composite"]["power_support_all_at_2delta"] <= want_2d ** 3 + 4 * math.sqrt(0.25 / 20000)
    assert cal["composite"]["power_support_all_at_2delta"] > 0.3


def test_power_equivalence_against_direct_integral():
    n, sd, M = 20, 1.0, 0.6
    nu, t = n - 1, T975(n)

    def f(u):
        h = t * sd * math.sqrt(u / nu) / math.sqrt(n)
        if h >= M:
            return 0.0
        se = sd / math.sqrt(n)
        return stats.chi2.pdf(u, nu) * (stats.norm.cdf((M - h - 0.1) / se) - stats.norm.cdf((h - M - 0.1) / se))

    want = integrate.quad(f, 0, np.inf, limit=200)[0]
    assert d.power("equivalence", effect=0.1, sd=sd, n=n, delta=M) == pytest.approx(want, abs=1e-6)


# --------------------------------------------------------------------------------------- branches


def test_superiority_supported():
    x = shaped(1.0, 0.5, 8)                                      # CI ~ [0.58, 1.42], delta 0.5
    r = d.superiority(x, direction="higher", delta=0.5)
    assert (r.status, r.outcome, r.seeds_needed) == ("supported", "meaningful effect", None)
    r = d.superiority(-x, direction="lower", delta=0.5)
    assert (r.status, r.outcome) == ("supported", "meaningful effect")
    assert r.estimate == pytest.approx(-1.0) and r.ci[1] < 0      # raw units, compared - baseline


def test_superiority_refuted_opposite_direction():
    x = shaped(-1.0, 0.5, 8)
    r = d.superiority(x, direction="higher", delta=0.5)
    assert (r.status, r.outcome) == ("refuted", "opposite direction")
    r = d.superiority(-x, direction="lower", delta=0.5)
    assert (r.status, r.outcome) == ("refuted", "opposite direction")


def test_superiority_refuted_no_meaningful_difference():
    # the interval excludes 0 (a real effect) but also delta: real yet too small to matter
    x = shaped(0.2, 0.1, 8)
    r = d.superiority(x, direction="higher", delta=0.5)
    assert r.ci[0] > 0 and r.ci[1] < 0.5
    assert (r.status, r.outcome) == ("refuted", "no meaningful difference")


def test_superiority_needs_the_point_estimate_at_delta():
    x = shaped(0.4, 0.2, 10)                                     # lo > 0, hi > 0.5, mean < 0.5
    r = d.superiority(x, direction="higher", delta=0.5)
    assert r.ci[0] > 0 and r.ci[1] > 0.5
    assert (r.status, r.outcome) == ("inconclusive", "undecided")


def simulated_power(mean, sd, n, delta, target, reps=4000, seed=11):
    x = np.random.default_rng(seed).normal(mean, sd, (reps, n))
    m, s = x.mean(axis=1), x.std(axis=1, ddof=1)
    half = T975(n) * s / math.sqrt(n)
    if target == "supported":
        return np.mean((m - half > 0) & (m >= delta))
    return np.mean(m + half < delta)


@pytest.mark.parametrize("mean,sd,n,delta,target", [(0.6, 1.0, 5, 0.3, "supported"),
                                                     (0.05, 1.0, 4, 0.5, "refuted"),
                                                     (-0.2, 2.0, 6, 0.5, "refuted")])
def test_inconclusive_seeds_needed_gives_80_percent_power(mean, sd, n, delta, target):
    x = shaped(mean, sd, n)
    r = d.superiority(x, direction="higher", delta=delta)
    assert (r.status, r.outcome) == ("inconclusive", "undecided")
    N = r.seeds_needed
    assert N is not None and N > n
    assert abs(simulated_power(mean, sd, N, delta, target) - 0.8) <= 0.07
    # and it is the smallest such N by the exact power
    assert d.power("superiority", effect=mean, sd=sd, n=N, delta=delta, target=target) >= 0.8
    assert d.power("superiority", effect=mean, sd=sd, n=N - 1, delta=delta, target=target) < 0.8


def test_seeds_needed_none_when_mean_is_exactly_delta():
    r = d.superiority(shaped(0.5, 1.0, 5), direction="higher", delta=0.5)
    assert r.status == "inconclusive" and r.seeds_needed is None


def test_degenerate_and_too_few():
    # a constant sample is decided at its value (the t rule's limit as the spread goes to 0), not excluded
    r = d.superiority([0.2, 0.2, 0.2, 0.2], direction="higher", delta=0.1)
    assert (r.status, r.outcome, r.ci, r.sd, r.degenerate) == ("supported", "meaningful effect", [0.2, 0.2], 0.0, None)
    assert (r.p_support, r.p_refute) == (0.0, 1.0) and "every paired difference is 0.2" in r.detail["constant"]
    r = d.superiority([0.0] * 5, direction="higher", delta=0.05)   # e.g. a fraction that is 0 in every seed
    assert (r.status, r.outcome, r.p_refute) == ("refuted", "no meaningful difference", 0.0)
    r = d.superiority([0.3] * 5, direction="lower", delta=0.05)
    assert (r.status, r.outcome) == ("refuted", "opposite direction")
    r = d.noninferiority([0.0] * 4, direction="lower", margin=0.02)
    assert (r.status, r.outcome) == ("supported", "non-inferior")
    r = d.equivalence([0.0] * 4, margin=0.02)
    assert r.status == "supported" and r.p_support == 0.0
    r = d.superiority([0.2, 0.2], direction="higher", delta=0.1)
    assert (r.status, r.outcome) == ("inconclusive", "too few observations")
    r = d.superiority([0.0] * 5, direction="higher", delta=0.05, degenerate="every unit at the ceiling")
    assert (r.status, r.outcome) == ("inconclusive", "degenerate") and r.ci is None
    r = d.superiority(shaped(1.0, 0.5, 8), direction="higher", delta=0.5, degenerate="every unit at the ceiling")
    assert (r.status, r.outcome, r.degenerate) == ("inconclusive", "degenerate", "every unit at the ceiling")
    assert r.ci is not None and r.seeds_needed is None
    r = d.superiority([5.0, 6.0, float("nan"), None], direction="higher", delta=0.1)
    assert (r.status, r.outcome, r.n, r.n_dropped) == ("inconclusive", "too few observations", 2, 2)
    assert r.seeds_needed is not None and r.seeds_needed >= d.MIN_N
    r = d.superiority([], direction="higher", delta=0.1)
    assert (r.outcome, r.estimate, r.ci) == ("too few observations", None, None)
    r = d.superiority([1.0, 2.0, 3.0, np.inf], direction="higher", delta=0.1)
    assert (r.n, r.n_dropped) == (3, 1)


def test_noninferiority_against_hand_computed_bounds():
    n, M = 9, 0.5
    for mean, sd, want, outcome in [(0.0, 0.4, "supported", "non-inferior"),
                                    (-1.2, 0.4, "refuted", "inferior beyond the margin"),
                                    (-0.5, 1.0, "inconclusive", "undecided")]:
        x = shaped(mean, sd, n)
        half = T975(n) * sd / 3.0
        lo, hi = mean - half, mean + half
        r = d.noninferiority(x, direction="higher", margin=M)
        assert r.ci == pytest.approx([lo, hi], abs=1e-12)
        assert (r.status, r.outcome) == (want, outcome)
        assert r.p_support == pytest.approx(stats.ttest_1samp(x, -M, alternative="greater").pvalue, abs=1e-12)
        assert r.p_refute == pytest.approx(stats.ttest_1samp(x, -M, alternative="less").pvalue, abs=1e-12)
        # 'lower' direction: the mirror image
        r2 = d.noninferiority(-x, direction="lower", margin=M)
        assert (r2.status, r2.p_support) == (r.status, pytest.approx(r.p_support, abs=1e-12))
        assert r2.ci == pytest.approx([-hi, -lo], abs=1e-12)


def test_equivalence_tost_against_scipy_and_hand_bounds():
    n, M = 16, 0.5
    for mean, sd, want, outcome in [(0.1, 0.4, "supported", "equivalent"),
                                    (1.5, 0.4, "refuted", "not equivalent"),
                                    (-1.5, 0.4, "refuted", "not equivalent"),
                                    (0.4, 0.8, "inconclusive", "undecided")]:
        x = shaped(mean, sd, n)
        half = T975(n) * sd / 4.0
        r = d.equivalence(x, margin=M)
        assert r.ci == pytest.approx([mean - half, mean + half], abs=1e-12)
        assert (r.status, r.outcome, r.direction) == (want, outcome, None)
        p_lo = stats.ttest_1samp(x, -M, alternative="greater").pvalue
        p_hi = stats.ttest_1samp(x, M, alternative="less").pvalue
        assert r.p_support == pytest.approx(max(p_lo, p_hi), abs=1e-12)
        assert r.detail["p_lower"] == pytest.approx(p_lo, abs=1e-12)
        assert r.detail["p_upper"] == pytest.approx(p_hi, abs=1e-12)
        p_out = min(stats.ttest_1samp(x, M, alternative="greater").pvalue,
                    stats.ttest_1samp(x, -M, alternative="less").pvalue)
        assert r.p_refute == pytest.approx(p_out, abs=1e-12)


def test_exact_relations():
    assert d.exact(1.04, target=1.0, tolerance=0.05).outcome == "within tolerance"
    r = d.exact(1.06, target=1.0, tolerance=0.05)
    assert (r.status, r.outcome, r.n, r.ci) == ("refuted", "outside tolerance", 1, None)
    assert d.exact(0.94, target=1.0, tolerance=0.05).status == "refuted"
    assert d.exact(1.04, target=1.0, tolerance=0.05, relation="<=").status == "supported"
    assert d.exact(1.06, target=1.0, tolerance=0.05, relation="<=").status == "refuted"
    assert d.exact(-5.0, target=1.0, tolerance=0.0, relation="<=").status == "supported"
    assert d.exact(0.96, target=1.0, tolerance=0.05, relation=">=").status == "supported"
    assert d.exact(0.94, target=1.0, tolerance=0.05, relation=">=").status == "refuted"
    r = d.exact(float("nan"), target=1.0, tolerance=0.05)
    assert (r.status, r.n_dropped, r.p_support) == ("inconclusive", 1, None)
    with pytest.raises(ValueError):
        d.exact(1.0, target=1.0, tolerance=-1.0)
    with pytest.raises(ValueError):
        d.exact(1.0, target=1.0, tolerance=0.1, relation="<")


# --------------------------------------------------------------------------------------- proportions


@pytest.mark.parametrize("k,n", [(0, 10), (1, 10), (5, 10), (10, 10), (37, 101), (3, 4)])
def test_wilson_matches_scipy(k, n):
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert d.wilson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-12)
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.8, method="wilson")
    assert d.wilson(k, n, 0.8) == pytest.approx((ci.low, ci.high), abs=1e-12)


def test_newcombe_difference_by_hand_and_published_example():
    for k_c, n_c, k_b, n_b in [(56, 70, 48, 80), (9, 10, 3, 10), (2, 30, 0, 25), (12, 12, 5, 20)]:
        r = d.proportion(k_c, n_c, k_b, n_b, direction="higher", delta=0.1)
        p1, p2 = k_c / n_c, k_b / n_b
        l1, u1 = (lambda c: (c.low, c.high))(stats.binomtest(k_c, n_c).proportion_ci(method="wilson"))
        l2, u2 = (lambda c: (c.low, c.high))(stats.binomtest(k_b, n_b).proportion_ci(method="wilson"))
        # Newcombe (1998) method 10: L = d - sqrt((p1-l1)^2 + (u2-p2)^2), U = d + sqrt((u1-p1)^2 + (p2-l2)^2)
        L = (p1 - p2) - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        U = (p1 - p2) + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
        assert r.estimate == pytest.approx(p1 - p2, abs=1e-12)
        assert r.ci == pytest.approx([L, U], abs=1e-12)
        assert r.detail["p_c"] == p1 and r.detail["wilson_b"] == pytest.approx([l2, u2], abs=1e-12)
        assert (r.ci[0] > 0) == (r.p_support < ALPHA) and (r.ci[1] < 0.1) == (r.p_refute < ALPHA)
    # Newcombe (1998), Table II example (a): 56/70 - 48/80, method 10 gives 0.0524 to 0.3339
    r = d.proportion(56, 70, 48, 80, direction="higher", delta=0.1)
    assert r.ci == pytest.approx([0.0524, 0.3339], abs=5e-5)
    assert (r.status, r.outcome, r.n) == ("supported", "meaningful effect", 150)


def test_proportion_branches_and_direction():
    r = d.proportion(10, 50, 40, 50, direction="lower", delta=0.2)        # compared much lower: supported
    assert (r.status, r.estimate) == ("supported", pytest.approx(-0.6))
    r = d.proportion(10, 50, 40, 50, direction="higher", delta=0.2)
    assert (r.status, r.outcome) == ("refuted", "opposite direction")
    r = d.proportion(200, 400, 200, 400, direction="higher", delta=0.2)
    assert (r.status, r.outcome) == ("refuted", "no meaningful difference")
    r = d.proportion(6, 10, 4, 10, direction="higher", delta=0.2)
    assert (r.status, r.outcome) == ("inconclusive", "undecided")
    r = d.proportion(10, 10, 10, 10, direction="higher", delta=0.2)
    assert (r.status, r.outcome) == ("inconclusive", "degenerate") and r.degenerate
    assert d.proportion(2, 2, 0, 10, direction="higher", delta=0.2).outcome == "too few observations"
    with pytest.raises(ValueError):
        d.proportion(11, 10, 0, 10, direction="higher", delta=0.2)


# --------------------------------------------------------------------------------------- trend


def test_trend_slopes_match_linregress():
    levels = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    rng = np.random.default_rng(3)
    series = [0.5 + 0.3 * levels + rng.normal(0, 0.2, 5) for _ in range(6)]
    series[2][1] = np.nan
    series.append([np.nan, 1.0, np.nan, np.nan, np.nan])                 # < 2 finite points: dropped
    r = d.trend(levels, series, direction="higher", delta=0.1)
    want = []
    for y in series[:6]:
        k = np.isfinite(y)
        want.append(stats.linregress(levels[k], np.asarray(y)[k]))
    assert r.detail["slopes"] == pytest.approx([w.slope for w in want], abs=1e-12)
    assert r.detail["intercepts"] == pytest.approx([w.intercept for w in want], abs=1e-12)
    assert r.detail["mean_slope"] == pytest.approx(np.mean([w.slope for w in want]), abs=1e-12)
    assert r.detail["mean_intercept"] == pytest.approx(np.mean([w.intercept for w in want]), abs=1e-12)
    assert (r.rule, r.n, r.n_dropped) == ("trend", 6, 1)
    s = d.superiority([w.slope for w in want], direction="higher", delta=0.1)
    assert (r.status, r.ci, r.p_support) == (s.status, pytest.approx(s.ci), pytest.approx(s.p_support))
    assert r.status == "supported"
    assert d.trend(levels, series, direction="lower", delta=0.1).outcome == "opposite direction"
    with pytest.raises(ValueError, match="levels"):
        d.trend(levels, [[1.0, 2.0]], direction="higher", delta=0.1)


# --------------------------------------------------------------------------------------- time to event


def km_area(times, events, horizon):
    """Area under a hand-coded Kaplan-Meier curve from 0 to horizon (ties: all events at a time first)."""
    times, events = np.asarray(times, float), np.asarray(events, bool)
    surv, last, area = 1.0, 0.0, 0.0
    for t in np.unique(times[events]):
        if t > horizon:
            break
        area += surv * (t - last)
        at_risk = np.sum(times >= t)
        surv *= 1.0 - np.sum((times == t) & events) / at_risk
        last = t
    return area + surv * (horizon - last)


def test_rmst_equals_km_area_under_administrative_censoring():
    horizon = 100.0
    tc = [10, 20, 20, 35, 100, 120, 50, 150]
    ec = [1, 1, 1, 1, 0, 0, 1, 1]                 # censored at/after the horizon; one event after it
    tb = [30, 60, 60, 100, 100, 80, 110, 40]
    eb = [1, 1, 1, 1, 0, 1, 0, 1]
    r = d.time_to_event(tc, ec, tb, eb, horizon=horizon, delta=5.0)
    assert r.detail["rmst_c"] == pytest.approx(km_area(tc, ec, horizon), abs=1e-12)
    assert r.detail["rmst_b"] == pytest.approx(km_area(tb, eb, horizon), abs=1e-12)
    assert (r.detail["events_c"], r.detail["censored_c"], r.detail["events_after_horizon_c"]) == (6, 2, 1)
    assert (r.detail["events_b"], r.detail["censored_b"]) == (6, 2)
    rc = np.where(np.asarray(ec) == 1, np.minimum(tc, horizon), horizon)
    rb = np.where(np.asarray(eb) == 1, np.minimum(tb, horizon), horizon)
    s = d.superiority(rc - rb, direction="lower", delta=5.0)
    assert r.rule == "time_to_event"
    assert (r.status, r.estimate, r.ci, r.p_support) == (s.status, pytest.approx(s.estimate), pytest.approx(s.ci),
                                                         pytest.approx(s.p_support))
    assert r.estimate == pytest.approx(r.detail["rmst_c"] - r.detail["rmst_b"])


def test_time_to_event_unpaired_welch_matches_scipy():
    rng = np.random.default_rng(5)
    tc, tb = rng.uniform(10, 60, 7), rng.uniform(30, 90, 9)
    ec, eb = np.ones(7, bool), np.ones(9, bool)
    r = d.time_to_event(tc, ec, tb, eb, horizon=100.0, delta=5.0, paired=False)
    tt = stats.ttest_ind(tc, tb, equal_var=False, alternative="less")
    assert r.p_support == pytest.approx(tt.pvalue, abs=1e-12)
    ci = stats.ttest_ind(tc, tb, equal_var=False).confidence_interval(0.95)
    assert r.ci == pytest.approx([ci.low, ci.high], abs=1e-10)
    assert r.p_refute == pytest.approx(
        stats.ttest_ind(tb, tc + 5.0, equal_var=False, alternative="less").pvalue, abs=1e-12)   # H0: (b - c) >= 5
    assert r.status == "supported" and r.n == 16


def test_time_to_event_early_censoring_and_degenerate():
    with pytest.raises(ValueError, match="censor") as e:
        d.time_to_event([10, 50, 20], [1, 0, 1], [30, 40, 50], [1, 1, 1], horizon=100.0, delta=5.0)
    one_line(e)
    r = d.time_to_event([100, 120, 100], [0, 0, 0], [100, 130, 100], [0, 0, 0], horizon=100.0, delta=5.0)
    assert (r.status, r.outcome) == ("inconclusive", "degenerate")
    assert "no event" in r.degenerate
    with pytest.raises(ValueError, match="paired"):
        d.time_to_event([1, 2, 3], [1, 1, 1], [1, 2], [1, 1], horizon=10.0, delta=1.0)


# --------------------------------------------------------------------------------------- multiplicity


def test_holm_hand_example():
    # sorted 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> running max 0.02, 0.03, 0.06, 0.06
    assert d.holm([0.01, None, 0.04, 0.03, 0.005]) == pytest.approx([0.03, None, 0.06, 0.06, 0.02])
    assert d.holm([0.7, 0.8]) == [1.0, 1.0]
    assert d.holm([0.5, 0.6]) == [1.0, 1.0]
    assert d.holm([0.02]) == [0.02] and d.holm([]) == [] and d.holm([None]) == [None]
    with pytest.raises(ValueError):
        d.holm([1.5])


def part_with_p_support(p: float, seed: int = 0) -> d.Decision:
    """A real supported superiority decision whose p_support is p (n = 10, delta small)."""
    n = 10
    tstat = stats.t.isf(p, n - 1)
    x = shaped(tstat / math.sqrt(n), 1.0, n, seed)
    r = d.superiority(x, direction="higher", delta=0.01)
    assert r.status == "supported" and r.p_support == pytest.approx(p, rel=1e-9)
    return r


def part_with_p_refute(p: float) -> d.Decision:
    n, delta = 10, 1.0
    tstat = stats.t.ppf(p, n - 1)
    x = shaped(delta + tstat / math.sqrt(n), 1.0, n)
    r = d.superiority(x, direction="higher", delta=delta)
    assert r.status == "refuted" and r.p_refute == pytest.approx(p, rel=1e-9)
    return r


def test_composite_all_supported_needs_holm():
    status, parts = d.composite([part_with_p_support(0.001), part_with_p_support(0.02, 1)])
    assert status == "supported"                                   # Holm: 0.002, 0.02 < 0.025
    assert [p.detail["holm_p_support"] for p in parts] == pytest.approx([0.002, 0.02])
    status, parts = d.composite([part_with_p_support(0.02), part_with_p_support(0.02, 1)])
    assert status == "inconclusive"                                # Holm: 0.04, 0.04 - each alone is supported
    assert [p.status for p in parts] == ["inconclusive", "inconclusive"]
    assert [p.detail["own_status"] for p in parts] == ["supported", "supported"]


def test_composite_degenerate_parts_are_excluded():
    good = part_with_p_support(0.001)
    degen = d.superiority([0.3] * 5, direction="higher", delta=0.1, degenerate="every unit at the ceiling")
    few = d.superiority([1.0, 2.0], direction="higher", delta=0.1)
    status, parts = d.composite([good, degen, few])
    assert status == "inconclusive"  # a part not yet measured (too few observations) blocks support ...
    assert d.composite([good, degen])[0] == "supported"  # ... a degenerate one is passed over
    assert parts[0].detail["holm_p_support"] == pytest.approx(0.001)   # family of one, not three
    assert parts[1].status == "inconclusive" and "degenerate" in parts[1].detail["excluded"]
    assert parts[2].detail["excluded"] == "too few observations"
    assert d.composite([degen, few])[0] == "inconclusive"
    assert d.composite([])[0] == "inconclusive"
    # a forced-degenerate part that would have been refuted cannot refute
    forced = d.superiority(shaped(-2.0, 0.5, 8), direction="higher", delta=0.1, degenerate="ceiling")
    assert d.composite([good, forced])[0] == "supported"


def test_composite_single_family_refuted_part_refutes():
    status, parts = d.composite([part_with_p_support(0.001), part_with_p_refute(1e-4), part_with_p_support(0.002)])
    assert status == "refuted"
    assert [p.status for p in parts] == ["supported", "refuted", "supported"]
    assert parts[1].detail["holm_p_refute"] == pytest.approx(3e-4)
    # refuted on its own at p = 0.02, but not after Holm over two parts
    status, parts = d.composite([part_with_p_support(0.001), part_with_p_refute(0.02)])
    assert status == "inconclusive" and parts[1].detail["own_status"] == "refuted"
    # exact parts keep their own status
    assert d.composite([part_with_p_support(0.001), d.exact(2.0, target=1.0, tolerance=0.1)])[0] == "refuted"
    assert d.composite([part_with_p_support(0.001), d.exact(1.0, target=1.0, tolerance=0.1)])[0] == "supported"


# --------------------------------------------------------------------------------------- result type, inputs, CLI


def test_decision_is_json_safe():
    for r in (d.superiority([1.0], direction="higher", delta=0.1),
              d.superiority([0.2] * 4, direction="higher", delta=0.1),
              d.exact(float("nan"), target=0.0, tolerance=0.1),
              d.Decision(rule="superiority", status="inconclusive", outcome="undecided", estimate=float("nan"),
                         ci=[np.float64(-np.inf), 1.0], n=np.int64(3), delta=0.1, direction="higher",
                         detail={"x": np.nan, "y": [np.float32(1.5), np.inf]})):
        json.dumps(r.as_dict(), allow_nan=False)
        json.dumps(r.json(), allow_nan=False)
    assert r.json()["detail"] == {"x": None, "y": [1.5, None]} and r.estimate is None and r.ci == [None, 1.0]


def test_bad_inputs_raise_one_line_value_errors():
    with pytest.raises(ValueError, match="delta") as e:
        d.superiority([1, 2, 3], direction="higher", delta=0)
    one_line(e)
    with pytest.raises(ValueError, match="delta") as e:
        d.superiority([1, 2, 3], direction="higher", delta=-0.5)
    one_line(e)
    with pytest.raises(ValueError, match="direction") as e:
        d.superiority([1, 2, 3], direction="up", delta=0.5)
    assert "'higher' or 'lower'" in one_line(e)
    with pytest.raises(ValueError, match="margin") as e:
        d.equivalence([1, 2, 3], margin=0.0)
    one_line(e)
    with pytest.raises(ValueError, match="levels") as e:
        d.trend([0, 1, 2], [[1, 2, 3], [1, 2]], direction="higher", delta=0.1)
    one_line(e)
    with pytest.raises(ValueError, match="events") as e:
        d.time_to_event([1, 2, 3], [1, 1], [1, 2, 3], [1, 1, 1], horizon=10.0, delta=1.0)
    one_line(e)
    with pytest.raises(ValueError, match="confidence") as e:
        d.superiority([1, 2, 3], direction="higher", delta=0.5, confidence=95)
    one_line(e)
    with pytest.raises(ValueError, match="one-dimensional"):
        d.superiority(np.ones((3, 2)), direction="higher", delta=0.5)


def test_main_prints_calibration_json(capsys):
    assert d.main(["--json", "--reps", "500"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["settings"]["reps"] == 500 and out == d.calibrate(reps=500)


# --------------------------------------------------------------------------------------- spread


def test_spread_pairs_match_paired_t_tests_by_hand():
    rng = np.random.default_rng(3)
    n, k, delta = 6, 3, 0.5
    y = rng.normal(0, 1, (n, 1)) + rng.normal(0, 0.4, (n, k)) + np.array([0.0, 0.3, 1.6])
    r = d.spread(y, delta=delta, arms=["a", "b", "c"])
    P = 3
    pairs = [(0, 1), (0, 2), (1, 2)]
    p_adj, tost, bound = [], [], []
    for i, j in pairs:
        diff = y[:, i] - y[:, j]
        two_sided = stats.ttest_rel(y[:, i], y[:, j]).pvalue
        p_adj.append(min(1.0, P * two_sided))       # 2P one-sided tests in the observed direction
        se = diff.std(ddof=1) / math.sqrt(n)
        tost.append(max(stats.t.sf((diff.mean() + delta) / se, n - 1), stats.t.cdf((diff.mean() - delta) / se, n - 1)))
        bound.append(abs(diff.mean()) + T975(n) * se)
    ranges = [abs((y[:, i] - y[:, j]).mean()) for i, j in pairs]
    top = int(np.argmax(ranges))
    assert r.estimate == pytest.approx(max(ranges), rel=1e-12)
    assert r.detail["range_pair"] == ["c", "a"]
    big = [p for p, m in zip(p_adj, ranges) if m >= delta]
    assert r.p_support == pytest.approx(min(big), rel=1e-9)
    assert r.p_refute == pytest.approx(max(tost), rel=1e-9)
    assert r.detail["max_abs_bound"] == pytest.approx(max(bound), rel=1e-12)
    i, j = pairs[top]
    se = (y[:, i] - y[:, j]).std(ddof=1) / math.sqrt(n)
    tsim = stats.t.ppf(1 - ALPHA / (2 * P), n - 1)
    assert r.ci == pytest.approx([max(ranges) - tsim * se, max(ranges) + tsim * se], rel=1e-12)
    # the interval excludes 0 exactly when the adjusted p is below alpha
    assert (r.ci[0] > 0) == (p_adj[top] < ALPHA)
    assert r.status == "supported" and r.outcome == "the arms differ"


def _spread_rates(means, sd, n, delta, reps, seed):
    rng = np.random.default_rng(seed)
    out = {"supported": 0, "refuted": 0, "inconclusive": 0}
    for _ in range(reps):
        y = rng.normal(0, 1.0, (n, 1)) + rng.normal(0, sd, (n, len(means))) + np.asarray(means)
        out[d.spread(y, delta=delta).status] += 1
    return {k: v / reps for k, v in out.items()}


def test_spread_calibration_planted_null_boundary_and_effect():
    reps, n, delta, sd = 1000, 6, 1.0, 0.5
    se = math.sqrt(ALPHA * (1 - ALPHA) / reps)
    null = _spread_rates([0.0] * 4, sd, n, delta, reps, 1)                 # no arm differs
    assert null["supported"] <= ALPHA + 3 * se
    boundary = _spread_rates([0.0, 0.0, 0.0, delta], sd, n, delta, reps, 2)  # one pair exactly at delta
    assert boundary["refuted"] <= ALPHA + 3 * se
    effect = _spread_rates([0.0, 0.0, 0.0, 3 * delta], sd, n, delta, reps, 3)
    assert effect["supported"] >= 0.8
    tight = _spread_rates([0.0] * 4, 0.2, n, delta, reps, 4)                # all equivalent, precisely measured
    assert tight["refuted"] >= 0.9


def test_spread_branches():
    exact = d.spread([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]], delta=0.5)     # identical arms, seed-to-seed only
    assert exact.status == "refuted" and exact.estimate == 0.0
    shifted = d.spread([[1.0, 2.0], [2.0, 3.0], [3.0, 4.0]], delta=0.5)   # a known difference of 1
    assert shifted.status == "supported" and shifted.estimate == pytest.approx(1.0)
    flat = d.spread([[1.0, 1.0]] * 4, delta=0.5)                       # constant: decided at its value
    assert flat.status == "refuted" and flat.estimate == 0.0 and flat.degenerate is None
    few = d.spread([[1.0, 2.0], [2.0, 4.0]], delta=0.5)
    assert few.outcome == "too few observations"
    dropped = d.spread([[1.0, 2.0], [2.0, float("nan")], [2.0, 3.0], [3.0, 4.0]], delta=0.5)
    assert dropped.n == 3 and dropped.n_dropped == 1
    with pytest.raises(ValueError) as e:
        d.spread([[1.0], [2.0]], delta=0.5)
    assert "2 arms" in one_line(e)
    with pytest.raises(ValueError):
        d.spread([[1.0, 2.0]], delta=0.0)
    undecided = d.spread(shaped(0.0, 1.0, 4)[:, None] + np.array([[0.0, 0.8]]) + np.c_[np.zeros(4), shaped(0, 0.6, 4, 2)],
                         delta=1.0)
    assert undecided.status == "inconclusive" and undecided.seeds_needed is not None and undecided.seeds_needed > 4
    json.dumps(undecided.json(), allow_nan=False)
