"""A shared base for the small result dataclasses that theory and approximation return."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any


class AsDict:
    """``.as_dict()`` for a dataclass: its fields as plain dicts/lists (what ``--json`` prints)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]
