"""The emulator's HTTP app: the whole RealtimeKit API, its control routes, and its state.

Live ``/client/v4/accounts/{account_id}/realtime/kit/{app_id}/...`` and legacy
``/client/v4/accounts/{account_id}/realtimekit/...`` share one store per account; the app
routes ``/accounts/{account_id}/realtime/kit/apps[/{app_id}]`` exist only live. Every API
request needs ``Authorization: Bearer <token>`` (the configured one, or any when none is);
the rest of the request's life is in :mod:`rtk_task.emulator.routes`. Success:
``{"success": true, "data": ...}`` with the document's status (201 for most creates); errors:
``{"success": false, "error": {"code": <status>, "message": "..."}}``; authentication
failures use Cloudflare's common ``errors[]`` envelope.

Control routes need no token (the emulator binds to loopback):

- ``POST /__emulator/faults`` (rules), ``DELETE /__emulator/faults`` (all);
- ``GET /__emulator/stats``: requests per operation, records per table, ``webhooks``
  (``delivered``, ``failed``, and the last 100 ``undelivered`` calls as ``{"url", "event",
  "reason"}``: calls to URLs off loopback are never attempted), faults fired, 429s;
- ``POST /__emulator/reset``;
- ``POST /__emulator/clock`` ``{"advance": SECONDS}`` moves the clock (recordings move on);
- ``POST /__emulator/join`` ``{"account_id", "meeting_id", "participant_id"}`` makes a
  participant of the meeting join its live session (the first join starts the session);
- ``POST /__emulator/leave`` (same body) and ``POST /__emulator/chat``
  ``{"account_id", "meeting_id", "participant_id", "message"}``;
- ``POST /__emulator/seed`` (a seed document, see :mod:`rtk_task.emulator.seed`);
- ``POST /__emulator/rate-limit`` ``{"limit": "100/1s"}`` (``null`` lifts it): answer 429
  past N requests per window per token and account (:mod:`rtk_task.emulator.ratelimit`).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..limits import MAX_DEPTH, nesting_path, refuse_constant
from ..manifests.openapi import OpenAPIDocument
from ..manifests.registry import sources_dir
from . import live
from .clock import Clock
from .faults import FaultPlan, FaultRule
from .hooks import Hooks
from .ratelimit import RateLimiter, parse_limit
from .routes import api_routes
from .routes.base import Refused, error_body
from .seed import load_seed
from .shapes import Shapes
from .store import Store
from .validate import Schemas, load_schemas

__all__ = ["Emulator", "InjectedFault", "create_app"]

Handler = Callable[[Request], Awaitable[Response]]


class InjectedFault(Exception):
    """Raised on purpose to cut a connection mid-answer (a fault, not a bug)."""


class Emulator:
    """The emulator's state: document, store, clock, webhooks, faults, counters, token.

    ``recording_delays`` is (seconds from INVOKED to RECORDING, seconds from UPLOADING to
    UPLOADED); move the clock with ``clock.advance`` instead of waiting. ``rate_limit``
    (``"250/10s"``; default ``$RTK_EMULATOR_RATE_LIMIT``, else none) answers 429 past it.
    """

    def __init__(
        self,
        token: str | None = None,
        faults: list[FaultRule] | None = None,
        *,
        recording_delays: tuple[float, float] = (1.0, 2.0),
        seed: dict[str, Any] | None = None,
        rate_limit: str | tuple[int, float] | None = None,
    ) -> None:
        self.token = token
        self.clock = Clock()
        self.limiter: RateLimiter | None = None
        self.set_rate_limit(rate_limit or os.environ.get("RTK_EMULATOR_RATE_LIMIT") or None)
        self.store = Store(self.clock)
        self.hooks = Hooks()
        self.faults = FaultPlan(faults)
        self.requests: Counter[str] = Counter()
        self.recording_delays = recording_delays
        self.doc = OpenAPIDocument.load(sources_dir() / "realtimekit.openapi.json")
        self.schemas: Schemas = load_schemas(self.doc)
        self.shapes = Shapes(self.doc)
        self.hidden = self.schemas.write_only()
        if seed:
            load_seed(self.store, seed)

    def set_rate_limit(self, limit: str | tuple[int, float] | None) -> None:
        """Enforce ``limit`` (``"100/1s"`` or ``(100, 1.0)``) from now on; ``None`` lifts it."""
        if limit is None:
            self.limiter = None
            return
        requests, per = parse_limit(limit) if isinstance(limit, str) else limit
        self.limiter = RateLimiter(requests, per, self.clock.now)

    def tick(self) -> None:
        """Apply what the clock says has happened by now (recordings moving on)."""
        live.tick(self)

    def stats(self) -> dict[str, Any]:
        """Requests received per operation, records per table, webhooks and faults fired."""
        return {
            "requests": dict(self.requests),
            **self.store.stats(),
            "webhooks": self.hooks.stats(),
            "faults_fired": self.faults.fired,
            "rate_limited": self.limiter.refused if self.limiter else 0,
            # under a limit: the accepted requests, and the first's and last's arrival, to
            # read how much of the limit a client used
            "rate_accepted": (
                {"count": lim.accepted, "first": lim.first, "last": lim.last}
                if (lim := self.limiter)
                else None
            ),
        }

    def reset(self) -> None:
        """Empty the store and the counters, webhook deliveries' too (faults stay)."""
        self.store.reset()
        self.requests.clear()
        self.hooks.clear()


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


