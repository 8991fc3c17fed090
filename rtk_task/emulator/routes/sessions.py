"""Sessions, derived from what happened (or was seeded): list, details, participants, a
peer's report, and chat, transcript and summary as download URLs served by the emulator
(``/__emulator/files/{account_id}/{session_id}/chat.csv|transcript.txt|summary.txt``).

Chat is 404 until someone wrote in the session, a transcript 404 unless seeded, a summary
404 until generated (``POST .../summary``, from the transcript or the chat) or seeded.
"""

from __future__ import annotations

from typing import Any

from .. import live
from .base import Call, Handler, Refused, Reply, ok, paged
from .views import view

__all__ = ["HANDLERS", "session_file"]


def _session(call: Call) -> dict[str, Any]:
    return call.found("sessions", call.path["session_id"], "session")


def _url(call: Call, session: dict[str, Any], name: str) -> dict[str, str]:
    clock = call.emulator.clock
    return {
        "url": f"{call.base}__emulator/files/{call.account}/{session['id']}/{name}",
        "expiry": clock.stamp(clock.now() + 86400),
    }


def list_sessions(call: Call) -> Reply:
    """Sessions, newest first unless ``sort_order=ASC``, a page at a time."""
    q = call.query
    found = [
        s
        for s in call.emulator.store.all(call.account, "sessions")
        if ("associated_id" not in q or s.get("associated_id") == q["associated_id"])
        and ("status" not in q or s.get("status") == q["status"])
    ]
    if q.get("sort_order") != "ASC":
        found.reverse()
    data, paging = paged(found, call)
    return ok({"sessions": [view(call, s) for s in data]}, paging=paging)


def details(call: Call) -> Reply:
    """One session."""
    return ok({"session": view(call, _session(call))})


def participants(call: Call) -> Reply:
    """Who took part in the session, a page at a time."""
    session = _session(call)
    people = call.emulator.store.all(call.account, "session_participants", f"{session['id']}/")
    data, paging = paged(people, call)
    return ok({"participants": [view(call, p) for p in data]}, paging=paging)


def participant(call: Call) -> Reply:
    """One participant of the session."""
    session = _session(call)
    key = f"{session['id']}/{call.path['participant_id']}"
    return ok({"participant": view(call, call.found("session_participants", key, "participant"))})


def peer(call: Call) -> Reply:
    """A peer's report, found by peer id across sessions."""
    peer_id = call.path["peer_id"]
    for person in call.emulator.store.all(call.account, "session_participants"):
        if person.get("id") == peer_id:
            return ok({"participant": view(call, person)})
    raise Refused(404, f"peer {peer_id} not found")


def chat(call: Call) -> Reply:
    """Where to download the session's chat (404 when nobody wrote)."""
    session = _session(call)
    if not session.get("_chat"):
        raise Refused(404, "the session has no chat")
    link = _url(call, session, "chat.csv")
    return ok({"chat_download_url": link["url"], "chat_download_url_expiry": link["expiry"]})


def transcript(call: Call) -> Reply:
    """Where to download the session's transcript (404 when there is none)."""
    session = _session(call)
    if not session.get("_transcript"):
        raise Refused(404, "the session has no transcript")
    link = _url(call, session, "transcript.txt")
    return ok(
        {
            "sessionId": session["id"],
            "transcript_download_url": link["url"],
            "transcript_download_url_expiry": link["expiry"],
        }
    )


def summary(call: Call) -> Reply:
    """Where to download the session's summary (404 until generated)."""
    session = _session(call)
    if not session.get("_summary"):
        raise Refused(404, "the session has no summary")
    link = _url(call, session, "summary.txt")
    return ok(
        {
            "sessionId": session["id"],
            "summaryDownloadUrl": link["url"],
            "summaryDownloadUrlExpiry": link["expiry"],
        }
    )


def summarize(call: Call) -> Reply:
    """Generate the summary from the transcript or the chat (409 with neither)."""
    session = _session(call)
    lines = str(session.get("_transcript") or "").splitlines() or [
        f"{m['name']}: {m['message']}" for m in session.get("_chat") or ()
    ]
    if not lines:
        raise Refused(409, "nothing to summarize: the session has no transcript and no chat")
    speakers = sorted({line.split(":", 1)[0] for line in lines if ":" in line})
    text = f"{len(lines)} lines from {len(speakers)} speakers ({', '.join(speakers)})."
    call.emulator.store.change(session, {"_summary": text})
    live.emit(call.emulator, call.account, "meeting.summary", {"session": view(call, session)})
    return ok({"session_id": session["id"], "status": "COMPLETED"})


def session_file(session: dict[str, Any], name: str) -> str | None:
    """The text of a session's downloadable file, or ``None``."""
    if name == "chat.csv" and session.get("_chat"):
        rows = ["time,participant_id,name,message"]
        rows += [
            ",".join(
                f'"{str(m.get(k, "")).replace(chr(34), chr(34) * 2)}"'
                for k in ("at", "participant_id", "name", "message")
            )
            for m in session["_chat"]
        ]
        return "\n".join(rows) + "\n"
    if name == "transcript.txt" and session.get("_transcript"):
        return str(session["_transcript"])
    if name == "summary.txt" and session.get("_summary"):
        return str(session["_summary"])
    return None


HANDLERS: dict[str, Handler] = {
    "GetSessions": list_sessions,
    "GetSessionDetails": details,
    "GetSessionParticipants": participants,
    "GetParticipantDetails": participant,
    "GetParticipantDataFromPeerId": peer,
    "GetSessionChat": chat,
    "GetSessionTranscript": transcript,
    "GetSessionSummary": summary,
    "post-sessions-session_id-summary": summarize,
}
