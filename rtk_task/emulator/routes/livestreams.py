"""Livestreams: create, start for a meeting (201), stop, list, and their sessions.

A livestream is IDLE until started for a meeting (LIVE, with a livestream session that ends
on stop, with ingest and viewer seconds from the emulator's clock). ``data`` is an object where
the document says so, even where its examples show lists: lists ride in it under a plural key.
"""

from __future__ import annotations

import secrets
from typing import Any

from .. import live
from .base import Call, Handler, Refused, Reply, ok, paged
from .views import view

__all__ = ["HANDLERS"]


def _new(call: Call, name: str, meeting_id: str | None, status: str) -> dict[str, Any]:
    record = call.emulator.store.add(
        call.account,
        "livestreams",
        {
            "name": name,
            "meeting_id": meeting_id,
            "status": status,
            "disabled": False,
            "ingest_server": "rtmp://127.0.0.1/live",
            "stream_key": secrets.token_hex(12),
        },
    )
    record["playback_url"] = f"{call.base}__emulator/live/{record['id']}.m3u8"
    return record


def _session_start(call: Call, stream: dict[str, Any]) -> dict[str, Any]:
    now = call.emulator.clock.stamp()
    return call.emulator.store.add(
        call.account,
        "livestream_sessions",
        {
            "livestream_id": stream["id"],
            "invoked_time": now,
            "started_time": now,
            "stopped_time": None,
            "err_message": None,
            "ingest_seconds": 0,
            "viewer_seconds": 0,
            "_meeting": stream.get("meeting_id"),
        },
    )


def _sessions_of(call: Call, stream_id: str) -> list[dict[str, Any]]:
    return [
        s
        for s in call.emulator.store.all(call.account, "livestream_sessions")
        if s["livestream_id"] == stream_id
    ]


def create(call: Call) -> Reply:
    """A livestream not yet tied to a meeting (IDLE)."""
    return ok(view(call, _new(call, call.body.get("name") or "livestream", None, "IDLE")), 201)


def start(call: Call) -> Reply:
    """Start livestreaming a meeting (409 when it already is)."""
    meeting = call.meeting()
    if _active_of(call, meeting["id"]) is not None:
        raise Refused(409, f"meeting {meeting['id']} is already livestreaming")
    stream = _new(
        call, call.body.get("name") or meeting.get("title") or "livestream", meeting["id"], "LIVE"
    )
    _session_start(call, stream)
    live.emit(
        call.emulator,
        call.account,
        "livestreaming.statusUpdate",
        {"livestream": view(call, stream)},
    )
    return ok(view(call, stream), 201)


def _active_of(call: Call, meeting_id: str) -> dict[str, Any] | None:
    for stream in call.emulator.store.all(call.account, "livestreams"):
        if stream.get("meeting_id") == meeting_id and stream["status"] == "LIVE":
            return stream
    return None


def stop(call: Call) -> Reply:
    """Stop the meeting's livestream (404 when none is live)."""
    meeting = call.meeting()
    stream = _active_of(call, meeting["id"])
    if stream is None:
        raise Refused(404, f"meeting {meeting['id']} is not livestreaming")
    store, clock = call.emulator.store, call.emulator.clock
    for session in _sessions_of(call, stream["id"]):
        if session["stopped_time"] is None:
            seconds = int(clock.now() - live._seconds(session["started_time"]))
            store.change(session, {"stopped_time": clock.stamp(), "ingest_seconds": seconds})
    store.change(stream, {"status": "IDLE"})
    live.emit(
        call.emulator,
        call.account,
        "livestreaming.statusUpdate",
        {"livestream": view(call, stream)},
    )
    return ok({"message": "livestream stopped"})


def list_streams(call: Call) -> Reply:
    """Every livestream, a page at a time (``data.livestreams`` and ``data.paging``)."""
    q = call.query
    found = [
        s
        for s in call.emulator.store.all(call.account, "livestreams")
        if ("status" not in q or s["status"] == q["status"])
        and (not q.get("name") or q["name"] in s["name"])
    ]
    data, paging = paged(found, call)
    return ok({"livestreams": [view(call, s) for s in data], "paging": paging})


def get_session(call: Call) -> Reply:
    """One livestream session."""
    return ok(
        view(
            call,
            call.found(
                "livestream_sessions", call.path["livestream-session-id"], "livestream session"
            ),
        )
    )


def get_stream(call: Call) -> Reply:
    """A livestream with its latest session and the paging of its sessions."""
    stream = call.found("livestreams", call.path["livestream_id"], "livestream")
    sessions, paging = paged(_sessions_of(call, stream["id"]), call)
    latest = view(call, sessions[-1]) if sessions else None
    return ok({"livestream": view(call, stream), "session": latest, "paging": paging})


def active_stream_session(call: Call) -> Reply:
    """A livestream and its running session (404 when it is not live)."""
    stream = call.found("livestreams", call.path["livestream_id"], "livestream")
    running = [s for s in _sessions_of(call, stream["id"]) if s["stopped_time"] is None]
    if not running:
        raise Refused(404, f"livestream {stream['id']} is not live")
    return ok({"livestream": view(call, stream), "session": view(call, running[-1])})


def meeting_active(call: Call) -> Reply:
    """The meeting's live livestream (404 when none)."""
    meeting = call.meeting()
    stream = _active_of(call, meeting["id"])
    if stream is None:
        raise Refused(404, f"meeting {meeting['id']} is not livestreaming")
    return ok(view(call, stream))


def meeting_streams(call: Call) -> Reply:
    """The meeting's livestreams and the latest livestream session."""
    meeting = call.meeting()
    streams = [
        s
        for s in call.emulator.store.all(call.account, "livestreams")
        if s.get("meeting_id") == meeting["id"]
    ]
    data, paging = paged(streams, call)
    sessions = [x for s in streams for x in _sessions_of(call, s["id"])]
    latest = view(call, sessions[-1]) if sessions else None
    return ok({"livestreams": [view(call, s) for s in data], "sessions": latest, "paging": paging})


def of_session(call: Call) -> Reply:
    """The livestream sessions that ran during a meeting session."""
    session = call.found("sessions", call.path["session_id"], "session")
    found = [
        s
        for s in call.emulator.store.all(call.account, "livestream_sessions")
        if s.get("_meeting") == session.get("associated_id")
    ]
    data, paging = paged(found, call)
    return ok({"livestream_sessions": [view(call, s) for s in data], "paging": paging})


HANDLERS: dict[str, Handler] = {
    "create_livestream": create,
    "start-livestreaming": start,
    "stop_livestreaming": stop,
    "fetch_all_livestreams": list_streams,
    "get-v2-livestreams-livestream-session-id": get_session,
    "get-v2-livestream-session-livestream-id": get_stream,
    "get-v2-active-livestream-session-details": active_stream_session,
    "get-v2-meetings-meetingId-active-livestream": meeting_active,
    "livestream-session-details": meeting_streams,
    "get-v2-livestreamsession-session-meetingId-active-livestream": of_session,
}