def _control_json(content: bytes) -> Any:
    """A control request's JSON; ``ValueError`` for NaN, deep nesting or broken JSON."""
    try:
        value = json.loads(content, parse_constant=refuse_constant)
    except RecursionError:
        value = None
    if value is None or nesting_path(value) is not None:
        raise ValueError(f"not JSON, or nested deeper than {MAX_DEPTH} levels")
    return value


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(error_body(status, message), status_code=status)


def create_app(emulator: Emulator) -> Starlette:
    """The ASGI app of one emulator."""

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
            limiter = emulator.limiter
            if limiter is None:
                return await _answer(emulator, handler, request, operation)
            verdict = limiter.count(f"{token}|{request.path_params.get('account_id', '-')}")
            headers = verdict.headers(limiter.requests, limiter.per)
            if not verdict.allowed:
                response: Response = _error(429, "Rate limit exceeded")
            else:
                response = await _answer(emulator, handler, request, operation)
            response.headers.update(headers)
            return response

        return endpoint

    routes = api_routes(emulator, api)

    async def add_faults(request: Request) -> Response:
        try:
            rules = _control_json(await request.body() or b"[]")
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

    def control(action: Callable[[dict[str, Any]], Any]) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                body = _control_json(await request.body() or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("the body must be a JSON object")
                result = action(body)
            except Refused as refused:
                return _error(refused.status, refused.message)
            except (ValueError, KeyError, TypeError) as exc:
                return _error(400, f"bad control request: {exc!r}")
            return JSONResponse({"success": True, "data": result})

        return endpoint

    def advance(body: dict[str, Any]) -> Any:
        emulator.clock.advance(float(body["advance"]))
        emulator.tick()
        return emulator.clock.stamp()

    async def files(request: Request) -> Response:
        from .routes.sessions import session_file

        p = request.path_params
        session = emulator.store.get(str(p["account_id"]), "sessions", str(p["session_id"]))
        text = session_file(session, str(p["name"])) if session else None
        if text is None:
            return _error(404, "no such file")
        kind = "text/csv" if str(p["name"]).endswith(".csv") else "text/plain"
        return Response(text, media_type=kind)

    def rate_limit(body: dict[str, Any]) -> Any:
        emulator.set_rate_limit(body.get("limit"))
        return body.get("limit")

    routes += [
        Route("/__emulator/rate-limit", control(rate_limit), methods=["POST"]),
        Route("/__emulator/files/{account_id}/{session_id}/{name}", files, methods=["GET"]),
        Route("/__emulator/faults", add_faults, methods=["POST"]),
        Route("/__emulator/faults", clear_faults, methods=["DELETE"]),
        Route("/__emulator/stats", stats, methods=["GET"]),
        Route("/__emulator/reset", reset, methods=["POST"]),
        Route("/__emulator/clock", control(advance), methods=["POST"]),
        Route("/__emulator/join", control(lambda b: live.join(emulator, **b)), methods=["POST"]),
        Route("/__emulator/leave", control(lambda b: live.leave(emulator, **b)), methods=["POST"]),
        Route("/__emulator/chat", control(lambda b: live.chat(emulator, **b)), methods=["POST"]),
        Route(
            "/__emulator/seed",
            control(lambda b: load_seed(emulator.store, b)),
            methods=["POST"],
        ),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return _error(404, f"no route for {request.method} {request.url.path}")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _error(405, f"{request.method} is not allowed on {request.url.path}")

    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})


async def _answer(
    emulator: Emulator, handler: Handler, request: Request, operation: str
) -> Response:
    rule = emulator.faults.pick(request.method, request.url.path, operation)
    if rule is None:
        return await handler(request)
    return await _faulty(rule, handler, request)


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
