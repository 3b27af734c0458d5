"""Theory numbers for an activation card: moments, gain (beside torch's), edge of chaos, ICNN admissibility.

Every number is computed here by :mod:`actlab.theory`; nothing is typed in.  Theory refuses some
questions on purpose (a gated unit, ReLU's missing edge of chaos for sigma_b > 0, E[phi^2] = 0): such
an entry becomes ``{"value": None, "reason": "..."}`` so a page can show "—" with the reason instead
of crashing.

The report never calls :func:`theory_card`: ``actlab tour`` and ``actlab evaluate`` compute the cards
and store each as an ordinary record (:func:`card_record`: study ``THEORY``, the activation's canonical
name as its arm, :func:`card_fingerprint` as its fingerprint), and the cards of the default set ship as
``results/THEORY.jsonl.gz`` (``python -m actlab.theory.card --write-shipped``).  This module alone reaches
into the engine, lazily, for the code fingerprint and the record type.
"""

from __future__ import annotations

import time
from typing import Any, Callable

#: the study id, config hash and claim text of a stored card (not a ledger claim: no verdict is judged)
STUDY = "THEORY"
CONFIG = "card"
CLAIM = "theory numbers of an activation card"


def _safe(fn: Callable[[], Any]) -> dict[str, Any]:
    try:
        return {"value": fn(), "reason": None}
    except ValueError as e:  # theory's way of saying "does not exist" or "does not apply"
        return {"value": None, "reason": str(e)}
    except ArithmeticError as e:  # a user's callable may overflow inside quadrature
        return {"value": None, "reason": f"{type(e).__name__}: {e}"}


def _moments(act: Any) -> dict[str, Any]:
    from .moments import moments

    m = moments(act, mean=0.0, std=1.0)
    return {"mean": m.mean, "second": m.second, "var": m.var, "d1_mean": m.d1_mean, "d1_second": m.d1_second}


def _edge(act: Any) -> dict[str, Any]:
    from .propagation import edge_of_chaos

    (p,) = edge_of_chaos(act, [0.0])
    if p is None:  # strict=True raises instead; kept for safety if that default changes
        raise ValueError(f"{act.name}: no edge of chaos at sigma_b = 0")
    return {"sigma_w": p.sigma_w, "sigma_b": p.sigma_b, "q": p.q, "chi1": p.chi1, "stable": p.stable}


def _icnn(act: Any) -> dict[str, Any]:
    from .relations import icnn_admissible

    return icnn_admissible(act)


def _gain(act: Any) -> dict[str, Any]:
    from .gain import gain_report

    return gain_report(act)


def theory_card(act: Any) -> dict[str, Any]:
    """``{"moments", "gain", "edge_of_chaos", "icnn"}``, each ``{"value": ..., "reason": ...}`` (plain JSON
    data), computed now."""
    if act.is_gated:
        reason = (f"{act.name} is a gated unit gate(a)·b; theory describes pointwise functions "
                  f"(see the card of its gate, {act.gate.name})")
        none = {"value": None, "reason": reason}
        return {"moments": none, "gain": dict(none), "edge_of_chaos": dict(none), "icnn": dict(none)}
    return {"moments": _safe(lambda: _moments(act)), "gain": _safe(lambda: _gain(act)),
            "edge_of_chaos": _safe(lambda: _edge(act)), "icnn": _safe(lambda: _icnn(act))}


def card_fingerprint() -> str:
    """16 hex digits naming the theory code that computes a card (every module of :mod:`actlab.theory`,
    this one included, as docstring-free syntax trees)."""
    from ..engine.fingerprint import code_hash

    return code_hash(["actlab.theory"])[:16]


def card_record(act: Any, card: dict[str, Any] | None = None, *, fingerprint: str | None = None) -> Any:
    """The store record of ``act`` 's card (computed now unless ``card`` is given)."""
    import platform

    import torch

    from ..engine.protocol import Record

    t0 = time.time()
    if card is None:
        card = theory_card(act)
    t1 = time.time()
    return Record(study=STUDY, config_hash=CONFIG, cell="{}", hyper="{}", arm=act.name, seed=-1,
                  fingerprint=fingerprint or card_fingerprint(), status="done", metrics={}, arrays={"card": card},
                  started=t0, finished=t1, seconds=t1 - t0, host=platform.node(),
                  env={"python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform()},
                  claim=CLAIM)


def _main(argv: list[str] | None = None) -> int:
    import argparse
    from pathlib import Path

    ap = argparse.ArgumentParser(prog="python -m actlab.theory.card",
                                 description="compute the theory cards of the default set")
    ap.add_argument("--write-shipped", action="store_true",
                    help="write them to results/THEORY.jsonl.gz of the checkout (or $ACTLAB_RESULTS)")
    ap.add_argument("--out", type=Path, help="write them to this .jsonl[.gz] file instead")
    args = ap.parse_args(argv)
    from ..engine.evidence import shipped_dir, write_jsonl
    from ..zoo import DEFAULT_SET, get

    if args.out is not None:
        path = args.out
    elif args.write_shipped:
        folder = shipped_dir()
        if folder is None:
            ap.error("no results/ folder of a source checkout found; pass --out FILE or set $ACTLAB_RESULTS")
        path = folder / f"{STUDY}.jsonl.gz"
    else:
        ap.error("pass --write-shipped or --out FILE")
    fp = card_fingerprint()
    recs = []
    for i, name in enumerate(DEFAULT_SET):
        act = get(name)
        print(f"theory card {i + 1}/{len(DEFAULT_SET)}: {act.name}", flush=True)
        recs.append(card_record(act, fingerprint=fp))
    n = write_jsonl(path, recs)
    print(f"wrote {n} cards of theory code {fp} to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
