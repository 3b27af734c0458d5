"""``actlab similar``: the issue's checks, the metric against independent quadrature, invariances,
the cached pairwise matrix and its map, and bad input.

Oracles: the reported distance is recomputed at the reported transform with scipy's adaptive
quadrature against the Gaussian weight (an integrator independent of the fixed grid); the optimum is
held to an independent multi-start L-BFGS search on a 120-node Gauss-Hermite rule (smooth pairs only,
where Gauss-Hermite is exact to ~1e-12).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import integrate, optimize

import actlab
from actlab import similar as S

sys.path.insert(0, str(Path(__file__).parent))  # "simfns:xsig" imports as a user's module would
import simfns  # noqa: E402

ZERO = 1e-7  # D is the root of a residual: rounding alone leaves ~1e-8


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("actlab-cache")


@pytest.fixture(autouse=True)
def _cache_env(cache, monkeypatch):
    monkeypatch.setenv("ACTLAB_CACHE_DIR", str(cache))


def _np(act, derivative=False):
    def f(x):
        t = torch.as_tensor(np.atleast_1d(np.asarray(x, dtype=np.float64)))
        with torch.no_grad():
            y = act.derivative(t) if derivative else act(t)
        return y.numpy()
    return f


def quad_distance(f, g, m: S.Match, mean=0.0, std=1.0) -> float:
    """sqrt(E(f − c·g(a·z + b) − d)² / Var f) by adaptive quadrature of the Gaussian weight."""
    fa, ga = _np(actlab.get(f)), _np(actlab.get(g))
    pdf = lambda z: math.exp(-0.5 * ((z - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))  # noqa: E731
    lo, hi = mean - 12 * std, mean + 12 * std
    E = lambda h: integrate.quad(lambda z: h(z) * pdf(z), lo, hi, limit=400, points=[mean], epsabs=1e-14, epsrel=1e-12)[0]  # noqa: E731
    mf = E(lambda z: float(fa(z)[0]))
    var = E(lambda z: (float(fa(z)[0]) - mf) ** 2)
    res = E(lambda z: (float(fa(z)[0]) - m.c * float(ga(m.a * z + m.b)[0]) - m.d) ** 2)
    return math.sqrt(res / var)


def gh_best(f, g) -> float:
    """An independent optimum: min over (a, b) of 1 − ρ² on 120 Gauss-Hermite nodes, L-BFGS-B from a
    3×3 grid of starts per sign of a, in the same bounds."""
    x, wt = np.polynomial.hermite_e.hermegauss(120)
    wt = wt / wt.sum()
    fa, ga = _np(actlab.get(f)), _np(actlab.get(g))
    fz = fa(x)
    fc = fz - wt @ fz

    def obj(p, sign):
        h = ga(sign * 2 ** p[0] * x + p[1])
        hc = h - wt @ h
        return 1 - (wt @ (fc * hc)) ** 2 / ((wt @ fc**2) * (wt @ hc**2))

    best = 1.0
    for sign in (1.0, -1.0):
        for p0 in [(la, b) for la in (-1.0, 0.0, 1.0) for b in (-1.0, 0.0, 1.0)]:
            r = optimize.minimize(obj, p0, args=(sign,), method="L-BFGS-B", bounds=[(-3, 3), (-10, 10)])
            best = min(best, r.fun)
    return math.sqrt(max(best, 0.0))


# -- the checks ---------------------------------------------------------------------------

def test_x_sigmoid_1702x_is_quick_gelu_at_zero_and_finds_gelu():
    res = S.similar(simfns.quick, 5)
    top = res.matches[0]
    assert top.name == "quick_gelu" and top.distance < ZERO
    assert (top.a, top.b, top.c, top.d) == pytest.approx((1.0, 0.0, 1.0, 0.0), abs=1e-6)
    gelu = next(m for m in res.matches if m.name == "gelu")
    assert 1e-3 < gelu.distance < 0.05  # close, not the same function
    assert gelu.distance == pytest.approx(quad_distance(simfns.quick, "gelu", gelu), rel=1e-3)
    assert gelu.distance == pytest.approx(gh_best(simfns.quick, "gelu"), rel=1e-3)


def test_users_x_sigmoid_x_is_silu_at_zero():
    top = S.similar(simfns.xsig, 3).matches[0]
    assert top.name == "silu" and top.distance < ZERO and (top.slope_distance or 0) < ZERO
    assert (top.a, top.b, top.c, top.d) == pytest.approx((1.0, 0.0, 1.0, 0.0), abs=1e-6)
    assert {"acon_c", "kan_spline"} <= set(top.same_as)  # SiLU at their defaults


def test_two_tanh_half_is_sigmoid_affinely():
    m = S.distance(simfns.tanh_half, "sigmoid")
    assert m.distance < ZERO
    assert (m.a, m.b, m.c, m.d) == pytest.approx((1.0, 0.0, 4.0, -2.0), abs=1e-6) or \
        (m.a, m.b, m.c, m.d) == pytest.approx((-1.0, 0.0, -4.0, 2.0), abs=1e-6)
    # and the other way round: sigmoid is tanh moved
    back = S.distance("sigmoid", "tanh")
    assert back.distance < ZERO and (back.a, back.c, back.d) == pytest.approx((0.5, 0.5, 0.5), abs=1e-6)


def test_relu_and_softplus_close_not_identical_and_the_fit_sits_on_the_sharpness_bound():
    m = S.distance("relu", "softplus")
    assert 1e-3 < m.distance < 0.1
    assert m.at_bound and abs(m.a) == pytest.approx(S.S_MAX)  # sharper is always better: the bound decides
    assert m.distance == pytest.approx(quad_distance("relu", "softplus", m), rel=1e-2)  # a kink: grid vs adaptive


# -- invariances ----------------------------------------------------------------------------------

def test_an_affinely_moved_activation_is_found_with_its_transform():
    m = S.similar(simfns.elu_moved, 1).matches[0]
    assert m.name in ("elu", "celu") and m.distance < ZERO
    assert (m.a, m.b, m.c, m.d) == pytest.approx((0.5, 0.3, 3.0, -1.0), abs=1e-5)


def test_output_affine_maps_do_not_change_distances_and_the_weight_moves_the_transform():
    base = S.distance("gelu", "elu")
    moved = S.distance(lambda x: -2.5 * torch.nn.functional.gelu(x) + 7.0, "elu")
    assert moved.distance == pytest.approx(base.distance, rel=1e-8)
    # x ~ N(1, 2²) on f = gelu(2x + 1)... is gelu on N(3, 4²): the same distance, the input map composed
    wide = S.distance("gelu", "elu", mean=3.0, std=4.0)
    comp = S.distance(lambda x: torch.nn.functional.gelu(2 * x + 1), "elu", mean=1.0, std=2.0)
    assert comp.distance == pytest.approx(wide.distance, rel=1e-6)
    assert comp.a == pytest.approx(2 * wide.a, rel=1e-4)


def test_a_negative_input_scale_is_found():
    m = S.distance(lambda x: -2 * torch.nn.functional.softplus(-x), "softplus")
    assert m.distance < ZERO and (m.a, m.c) == pytest.approx((-1.0, -2.0), abs=1e-6)


# -- the zoo's matrix ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pw(cache):
    import os

    old = os.environ.get("ACTLAB_CACHE_DIR")
    os.environ["ACTLAB_CACHE_DIR"] = str(cache)
    try:
        return S.pairwise()
    finally:
        if old is None:
            del os.environ["ACTLAB_CACHE_DIR"]
        else:
            os.environ["ACTLAB_CACHE_DIR"] = old


def test_pairwise_diagonal_zero_symmetric_for_affine_pairs_and_cached(pw):
    names, D = pw["names"], pw["distance"]
    assert len(names) == len([s for s in actlab.zoo.all_specs() if s.kind == "pointwise"])
    assert np.abs(np.diag(D)).max() < 1e-6  # computed, not filled in: each function fits itself
    ix = names.index
    for f, g in (("tanh", "sigmoid"), ("dyt", "tanh")):  # related by a = 2 or 1/2: on the coarse grid
        assert D[ix(f), ix(g)] < 1e-6 and D[ix(g), ix(f)] < 1e-6
    # a = 1.702 is off the grid: the matrix's shorter search ends within its documented ~1e-3
    assert D[ix("silu"), ix("quick_gelu")] < 1e-3 and D[ix("quick_gelu"), ix("silu")] < 1e-3
    assert D[ix("relu"), ix("softplus")] > 1e-3
    # a pair that is not affinely related need not be symmetric: LiSHT (even) fits the identity, not back
    assert D[ix("identity"), ix("lisht")] < 1e-6 and D[ix("lisht"), ix("identity")] > 0.99
    again = S.pairwise()
    assert again["cached"] and np.array_equal(again["distance"], D)


SMALL = ("relu", "softplus", "tanh", "sigmoid", "gelu")


def _small_zoo(monkeypatch):
    monkeypatch.setattr(S, "_candidates", lambda: [actlab.get(n) for n in SMALL])


def test_pairwise_works_when_the_cache_cannot_be_written(tmp_path, monkeypatch, pw):
    _small_zoo(monkeypatch)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory would go")
    monkeypatch.setenv("ACTLAB_CACHE_DIR", str(blocker / "actlab"))
    m = S.zoo_map()  # computes: nothing can be cached there
    assert m["cached"] is None and blocker.read_text().startswith("a file")
    ix = [pw["names"].index(n) for n in SMALL]
    full = pw["distance"][np.ix_(ix, ix)]
    np.testing.assert_allclose(m["distance"], (full + full.T) / 2, rtol=0, atol=0)


def test_map_places_the_query_and_embeds_distances(pw):
    m = S.zoo_map(simfns.quick)
    assert m["query"] in m["names"] and m["xy"].shape == (len(pw["names"]) + 1, 2)
    ix = m["names"].index
    # x·σ(1.702x) is quick_gelu: the two points coincide
    assert np.linalg.norm(m["xy"][ix(m["query"])] - m["xy"][ix("quick_gelu")]) < 1e-3
    # classical MDS of an exactly Euclidean configuration gives it back (up to rotation)
    pts = np.array([[0, 0], [3, 0], [0, 4], [1, 1.0]])
    Dm = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    X = S.embed(Dm)
    np.testing.assert_allclose(np.linalg.norm(X[:, None] - X[None], axis=-1), Dm, atol=1e-9)


# -- the command line ------------------------------------------------------------------------------

def test_cli_json_and_map(cli, tmp_path):
    res = cli("similar", "simfns:tanh_half", "-k", 2, "--json", "--map", tmp_path / "map.png")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["matches"][0]["distance"] < ZERO and "sigmoid" in [out["matches"][0]["name"], *out["matches"][0]["same_as"]]
    assert (tmp_path / "map.png").stat().st_size > 10_000



def test_cli_table(cli, monkeypatch):
    _small_zoo(monkeypatch)
    res = cli("similar", "simfns:xsig", "--mean", 1, "--std", 2, "-k", 2)
    assert res.exit_code == 0 and "N(1, 2²)" in res.output and "gelu" in res.output, res.output
    assert "straight line alone fits" in res.output


@pytest.mark.parametrize("args,match", [
    (("simfns:softmax",), "elementwise"),
    (("simfns:blowup", "--std", 20), "not finite"),
    (("simfns:flat",), "constant"),
    (("swiglu",), "gated unit"),
    (("relu", "--std", 0), "std > 0"),
    (("relu", "-k", 0), "positive"),
    (("rleu",), "did you mean"),
    (("relu", "--map", "out.txt"), ".png"),
])
def test_cli_bad_input_is_one_line_exit_2(cli, one_line_error, tmp_path, monkeypatch, args, match):
    monkeypatch.chdir(tmp_path)
    line = one_line_error(cli("similar", *args))
    assert match in line
    assert list(tmp_path.iterdir()) == []  # nothing written
