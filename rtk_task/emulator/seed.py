"""Seeding the emulator from a JSON document (``rtk-task emulator --seed FILE``).

The shape: accounts, each with lists of records by table; every field is optional except
where said, and a record without ``id``/``created_at``/``updated_at`` gets them::

    {"accounts": {
       "ACCOUNT_ID": {
         "apps":        [{"name": "demo"}],
         "presets":     [{"name": "host", "config": {...}, "ui": {...}}],
         "meetings":    [{"id": "UUID", "title": "Weekly", "status": "ACTIVE",
                          "participants": [{"custom_participant_id": "a@x",
                                            "preset_name": "host"}]}],
         "webhooks":    [{"name": "w", "url": "http://127.0.0.1:9000/hook",
                          "events": ["meeting.started"]}],
         "recordings":  [{"meeting_id": "UUID", "status": "UPLOADED"}],
         "livestreams": [{"name": "ls", "meeting_id": "UUID", "status": "IDLE"}],
         "sessions":    [{"id": "UUID", "associated_id": "MEETING_UUID", "status": "ENDED",
                          "started_at": "...", "ended_at": "...",
                          "participants": [{"id": "PEER_UUID", "display_name": "A",
                                            "custom_participant_id": "a@x"}],
                          "chat": [{"participant_id": "PEER_UUID", "message": "hi",
                                    "at": "2025-01-01T10:00:00.000Z"}],
                          "transcript": "A: hello\\nB: hi",
                          "summary": "They said hello."}]}}}

Sessions' ``participants``, ``chat``, ``transcript`` and ``summary`` feed the session
participant, chat, transcript and summary operations; a meeting's ``participants`` become
its participants (with fresh tokens; their preset names are not checked). Every account also
has the starter presets (:data:`~rtk_task.emulator.store.STARTER_PRESETS`): a seeded preset
of the same name replaces the starter. Webhooks may name any http(s) URL, as registered ones
may; only loopback URLs are called (:mod:`rtk_task.emulator.hooks`).
"""

from __future__ import annotations

import copy
from typing import Any

from .hooks import http_url
from .routes.base import Refused
from .store import MEETING_DEFAULTS, Store, new_token

__all__ = ["TABLES", "load_seed"]

#: The tables a seed may fill, besides meetings and sessions.
TABLES = ("apps", "presets", "webhooks", "recordings", "livestreams")


def load_seed(store: Store, seed: dict[str, Any]) -> dict[str, int]:
    """Add the seed's records to ``store``; returns how many records each table received.

    Raises :class:`~rtk_task.emulator.routes.Refused` (400) for a malformed seed.
    """
    accounts = seed.get("accounts")
    if not isinstance(accounts, dict):
        raise Refused(400, 'a seed is {"accounts": {ACCOUNT_ID: {TABLE: [records]}}}')
    counts: dict[str, int] = {}
    for account, tables in copy.deepcopy(accounts).items():
        if not isinstance(tables, dict):
            raise Refused(400, f"accounts.{account} must be an object of tables")
        for kind, records in tables.items():
            if kind not in (*TABLES, "meetings", "sessions") or not isinstance(records, list):
                raise Refused(400, f"accounts.{account}.{kind}: unknown table or not a list")
            for record in records:
                if not isinstance(record, dict):
                    raise Refused(400, f"accounts.{account}.{kind}: records are objects")
                _add(store, account, kind, record)
                counts[kind] = counts.get(kind, 0) + 1
    return counts


def _add(store: Store, account: str, kind: str, record: dict[str, Any]) -> None:
    if kind == "webhooks":
        if not http_url(str(record.get("url", ""))):
            raise Refused(400, "a seeded webhook's url must be an absolute http(s) URL")
        record.setdefault("enabled", True)
    if kind == "presets" and isinstance(record.get("name"), str):
        store.make_room(account, record["name"])  # a seeded preset replaces a starter
    if kind == "meetings":
        people = record.pop("participants", [])
        meeting = store.add(account, "meetings", {**MEETING_DEFAULTS, "status": "ACTIVE", **record})
        for person in people:
            person.setdefault("token", new_token())
            person["_meeting"] = meeting["id"]
            store.add(
                account, "participants", person, f"{meeting['id']}/{person.setdefault('id', _id())}"
            )
        return
    if kind == "sessions":
        people = record.pop("participants", [])
        for key in ("chat", "transcript", "summary"):
            if key in record:
                record["_" + key] = record.pop(key)
        record.setdefault("status", "ENDED")
        record.setdefault("type", "meeting")
        record.setdefault("organization_id", account)
        session = store.add(account, "sessions", record)
        for person in people:
            store.add(
                account,
                "session_participants",
                person,
                f"{session['id']}/{person.setdefault('id', _id())}",
            )
        return
    store.add(account, kind, record)


def _id() -> str:
    import uuid

    return str(uuid.uuid4())
