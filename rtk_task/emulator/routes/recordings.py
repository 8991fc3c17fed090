"""Recordings: start (composite or per track), list, the active one of a meeting, get, and
pause/resume/stop; states move over the emulator's clock (:mod:`rtk_task.emulator.live`)."""

from __future__ import annotations

from typing import Any

from .. import live
from .base import Call, Handler, Refused, Reply, ok, paged
from .views import view

__all__ = ["HANDLERS"]


def _meeting_of(call: Call) -> dict[str, Any]:
    meeting_id = call.body.get("meeting_id")
    if not meeting_id:
        raise Refused(400, "meeting_id is required")
    return call.found("meetings", str(meeting_id), "meeting")


def start(call: Call) -> Reply:
    """Start recording a meeting (INVOKED; 409 when already recording)."""
    meeting = _meeting_of(call)
    return ok(
        view(
            call, live.start_recording(call.emulator, call.account, meeting, call.body, "API_CALL")
        )
    )


def start_tracks(call: Call) -> Reply:
    """Start a per-track recording of a meeting."""
    meeting = _meeting_of(call)
    rec = live.start_recording(call.emulator, call.account, meeting, call.body, "API_CALL")
    return ok({"recording": view(call, rec)})


def list_recordings(call: Call) -> Reply:
    """The account's recordings, with their meeting, filtered, a page at a time."""
    q = call.query
    store = call.emulator.store
    found = [
        r
        for r in store.all(call.account, "recordings")
        if ("meeting_id" not in q or r.get("meeting_id") == q["meeting_id"])
        and ("status" not in q or r["status"] in q["status"])
    ]
    if q.get("sort_order") == "DESC":
        found.reverse()
    data, paging = paged(found, call)
    out = []
    for rec in data:
        meeting = store.meeting(call.account, str(rec.get("meeting_id")))
        out.append({**view(call, rec), **({"meeting": view(call, meeting)} if meeting else {})})
    return ok(out, paging=paging)


def active(call: Call) -> Reply:
    """The meeting's recording in progress (404 when none)."""
    meeting_id = call.path["meeting_id"]
    for rec in call.emulator.store.all(call.account, "recordings"):
        if rec.get("meeting_id") == meeting_id and rec["status"] in live.ACTIVE_RECORDING:
            return ok(view(call, rec))
    raise Refused(404, f"meeting {meeting_id} has no active recording")


def get(call: Call) -> Reply:
    """One recording."""
    return ok(view(call, call.found("recordings", call.path["recording_id"], "recording")))


def act(call: Call) -> Reply:
    """Pause, resume or stop (409 when the recording is not in a state that allows it)."""
    rec = call.found("recordings", call.path["recording_id"], "recording")
    action, status = call.body["action"], rec["status"]
    moves = {
        ("pause", "RECORDING"): "PAUSED",
        ("resume", "PAUSED"): "RECORDING",
        ("stop", "RECORDING"): "UPLOADING",
        ("stop", "PAUSED"): "UPLOADING",
        ("stop", "INVOKED"): "UPLOADING",
    }
    target = moves.get((action, status))
    if target is None:
        raise Refused(409, f"cannot {action} a recording that is {status}")
    if action == "stop":
        rec["stop_reason"] = {"reason": "API_CALL"}
    live.set_recording(call.emulator, call.account, rec, target)
    return ok(view(call, rec))


HANDLERS: dict[str, Handler] = {
    "start_recording": start,
    "startTrackRecordingForAMeeting": start_tracks,
    "get_all_recordings": list_recordings,
    "get_active_recording": active,
    "get_one_recording": get,
    "pause_resume_stop_recording": act,
}
