"""The emulator's HTTP API: RealtimeKit meetings on the live and legacy paths.

Live ``/client/v4/accounts/{account_id}/realtime/kit/{app_id}/...`` and legacy
``/client/v4/accounts/{account_id}/realtimekit/...`` share one store per account. Every API
request needs ``Authorization: Bearer <token>`` (the configured one, or any when none is).
Success: ``{"success": true, "data": ...}`` (201 for create and add participant); errors:
``{"success": false, "error": {"code": <status>, "message": "..."}}``; authentication
failures use Cloudflare's common ``errors[]`` envelope. Adding a participant to an INACTIVE
meeting is a 409; an unknown (or non-UUID) meeting id is a 404. An empty list page has
``start_offset`` one past the end and ``end_offset`` at the end (0 and 0 when empty).

``/__emulator/faults`` (POST rules, DELETE all), ``/__emulator/stats`` (GET) and
``/__emulator/reset`` (POST) control it; they need no token (the emulator binds to loopback).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .faults import FaultPlan, FaultRule
from .store import Store
from .validate import Schemas, load_schemas, strip

__all__ = ["Emulator", "create_app"]

LIVE = "/client/v4/accounts/{account_id}/realtime/kit/{app_id}"
LEGACY = "/client/v4/accounts/{account_id}/realtimekit"
Handler = Callable[[Request], Awaitable[Response]]


class InjectedFault(Exception):
    """Raised on purpose to cut a connection mid-answer (a fault, not a bug)."""


class Emulator:
    """The emulator's state: store, faults, counters, token."""

    def __init__(self, token: str | None = None, faults: list[FaultRule] | None = None) -> None:
        self.token = token
        self.store = Store()
        self.faults = FaultPlan(faults)
        self.requests: Counter[str] = Counter()
        self.schemas: Schemas = load_schemas()

    def stats(self) -> dict[str, Any]:
        """Requests received per operation, meetings created, faults fired."""
        return {
            "requests": dict(self.requests),
            **self.store.stats(),
            "faults_fired": self.faults.fired,
        }

    def reset(self) -> None:
        """Empty the store and the counters (faults stay)."""
        self.store.reset()
        self.requests.clear()


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"success": False, "error": {"code": status, "message": message}}, status_code=status
    )


def _ok(data: Any, status: int = 200, **extra: Any) -> JSONResponse:
    return JSONResponse({"success": True, "data": data, **extra}, status_code=status)


def _unauthorized() -> JSONResponse:
    return JSONResponse(
        {
            "success": False,
            "errors": [{"code": 10000, "message": "Authentication error"}],
            "messages": [],
            "result": None,
        },
        status_code=401,
    )


async def _json_body(request: Request) -> tuple[Any, JSONResponse | None]:
    raw = await request.body()
    if not raw.strip():
        return {}, None
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None, _error(400, "the body is not valid JSON")
    if not isinstance(body, dict):
        return None, _error(400, "the body must be a JSON object")
    return body, None


