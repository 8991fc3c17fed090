"""A recording HTTP server on 127.0.0.1: every request it reads is kept, parsed, and answered
by a function of the test's (one request a connection, recorded before it is answered).

Built on :class:`tests.rawserver.RawServer`; the fixtures ``server`` (one recorder answering
``ok``) and ``serve`` (start as many as a test needs) are in ``tests/core/conftest.py``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from .rawserver import RawServer

__all__ = ["Recorder", "Reply", "Seen", "ok", "parse", "reply"]

#: An answer: status, headers, body.
Reply = tuple[int, dict[str, str], bytes]


@dataclass(frozen=True, slots=True)
class Seen:
    """One request as the server read it off its socket."""

    method: str
    path: str
    #: The query string exactly as sent (still percent-encoded).
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> list[str]:
        """Every value of the header ``name`` (any case), in the order sent."""
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def params(self) -> dict[str, str]:
        """The query parameters (each given once)."""
        return {k: v[-1] for k, v in parse_qs(self.query).items()}


def parse(raw: bytes) -> Seen:
    """A raw HTTP/1.1 request as :class:`Seen`."""
    head, _, body = raw.partition(b"\r\n\r\n")
    start, *lines = head.decode("latin-1").split("\r\n")
    method, target, _ = start.split(" ", 2)
    path, _, query = target.partition("?")
    headers = tuple((k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines))
    return Seen(method, path, query, headers, body)


def reply(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    """A JSON answer."""
    return (
        status,
        {"Content-Type": "application/json", **(headers or {})},
        json.dumps(data).encode(),
    )


def ok(_: Seen) -> Reply:
    """``200 {"ok": true}``."""
    return reply({"ok": True})


class Recorder:
    """A real HTTP server on 127.0.0.1 that keeps every request and answers with ``respond``."""

    def __init__(self, respond: Callable[[Seen], Reply] = ok) -> None:
        self.respond = respond
        self._raw = RawServer(self._answer)
        self.url = f"http://127.0.0.1:{self._raw.port}"

    def _answer(self, conn: socket.socket, head: bytes) -> None:
        status, headers, body = self.respond(parse(head))
        lines = [
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
            *(f"{k}: {v}" for k, v in headers.items()),
            f"Content-Length: {len(body)}",
            "Connection: close",
        ]
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    @property
    def seen(self) -> list[Seen]:
        """Every request received so far."""
        return [parse(raw) for raw in self._raw.requests]

    @property
    def raw(self) -> bytes:
        """Every request received, as bytes, one after another."""
        return b"".join(self._raw.requests)

    def __enter__(self) -> Recorder:
        self._raw.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._raw.__exit__(*exc)
