"""The zoo contract: every registered activation gets every check, with no per-activation test code.

Tolerances: float64 values are held to mpmath (50 digits) at 1e-12 relative + 1e-14 absolute: each
closed form is a handful of correctly rounded operations, so 1e-12 leaves ~4 decimal digits of room
for error growth through exp/log/tanh while still failing any wrong formula or constant.  Derivatives
are held to autograd of the forward (an independent path) at 1e-10 relative.
"""

from __future__ import annotations

import math

import pytest
import torch
from mpmath import mp

import actlab
from actlab.zoo import SMOOTH, all_specs

mp.dps = 50

POINTWISE = [s for s in all_specs() if s.kind == "pointwise"]
GATED = [s for s in all_specs() if s.kind == "gated"]
WITH_TORCH = [s for s in POINTWISE if s.torch_functional is not None]
LEARNABLE = [s for s in all_specs() if any(p.learnable for p in s.params)]
ids = lambda specs: [s.name for s in specs]  # noqa: E731

# Extra parameter settings so parameter-dependent code paths are exercised too.
VARIANTS = {
    "leaky_relu": [{"negative_slope": 0.2}], "elu": [{"alpha": 0.5}, {"alpha": 2.0}], "celu": [{"alpha": 2.0}],
    "softplus": [{"beta": 2.0}], "hill": [{"n": 0.5, "K": 2.0}, {"n": 4.0, "K": 0.5}],
    "gelu": [{"approximate": "tanh"}], "silu": [{"beta": 1.702}], "hardtanh": [{"min_val": -2.0, "max_val": 0.5}],
    "sin": [{"w0": 3.0}], "squareplus": [{"b": 0.5}], "softshrink": [{"lambd": 1.0}], "prelu": [{"negative_slope": -0.5}],
    "rrelu": [{"lower": 0.0, "upper": 0.5}], "threshold": [{"threshold": 0.0, "value": 0.0}, {"threshold": -1.0, "value": -2.0}],
    "relu_power": [{"k": 2.5}, {"k": 1.0}], "star_relu": [{"scale": 1.0, "bias": 0.0}], "smelu": [{"beta": 0.5}],
    "penalized_tanh": [{"a": 0.5}], "isru": [{"alpha": 3.0}], "isrlu": [{"alpha": 0.5}], "dyt": [{"alpha": 2.0}],
    "xielu": [{"alpha_p": 0.3, "alpha_n": 0.2}], "soft_exponential": [{"alpha": 0.5}], "snake": [{"a": 2.0}],
    "acon_c": [{"p1": 1.0, "p2": 0.25, "beta": 2.0}, {"p1": 1.0, "p2": -1.0}],
    "srelu": [{"t_left": 0.0, "a_left": 0.0, "t_right": 2.0, "a_right": 1.0}],
    "apl": [{"a1": 0.0, "a2": 0.3, "b2": 1.0}], "pau": [{"a0": 0.02, "b1": 0.5}],
    "kan_spline": [{"c2": 0.3, "c5": -0.2, "c8": 0.5}, {"w_base": 0.0, "c3": 1.0, "c6": -0.5}],
}
CASES = [(s, {}) for s in POINTWISE] + [(s, p) for s in POINTWISE for p in VARIANTS.get(s.name, [])]
case_ids = [s.name + ("" if not p else str(sorted(p.items()))) for s, p in CASES]


def grid(act, extremes: bool = True) -> torch.Tensor:
    pts = torch.linspace(-8, 8, 161, dtype=torch.float64).tolist()
    pts += [1e-6, -1e-6, 0.3, -0.7, 20.0, -20.0, 50.0, -50.0]
    if extremes:
        pts += [1e4, -1e4]
    for k in act.kinks:
        pts += [k, k + 1e-3, k - 1e-3]
    return torch.tensor(sorted(set(pts)), dtype=torch.float64)


