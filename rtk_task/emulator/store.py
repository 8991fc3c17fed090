"""The emulator's in-memory data: one store per account, shared by both path forms."""

from __future__ import annotations

import secrets
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

__all__ = ["Store", "now"]

#: Settings a meeting always has (the real API fills them when created).
MEETING_DEFAULTS: dict[str, Any] = {
    "record_on_start": False,
    "live_stream_on_start": False,
    "persist_chat": False,
    "summarize_on_end": False,
    "session_keep_alive_time_in_secs": 60,
}


def now() -> str:
    """The time as the API writes it: ISO 8601, UTC, with Z."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Store:
    """Meetings and participants by account; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget everything."""
        with self._lock:
            self.meetings: dict[str, dict[str, dict[str, Any]]] = {}
            self.participants: dict[str, dict[str, dict[str, Any]]] = {}
            self.created: Counter[str] = Counter()

    def create_meeting(self, account: str, app: str | None, body: dict[str, Any]) -> dict[str, Any]:
        """A new ACTIVE meeting from a validated create body."""
        stamp = now()
        meeting = {
            "id": str(uuid.uuid4()),
            "created_at": stamp,
            "updated_at": stamp,
            "status": "ACTIVE",
            **MEETING_DEFAULTS,
        }
        meeting.update(_settings(body))
        if app:
            meeting["app_id"] = app
        with self._lock:
            self.meetings.setdefault(account, {})[meeting["id"]] = meeting
            self.created[account] += 1
        return meeting

    def meeting(self, account: str, meeting_id: str) -> dict[str, Any] | None:
        """A meeting, or ``None``."""
        return self.meetings.get(account, {}).get(meeting_id)

    def update_meeting(
        self, meeting: dict[str, Any], body: dict[str, Any], *, replace: bool
    ) -> dict[str, Any]:
        """PATCH (merge the fields given) or PUT (settings replaced, defaults back)."""
        with self._lock:
            if replace:
                kept = ("id", "created_at", "status", "app_id")
                keep: dict[str, Any] = {k: meeting[k] for k in kept if k in meeting}
                meeting.clear()
                meeting.update(keep)
                meeting.update(MEETING_DEFAULTS)
            meeting.update(_settings(body))
            meeting["updated_at"] = now()
        return meeting

    def list_meetings(self, account: str) -> list[dict[str, Any]]:
        """Every meeting of an account, in creation order."""
        return list(self.meetings.get(account, {}).values())

    def add_participant(self, meeting_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """A participant with a fresh join token."""
        stamp = now()
        person = {
            "id": str(uuid.uuid4()),
            "created_at": stamp,
            "updated_at": stamp,
            "custom_participant_id": body["custom_participant_id"],
            "preset_name": body["preset_name"],
            "name": body.get("name"),
            "picture": body.get("picture"),
            "token": _token(),
        }
        with self._lock:
            self.participants.setdefault(meeting_id, {})[person["id"]] = person
        return person

    def new_token(self, meeting_id: str, participant_id: str) -> str | None:
        """A new token for a participant, or ``None`` if there is no such participant."""
        with self._lock:
            person = self.participants.get(meeting_id, {}).get(participant_id)
            if person is None:
                return None
            person["token"] = _token()
            person["updated_at"] = now()
            return str(person["token"])

    def stats(self) -> dict[str, Any]:
        """Meetings created per account and in all."""
        with self._lock:
            return {
                "meetings_created": dict(self.created),
                "meetings_total": sum(len(m) for m in self.meetings.values()),
            }


def _settings(body: dict[str, Any]) -> dict[str, Any]:
    # null means "not set" for the nullable flags; the meeting keeps a boolean
    return {k: v for k, v in body.items() if v is not None}


def _token() -> str:
    return "rtk." + secrets.token_urlsafe(24)
