"""Retries: never a duplicate create, Retry-After honoured and capped, deadlines."""

from __future__ import annotations

import time
from collections.abc import Callable
from email.utils import formatdate
from typing import Any, cast

import httpx
import pytest

from rtk_task import Client
from rtk_task.retry import RetryPolicy, retry_after_seconds

BASE = "http://127.0.0.1:1/v4"
FAST = RetryPolicy(initial_interval=0.01, jitter=0, max_attempts=3)
CREATE = ("realtimekit.meetings.create", {"account_id": "a", "title": "t"})
GET = ("realtimekit.meetings.get", {"account_id": "a", "meeting_id": "m"})
OK_BODY = {"success": True, "data": {"id": "m1", "created_at": "t", "updated_at": "t"}}


def script(*steps: Any) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    """A handler answering from ``steps`` in order: a status, (status, headers) or an exception."""
    seen: list[httpx.Request] = []
    queue = list(steps)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(step, type) and issubclass(step, Exception):
            raise cast("type[httpx.RequestError]", step)("injected", request=request)
        status, headers = step if isinstance(step, tuple) else (step, {})
        body = (
            OK_BODY
            if status < 300
            else {"success": False, "error": {"code": status, "message": "injected"}}
        )
        return httpx.Response(status, json=body, headers=headers)

    return handler, seen


def call(task: tuple[str, dict[str, Any]], *steps: Any, policy: RetryPolicy = FAST) -> Any:
    handler, seen = script(*steps)
    client = Client(
        base_url=BASE, token="tok-retry-1", transport=httpx.MockTransport(handler), retry=policy
    )
    return client.call(*task), seen


def test_429_with_retry_after_one_second_then_201() -> None:
    started = time.monotonic()
    result, seen = call(CREATE, (429, {"Retry-After": "1"}), 201)
    waited = time.monotonic() - started
    assert result.ok
    assert result.attempts == 2
    assert len(seen) == 2
    assert waited >= 1.0, f"waited only {waited:.3f} s"


def test_retry_after_as_an_http_date_is_honoured() -> None:
    assert 0 < (retry_after_seconds(formatdate(time.time() + 30, usegmt=True)) or 0) <= 31
    result, seen = call(CREATE, (429, {"Retry-After": formatdate(time.time(), usegmt=True)}), 201)
    assert result.ok
    assert len(seen) == 2


def test_a_retry_after_past_the_cap_fails_at_once_with_a_clear_error() -> None:
    result, seen = call(CREATE, (429, {"Retry-After": "3600"}), 201)
    assert not result.ok
    assert len(seen) == 1
    assert "max_retry_after" in result.error.message


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_create_answered_5xx_is_ambiguous_and_sent_once(status: int) -> None:
    result, seen = call(CREATE, status, 201)
    assert len(seen) == 1, "a create was sent twice"
    assert result.error.kind == "ambiguous"
    assert "list meetings" in result.error.hint


@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError])
def test_a_create_that_may_have_reached_the_server_is_not_resent(exc: type[Exception]) -> None:
    result, seen = call(CREATE, exc, 201)
    assert len(seen) == 1
    assert result.error.kind == "ambiguous"


def test_a_refused_connection_is_retried_even_for_a_create() -> None:
    result, seen = call(CREATE, httpx.ConnectError, httpx.ConnectError, 201)
    assert result.ok
    assert result.attempts == 3
    assert len(seen) == 3


@pytest.mark.parametrize("failure", [502, 503, 504, httpx.ReadTimeout])
def test_idempotent_calls_are_retried_after_ambiguous_failures(failure: Any) -> None:
    result, seen = call(GET, failure, 200)
    assert result.ok
    assert len(seen) == 2


def test_attempts_stop_at_max_attempts() -> None:
    result, seen = call(GET, 503, policy=FAST.model_copy(update={"max_attempts": 4}))
    assert len(seen) == 4
    assert result.attempts == 4
    assert "gave up after 4 attempts" in result.error.message


def test_the_deadline_stops_retrying() -> None:
    policy = RetryPolicy(initial_interval=0.2, jitter=0, max_attempts=10, deadline=0.5)
    started = time.monotonic()
    result, seen = call(GET, 503, policy=policy)
    assert time.monotonic() - started < 1.0
    assert 1 < len(seen) < 10
    assert "deadline" in result.error.message


def test_jittered_waits_never_sleep_past_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    # the wait the deadline check saw is the wait slept: jitter is drawn once per attempt
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)  # the sync driver sleeps through time.sleep
    policy = RetryPolicy(initial_interval=0.001, jitter=1.0, max_attempts=30, deadline=0.5)
    for _ in range(20):
        result, _ = call(GET, 503, policy=policy)
        assert "deadline" in result.error.message
    assert slept
    assert max(slept) <= 0.5


def test_retries_leave_the_global_random_state_alone() -> None:
    import random

    state = random.getstate()
    result, seen = call(GET, 503, 503, 200, policy=FAST.model_copy(update={"jitter": 0.01}))
    assert result.ok
    assert len(seen) == 3
    assert random.getstate() == state


def test_4xx_other_than_429_is_never_retried() -> None:
    result, seen = call(GET, 404, 200)
    assert len(seen) == 1
    assert result.error.kind == "http"


def test_a_step_retry_policy_reaches_the_client() -> None:
    from rtk_task.workflows.model import parse_workflow
    from rtk_task.workflows.runner import run_workflow

    handler, seen = script(503, 503, 503, 200)
    wf = parse_workflow(
        "name: r\nsteps:\n  - id: get\n    task: realtimekit.meetings.get\n"
        "    retry: {max_attempts: 2, initial_interval: 0.01, jitter: 0}\n"
        "    with: {account_id: a, meeting_id: m}\n",
        "wf.yaml",
    )
    result = run_workflow(
        wf, {}, base_url=BASE, token="tok-retry-1", transport=httpx.MockTransport(handler)
    )
    assert len(seen) == 2
    assert result.steps["get"].attempts == 2
