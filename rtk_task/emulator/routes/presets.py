"""Presets: create (201), list (paged, summaries), get, patch (deep merge), put, delete.

Names are unique per account (409). Every account starts with the starter presets of
:data:`~rtk_task.emulator.store.STARTER_PRESETS`; a starter gives way to a preset created or
renamed under its name, and once patched or replaced it is a preset like any other.
"""

from __future__ import annotations

from typing import Any

from .base import Call, Handler, Refused, Reply, ok, paged
from .views import view

__all__ = ["HANDLERS", "merge"]


def merge(into: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``into`` with ``changes`` merged in, objects key by key."""
    out = dict(into)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _given(call: Call) -> dict[str, Any]:
    """The body's fields (keys starting with ``_`` are the store's bookkeeping: dropped)."""
    return {k: v for k, v in call.body.items() if not k.startswith("_")}


def _unique(call: Call, name: str, but: str | None = None) -> None:
    if call.emulator.store.make_room(call.account, name, but) is not None:
        raise Refused(409, f"a preset named {name!r} exists")


def create(call: Call) -> Reply:
    """A new preset; names are unique per account (409)."""
    with call.emulator.store.lock:
        _unique(call, call.body["name"])
        preset = call.emulator.store.add(call.account, "presets", _given(call))
    return ok(view(call, preset), 201)


def list_presets(call: Call) -> Reply:
    """Preset summaries (id, name, timestamps), a page at a time."""
    data, paging = paged(call.emulator.store.all(call.account, "presets"), call)
    keys = ("id", "name", "created_at", "updated_at")
    return ok([{k: p[k] for k in keys if k in p} for p in data], paging=paging)


def _preset(call: Call) -> dict[str, Any]:
    return call.found("presets", call.path["preset_id"], "preset")


def get(call: Call) -> Reply:
    """One preset."""
    return ok(view(call, _preset(call)))


def patch(call: Call) -> Reply:
    """Change the fields given."""
    preset = _preset(call)
    if "name" in call.body:
        _unique(call, call.body["name"], preset["id"])
    kept = {k: v for k, v in preset.items() if k not in ("id", "created_at")}
    changed = merge(kept, _given(call))
    with call.emulator.store.lock:
        preset.pop("_starter", None)
        changed.pop("_starter", None)
        return ok(view(call, call.emulator.store.change(preset, changed)))


def put(call: Call) -> Reply:
    """Replace the preset's settings."""
    preset = _preset(call)
    _unique(call, call.body["name"], preset["id"])
    kept = {k: preset[k] for k in ("id", "created_at")}
    with call.emulator.store.lock:
        preset.clear()
        preset.update({**kept, **_given(call)})
    return ok(view(call, call.emulator.store.change(preset, {})))


def delete(call: Call) -> Reply:
    """Delete a preset; answers the preset as it was."""
    preset = _preset(call)
    call.emulator.store.remove(call.account, "presets", preset["id"])
    return ok(view(call, preset))


HANDLERS: dict[str, Handler] = {
    "post-presets": create,
    "get-presets": list_presets,
    "get-presets-preset_id": get,
    "patch-presets-preset_id": patch,
    "put-presets-preset_id": put,
    "delete-presets-preset_id": delete,
}
