"""A meeting's participants: add (201), list, get, edit, replace, delete, and a new token.

Adding refuses a meeting that is INACTIVE (409) and, as the real API does ("No preset found
with name ..."), a ``preset_name`` that names no preset of the account (404); so do edit and
replace when they change the preset. Every account has the starter presets
(:data:`~rtk_task.emulator.store.STARTER_PRESETS`) besides those created or seeded.
"""

from __future__ import annotations

from typing import Any

from ..store import new_token
from .base import Call, Handler, Refused, Reply, ok, paged
from .views import view

__all__ = ["HANDLERS"]


def _person(call: Call) -> dict[str, Any]:
    meeting = call.meeting()
    pid = call.path["participant_id"]
    person = call.emulator.store.participant(call.account, meeting["id"], pid)
    if person is None:
        raise Refused(404, f"participant {pid} not found")
    return person


def _known_preset(call: Call, name: Any) -> None:
    if call.emulator.store.preset(call.account, str(name)) is None:
        raise Refused(404, f"No preset found with name {name!r}")


def add(call: Call) -> Reply:
    """A participant with a join token."""
    meeting = call.meeting()
    if meeting["status"] != "ACTIVE":
        raise Refused(409, "the meeting is INACTIVE: participants cannot join")
    _known_preset(call, call.body["preset_name"])
    person = call.emulator.store.add_participant(call.account, meeting["id"], call.body)
    return ok(view(call, person), 201)


def list_people(call: Call) -> Reply:
    """The meeting's participants (no tokens), a page at a time."""
    meeting = call.meeting()
    people = call.emulator.store.all(call.account, "participants", f"{meeting['id']}/")
    data, paging = paged(people, call)
    return ok(
        [{k: v for k, v in view(call, p).items() if k != "token"} for p in data], paging=paging
    )


def get(call: Call) -> Reply:
    """One participant (no token)."""
    return ok({k: v for k, v in view(call, _person(call)).items() if k != "token"})


def edit(call: Call) -> Reply:
    """Change the fields given."""
    fields = {k: v for k, v in call.body.items() if k in ("name", "picture", "preset_name")}
    person = _person(call)
    if "preset_name" in fields and fields["preset_name"] != person["preset_name"]:
        _known_preset(call, fields["preset_name"])
    return ok(view(call, call.emulator.store.change(person, fields)))


def replace(call: Call) -> Reply:
    """Replace name, picture and preset (the body schema is unpublished: those are read)."""
    person = _person(call)
    fields = {
        "name": call.body.get("name"),
        "picture": call.body.get("picture"),
        "preset_name": call.body.get("preset_name", person["preset_name"]),
    }
    if fields["preset_name"] != person["preset_name"]:
        _known_preset(call, fields["preset_name"])
    return ok(view(call, call.emulator.store.change(person, fields)))


def delete(call: Call) -> Reply:
    """Remove a participant; answers it with its preset's id."""
    person = _person(call)
    call.emulator.store.remove(call.account, "participants", f"{person['_meeting']}/{person['id']}")
    preset = call.emulator.store.preset(call.account, person["preset_name"])
    return ok({**view(call, person), "preset_id": preset["id"] if preset else None})


def token(call: Call) -> Reply:
    """A new token for the participant; the old one stops working."""
    person = call.emulator.store.change(_person(call), {"token": new_token()})
    return ok({"token": person["token"]})


HANDLERS: dict[str, Handler] = {
    "add_participant": add,
    "get_meeting_participants": list_people,
    "get_meeting_participant": get,
    "edit_participant": edit,
    "replace_participant": replace,
    "delete_meeting_participant": delete,
    "regenerate_token": token,
}
