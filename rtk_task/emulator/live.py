"""What happens in the emulator over time: live sessions, recordings' states, webhook events.

A meeting's live session starts when the first participant joins (``/__emulator/join``) and
ends when the last one leaves or is kicked; the ended session stays in ``sessions`` with its
participants, chat and duration, which is what the sessions and analytics operations report.
A recording moves INVOKED -> RECORDING after ``recording_delays[0]`` seconds of the
emulator's clock, PAUSED <-> RECORDING on request, and on stop UPLOADING -> UPLOADED after
``recording_delays[1]`` seconds (with a download URL). Transitions are applied by
:func:`tick`, which runs before every API request and after every clock move. Every change
that the API has an event for (``meeting.started``, ``meeting.ended``,
``meeting.participantJoined``, ``meeting.participantLeft``, ``meeting.chatSynced``,
``recording.statusUpdate``, ``livestreaming.statusUpdate``, ``meeting.summary``) is sent to
the account's enabled webhooks that subscribe to it, without waiting for delivery; only
loopback URLs are called, any other is recorded as undelivered (:mod:`rtk_task.emulator.hooks`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .routes.base import Refused
from .store import public

if TYPE_CHECKING:
    from .app import Emulator

__all__ = [
    "chat",
    "emit",
    "end_session",
    "join",
    "kick",
    "leave",
    "set_recording",
    "start_recording",
    "tick",
]

ACTIVE_RECORDING = ("INVOKED", "RECORDING", "PAUSED")


def emit(emulator: Emulator, account: str, event: str, payload: dict[str, Any]) -> int:
    """Send ``event`` to every enabled webhook of ``account`` subscribed to it; how many."""
    body = {"event": event, "created_at": emulator.clock.stamp(), **payload}
    count = 0
    for hook in emulator.store.all(account, "webhooks"):
        if hook.get("enabled", True) and event in hook.get("events", ()):
            emulator.hooks.send(str(hook["url"]), body)
            count += 1
    return count


def _seconds(stamp: str | None) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() if stamp else 0.0


def join(emulator: Emulator, account_id: str, meeting_id: str, participant_id: str) -> Any:
    """A participant of the meeting joins its live session; returns the session and peer ids."""
    store = emulator.store
    meeting = store.meeting(account_id, meeting_id)
    if meeting is None:
        raise Refused(404, f"meeting {meeting_id} not found")
    if meeting.get("status") != "ACTIVE":
        raise Refused(409, "the meeting is INACTIVE: participants cannot join")
    person = store.participant(account_id, meeting_id, participant_id)
    if person is None:
        raise Refused(404, f"participant {participant_id} not found")
    with store.lock:
        session = store.get(account_id, "active", meeting_id)
        started = session is None
        if session is None:
            session = store.add(
                account_id,
                "sessions",
                {
                    "associated_id": meeting_id,
                    "meeting_display_name": meeting.get("title") or "",
                    "type": "meeting",
                    "status": "LIVE",
                    "organization_id": account_id,
                    "started_at": emulator.clock.stamp(),
                    "live_participants": 0,
                    "max_concurrent_participants": 0,
                    "minutes_consumed": 0,
                    "_peers": {},
                    "_chat": [],
                },
            )
            store.table(account_id, "active")[meeting_id] = session
        peer_id = str(uuid.uuid4())
        peer = store.add(
            account_id,
            "session_participants",
            {
                "id": peer_id,
                "user_id": person["id"],
                "custom_participant_id": person["custom_participant_id"],
                "display_name": person.get("name") or person["custom_participant_id"],
                "preset_name": person["preset_name"],
                "joined_at": emulator.clock.stamp(),
                "left_at": None,
                "duration": 0,
            },
            f"{session['id']}/{peer_id}",
        )
        session["_peers"][peer["id"]] = person["id"]
        session["live_participants"] = len(session["_peers"])
        session["max_concurrent_participants"] = max(
            session["max_concurrent_participants"], session["live_participants"]
        )
    view = public(session)
    if started:
        emit(emulator, account_id, "meeting.started", {"meeting": public(meeting), "session": view})
        if meeting.get("record_on_start"):
            start_recording(emulator, account_id, meeting, {}, "RECORD_ON_START")
    emit(
        emulator,
        account_id,
        "meeting.participantJoined",
        {"session": view, "participant": public(peer)},
    )
    return {"session_id": session["id"], "peer_id": peer["id"]}


def _peer_leaves(emulator: Emulator, account: str, session: dict[str, Any], peer_id: str) -> Any:
    store = emulator.store
    session["_peers"].pop(peer_id, None)
    session["live_participants"] = len(session["_peers"])
    peer = store.get(account, "session_participants", f"{session['id']}/{peer_id}")
    if peer is not None:
        left = emulator.clock.stamp()
        store.change(
            peer,
            {
                "left_at": left,
                "duration": round((_seconds(left) - _seconds(peer["joined_at"])) / 60, 3),
            },
        )
        emit(
            emulator,
            account,
            "meeting.participantLeft",
            {"session": public(session), "participant": public(peer)},
        )
    return peer


def leave(emulator: Emulator, account_id: str, meeting_id: str, participant_id: str) -> Any:
    """Every peer of the participant leaves the live session; returns how many left."""
    return len(kick(emulator, account_id, meeting_id, [participant_id], []))


def kick(
    emulator: Emulator, account: str, meeting_id: str, ids: list[str], custom_ids: list[str]
) -> list[dict[str, Any]]:
    """Remove the participants named (by id or custom id) from the live session.

    Returns the meeting participants removed; the session ends when nobody is left. A 404 when
    the meeting has no live session.
    """
    store = emulator.store
    with store.lock:
        session = store.get(account, "active", meeting_id)
        if session is None:
            raise Refused(404, f"meeting {meeting_id} has no active session")
        removed: list[dict[str, Any]] = []
        for peer_id, person_id in list(session["_peers"].items()):
            person = store.participant(account, meeting_id, person_id) or {}
            if person_id in ids or person.get("custom_participant_id") in custom_ids:
                _peer_leaves(emulator, account, session, peer_id)
                if person and person not in removed:
                    removed.append(person)
        if not session["_peers"]:
            end_session(emulator, account, meeting_id)
    return removed


def end_session(emulator: Emulator, account: str, meeting_id: str) -> None:
    """End the meeting's live session (everyone still in it leaves)."""
    store = emulator.store
    with store.lock:
        session = store.remove(account, "active", meeting_id)
        if session is None:
            return
        for peer_id in list(session["_peers"]):
            _peer_leaves(emulator, account, session, peer_id)
        ended = emulator.clock.stamp()
        minutes = (_seconds(ended) - _seconds(session["started_at"])) / 60
        store.change(
            session, {"status": "ENDED", "ended_at": ended, "minutes_consumed": round(minutes, 3)}
        )
        for rec in store.all(account, "recordings"):
            if rec.get("meeting_id") == meeting_id and rec["status"] in ACTIVE_RECORDING:
                rec["stop_reason"] = {"reason": "ALL_PEERS_LEFT"}
                set_recording(emulator, account, rec, "UPLOADING")
    emit(emulator, account, "meeting.ended", {"session": public(session)})
    meeting = store.meeting(account, meeting_id) or {}
    if session["_chat"] and meeting.get("persist_chat"):
        emit(emulator, account, "meeting.chatSynced", {"session": public(session)})


