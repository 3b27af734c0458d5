"""``actlab theory ...``: what can be computed about an activation without training."""

from __future__ import annotations

import math
from typing import Optional

import typer
from rich.table import Table

from ._common import activation, activations, console, fail, guard, print_json, save_figure

theory_app = typer.Typer(no_args_is_help=True, help="Theory without training: Gaussian moments, gains, "
                         "self-normalisation, edge of chaos, gradient flow, claim computations.")


def _fmt(v: object) -> str:
    if isinstance(v, float):
        if math.isinf(v):
            return "∞"
        return f"{v:.10g}"
    return str(v)


def _table(title: str, rows: list[dict], cols: list[str] | None = None) -> None:
    if not rows:
        return
    cols = cols or list(rows[0])
    t = Table(title=title)
    for c in cols:
        t.add_column(c)
    for r in rows:
        t.add_row(*[_fmt(r.get(c)) for c in cols])
    console.print(t)


def _acts(text: Optional[str]) -> list:
    from ..zoo import DEFAULT_SET

    return activations(text) if text else activations(",".join(DEFAULT_SET))


@theory_app.command()
def moments(act: str = typer.Argument(..., help="activation, e.g. relu or 'leaky_relu(negative_slope=0.2)'"),
            mean: float = typer.Option(0.0, "--mean", help="mean μ of the Gaussian input"),
            std: float = typer.Option(1.0, "--std", help="standard deviation σ > 0 of the input"),
            method: str = typer.Option("quadrature", help="quadrature | mpmath | mc"),
            json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """Gaussian moments E[φ], E[φ²], Var[φ], E[φ'], E[φ'²] under z ~ N(μ, σ²)."""
    from ..theory.moments import moments as _m

    a = activation(act)
    m = guard(lambda: _m(a, mean, std, method=method))
    if json:
        print_json(m.as_dict())
        return
    d = m.as_dict()
    _table(f"{m.activation} under N({mean:g}, {std:g}²) [{method}]",
           [{"moment": k, "value": d[k]} for k in ("mean", "second", "var", "d1_mean", "d1_second", "t_phi",
                                                   "t_phi_dphi")])


@theory_app.command()
def gain(acts: Optional[str] = typer.Argument(None, help="comma-separated activations (default: the default set)"),
         q: float = typer.Option(1.0, help="pre-activation variance at which the second moment is preserved"),
         json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """Second-moment-preserving gain sqrt(q/E[φ(√q z)²]) beside torch.nn.init.calculate_gain."""
    from ..theory.gain import gain_report

    rows = [guard(lambda a=a: gain_report(a, q)) for a in _acts(acts)]
    if json:
        print_json(rows)
        return
    _table("gain: weights ~ N(0, gain²/fan_in) preserve the second moment q", rows,
           ["activation", "gain", "torch_gain", "note"])


@theory_app.command()
def selfnorm(family: str = typer.Option("elu", help="activation whose λ·φ(x; θ) family is solved"),
             free: Optional[str] = typer.Option(None, help="comma-separated unknowns (default: scale,<first param>)"),
             target_mean: float = typer.Option(0.0, "--target-mean"),
             target_var: float = typer.Option(1.0, "--target-var"),
             dropout: float = typer.Option(0.1, help="dropout rate for the alpha-dropout constants"),
             json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """Solve for self-normalising parameters (SELU from scratch for elu at mean 0, variance 1; claim C23)."""
    from ..theory.selfnorm import alpha_dropout_for, solve

    fam = activation(family)
    names = tuple(s.strip() for s in free.split(",")) if free else None
    sol = guard(lambda: solve(fam, target_mean=target_mean, target_var=target_var, free=names))
    ad = guard(lambda: alpha_dropout_for(sol, dropout).as_dict()) if fam.properties is None or \
        fam.properties.bounded_below else None
    if json:
        print_json({**sol.as_dict(), "alpha_dropout": ad})
        return
    _table(f"self-normalising {sol.family}: fixed point (mean {target_mean:g}, var {target_var:g})",
           [{"parameter": k, "value": v} for k, v in sol.params.items()])
    j = sol.jacobian
    console.print(f"Jacobian of (μ, ν) ↦ (μ̃, ν̃): [[{j[0][0]:.6g}, {j[0][1]:.6g}], [{j[1][0]:.6g}, {j[1][1]:.6g}]]")
    console.print(f"spectral radius {sol.spectral_radius:.6g} ({'stable' if sol.stable else 'unstable'}); "
                  f"spectral norm {sol.spectral_norm:.6g} ({'contracts' if sol.contracts else 'does not contract'})")
    if ad:
        console.print(f"alpha dropout (rate {dropout:g}): α' = {ad['alpha_prime']:.10g}, a = {ad['a']:.10g}, "
                      f"b = {ad['b']:.10g}")


@theory_app.command()
def eoc(act: str = typer.Argument(..., help="activation"),
        sigma_b: float = typer.Option(0.0, "--sigma-b", help="bias standard deviation σ_b ≥ 0"),
        points: int = typer.Option(0, help="also return a curve of this many σ_b values in [0, --sigma-max]"),
        sigma_max: float = typer.Option(2.0, "--sigma-max", help="largest σ_b of the curve"),
        json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """Edge of chaos: σ_w with χ₁ = 1 at bias std σ_b, with q* and the depth scales (Poole/Schoenholz)."""
    import numpy as np

    from ..theory.propagation import edge_of_chaos, fixed_point

    a = activation(act)
    (p,) = guard(lambda: edge_of_chaos(a, sigma_b))
    fp = guard(lambda: fixed_point(a, p.sigma_w, p.sigma_b, q0=p.q if p.q > 0 else 1.0))
    out = {**p.as_dict(), "xi_q": fp.xi_q, "xi_c": math.inf}
    curve = []
    if points:
        if points < 2:
            fail("--points must be 0 or at least 2")
        sbs = np.linspace(0.0, sigma_max, points)
        curve = [p.as_dict() for p in guard(lambda: edge_of_chaos(a, sbs, strict=False)) if p is not None]
        out["curve"] = curve
    if json:
        print_json(out)
        return
    _table(f"{a.name}: edge of chaos", [out], ["sigma_b", "sigma_w", "q", "chi1", "xi_q", "xi_c"])
    if curve:
        _table("curve", curve, ["sigma_b", "sigma_w", "q"])


@theory_app.command()
def phase(act: str = typer.Argument(..., help="activation"),
          plot: Optional[str] = typer.Option(None, "--plot", help="write the phase diagram to this file"),
          sigma_w_max: float = typer.Option(4.0, "--sigma-w-max"),
          sigma_b_max: float = typer.Option(2.0, "--sigma-b-max"),
          grid: int = typer.Option(41, help="grid points per axis"),
          sigma_w: Optional[float] = typer.Option(None, "--sigma-w", help="report one point: q*, χ₁, ξ_q, ξ_c"),
          sigma_b: float = typer.Option(0.0, "--sigma-b"),
          json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """Ordered/chaotic phase diagram over (σ_w, σ_b) (--plot), or one point's depth scales (--sigma-w)."""
    import numpy as np

    from ..theory.propagation import depth_scales, phase_diagram, plot_phase

    a = activation(act)
    if sigma_w is None and plot is None:
        fail("give --plot PATH for the diagram or --sigma-w for one point")
    if grid < 2 or sigma_w_max <= 0 or sigma_b_max < 0:
        fail("--grid must be >= 2, --sigma-w-max > 0 and --sigma-b-max >= 0")
    out: dict = {}
    if sigma_w is not None:
        out["point"] = guard(lambda: depth_scales(a, sigma_w, sigma_b)).as_dict()
    sw = np.linspace(sigma_w_max / grid, sigma_w_max, grid)
    sb = np.linspace(0.0, sigma_b_max, grid)
    if plot:
        fig = guard(lambda: plot_phase(a, sw, sb))
        save_figure(fig, plot)
        out["plot"] = plot
    if json:
        if plot:
            out["sigma_w"], out["sigma_b"] = sw.tolist(), sb.tolist()
            out["chi1"] = guard(lambda: phase_diagram(a, sw, sb)).tolist()
        print_json(out)
        return
    if "point" in out:
        _table(f"{a.name} at σ_w={sigma_w:g}, σ_b={sigma_b:g}", [out["point"]],
               ["q", "chi1", "c_star", "chi_c", "xi_q", "xi_c", "phase"])
    if plot:
        console.print(f"wrote {plot}")


@theory_app.command()
def gradflow(act: str = typer.Argument(..., help="activation"),
             depth: Optional[int] = typer.Option(None, "--depth", help="MLP depth L"),
             steps: Optional[int] = typer.Option(None, "--steps", help="RNN time steps T"),
             sigma_w: float = typer.Option(1.0, "--sigma-w"),
             sigma_b: float = typer.Option(0.0, "--sigma-b", help="bias (RNN: bias + input) std"),
             q0: float = typer.Option(1.0, "--q0", help="first pre-activation variance"),
             plot: Optional[str] = typer.Option(None, "--plot", help="write the gradient profile to this file"),
             json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """Expected gradient norm through depth (--depth) or time (--steps), the gate bound and Pascanu's check."""
    from ..theory.gradflow import depth_profile, gate_chain, pascanu_check, plot_profile

    a = activation(act)
    if depth is not None and steps is not None:
        fail("give --depth or --steps, not both")
    n = depth if depth is not None else (steps if steps is not None else 20)
    if n < 1:
        fail("--depth/--steps must be >= 1")
    prof = guard(lambda: depth_profile(a, n, sigma_w, sigma_b, q0))
    gates = guard(lambda: gate_chain(a, n))
    pas = guard(lambda: pascanu_check(a, sigma_w=sigma_w))
    out = {**prof, "axis": "time" if steps is not None else "depth", "max_slope": gates["max_slope"],
           "gate_bound": gates["bound"][-1], "gate_rms": gates["rms"][-1], "pascanu": pas}
    if plot:
        save_figure(plot_profile([prof], "time step t" if steps is not None else "layer l"), plot)
    if json:
        print_json(out)
        return
    rows = [{"layer": i + 1, "q": q, "chi": c, "grad_sq_ratio": r}
            for i, (q, c, r) in enumerate(zip(prof["q"], prof["chi"], prof["grad_sq_ratio"]))]
    _table(f"{a.name}: E|grad|² through {out['axis']} (σ_w={sigma_w:g}, σ_b={sigma_b:g})", rows)
    console.print(f"sup|φ'| = {gates['max_slope']:.10g}; through {n} gates: ≤ {gates['bound'][-1]:.4g} "
                  f"(rms {gates['rms'][-1]:.4g})")
    console.print(f"Pascanu bound ‖W diag φ'‖ ≤ λ₁·sup|φ'|: holds = {pas['holds']} (max ratio {pas['max_ratio']:.4f})")


@theory_app.command()
def slopes(acts: Optional[str] = typer.Argument(None, help="comma-separated activations (default: the default set)"),
           std: float = typer.Option(1.0, "--std"),
           json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """The average-slope table E[φ'] and E[φ'²] under N(0, σ²) (claim C22)."""
    from ..theory.moments import slope_table

    rows = guard(lambda: slope_table(_acts(acts), 0.0, std))
    if json:
        print_json(rows)
        return
    _table(f"average slope under N(0, {std:g}²)", rows)


def _per_activation(title: str, fn, acts: Optional[str], json: bool) -> None:
    rows = [guard(lambda a=a: fn(a)) for a in _acts(acts)]
    if json:
        print_json(rows)
        return
    _table(title, rows)


_ACTS = typer.Argument(None, help="comma-separated activations (default: the default set)")
_JSON = typer.Option(False, "--json", help="machine-readable output")


@theory_app.command("residual-mean")
def residual_mean(acts: Optional[str] = _ACTS, mean: float = typer.Option(0.0, "--mean"),
                  std: float = typer.Option(1.0, "--std"), json: bool = _JSON) -> None:
    """E[φ(z) − z] under N(mean, std²): the mean a residual branch φ(z) − z adds (bears on claim C08)."""
    from ..theory.relations import residual_mean as rm

    _per_activation(f"E[φ(z) − z] under N({mean:g}, {std:g}²)",
                    lambda a: {"activation": a.name, "residual_mean": rm(a, mean, std)}, acts, json)


@theory_app.command("bn-scale")
def bn_scale(acts: Optional[str] = _ACTS, std: float = typer.Option(1.0, "--std"), json: bool = _JSON) -> None:
    """The BatchNorm scale 1/√Var[φ(z)] that normalises φ's output under N(0, std²) (bears on claim C19)."""
    from ..theory.relations import bn_scale as bs

    _per_activation(f"BatchNorm scale after φ under N(0, {std:g}²)", lambda a: bs(a, std), acts, json)


@theory_app.command()
def noise(family: str = typer.Option("prelu", help="activation family swept over one parameter"),
          param: str = typer.Option("negative_slope", help="the parameter swept"),
          values: str = typer.Option("0,0.01,0.1,0.25,0.5,1", help="comma-separated parameter values"),
          batch: int = typer.Option(1, help="minibatch size"), json: bool = _JSON) -> None:
    """Relative minibatch-gradient variance from E[φ′] and E[φ′²], over a parameter (bears on claim C20)."""
    from ..theory.relations import gradient_noise_sweep

    try:
        vals = [float(v) for v in values.split(",")]
    except ValueError:
        fail("--values takes comma-separated numbers, e.g. 0,0.25,0.5")
    rows = guard(lambda: gradient_noise_sweep(family, param, vals, batch=batch))
    if json:
        print_json(rows)
        return
    _table(f"relative gradient variance of {family} over {param} (batch {batch})", rows)


@theory_app.command()
def icnn(acts: Optional[str] = _ACTS, json: bool = _JSON) -> None:
    """May φ be used in an input-convex network: convex and non-decreasing (bears on claim C26)."""
    from ..theory.relations import icnn_admissible

    _per_activation("input-convex admissibility", icnn_admissible, acts, json)


@theory_app.command()
def jacobian(acts: Optional[str] = _ACTS, dim: int = typer.Option(32, help="state dimension"), json: bool = _JSON) -> None:
    """Spectral radius of a learned update's Jacobian I + φ′(0)·W2·W1 at its fixed point (bears on claim C15)."""
    from ..theory.relations import update_jacobian

    _per_activation("update Jacobian at the fixed point", lambda a: update_jacobian(a, dim=dim), acts, json)


@theory_app.command()
def curvature(acts: Optional[str] = _ACTS, json: bool = _JSON) -> None:
    """u″(x) of random scalar MLPs by double autodiff: what a second-order PDE loss sees (bears on claim C14)."""
    from ..theory.relations import second_derivative_mlp

    _per_activation("second derivative of random MLPs", second_derivative_mlp, acts, json)


@theory_app.command()
def dying(width: str = typer.Option("1,2,3,4", help="comma-separated widths N"),
          depth: str = typer.Option("1,5,10,20,40", help="comma-separated depths L"),
          act: str = typer.Option("relu", help="activation for the Monte Carlo"),
          trials: int = typer.Option(4000, help="random networks per (N, L)"),
          seed: int = typer.Option(0),
          plot: Optional[str] = typer.Option(None, "--plot", help="write P(dead) over (N, L) to this file"),
          json: bool = typer.Option(False, "--json", help="machine-readable output")) -> None:
    """Probability that a bias-free MLP is born dead: 1 − (1 − 2⁻ᴺ)ᴸ beside Monte Carlo."""
    from ..theory.dying import born_dead_mc, plot_dying

    a = activation(act)
    try:
        ns = [int(v) for v in width.split(",")]
        ls = [int(v) for v in depth.split(",")]
    except ValueError:
        fail("--width and --depth take comma-separated integers")
    rows = [guard(lambda n=n, l=l: born_dead_mc(a, n, l, trials=trials, seed=seed)) for n in ns for l in ls]
    if plot:
        save_figure(guard(lambda: plot_dying(ns, ls, a, trials=trials, seed=seed)), plot)
    if json:
        print_json(rows)
        return
    _table(f"born dead on a fixed input ({a.name})", rows,
           ["width", "depth", "p_dead", "stderr", "closed_form"])


def register(app: typer.Typer) -> None:
    app.add_typer(theory_app, name="theory", help="Theory without training: moments, gains, self-normalisation, "
                  "edge of chaos, gradient flow, closed-form relations, dying ReLU.")
