"""The emulator's in-memory data: tables of records per account, shared by both path forms.

A record is a JSON object with an ``id``; keys starting with ``_`` are bookkeeping that no
answer shows (``_app`` the app it was made under, ``_due`` when a recording moves on). Tables
in use: ``apps``, ``presets``, ``meetings``, ``participants`` (keyed ``meeting_id/id``),
``webhooks``, ``recordings``, ``livestreams``, ``livestream_sessions``, ``sessions``,
``session_participants`` (keyed ``session_id/id``) and ``active`` (the live session of a
meeting, keyed by meeting id). Every method is thread-safe; records are returned as the
store's own dicts, so callers copy before changing them outside a store method.

An account's ``presets`` table starts with the :data:`STARTER_PRESETS` (marked ``_starter``):
the add-participant body's documented default ``group_call_host``, others named in its style
(``group_call_participant``, ``webinar_presenter``, ``webinar_viewer``), and the names this
project's README, examples and tests join with (``host``, ``guest``, ``participant``). A
real app's presets depend on how and when it was made (``GET /presets`` says); these stand in
for them. A starter gives way to a preset created, seeded or renamed under its name
(:meth:`Store.make_room`), so a workflow that creates its ``host`` preset first works on a
fresh emulator as on an empty real app; once changed, a starter is a preset like any other.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections import Counter
from typing import Any

from .clock import Clock

__all__ = ["MEETING_DEFAULTS", "STARTER_PRESETS", "Store", "new_token", "public"]

#: Settings a meeting always has (the real API fills them when created).
MEETING_DEFAULTS: dict[str, Any] = {
    "record_on_start": False,
    "live_stream_on_start": False,
    "persist_chat": False,
    "summarize_on_end": False,
    "session_keep_alive_time_in_secs": 60,
}

#: The presets every account starts with, by name, with their view type.
STARTER_PRESETS: dict[str, str] = {
    "group_call_host": "GROUP_CALL",
    "group_call_participant": "GROUP_CALL",
    "webinar_presenter": "WEBINAR",
    "webinar_viewer": "WEBINAR",
    "host": "GROUP_CALL",
    "guest": "GROUP_CALL",
    "participant": "GROUP_CALL",
}


def public(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``record`` without its bookkeeping (``_`` keys)."""
    return {k: v for k, v in record.items() if not k.startswith("_")}