def chat(
    emulator: Emulator, account_id: str, meeting_id: str, participant_id: str, message: str
) -> Any:
    """A participant in the live session sends a chat message; returns the message count."""
    session = emulator.store.get(account_id, "active", meeting_id)
    if session is None:
        raise Refused(404, f"meeting {meeting_id} has no active session")
    if participant_id not in session["_peers"].values():
        raise Refused(409, f"participant {participant_id} is not in the session")
    person = emulator.store.participant(account_id, meeting_id, participant_id) or {}
    name = person.get("name") or person.get("custom_participant_id") or participant_id
    with emulator.store.lock:
        session["_chat"].append(
            {
                "participant_id": participant_id,
                "name": name,
                "message": str(message),
                "at": emulator.clock.stamp(),
            }
        )
        return len(session["_chat"])


# -- recordings -------------------------------------------------------------------------------


def start_recording(
    emulator: Emulator, account: str, meeting: dict[str, Any], body: dict[str, Any], reason: str
) -> dict[str, Any]:
    """A new INVOKED recording of the meeting (409 if one is active, unless allowed)."""
    store = emulator.store
    with store.lock:
        busy = [
            r
            for r in store.all(account, "recordings")
            if r.get("meeting_id") == meeting["id"] and r["status"] in ACTIVE_RECORDING
        ]
        if busy and not body.get("allow_multiple_recordings"):
            raise Refused(409, f"meeting {meeting['id']} is already being recorded")
        session = store.get(account, "active", meeting["id"])
        rid = str(uuid.uuid4())
        prefix = body.get("file_name_prefix") or "recording"
        record = store.add(
            account,
            "recordings",
            {
                "id": rid,
                "meeting_id": meeting["id"],
                "session_id": session["id"] if session else None,
                "status": "INVOKED",
                "invoked_time": emulator.clock.stamp(),
                "started_time": None,
                "stopped_time": None,
                "output_file_name": f"{prefix}_{rid}.mp4",
                "download_url": None,
                "download_url_expiry": None,
                "audio_download_url": None,
                "file_size": None,
                "recording_duration": 0,
                "start_reason": {"reason": reason},
                "_due": emulator.clock.now() + emulator.recording_delays[0],
                "_paused_seconds": 0.0,
            },
        )
    emit(emulator, account, "recording.statusUpdate", {"recording": public(record)})
    return record


def set_recording(emulator: Emulator, account: str, rec: dict[str, Any], status: str) -> None:
    """Move a recording to ``status`` (with the timestamps that go with it) and tell webhooks."""
    clock = emulator.clock
    fields: dict[str, Any] = {"status": status}
    if status == "RECORDING" and not rec.get("started_time"):
        fields["started_time"] = clock.stamp()
    if status == "UPLOADING":
        fields["stopped_time"] = clock.stamp()
        fields["_due"] = clock.now() + emulator.recording_delays[1]
        started = _seconds(rec.get("started_time")) or clock.now()
        fields["recording_duration"] = max(int(clock.now() - started), 0)
    if status == "UPLOADED":
        fields["_due"] = None
        fields["download_url"] = f"http://127.0.0.1/recordings/{rec['output_file_name']}"
        fields["download_url_expiry"] = clock.stamp(clock.now() + 7 * 86400)
        fields["file_size"] = 125_000 * int(rec.get("recording_duration") or 0)
    emulator.store.change(rec, fields)
    emit(emulator, account, "recording.statusUpdate", {"recording": public(rec)})


def tick(emulator: Emulator) -> None:
    """Apply the recording transitions that are due by the emulator's clock."""
    store, now = emulator.store, emulator.clock.now()
    for account in store.accounts():
        for rec in store.all(account, "recordings"):
            due = rec.get("_due")
            if due is None or due > now:
                continue
            if rec["status"] == "INVOKED":
                set_recording(emulator, account, rec, "RECORDING")
                rec["_due"] = None
            elif rec["status"] == "UPLOADING":
                set_recording(emulator, account, rec, "UPLOADED")
