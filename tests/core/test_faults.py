"""The fault matrix against a broken raw socket server: a structured result in bounded time.

Every case names the behaviour it proves; removing the handling makes it fail (each checks
the error kind, not just `ok is False`).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from rtk_task import Client
from rtk_task.retry import RetryPolicy

from ..helpers import run_cli
from ..rawserver import (
    RawServer,
    answer,
    closed_port,
    drip,
    huge,
    reset_after_request,
    silent,
    truncated,
)

FAST = RetryPolicy(initial_interval=0.01, jitter=0)
CREATE = ("realtimekit.meetings.create", {"account_id": "a", "title": "t"})
GET = ("realtimekit.meetings.get", {"account_id": "a", "meeting_id": "m"})
MEETING = json.dumps(
    {"success": True, "data": {"id": "m1", "created_at": "t", "updated_at": "t"}}
).encode()


def call(server: RawServer, task: tuple[str, dict[str, Any]], **kw: Any) -> Any:
    with Client(base_url=server.base_url, retry=kw.pop("retry", FAST), **kw) as client:
        started = time.monotonic()
        result = client.call(*task)
        return result, time.monotonic() - started


def test_502_with_an_html_page_is_an_ambiguous_create_sent_once() -> None:
    with RawServer(answer("502 Bad Gateway", b"<html>bad gateway</html>", "text/html")) as srv:
        result, _ = call(srv, CREATE)
    assert result.error.kind == "ambiguous"
    assert result.body == "<html>bad gateway</html>"
    assert len(srv.requests) == 1


def test_malformed_json_is_a_response_error() -> None:
    with RawServer(answer("201 Created", b'{"success": true, "data": {')) as srv:
        result, _ = call(srv, CREATE)
    assert result.error.kind == "response"
    assert "malformed JSON" in result.error.message


@pytest.mark.parametrize(
    "body",
    [
        b"\xef\xbb\xbf" + MEETING,
        MEETING.decode().encode("utf-16"),
        MEETING.decode().encode("utf-32"),
    ],
    ids=["utf-8 with a BOM", "utf-16", "utf-32"],
)
def test_json_in_any_encoding_json_allows_is_read(body: bytes) -> None:
    # RFC 8259 asks for UTF-8, but JSON parsers accept these and servers do send them
    with RawServer(answer("201 Created", body)) as srv:
        result, _ = call(srv, CREATE)
    assert result.ok, result.error
    assert result.outputs["meeting_id"] == "m1"


def test_a_wrong_content_type_on_success_is_a_response_error() -> None:
    with RawServer(answer("201 Created", MEETING, "text/html")) as srv:
        result, _ = call(srv, CREATE)
    assert result.error.kind == "response"
    assert "expected a JSON answer" in result.error.message


def test_a_truncated_body_on_a_create_is_ambiguous() -> None:
    with RawServer(truncated) as srv:
        result, _ = call(srv, CREATE)
    assert result.error.kind == "ambiguous"
    assert len(srv.requests) == 1


def test_a_read_timeout_on_a_create_is_ambiguous_and_sent_once() -> None:
    import httpx

    with RawServer(silent) as srv:
        result, took = call(srv, CREATE, timeout=httpx.Timeout(0.3, connect=1))
    assert result.error.kind == "ambiguous"
    assert len(srv.requests) == 1
    assert took < 2


def test_a_reset_after_sending_is_ambiguous_for_a_create() -> None:
    with RawServer(reset_after_request) as srv:
        result, _ = call(srv, CREATE)
    assert result.error.kind == "ambiguous"
    assert len(srv.requests) == 1


def test_a_reset_is_retried_for_an_idempotent_get() -> None:
    with RawServer(reset_after_request) as srv:
        result, _ = call(srv, GET)
    assert len(srv.requests) == 3
    assert result.attempts == 3


def test_a_slow_drip_stops_at_the_deadline() -> None:
    with RawServer(drip) as srv:
        result, took = call(srv, GET, retry=RetryPolicy(max_attempts=1, deadline=0.5))
    assert result.error.kind == "timeout"
    assert "deadline" in result.error.message
    assert took < 1.5, f"took {took:.2f} s"


def test_a_refused_connection_is_a_connect_error_after_retries() -> None:
    with (
        closed_port() as port,
        Client(base_url=f"http://127.0.0.1:{port}/v4", retry=FAST) as client,
    ):
        result = client.call(*CREATE)
    assert result.error is not None
    assert result.error.kind == "connect"
    assert result.attempts == 3


def test_a_100_mb_body_is_cut_at_the_cap() -> None:
    with RawServer(huge) as srv:
        result, took = call(srv, GET, max_response_bytes=1024 * 1024)
    assert result.error.kind == "response"
    assert "size cap" in result.error.hint
    assert took < 10


def test_a_redirect_to_another_host_never_gets_the_token() -> None:
    with RawServer(answer("201 Created", MEETING), host="127.0.0.2") as other:
        target = f"http://127.0.0.2:{other.port}/client/v4/accounts/a/realtimekit/meetings"
        with RawServer(
            answer("307 Temporary Redirect", b"", extra=f"Location: {target}\r\n")
        ) as first:
            result, _ = call(first, CREATE)
    assert other.requests == [], "the redirect was followed"
    assert not result.ok
    assert result.status_code == 307


@pytest.mark.parametrize(
    ("behaviour", "code"),
    [
        (
            answer(
                "503 Service Unavailable",
                b'{"success": false, "error": {"code": 503, "message": "down"}}',
            ),
            1,
        ),
        (truncated, 1),
    ],
)
def test_the_cli_exit_code_for_remote_failures(behaviour: Any, code: int, tmp_path: Any) -> None:
    with RawServer(behaviour) as srv:
        done = run_cli(
            "call",
            "realtimekit.meetings.create",
            "--with",
            "-",
            "--base-url",
            srv.base_url,
            "--json",
            stdin=json.dumps({"account_id": "a"}),
        )
    assert done.returncode == code, done.stderr
    assert json.loads(done.stdout)["ok"] is False
