from __future__ import annotations

import pytest

import actlab


@pytest.fixture
def registered():
    """Register specs for one test and always remove them (the zoo contract suite lists the registry)."""
    names: list[str] = []

    def add(spec_or_approx, name=None):
        if hasattr(spec_or_approx, "register"):
            act = spec_or_approx.register(name)
            names.append(act.spec.name)
            return act
        actlab.register(spec_or_approx)
        names.append(spec_or_approx.name)
        return actlab.get(spec_or_approx.name)

    yield add
    for n in names:
        actlab.unregister(n, missing_ok=True)
