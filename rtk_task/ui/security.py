"""The playground's guards: loopback only, the bound ``Host``, same origin and a CSRF token.

An ASGI middleware in front of the whole app. It answers 403 to any request whose ``Host`` is
not the loopback address and port the server was bound to (a DNS-rebinding page sends its own
host name), and to any ``/api/`` request that could change something (every method but GET,
HEAD, OPTIONS) unless its ``Origin`` is the app's own and its ``X-CSRF-Token`` header is this
session's token. The token is random per server start and handed out only by
``GET /api/session``, which a foreign page cannot read (no CORS headers are ever sent).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import ConfigError, Problem

__all__ = ["CSRF_HEADER", "Guard", "check_loopback", "new_csrf_token"]

#: The request header that carries the session's CSRF token.
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def new_csrf_token() -> str:
    """A fresh random token for one server session."""
    return secrets.token_urlsafe(32)


def check_loopback(host: str) -> None:
    """Raise :class:`ConfigError` unless ``host`` is a loopback address (the only binding)."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(
            Problem(f"--host {host}", "the playground serves loopback only", "use 127.0.0.1")
        )


class Guard:
    """ASGI middleware enforcing the ``Host``, ``Origin`` and CSRF rules described above."""

    def __init__(self, app: ASGIApp, *, host: str, port: int, csrf_token: str) -> None:
        self.app = app
        bracketed = f"[{host}]" if ":" in host else host
        self.host = f"{bracketed}:{port}"
        self.origin = f"http://{self.host}"
        self.csrf_token = csrf_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, or answer 403 saying which rule it broke."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        why = self._refusal(scope, headers)
        if why is not None:
            await _forbidden(send, why)
            return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> str | None:
        if headers.get("host") != self.host:
            return f"Host must be {self.host}"
        if not str(scope["path"]).startswith("/api/") or scope["method"] in _SAFE_METHODS:
            return None
        if headers.get("origin") != self.origin:
            return "cross-origin request refused"
        given = headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.csrf_token.encode()):
            return "missing or wrong CSRF token: reload the page"
        return None


async def _forbidden(send: Send, why: str) -> None:
    body = json.dumps({"error": {"kind": "config", "message": why}}).encode()
    start: dict[str, Any] = {
        "type": "http.response.start",
        "status": 403,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body})
