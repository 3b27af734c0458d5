"""Known approximations, held to independent closed-form or mpmath answers.

* hard-swish vs SiLU: the difference peaks at the kinks x = ±3 with value 3σ(−3) (exact).
* hard-sigmoid vs sigmoid: inside (−3, 3) the difference is extremal where σ′(x) = 1/6, i.e.
  σ = (1 + 1/√3)/2, x = logit of that (exact).
* GELU's tanh form: the maximiser solves d/dx(difference) = 0, found here by mpmath's findroot at
  30 digits, independently of the grid-and-ternary search under test.
"""

from __future__ import annotations

import math

import pytest
from mpmath import mp

from actlab.approx.known import KNOWN, compare


def test_hardswish_against_silu_peaks_at_the_kinks():
    c = compare("hardswish", "silu")
    exact = 3 / (1 + math.exp(3))  # 3 − 3σ(3) = 3σ(−3)
    assert c.max_error == pytest.approx(exact, rel=1e-12)
    assert c.argmax == (-3.0, 3.0)
    assert c.derivative_max_error == pytest.approx(1.5 - (1 / (1 + math.exp(-3)) * (1 + 3 / (1 + math.exp(3)))), rel=1e-9)


def test_hardsigmoid_against_sigmoid_where_slopes_agree():
    c = compare("hardsigmoid", "sigmoid")
    s = (1 + 1 / math.sqrt(3)) / 2
    x = math.log(s / (1 - s))
    assert c.argmax == pytest.approx((-x, x), abs=1e-6)
    assert c.max_error == pytest.approx(abs((x + 3) / 6 - s), rel=1e-10)
    assert c.max_error_mpmath == pytest.approx(c.max_error, rel=1e-10)


def test_gelu_tanh_form_matches_an_mpmath_maximisation():
    c = compare("gelu(approximate='tanh')", "gelu", span=6.0)
    with mp.workdps(30):
        k = mp.sqrt(2 / mp.pi)
        d = lambda x: x / 2 * (1 + mp.tanh(k * (x + mp.mpf("0.044715") * x**3))) - x / 2 * mp.erfc(-x / mp.sqrt(2))  # noqa: E731
        xs = mp.findroot(lambda x: mp.diff(d, x), 2.7)
        best = abs(d(xs))
    assert c.argmax == pytest.approx((-float(xs), float(xs)), abs=1e-6)
    assert c.max_error_mpmath == pytest.approx(float(best), rel=1e-9)
    assert 4e-4 < c.max_error < 5e-4  # the known size of the tanh form's error
    # the tanh form is ~40x closer to GELU than x·σ(1.702x), by max error
    q = compare("quick_gelu", "gelu", span=6.0)
    assert q.max_error > 40 * c.max_error


def test_known_pairs_are_all_registered_activations():
    import actlab

    for a, e, _ in KNOWN:
        actlab.get(a), actlab.get(e)


def test_bad_span():
    with pytest.raises(ValueError, match="span"):
        compare("hardswish", "silu", span=-1)
