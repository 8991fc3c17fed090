"""The emulator's API routes, built from the OpenAPI document: one handler per operationId.

Each resource module (``apps``, ``presets``, ``meetings``, ``participants``, ``webhooks``,
``recordings``, ``livestreams``, ``active_session``, ``sessions``, ``analytics``) exports
``HANDLERS``, a map from operationId to a function of one :class:`Call` that returns a
:class:`Reply` or raises :class:`Refused`. :func:`api_routes` serves every operation of the
document on its live path and, for the per-app paths, on the legacy
``/accounts/{account_id}/realtimekit/...`` path too, and guarantees for every request, in
order: the operation is counted; the Bearer token is checked (401 in Cloudflare's common
envelope); path and query parameters are checked against their declared schemas (an id that
is not the UUID its schema says is a 404, or the 400 the operation declares when it declares
a 400 and no 404, as the webhook operations do; anything else a 400); a fault rule may take
over; the JSON body is checked against the request schema (400 naming the field; a body that
could not be served back, with ``NaN``, deep nesting or broken text, is a 400 and never
stored); and the answer's body is fitted to the response schema the document declares for
its status (:mod:`rtk_task.emulator.shapes`). A document operation with no handler would be
a bug: the table is checked complete when the app is built.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ...limits import MAX_DEPTH, nesting_path, refuse_constant
from ..validate import check
from .base import Call, Handler, Refused, Reply, error_body, ok, paged

if TYPE_CHECKING:
    from ..app import Emulator

__all__ = ["Call", "Refused", "Reply", "api_routes", "error_body", "ok", "paged"]

LIVE_PREFIX = "/accounts/{account_id}/realtime/kit/{app_id}"
ROOT = "/client/v4"


Wrap = Callable[[str, Callable[[Request], Awaitable[Response]]], Any]


def _handlers() -> dict[str, Handler]:
    from . import (
        active_session,
        analytics,
        apps,
        livestreams,
        meetings,
        participants,
        presets,
        recordings,
        sessions,
        webhooks,
    )

    table: dict[str, Handler] = {}
    for module in (
        apps,
        presets,
        meetings,
        participants,
        webhooks,
        recordings,
        livestreams,
        active_session,
        sessions,
        analytics,
    ):
        table.update(module.HANDLERS)
    return table


def _json_body(content: bytes) -> tuple[dict[str, Any], str]:
    """The body as a JSON object, or what is wrong with it.

    Only what can be served back is accepted: ``NaN``/``Infinity`` (not JSON), nesting past
    :data:`~rtk_task.limits.MAX_DEPTH` and strings that are not Unicode text (a lone
    surrogate) are refused here, so a stored record never breaks a later answer.
    """
    try:
        parsed = json.loads(content, parse_constant=refuse_constant)
    except (ValueError, UnicodeDecodeError):
        return {}, "the body is not valid JSON"
    except RecursionError:
        parsed = None
    if parsed is not None and not isinstance(parsed, dict):
        return {}, "the body must be a JSON object"
    if parsed is None or nesting_path(parsed) is not None:
        return {}, f"the body nests deeper than {MAX_DEPTH} levels"
    try:
        json.dumps(parsed, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return {}, "the body holds text that is not valid Unicode"
    return parsed, ""


def _query_value(raw: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if kind in ("integer", "number"):
        try:
            return int(raw)  # exactly: a float would round 2**63 + 1 into range
        except ValueError:
            if kind == "integer":
                raise
        value = float(raw)
        if math.isnan(value) or math.isinf(value):
            raise ValueError(raw)
        return int(value) if value == int(value) else value
    if kind == "boolean":
        if raw not in ("true", "false"):
            raise ValueError(raw)
        return raw == "true"
    return raw


def api_routes(emulator: Emulator, wrap: Wrap) -> list[Route]:
    """Every operation of the document as routes; ``wrap`` adds auth and faults around each."""
    doc = emulator.doc
    handlers = _handlers()
    missing = [
        op["operationId"] for _m, _p, op in doc.operations() if op["operationId"] not in handlers
    ]
    if missing:
        raise RuntimeError(f"no emulator handler for {', '.join(missing)}")
    found: list[tuple[int, str, str, Route]] = []
    for method, path, op in doc.operations():
        operation = op["operationId"]
        params = [
            doc.resolve(p, operation)
            for p in [*doc.data["paths"][path].get("parameters", ()), *op.get("parameters", ())]
        ]
        needs_body = bool(doc.resolve(op.get("requestBody", {}), operation).get("required"))
        endpoint = wrap(
            operation, _endpoint(emulator, operation, params, handlers[operation], needs_body)
        )
        route_path = path.replace("{livestream-session-id}", "{livestream_session_id}")
        paths = [route_path]
        if route_path.startswith(LIVE_PREFIX):
            paths.append("/accounts/{account_id}/realtimekit" + route_path[len(LIVE_PREFIX) :])
        for i, each in enumerate(paths):
            route = Route(ROOT + each, endpoint, methods=[method.upper()], name=f"{operation}{i}")
            found.append((each.count("{"), each, method, route))
    # static segments before parameters: /webhooks/all before /webhooks/{webhook_id}
    return [r for *_k, r in sorted(found, key=lambda t: t[0])]


def _endpoint(
    emulator: Emulator,
    operation: str,
    params: list[dict[str, Any]],
    handler: Handler,
    needs_body: bool,
) -> Callable[[Request], Awaitable[Response]]:
    has_body = operation in emulator.schemas.bodies
    shapes = emulator.shapes
    # the webhook operations document a malformed id as 400 ("must be a valid GUID")
    bad_id = 400 if shapes.declared(operation, 400) and not shapes.declared(operation, 404) else 404

    def answer(status: int, body: Any) -> Response:
        return JSONResponse(shapes.answer(operation, status, body), status_code=status)

    async def endpoint(request: Request) -> Response:
        values = {k: str(v) for k, v in request.path_params.items()}
        if "livestream_session_id" in values:  # the document spells it with hyphens
            values["livestream-session-id"] = values.pop("livestream_session_id")
        query: dict[str, Any] = {}
        for p in params:
            schema = emulator.doc.resolve(p.get("schema", {}), operation)
            name = p["name"]
            if p["in"] == "path":
                if name not in values:
                    continue  # a legacy path has no {app_id}: nothing to check
                raw = values[name]
                if errors := check(schema, raw, name):
                    status = bad_id if schema.get("format") == "uuid" else 400
                    return answer(status, error_body(status, "; ".join(errors)))
            elif p["in"] == "query":
                raws = request.query_params.getlist(name)
                if not raws:
                    continue
                try:
                    if schema.get("type") == "array":
                        item = emulator.doc.resolve(schema.get("items", {}), operation)
                        value: Any = [_query_value(r, item) for r in raws]
                    elif raws[0] == "" and p.get("allowEmptyValue"):
                        continue
                    else:
                        value = _query_value(raws[0], schema)
                except ValueError:
                    return answer(
                        400, error_body(400, f"{name} is not a valid {schema.get('type')}")
                    )
                if errors := check(schema, value, name):
                    return answer(400, error_body(400, "; ".join(errors)))
                query[name] = value
        body: dict[str, Any] = {}
        if has_body:
            content = await request.body()
            if content.strip():
                parsed, problem = _json_body(content)
                if problem:
                    return answer(400, error_body(400, problem))
                body = parsed
            elif needs_body:
                return answer(400, error_body(400, "the request needs a JSON body"))
            if errors := emulator.schemas.body_errors(operation, body):
                return answer(400, error_body(400, "; ".join(errors)))
        path = {k: v for k, v in values.items() if k not in ("account_id", "app_id")}
        call = Call(
            emulator,
            operation,
            values["account_id"],
            values.get("app_id"),
            path,
            query,
            body,
            str(request.base_url),
        )
        emulator.tick()
        try:
            reply = handler(call)
        except Refused as refused:
            return answer(refused.status, error_body(refused.status, refused.message))
        return answer(reply.status, reply.body)

    return endpoint
