"""Meetings: create (201), list (paged, search, status and time filters), get, patch, put."""

from __future__ import annotations

from datetime import datetime

from .base import Call, Handler, Reply, ok, paged
from .views import view

__all__ = ["HANDLERS"]


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def create_meeting(call: Call) -> Reply:
    """A new ACTIVE meeting with the settings the real API fills."""
    return ok(
        view(call, call.emulator.store.create_meeting(call.account, call.app, call.body)), 201
    )


def get_all_meetings(call: Call) -> Reply:
    """The account's meetings, filtered and a page at a time."""
    q = call.query
    search = str(q.get("search") or "").lower()
    start = _when(q["start_time"]) if "start_time" in q else None
    end = _when(q["end_time"]) if "end_time" in q else None
    found = [
        m
        for m in call.emulator.store.list_meetings(call.account)
        if (not search or search in str(m.get("title", "")).lower())
        and ("status" not in q or m["status"] == q["status"])
        and (start is None or _when(m["created_at"]) >= start)
        and (end is None or _when(m["created_at"]) <= end)
    ]
    data, paging = paged(found, call)
    return ok([view(call, m) for m in data], paging=paging)


def get_meeting(call: Call) -> Reply:
    """One meeting."""
    return ok(view(call, call.meeting()))


def update_meeting(call: Call) -> Reply:
    """Change the settings given."""
    store = call.emulator.store
    return ok(view(call, store.update_meeting(call.meeting(), call.body, replace=False)))


def replace_meeting(call: Call) -> Reply:
    """Replace the settings (defaults come back for those not given)."""
    store = call.emulator.store
    return ok(view(call, store.update_meeting(call.meeting(), call.body, replace=True)))


HANDLERS: dict[str, Handler] = {
    "create_meeting": create_meeting,
    "get_all_meetings": get_all_meetings,
    "get_meeting": get_meeting,
    "update_meeting": update_meeting,
    "replace_meeting": replace_meeting,
}
