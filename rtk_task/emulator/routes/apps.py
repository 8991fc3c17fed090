"""Apps: create, list (paged), get; stored per account."""

from __future__ import annotations

from .base import Call, Handler, Reply, ok, paged
from .views import view

__all__ = ["HANDLERS"]


def create_app(call: Call) -> Reply:
    """A new app (the API answers 200, with the app under ``data.app``)."""
    app = call.emulator.store.add(call.account, "apps", {"name": call.body["name"]})
    return ok({"app": view(call, app)})


def get_apps(call: Call) -> Reply:
    """The account's apps, a page at a time."""
    data, paging = paged(call.emulator.store.all(call.account, "apps"), call)
    return ok([view(call, a) for a in data], paging=paging)


def get_app(call: Call) -> Reply:
    """One app (404 when unknown)."""
    return ok(view(call, call.found("apps", str(call.app), "app")))


HANDLERS: dict[str, Handler] = {"create_app": create_app, "get_apps": get_apps, "get_app": get_app}
