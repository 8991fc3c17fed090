"""Fault injection: each action does what it says, and the client sees it as it should."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rtk_task import Client
from rtk_task.emulator import EmulatorServer
from rtk_task.retry import RetryPolicy

TOKEN = "emu-token-2"
CREATE = ("realtimekit.meetings.create", {"account_id": "acc", "title": "t"})
FAST = RetryPolicy(initial_interval=0.01, jitter=0)


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(port=0, token=TOKEN) as srv:
        yield srv


def call(server: EmulatorServer, **kw: Any) -> Any:
    with Client(base_url=server.base_url, token=TOKEN, retry=kw.pop("retry", FAST), **kw) as client:
        return client.call(*CREATE)


def test_429_with_retry_after_then_success(server: EmulatorServer) -> None:
    server.add_faults({"action": "status", "status": 429, "retry_after": "1"})
    started = time.monotonic()
    result = call(server)
    assert result.ok
    assert result.attempts == 2
    assert time.monotonic() - started >= 1
    assert server.stats()["meetings_total"] == 1


def test_faults_over_http_and_at_start_up() -> None:
    with EmulatorServer(port=0, token=TOKEN, faults=[{"action": "status", "status": 503}]) as srv:
        assert call(srv).error.kind == "ambiguous"
        control = srv.base_url.replace("/client/v4", "/__emulator/faults")
        assert (
            httpx.post(control, json=[{"action": "status", "status": 500, "times": 2}]).status_code
            == 200
        )
        assert call(srv).error.status_code == 500
        assert httpx.delete(control).status_code == 200
        assert call(srv).ok
        assert httpx.post(control, json=[{"action": "nope"}]).status_code == 400


def test_502_html_page(server: EmulatorServer) -> None:
    server.add_faults(
        {"action": "status", "status": 502, "body": "<html>bad</html>", "content_type": "text/html"}
    )
    result = call(server)
    assert result.body == "<html>bad</html>"
    assert server.stats()["meetings_total"] == 0


def test_delay_and_timeouts(server: EmulatorServer) -> None:
    server.add_faults({"action": "delay", "delay": 0.5})
    result = call(server, timeout=httpx.Timeout(0.2, connect=1))
    assert result.error.kind == "ambiguous"
    assert server.stats()["requests"]["create_meeting"] == 1


@pytest.mark.parametrize(
    ("action", "kind"),
    [("malformed", "response"), ("wrong_content_type", "response"), ("truncated", "ambiguous")],
)
def test_processed_then_broken_answers(server: EmulatorServer, action: str, kind: str) -> None:
    server.add_faults({"action": action})
    result = call(server)
    assert result.error.kind == kind
    assert server.stats()["meetings_total"] == 1, "the request was processed"


@pytest.mark.parametrize("then", ["status", "drop"])
def test_process_then_fail_stores_the_meeting(server: EmulatorServer, then: str) -> None:
    server.add_faults({"action": "process_then_fail", "then": then})
    result = call(server)
    assert result.error.kind == "ambiguous"
    assert server.stats()["meetings_total"] == 1
    assert server.stats()["requests"]["create_meeting"] == 1, "an ambiguous create was resent"


def test_drip_is_cut_by_the_deadline(server: EmulatorServer) -> None:
    server.add_faults({"action": "drip", "interval": 0.05})
    started = time.monotonic()
    result = call(server, retry=RetryPolicy(max_attempts=1, deadline=0.5))
    assert time.monotonic() - started < 2
    assert "deadline" in result.error.message


def test_large_body_is_capped(server: EmulatorServer) -> None:
    server.add_faults({"action": "large_body", "size": 20 * 1024 * 1024})
    result = call(server, max_response_bytes=1024 * 1024)
    assert "size cap" in result.error.hint


def test_random_faults_with_a_seed_are_reproducible() -> None:
    def pattern() -> list[int]:
        rule = {"action": "status", "status": 503, "probability": 0.5, "seed": 11, "times": None}
        with (
            EmulatorServer(port=0, token=TOKEN, faults=[rule]) as srv,
            httpx.Client(
                base_url=srv.base_url, headers={"Authorization": f"Bearer {TOKEN}"}
            ) as http,
        ):
            return [http.get("/accounts/a/realtimekit/meetings").status_code for _ in range(30)]

    first = pattern()
    assert first == pattern()
    assert {200, 503} == set(first)