def create_app(emulator: Emulator) -> Starlette:
    """The ASGI app of one emulator."""
    store, schemas = emulator.store, emulator.schemas
    hidden = schemas.write_only()

    def _meeting_view(meeting: dict[str, Any]) -> dict[str, Any]:
        # what a client reads back: no bookkeeping, no write-only secrets
        return strip({k: v for k, v in meeting.items() if k != "app_id"}, hidden)

    def account(request: Request) -> str:
        return str(request.path_params["account_id"])

    def find(request: Request) -> dict[str, Any] | JSONResponse:
        meeting_id = str(request.path_params["meeting_id"])
        meeting = store.meeting(account(request), meeting_id)
        return meeting if meeting is not None else _error(404, f"meeting {meeting_id} not found")

    async def checked_body(request: Request, operation: str) -> dict[str, Any] | Response:
        """The request body, parsed and valid for ``operation``, or the error answer."""
        body, bad = await _json_body(request)
        if bad:
            return bad
        if errors := schemas.body_errors(operation, body):
            return _error(400, "; ".join(errors))
        return dict(body)

    async def create_meeting(request: Request) -> Response:
        body = await checked_body(request, "create_meeting")
        if isinstance(body, Response):
            return body
        meeting = store.create_meeting(account(request), request.path_params.get("app_id"), body)
        return _ok(_meeting_view(meeting), 201)

    async def get_all_meetings(request: Request) -> Response:
        q = request.query_params
        try:
            page = _number(q.get("page_no"), 1)
            size = _number(q.get("per_page"), 20)
            start, end = _when(q.get("start_time")), _when(q.get("end_time"))
        except ValueError as exc:
            return _error(400, str(exc))
        status = q.get("status")
        if status not in (None, "ACTIVE", "INACTIVE"):
            return _error(400, "status must be one of ACTIVE, INACTIVE")
        search = (q.get("search") or "").lower()
        found = [
            m
            for m in store.list_meetings(account(request))
            if (not search or search in str(m.get("title", "")).lower())
            and (status is None or m["status"] == status)
            and (start is None or _when(m["created_at"]) >= start)  # type: ignore[operator]
            and (end is None or _when(m["created_at"]) <= end)  # type: ignore[operator]
        ]
        size = max(size, 1)
        first = (max(page, 1) - 1) * size
        data = [_meeting_view(m) for m in found[first : first + size]]
        paging = {
            "total_count": len(found),
            "start_offset": first + 1 if data else len(found),
            "end_offset": first + len(data) if data else len(found),
        }
        return _ok(data, paging=paging)

    async def get_meeting(request: Request) -> Response:
        meeting = find(request)
        return meeting if isinstance(meeting, Response) else _ok(_meeting_view(meeting))

    async def write_meeting(request: Request, operation: str, replace: bool) -> Response:
        meeting = find(request)
        if isinstance(meeting, Response):
            return meeting
        body = await checked_body(request, operation)
        if isinstance(body, Response):
            return body
        return _ok(_meeting_view(store.update_meeting(meeting, body, replace=replace)))

    async def update_meeting(request: Request) -> Response:
        return await write_meeting(request, "update_meeting", replace=False)

    async def replace_meeting(request: Request) -> Response:
        return await write_meeting(request, "replace_meeting", replace=True)

    async def add_participant(request: Request) -> Response:
        meeting = find(request)
        if isinstance(meeting, Response):
            return meeting
        body = await checked_body(request, "add_participant")
        if isinstance(body, Response):
            return body
        if meeting["status"] != "ACTIVE":
            return _error(409, "the meeting is INACTIVE: participants cannot join")
        return _ok(store.add_participant(meeting["id"], body), 201)

    async def regenerate_token(request: Request) -> Response:
        meeting = find(request)
        if isinstance(meeting, Response):
            return meeting
        token = store.new_token(meeting["id"], str(request.path_params["participant_id"]))
        if token is None:
            return _error(404, "participant not found")
        return _ok({"token": token})

    def api(operation: str, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            emulator.requests[operation] += 1
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if (
                scheme.lower() != "bearer"
                or not token
                or (emulator.token is not None and token != emulator.token)
            ):
                return _unauthorized()
            if "meeting_id" in request.path_params and not _is_uuid(
                str(request.path_params["meeting_id"])
            ):
                return _error(404, "meeting not found: the id is not a UUID")
            rule = emulator.faults.pick(request.method, request.url.path, operation)
            if rule is None:
                return await handler(request)
            return await _faulty(rule, handler, request)

        return endpoint

    handlers: dict[str, tuple[str, list[str], Handler]] = {
        "get_all_meetings": ("/meetings", ["GET"], get_all_meetings),
        "create_meeting": ("/meetings", ["POST"], create_meeting),
        "get_meeting": ("/meetings/{meeting_id}", ["GET"], get_meeting),
        "update_meeting": ("/meetings/{meeting_id}", ["PATCH"], update_meeting),
        "replace_meeting": ("/meetings/{meeting_id}", ["PUT"], replace_meeting),
        "add_participant": ("/meetings/{meeting_id}/participants", ["POST"], add_participant),
        "regenerate_token": (
            "/meetings/{meeting_id}/participants/{participant_id}/token",
            ["POST"],
            regenerate_token,
        ),
    }
    routes = [
        Route(prefix + path, api(op, handler), methods=methods, name=f"{op}{i}")
        for i, prefix in enumerate((LIVE, LEGACY))
        for op, (path, methods, handler) in handlers.items()
    ]

    async def add_faults(request: Request) -> Response:
        try:
            rules = json.loads(await request.body() or b"[]")
            emulator.faults.add(rules if isinstance(rules, list) else [rules])
        except (ValueError, ValidationError) as exc:
            return _error(400, f"bad fault rules: {exc}")
        return JSONResponse({"success": True})

    async def clear_faults(request: Request) -> Response:
        emulator.faults.clear()
        return JSONResponse({"success": True})

    async def stats(request: Request) -> Response:
        return JSONResponse(emulator.stats())

    async def reset(request: Request) -> Response:
        emulator.reset()
        return JSONResponse({"success": True})

    routes += [
        Route("/__emulator/faults", add_faults, methods=["POST"]),
        Route("/__emulator/faults", clear_faults, methods=["DELETE"]),
        Route("/__emulator/stats", stats, methods=["GET"]),
        Route("/__emulator/reset", reset, methods=["POST"]),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(404, f"no route for {request.method} {request.url.path}")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _error(405, f"{request.method} is not allowed on {request.url.path}")

    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})


