"""Theory numbers for an activation card: moments, gain (beside torch's), edge of chaos, ICNN admissibility.

Every number is computed here by :mod:`actlab.theory`; nothing is typed in.  Theory refuses some
questions on purpose (a gated unit, ReLU's missing edge of chaos for sigma_b > 0, E[phi^2] = 0): such
an entry becomes ``{"value": None, "reason": "..."}`` so a page can show "—" with the reason instead
of crashing.
"""

from __future__ import annotations

from typing import Any, Callable

from ..zoo import Activation


def _safe(fn: Callable[[], Any]) -> dict[str, Any]:
    try:
        return {"value": fn(), "reason": None}
    except ValueError as e:  # theory's way of saying "does not exist" or "does not apply"
        return {"value": None, "reason": str(e)}
    except ArithmeticError as e:  # a user's callable may overflow inside quadrature
        return {"value": None, "reason": f"{type(e).__name__}: {e}"}


def _moments(act: Activation) -> dict[str, Any]:
    from ..theory.moments import moments

    m = moments(act, mean=0.0, std=1.0)
    return {"mean": m.mean, "second": m.second, "var": m.var, "d1_mean": m.d1_mean, "d1_second": m.d1_second}


def _edge(act: Activation) -> dict[str, Any]:
    from ..theory.propagation import edge_of_chaos

    (p,) = edge_of_chaos(act, [0.0])
    if p is None:  # strict=True raises instead; kept for safety if that default changes
        raise ValueError(f"{act.name}: no edge of chaos at sigma_b = 0")
    return {"sigma_w": p.sigma_w, "sigma_b": p.sigma_b, "q": p.q, "chi1": p.chi1, "stable": p.stable}


def _icnn(act: Activation) -> dict[str, Any]:
    from ..theory.claims import icnn_admissible

    return icnn_admissible(act)


def _gain(act: Activation) -> dict[str, Any]:
    from ..theory.gain import gain_report

    return gain_report(act)


_CACHE: dict[str, dict[str, Any]] = {}


def theory_card(act: Activation) -> dict[str, Any]:
    """``{"moments", "gain", "edge_of_chaos", "icnn"}``, each ``{"value": ..., "reason": ...}``.

    Registered activations are pure functions of their canonical name, so their numbers are computed
    once per process; a user's callable is recomputed every time (its code may have changed).
    """
    if act.spec.user:
        return _theory_card(act)
    if act.name not in _CACHE:
        _CACHE[act.name] = _theory_card(act)
    return _CACHE[act.name]


def _theory_card(act: Activation) -> dict[str, Any]:
    if act.is_gated:
        reason = (f"{act.name} is a gated unit gate(a)·b; theory describes pointwise functions "
                  f"(see the card of its gate, {act.gate.name})")
        none = {"value": None, "reason": reason}
        return {"moments": none, "gain": none, "edge_of_chaos": none, "icnn": none}
    return {"moments": _safe(lambda: _moments(act)), "gain": _safe(lambda: _gain(act)),
            "edge_of_chaos": _safe(lambda: _edge(act)), "icnn": _safe(lambda: _icnn(act))}
