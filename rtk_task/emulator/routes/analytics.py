"""Analytics, derived from the store: sessions and recordings per day, livestream seconds."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from .base import Call, Handler, Reply, ok

__all__ = ["HANDLERS"]


def _day(stamp: Any) -> str:
    return str(stamp or "")[:10]


def _in_range(call: Call, day: str) -> bool:
    q = call.query
    return (not q.get("start_date") or day >= q["start_date"]) and (
        not q.get("end_date") or day <= q["end_date"]
    )


def org(call: Call) -> Reply:
    """Session and recording counts and minutes, in total and per day."""
    store = call.emulator.store
    sessions: dict[str, list[float]] = defaultdict(list)
    for s in store.all(call.account, "sessions"):
        if _in_range(call, _day(s.get("started_at"))):
            sessions[_day(s.get("started_at"))].append(float(s.get("minutes_consumed") or 0))
    recordings: dict[str, list[int]] = defaultdict(list)
    for r in store.all(call.account, "recordings"):
        if _in_range(call, _day(r.get("invoked_time"))):
            recordings[_day(r.get("invoked_time"))].append(
                int(r.get("recording_duration") or 0) // 60
            )
    return ok(
        {
            "session_stats": {
                "sessions_count": sum(len(v) for v in sessions.values()),
                "sessions_minutes_consumed": sum(sum(v) for v in sessions.values()),
                "day_stats": [
                    {"day": d, "total_sessions": len(v), "total_session_minutes": int(sum(v))}
                    for d, v in sorted(sessions.items())
                ],
            },
            "recording_stats": {
                "recording_count": sum(len(v) for v in recordings.values()),
                "recording_minutes_consumed": sum(sum(v) for v in recordings.values()),
                "day_stats": [
                    {"day": d, "total_recordings": len(v), "total_recording_minutes": sum(v)}
                    for d, v in sorted(recordings.items())
                ],
            },
        }
    )


def _streams(call: Call) -> dict[str, list[dict[str, Any]]]:
    q = call.query
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in call.emulator.store.all(call.account, "livestream_sessions"):
        started = datetime.fromisoformat(str(s["created_at"]).replace("Z", "+00:00"))
        at = int(started.timestamp())
        if ("start_time" in q and at < q["start_time"]) or ("end_time" in q and at > q["end_time"]):
            continue
        by_day[started.astimezone(UTC).date().isoformat()].append(s)
    return by_day


def _sums(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "count": len(rows),
        "total_ingest_seconds": sum(int(r.get("ingest_seconds") or 0) for r in rows),
        "total_viewer_seconds": sum(int(r.get("viewer_seconds") or 0) for r in rows),
    }


def streams_daywise(call: Call) -> Reply:
    """Livestream sessions and seconds per day."""
    return ok([{"date": d, **_sums(rows)} for d, rows in sorted(_streams(call).items())])


def streams_overall(call: Call) -> Reply:
    """Livestream sessions and seconds in all."""
    return ok(_sums([r for rows in _streams(call).values() for r in rows]))


HANDLERS: dict[str, Handler] = {
    "get-org-analytics": org,
    "get-livestream-analytics-daywise": streams_daywise,
    "get-livestream-analytics-complete": streams_overall,
}