def away_from_kinks(act, x: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    keep = torch.ones_like(x, dtype=torch.bool)
    for k in act.kinks:
        keep &= (x - k).abs() > eps
    return x[keep]


def mp_ref(act, x: torch.Tensor) -> torch.Tensor:
    p = {k: (mp.mpf(v) if isinstance(v, float) else v) for k, v in act.params.items()}
    return torch.tensor([float(act.spec.mpmath(mp.mpf(v), **p)) for v in x.tolist()], dtype=torch.float64)


# -- values -----------------------------------------------------------------------------------

@pytest.mark.parametrize("spec,params", CASES, ids=case_ids)
def test_values_match_mpmath_reference(spec, params):
    act = actlab.get(spec, **params)
    assert spec.mpmath is not None, f"{spec.name} declares no mpmath reference"
    x = grid(act)
    torch.testing.assert_close(act(x), mp_ref(act, x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("spec,params", CASES, ids=case_ids)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_dtype_preserved_and_half_computed_in_float32(spec, params, dtype):
    act = actlab.get(spec, **params)
    x = torch.linspace(-6, 6, 97).to(dtype)
    y = act(x)
    assert y.dtype == dtype and y.shape == x.shape
    if dtype in (torch.float16, torch.bfloat16):
        # the convention: compute in float32, round once to the half format
        expect = act(x.float()).to(dtype)
        torch.testing.assert_close(y, expect, rtol=0, atol=0)


@pytest.mark.parametrize("spec,params", CASES, ids=case_ids)
def test_half_precision_gradient_dtype(spec, params):
    act = actlab.get(spec, **params)
    for dtype in (torch.float16, torch.bfloat16):
        x = torch.linspace(-4, 4, 33).to(dtype).requires_grad_()
        (g,) = torch.autograd.grad(act(x).sum(), x)
        assert g.dtype == dtype
        assert torch.isfinite(g).all()


# -- derivatives ------------------------------------------------------------------------------

def autograd_d1(spec, params, x):
    x = x.clone().requires_grad_()
    y = spec.fn(x, **params)
    if not y.requires_grad:  # piecewise constant (heaviside): autograd sees no dependence at all
        return x, torch.zeros_like(x)
    (g,) = torch.autograd.grad(y.sum(), x, create_graph=True)
    return x, g


@pytest.mark.parametrize("spec,params", CASES, ids=case_ids)
def test_closed_form_derivatives_match_autograd(spec, params):
    act = actlab.get(spec, **params)
    assert spec.derivative is not None and spec.second_derivative is not None
    x = away_from_kinks(act, grid(act, extremes=False))
    xr, g1 = autograd_d1(spec, act.params, x)
    torch.testing.assert_close(act.derivative(x), g1.detach(), rtol=1e-10, atol=1e-12)
    (g2,) = torch.autograd.grad(g1.sum(), xr, allow_unused=True, materialize_grads=True) if g1.requires_grad else (torch.zeros_like(x),)
    torch.testing.assert_close(act.second_derivative(x), g2, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("spec,params", CASES, ids=case_ids)
def test_functional_backward_is_the_closed_form(spec, params):
    """The functional backward (native kernel on finite inputs, closed form otherwise) equals phi'.

    Rounding-level tolerance: where torch's native backward is used it rounds differently from the
    closed form written in torch ops (1e-13 relative in float64); a wrong derivative is off by far more.
    """
    act = actlab.get(spec, **params)
    x = grid(act)
    for probe in (x, torch.cat([x, torch.tensor([math.inf, -math.inf, math.nan], dtype=torch.float64)])):
        xr = probe.clone().requires_grad_()
        (g,) = torch.autograd.grad(act(xr).sum(), xr)
        torch.testing.assert_close(g, act.derivative(probe), rtol=1e-13, atol=1e-14, equal_nan=True)


@pytest.mark.parametrize("spec,params", CASES, ids=case_ids)
def test_gradcheck_and_gradgradcheck(spec, params):
    act = actlab.get(spec, **params)
    gen = torch.Generator().manual_seed(0)
    x = torch.empty(24, dtype=torch.float64).uniform_(-4, 4, generator=gen)
    x = away_from_kinks(act, x, eps=1e-3).requires_grad_()
    assert torch.autograd.gradcheck(act, (x,), eps=1e-6, atol=1e-6)
    assert torch.autograd.gradgradcheck(act, (x,), eps=1e-6, atol=1e-5)


# -- special values ---------------------------------------------------------------------------

@pytest.mark.parametrize("spec,params", CASES, ids=case_ids)
def test_special_values(spec, params):
    act = actlab.get(spec, **params)
    for dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        x = torch.tensor([-math.inf, math.inf, math.nan, 0.0], dtype=dtype)
        y = act(x)
        assert math.isnan(y[2]), "NaN in must give NaN out"
        tol = {torch.float16: 2e-3, torch.bfloat16: 1e-2}.get(dtype, 1e-6)  # half formats: a few ulp
        assert float(y[3]) == pytest.approx(act.properties.phi0, abs=tol, rel=tol)
        if spec.limits is None:
            assert torch.isnan(y[:2]).all()
            continue
        # the limits: the mpmath reference far out (|value| > 1e40 read as infinite)
        p = {k: (mp.mpf(v) if isinstance(v, float) else v) for k, v in act.params.items()}
        for i, far in enumerate((mp.mpf("-1e60"), mp.mpf("1e60"))):
            ref = spec.mpmath(far, **p)
            ref = math.copysign(math.inf, ref) if abs(ref) > 1e40 else float(ref)
            assert float(y[i]) == pytest.approx(ref, abs=tol, rel=tol), (dtype, i)


LIMITED = [(s, p) for s, p in CASES if s.limits is not None]  # periodic sin has no limits to check


@pytest.mark.parametrize("spec,params", LIMITED, ids=[i for i, (s, _) in zip(case_ids, CASES) if s.limits is not None])
def test_tails_have_finite_values_and_gradients(spec, params):
    act = actlab.get(spec, **params)
    for dtype in (torch.float32, torch.float64):
        x = torch.tensor([-1e4, 1e4, -1e30, 1e30, -math.inf, math.inf], dtype=dtype, requires_grad=True)
        y = act(x)
        (g,) = torch.autograd.grad(y.sum(), x)
        d2 = act.second_derivative(x.detach())
        assert not torch.isnan(y).any() and not torch.isnan(g).any() and not torch.isnan(d2).any()
        # where the function is finite, so are its derivatives (at ±inf they may tend to ±inf: x², x·σ(x)…)
        fin = torch.isfinite(y)
        assert torch.isfinite(g[fin]).all(), g
        assert torch.isfinite(d2[fin]).all(), d2


@pytest.mark.parametrize("spec", POINTWISE, ids=ids(POINTWISE))
def test_empty_and_non_contiguous_inputs(spec):
    act = actlab.get(spec)
    e = torch.empty(0, 3)
    out = act(e)
    assert out.shape == (0, 3) and out.dtype == e.dtype
    base = torch.linspace(-5, 5, 60, dtype=torch.float64).reshape(6, 10)
    nc = base.t()
    assert not nc.is_contiguous()
    # torch's vectorised and scalar loops may round differently in the last bit: allow a few ulp
    torch.testing.assert_close(act(nc), act(nc.contiguous()), rtol=1e-14, atol=1e-300)
    strided = base[:, ::3]
    torch.testing.assert_close(act(strided), act(strided.contiguous()), rtol=1e-14, atol=1e-300)


def test_integer_input_is_rejected_with_advice():
    with pytest.raises(TypeError, match=r"floating-point.*\.float\(\)"):
        actlab.get("relu")(torch.arange(3))


# -- declared properties, verified --------------------------------------------------------------

WIDE = torch.cat([torch.linspace(-50, 50, 20001, dtype=torch.float64), torch.tensor([-1e4, 1e4], dtype=torch.float64)])


@pytest.mark.parametrize("spec,params", CASES, ids=case_ids)
def test_declared_properties_hold(spec, params):
    act = actlab.get(spec, **params)
    P = act.properties
    x = torch.sort(torch.cat([WIDE, torch.tensor(act.kinks, dtype=torch.float64)])).values
    y = act(x)
    dy = torch.diff(y)
    # monotone <=> no decrease anywhere on the grid
    assert P.monotone == bool((dy >= -1e-12).all()), "monotone"
    # convex: slopes of chords non-decreasing (on a uniform sub-grid to avoid spacing effects)
    u = torch.linspace(-20, 20, 8001, dtype=torch.float64)
    ks = torch.tensor([k for k in act.kinks if -20 < k < 20], dtype=torch.float64)
    if ks.numel():  # a grid point 1e-15 from a kink makes a chord slope of rounding noise: drop it
        u = u[(u[:, None] - ks[None, :]).abs().min(dim=1).values > 1e-9]
    u = torch.sort(torch.cat([u, ks])).values
    s = torch.diff(act(u)) / torch.diff(u)
    assert P.convex == bool((torch.diff(s) >= -1e-9).all()), "convex"
    assert P.bounded_below == bool(y.min() > -100), "bounded_below"
    assert P.bounded_above == bool(y.max() < 100), "bounded_above"
    signs = bool((y < 0).any() and (y > 0).any())
    assert P.zero_centred == (act(torch.zeros(1, dtype=torch.float64)).item() == 0.0 and signs), "zero_centred"
    assert float(act(torch.zeros(1, dtype=torch.float64))) == pytest.approx(P.phi0, abs=1e-15)
    assert float(act.derivative(torch.zeros(1, dtype=torch.float64))) == pytest.approx(P.dphi0, abs=1e-15)
    if P.self_gated:
        xs = x[(x.abs() > 1e-3) & (x.abs() < 60)]
        g = act(xs) / xs
        assert (g >= -1e-12).all() and (g <= 1 + 1e-12).all()
        assert (torch.diff(g) >= -1e-9).all(), "gate must be non-decreasing"
        assert g[0] < 1e-3 and g[-1] > 1 - 1e-3


def _jump(f, k: float, h: float) -> float:
    t = torch.tensor([k - h, k + h], dtype=torch.float64)
    v = f(t)
    return abs(float(v[1] - v[0]))


def _continuous_at(f, k: float) -> bool:
    """A true jump does not shrink as the probe closes in; a steep but continuous one does (x^0.5 at 0)."""
    far, near = _jump(f, k, 1e-6), _jump(f, k, 1e-10)
    return near < 1e-7 or near < 0.1 * far


@pytest.mark.parametrize("spec,params", CASES, ids=case_ids)
def test_declared_smoothness_holds(spec, params):
    """C^k: phi^(j) continuous at every kink for j <= k and a jump in phi^(k+1) at some kink."""
    act = actlab.get(spec, **params)
    k = act.properties.smoothness
    derivs = [act, act.derivative, act.second_derivative]
    if k == SMOOTH:
        # no kinks, and phi'' continuous on a fine grid (no jump larger than its local variation)
        assert act.kinks == () or spec.name in ("elu", "selu", "relu_elu", "leaky_relu", "prelu", "softshrink"), act.kinks
        x = torch.linspace(-10, 10, 200001, dtype=torch.float64)
        assert torch.diff(act.second_derivative(x)).abs().max() < 1e-2
        return
    assert act.kinks, f"{spec.name} declares C^{k} but no kinks"
    for j in range(min(int(k), 2) + 1):
        for kink in act.kinks:
            assert _continuous_at(derivs[j], kink), f"phi^({j}) jumps at {kink}"
    if k + 1 <= 2:  # the closed forms reach the second derivative: check the declared class is sharp
        assert any(not _continuous_at(derivs[int(k) + 1], kink) for kink in act.kinks), f"smoother than C^{k}"


# -- learnable parameters and modules ---------------------------------------------------------

@pytest.mark.parametrize("spec", LEARNABLE, ids=ids(LEARNABLE))
def test_learnable_parameters_receive_gradients(spec):
    act = actlab.get(spec)
    m = act.module(learn=True)
    names = [p.name for p in spec.params if p.learnable]
    assert sorted(n for n, _ in m.named_parameters()) == sorted(names)
    # an asymmetric probe: on a symmetric one the gradient of an odd φ's even-symmetric parameters
    # (PAU's b1 at its odd default) cancels exactly, which says nothing about gradient flow
    x = torch.linspace(-3, 2.5, 50)
    if act.is_gated:
        x = torch.randn(4, 10, generator=torch.Generator().manual_seed(0))
    m(x).square().sum().backward()
    for n in names:
        g = getattr(m, n).grad
        assert g is not None and torch.isfinite(g).all() and g.abs().sum() > 0, n


@pytest.mark.parametrize("spec", all_specs(), ids=ids(all_specs()))
def test_module_and_functional_agree_and_state_dict_round_trips(spec):
    act = actlab.get(spec)
    x = torch.randn(3, 4, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    torch.testing.assert_close(act.module()(x), act(x), rtol=0, atol=0)
    torch.testing.assert_close(act.module(learn=True)(x), act(x), rtol=1e-7, atol=1e-7)
    m = act.module(learn=True)
    with torch.no_grad():
        for p in m.parameters():
            p.mul_(0.5)
    m2 = act.module(learn=True)
    m2.load_state_dict(m.state_dict())
    torch.testing.assert_close(m2(x), m(x), rtol=0, atol=0)
    assert spec.name.replace("_", "").lower() in repr(m).lower() or (spec.torch_module or "") in repr(m)


# -- parity with torch.nn.functional ----------------------------------------------------------

# Documented deviations from torch (see each spec's notes): absolute difference allowed in float64.
KNOWN_DEVIATIONS = {"softplus": 2.1e-9}  # torch returns x for x > 20 instead of x + log1p(e^−x)
# torch's float64 backward of these uses float32 constants (1/6 = 0.1666666716…): 3e−8 relative
KNOWN_GRAD_DEVIATIONS = {"hardsigmoid": 1e-8, "hardswish": 1e-8}


@pytest.mark.parametrize("spec", WITH_TORCH, ids=ids(WITH_TORCH))
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_agrees_with_torch_functional(spec, dtype):
    act = actlab.get(spec)
    ref = spec.torch_functional
    x = torch.cat([torch.linspace(-10, 10, 401), torch.tensor([0.0, -3.0, 3.0, 6.0, -1e4, 1e4, math.nan])]).to(dtype)
    for k in act.kinks:
        x = torch.cat([x, torch.tensor([k], dtype=dtype)])
    ours, theirs = act(x), ref(x)
    # half formats: torch rounds its own float32 intermediate; one unit in the last place apart at most
    tol = {torch.float16: 1e-3, torch.bfloat16: 8e-3, torch.float32: 1e-6, torch.float64: 1e-13}[dtype]
    atol = max(tol, KNOWN_DEVIATIONS.get(spec.name, 0.0))
    torch.testing.assert_close(ours, theirs, rtol=tol, atol=atol, equal_nan=True)
    if dtype in (torch.float32, torch.float64):
        # gradients at non-NaN inputs (actlab propagates NaN into the gradient; torch's kink tests may not)
        x = x[~torch.isnan(x)]
        xa = x.clone().requires_grad_()
        xb = x.clone().requires_grad_()
        (ga,) = torch.autograd.grad(act(xa).sum(), xa)
        (gb,) = torch.autograd.grad(ref(xb).sum(), xb)
        gtol = max(tol * 10, KNOWN_GRAD_DEVIATIONS.get(spec.name, 0.0))
        torch.testing.assert_close(ga, gb, rtol=gtol, atol=gtol, equal_nan=True)


@pytest.mark.parametrize("spec", WITH_TORCH, ids=ids(WITH_TORCH))
def test_special_values_versus_torch(spec):
    """Where torch is finite we agree exactly; where torch returns NaN for a finite limit we return the limit."""
    act = actlab.get(spec)
    x = torch.tensor([-math.inf, math.inf, 0.0, -0.0], dtype=torch.float32)
    ours, theirs = act(x), spec.torch_functional(x)
    both = ~torch.isnan(theirs)
    torch.testing.assert_close(ours[both], theirs[both], rtol=0, atol=0)
    assert not torch.isnan(ours).any()


# -- gated units ------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", GATED, ids=ids(GATED))
def test_gated_packed_and_separate_layouts_agree(spec):
    act = actlab.get(spec)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 3, 8, generator=g, dtype=torch.float64)
    b, a = x.chunk(2, dim=-1)  # second half gates, as torch.nn.functional.glu
    torch.testing.assert_close(act(x), act.gate(a) * b, rtol=0, atol=0)
    torch.testing.assert_close(act(a, b), act.gate(a) * b, rtol=0, atol=0)
    torch.testing.assert_close(act(x.transpose(0, 1), dim=-1), act(x).transpose(0, 1), rtol=0, atol=0)
    xr = x.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda t: act(t), (xr,), eps=1e-6, atol=1e-6)
    for dtype in (torch.float16, torch.bfloat16, torch.float32):
        assert act(x.to(dtype)).dtype == dtype
    with pytest.raises(ValueError, match="odd size"):
        act(torch.randn(2, 5))
    with pytest.raises(TypeError, match="gated"):
        act.derivative(x)


def test_glu_agrees_with_torch():
    x = torch.randn(4, 6, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(actlab.get("glu")(x), torch.nn.functional.glu(x), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(actlab.get("glu")(x, dim=0), torch.nn.functional.glu(x, dim=0), rtol=1e-6, atol=1e-7)


def test_registry_has_at_least_thirty_activations():
    assert len(actlab.list_activations()) >= 30
