"""What a client reads back of a stored record: no bookkeeping, no write-only secrets."""

from __future__ import annotations

from typing import Any

from ..store import public
from ..validate import strip
from .base import Call

__all__ = ["view"]


def view(call: Call, record: dict[str, Any]) -> dict[str, Any]:
    """``record`` as answers show it (``_`` keys and ``writeOnly`` fields removed)."""
    return strip(public(record), call.emulator.hidden)
