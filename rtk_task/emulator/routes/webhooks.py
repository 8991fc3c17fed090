"""Webhooks: register (201), list, the event names, get, patch, put, delete.

As on the real API, a webhook may name any absolute http(s) URL (the document's ``format:
uri``; anything else is a 400). Every URL is stored as given, but only loopback URLs are ever
called: :mod:`rtk_task.emulator.live` emits the events and :mod:`rtk_task.emulator.hooks`
delivers them, recording a call to any other URL as undelivered without attempting it (see
``webhooks`` in ``/__emulator/stats``).
"""

from __future__ import annotations

from typing import Any

from ..hooks import http_url
from .base import Call, Handler, Refused, Reply, ok
from .views import view

__all__ = ["HANDLERS"]


def _events(call: Call) -> list[str]:
    schema = call.emulator.schemas.bodies["addWebhook"]["properties"]["events"]
    return list(schema["items"]["enum"])


def _check_url(body: dict[str, Any]) -> None:
    if "url" in body and not http_url(str(body["url"])):
        raise Refused(400, "url must be an absolute http or https URL with a host")


def _hook(call: Call) -> dict[str, Any]:
    return call.found("webhooks", call.path["webhook_id"], "webhook")


def add(call: Call) -> Reply:
    """Register a webhook (enabled unless said otherwise)."""
    _check_url(call.body)
    hook = {"enabled": True, **call.body}
    return ok(view(call, call.emulator.store.add(call.account, "webhooks", hook)), 201)


def list_hooks(call: Call) -> Reply:
    """Every webhook of the account."""
    return ok([view(call, h) for h in call.emulator.store.all(call.account, "webhooks")])


def events(call: Call) -> Reply:
    """The event names a webhook can subscribe to."""
    return ok(_events(call))


def get(call: Call) -> Reply:
    """One webhook."""
    return ok(view(call, _hook(call)))


def patch(call: Call) -> Reply:
    """Change the fields given."""
    hook = _hook(call)
    _check_url(call.body)
    return ok(view(call, call.emulator.store.change(hook, dict(call.body))))


def put(call: Call) -> Reply:
    """Replace the webhook's settings."""
    hook = _hook(call)
    _check_url(call.body)
    kept = {k: hook[k] for k in ("id", "created_at")}
    with call.emulator.store.lock:
        hook.clear()
        hook.update({**kept, "enabled": True, **call.body})
    return ok(view(call, call.emulator.store.change(hook, {})))


def delete(call: Call) -> Reply:
    """Remove a webhook; answers it as it was."""
    hook = _hook(call)
    call.emulator.store.remove(call.account, "webhooks", hook["id"])
    return ok(view(call, hook))


HANDLERS: dict[str, Handler] = {
    "addWebhook": add,
    "getAllWebhooks": list_hooks,
    "getAllWebhookEvents": events,
    "getWebhook": get,
    "editWebhook": patch,
    "replaceWebhook": put,
    "deleteWebhook": delete,
}
