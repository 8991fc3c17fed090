"""A meeting's live session: read it, kick or mute some or all participants, create a poll.

Participants join through ``/__emulator/join`` (:mod:`rtk_task.emulator.live`); kicking
removes them, and the session ends when nobody is left.
"""

from __future__ import annotations

import uuid
from typing import Any

from .. import live
from .base import Call, Handler, Refused, Reply, ok
from .views import view

__all__ = ["HANDLERS"]


def _session(call: Call) -> dict[str, Any]:
    meeting_id = call.path["meeting_id"]
    session = call.emulator.store.get(call.account, "active", meeting_id)
    if session is None:
        raise Refused(404, f"meeting {meeting_id} has no active session")
    return session


def get(call: Call) -> Reply:
    """The live session."""
    return ok(view(call, _session(call)))


def _people(call: Call, person_ids: list[str]) -> list[dict[str, Any]]:
    out = []
    for pid in person_ids:
        person = call.emulator.store.participant(call.account, call.path["meeting_id"], pid)
        if person is not None:
            out.append({k: v for k, v in view(call, person).items() if k != "token"})
    return out


def kick(call: Call) -> Reply:
    """Remove the participants named (404 when nobody matches)."""
    _session(call)
    ids = [str(i) for i in call.body.get("participant_ids", ())]
    custom = [str(i) for i in call.body.get("custom_participant_ids", ())]
    removed = live.kick(call.emulator, call.account, call.path["meeting_id"], ids, custom)
    if not removed:
        raise Refused(404, "none of the participants named is in the session")
    return ok({"action": "kick", "participants": _people(call, [p["id"] for p in removed])})


def kick_all(call: Call) -> Reply:
    """Remove everyone; the session ends."""
    session = _session(call)
    count = len(set(session["_peers"].values()))
    live.end_session(call.emulator, call.account, call.path["meeting_id"])
    return ok({"action": "kick-all", "kicked_participants_count": count})


def mute(call: Call) -> Reply:
    """Mute the participants named."""
    session = _session(call)
    ids = set(call.body.get("participant_ids", ()))
    custom = set(call.body.get("custom_participant_ids", ()))
    muted = []
    for pid in dict.fromkeys(session["_peers"].values()):
        person = call.emulator.store.participant(call.account, call.path["meeting_id"], pid) or {}
        if pid in ids or person.get("custom_participant_id") in custom:
            muted.append(pid)
    session.setdefault("_muted", set()).update(muted)
    return ok({"action": "mute", "participants": _people(call, muted)})


def mute_all(call: Call) -> Reply:
    """Mute everyone in the session."""
    session = _session(call)
    people = set(session["_peers"].values())
    session.setdefault("_muted", set()).update(people)
    session["_allow_unmute"] = call.body["allow_unmute"]
    return ok({"action": "mute-all", "muted_participants_count": len(people)})


def poll(call: Call) -> Reply:
    """A poll in the live session (201)."""
    session = _session(call)
    created = {
        "id": str(uuid.uuid4()),
        "question": call.body["question"],
        "options": [{"text": str(o), "votes": [], "count": 0} for o in call.body["options"]],
        "anonymous": call.body.get("anonymous", False),
        "hide_votes": call.body.get("hide_votes", False),
        "voted": [],
    }
    session.setdefault("_polls", []).append(created)
    return ok({"action": "create-poll", "poll": created}, 201)


HANDLERS: dict[str, Handler] = {
    "GetActiveSession": get,
    "KickPartcipants": kick,
    "KickAllParticipants": kick_all,
    "MuteParticipants": mute,
    "MuteAllParticipants": mute_all,
    "CreatePoll": poll,
}