class Store:
    """Tables of records by account; thread-safe."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget everything."""
        with self.lock:
            self.tables: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
            self.created: Counter[str] = Counter()

    # -- generic tables -------------------------------------------------------------------

    def table(self, account: str, kind: str) -> dict[str, dict[str, Any]]:
        """The table ``kind`` of ``account`` (created on first use: empty, but for presets)."""
        with self.lock:
            tables = self.tables.setdefault(account, {})
            if kind not in tables:
                tables[kind] = {}
                if kind == "presets":
                    for name, view_type in STARTER_PRESETS.items():
                        self.add(account, "presets", _starter(name, view_type))
            return tables[kind]

    def add(
        self, account: str, kind: str, record: dict[str, Any], key: str | None = None
    ) -> dict[str, Any]:
        """Store ``record`` (an ``id`` and timestamps are given when missing); returns it."""
        stamp = self.clock.stamp()
        record.setdefault("id", str(uuid.uuid4()))
        record.setdefault("created_at", stamp)
        record.setdefault("updated_at", stamp)
        with self.lock:
            self.table(account, kind)[key or str(record["id"])] = record
        return record

    def get(self, account: str, kind: str, key: str) -> dict[str, Any] | None:
        """A record, or ``None``."""
        with self.lock:
            return self.table(account, kind).get(key)

    def all(self, account: str, kind: str, prefix: str = "") -> list[dict[str, Any]]:
        """Every record of a table (keys starting with ``prefix``), in insertion order."""
        with self.lock:
            return [r for k, r in self.table(account, kind).items() if k.startswith(prefix)]

    def remove(self, account: str, kind: str, key: str) -> dict[str, Any] | None:
        """Remove and return a record, or ``None``."""
        with self.lock:
            return self.table(account, kind).pop(key, None)

    def change(self, record: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        """Merge ``fields`` into ``record`` and stamp ``updated_at``; returns the record."""
        with self.lock:
            record.update(fields)
            record["updated_at"] = self.clock.stamp()
        return record

    def accounts(self) -> list[str]:
        """Every account with data."""
        with self.lock:
            return list(self.tables)

    # -- presets ------------------------------------------------------------------------------

    def preset(self, account: str, name: str) -> dict[str, Any] | None:
        """The preset named ``name``, or ``None``."""
        return next((p for p in self.all(account, "presets") if p.get("name") == name), None)

    def make_room(self, account: str, name: str, but: str | None = None) -> dict[str, Any] | None:
        """Clear the way for a preset named ``name`` (a starter of that name is removed).

        Returns the preset other than ``but`` (an id) that already has the name, if any.
        """
        with self.lock:
            for preset in self.all(account, "presets"):
                if preset.get("name") != name or preset["id"] == but:
                    continue
                if not preset.get("_starter"):
                    return preset
                self.remove(account, "presets", preset["id"])
        return None

    # -- meetings and participants ----------------------------------------------------------

    def create_meeting(self, account: str, app: str | None, body: dict[str, Any]) -> dict[str, Any]:
        """A new ACTIVE meeting from a validated create body."""
        meeting: dict[str, Any] = {"id": str(uuid.uuid4()), "status": "ACTIVE", **MEETING_DEFAULTS}
        meeting.update(_settings(body))
        if app:
            meeting["_app"] = app
        with self.lock:
            self.add(account, "meetings", meeting)
            self.created[account] += 1
        return meeting

    def meeting(self, account: str, meeting_id: str) -> dict[str, Any] | None:
        """A meeting, or ``None``."""
        return self.get(account, "meetings", meeting_id)

    def update_meeting(
        self, meeting: dict[str, Any], body: dict[str, Any], *, replace: bool
    ) -> dict[str, Any]:
        """PATCH (merge the fields given) or PUT (settings replaced, defaults back)."""
        with self.lock:
            if replace:
                kept = ("id", "created_at", "status", "_app")
                keep: dict[str, Any] = {k: meeting[k] for k in kept if k in meeting}
                meeting.clear()
                meeting.update(keep)
                meeting.update(MEETING_DEFAULTS)
            return self.change(meeting, _settings(body))

    def list_meetings(self, account: str) -> list[dict[str, Any]]:
        """Every meeting of an account, in creation order."""
        return self.all(account, "meetings")

    def add_participant(
        self, account: str, meeting_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """A participant with a fresh join token."""
        person = {
            "id": str(uuid.uuid4()),
            "custom_participant_id": body["custom_participant_id"],
            "preset_name": body["preset_name"],
            "name": body.get("name"),
            "picture": body.get("picture"),
            "token": new_token(),
            "_meeting": meeting_id,
        }
        return self.add(account, "participants", person, f"{meeting_id}/{person['id']}")

    def participant(self, account: str, meeting_id: str, pid: str) -> dict[str, Any] | None:
        """A participant of a meeting, or ``None``."""
        return self.get(account, "participants", f"{meeting_id}/{pid}")

    def stats(self) -> dict[str, Any]:
        """Meetings created per account and in all, and the size of every table."""
        with self.lock:
            sizes: Counter[str] = Counter()
            for tables in self.tables.values():
                for kind, rows in tables.items():
                    sizes[kind] += len(rows)
            return {
                "meetings_created": dict(self.created),
                "meetings_total": sizes["meetings"],
                "records": dict(sizes),
            }


def _starter(name: str, view_type: str) -> dict[str, Any]:
    return {
        "name": name,
        "config": {
            "view_type": view_type,
            "max_video_streams": {"desktop": 9, "mobile": 4},
            "max_screenshare_count": 1,
            "media": {
                "video": {"quality": "hd", "frame_rate": 30},
                "screenshare": {"quality": "hd", "frame_rate": 5},
            },
        },
        "ui": {},
        "permissions": {},
        "_starter": True,
    }


def _settings(body: dict[str, Any]) -> dict[str, Any]:
    # null means "not set" for the nullable flags; the meeting keeps a boolean
    return {k: v for k, v in body.items() if v is not None}


def new_token() -> str:
    """A fresh participant token."""
    return "rtk." + secrets.token_urlsafe(24)