async def _faulty(rule: FaultRule, handler: Handler, request: Request) -> Response:
    """Answer ``request`` as ``rule`` says."""
    if rule.delay:
        await asyncio.sleep(rule.delay)
    if rule.action == "status":
        return _fault_status(rule, rule.status or 503)
    if rule.action == "large_body":
        return _Stream(_chunks(rule.size), rule.size, "application/json")
    if rule.action == "delay":
        return await handler(request)
    response = await handler(request)  # every action below processes the request first
    body = bytes(response.body)
    if rule.action == "process_then_fail":
        return (
            _Cut(body, response.status_code)
            if rule.then == "drop"
            else _fault_status(rule, rule.status or 500)
        )
    if rule.action == "malformed":
        return Response(
            body[: max(1, len(body) // 2)], response.status_code, media_type="application/json"
        )
    if rule.action == "wrong_content_type":
        return Response(body, response.status_code, media_type="text/html")
    if rule.action == "truncated":
        return _Cut(body, response.status_code)
    return StreamingResponse(
        _drip(body, rule.interval), response.status_code, media_type="application/json"
    )


def _fault_status(rule: FaultRule, status: int) -> Response:
    headers = {"Retry-After": rule.retry_after} if rule.retry_after else None
    if rule.body is not None:
        return Response(
            rule.body, status, headers=headers, media_type=rule.content_type or "text/plain"
        )
    response = _error(status, "injected fault")
    if headers:
        response.headers.update(headers)
    return response


class _Cut(Response):
    """Promise the whole body, send half, then cut the connection."""

    def __init__(self, body: bytes, status: int) -> None:
        super().__init__(body, status, media_type="application/json")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send(
            {
                "type": "http.response.body",
                "body": self.body[: len(self.body) // 2],
                "more_body": True,
            }
        )
        raise InjectedFault("connection cut on purpose")


class _Stream(StreamingResponse):
    def __init__(self, chunks: AsyncIterator[bytes], size: int, media_type: str) -> None:
        super().__init__(chunks, 200, media_type=media_type, headers={"Content-Length": str(size)})


async def _chunks(size: int) -> AsyncIterator[bytes]:
    block = b" " * 65536
    sent = 0
    while sent < size:
        piece = block[: min(len(block), size - sent)]
        sent += len(piece)
        yield piece


async def _drip(body: bytes, interval: float) -> AsyncIterator[bytes]:
    for i in range(len(body)):
        yield body[i : i + 1]
        await asyncio.sleep(interval)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _number(text: str | None, default: int) -> int:
    if text is None or text == "":
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if value < 0 or value != int(value):
        raise ValueError(f"{text!r} must be a whole number >= 0")
    return int(value)


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None  # absent; present but empty is not a date-time (no allowEmptyValue)
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date-time") from None
