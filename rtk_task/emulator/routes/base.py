"""What every route module shares: a handler's :class:`Call`, its :class:`Reply` or
:class:`Refused`, and the helpers that build answers (``ok``, ``paged``, ``error_body``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..app import Emulator

__all__ = ["Call", "Handler", "Refused", "Reply", "error_body", "ok", "paged"]


class Refused(Exception):
    """A handler's refusal (404, 409, ...); the route turns it into the error answer.

    Never leaves the emulator's app: it is an answer, not an error of the library.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Reply:
    """A handler's answer: the status and the JSON body (fitted to the schema afterwards)."""

    status: int
    body: Any


@dataclass
class Call:
    """One API request, checked: who, which app, its parameters and body."""

    emulator: Emulator
    operation: str
    account: str
    app: str | None
    path: dict[str, str]
    query: dict[str, Any]
    body: dict[str, Any] = field(default_factory=dict)
    base: str = "http://127.0.0.1/"  # the emulator's own origin, for download URLs

    def found(self, kind: str, key: str, what: str) -> dict[str, Any]:
        """The record ``key`` of table ``kind``, or a 404 naming ``what``."""
        record = self.emulator.store.get(self.account, kind, key)
        if record is None:
            raise Refused(404, f"{what} {key} not found")
        return record

    def meeting(self) -> dict[str, Any]:
        """The meeting named by the path (404 when unknown)."""
        return self.found("meetings", self.path["meeting_id"], "meeting")


def ok(data: Any, status: int = 200, **extra: Any) -> Reply:
    """A success answer: ``{"success": true, "data": ...}`` plus ``extra`` keys."""
    return Reply(status, {"success": True, "data": data, **extra})


def error_body(status: int, message: str) -> dict[str, Any]:
    """The RealtimeKit error envelope."""
    return {"success": False, "error": {"code": status, "message": message}}


def paged(items: list[Any], call: Call, default_size: int = 20) -> tuple[list[Any], dict[str, int]]:
    """One page of ``items`` by ``page_no``/``per_page``, and its ``paging`` object.

    An empty page has ``start_offset`` and ``end_offset`` at the end (0 and 0 when empty).
    """
    size = max(int(call.query.get("per_page") or default_size), 1)
    page = max(int(call.query.get("page_no") or 1), 1)
    first = (page - 1) * size
    data = items[first : first + size]
    paging = {
        "total_count": len(items),
        "start_offset": first + 1 if data else len(items),
        "end_offset": first + len(data) if data else len(items),
    }
    return data, paging


Handler = Callable[[Call], Reply]
