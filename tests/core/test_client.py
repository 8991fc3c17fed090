"""Clients over httpx.MockTransport: results, envelopes, outputs, masking, no bad sends."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from rtk_task import AsyncClient, Client, TaskResult
from rtk_task.errors import InputError, RemoteError

BASE = "http://127.0.0.1:8787/client/v4"
TOKEN = "tok-canary-7d1e5"


def meeting(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "0b1c",
        "created_at": "2026-11-24T00:00:00Z",
        "updated_at": "x",
        "status": "ACTIVE",
        **body,
    }


class Recorder:
    def __init__(self, respond: Callable[[httpx.Request], httpx.Response]) -> None:
        self.requests: list[httpx.Request] = []
        self.respond = respond

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.respond(request)


def created(request: httpx.Request) -> httpx.Response:
    return httpx.Response(
        201, json={"success": True, "data": meeting(json.loads(request.content or b"{}"))}
    )


def client_for(recorder: Recorder, **kw: Any) -> Client:
    return Client(base_url=BASE, token=TOKEN, transport=httpx.MockTransport(recorder), **kw)


def test_create_returns_ok_result_with_declared_outputs() -> None:
    rec = Recorder(created)
    with client_for(rec) as client:
        result = client.call("realtimekit.meetings.create", {"account_id": "acc", "title": "T"})
    assert result.ok, result.error
    assert result.status_code == 201
    assert result.outputs["meeting_id"] == "0b1c"
    assert result.outputs["title"] == "T"
    assert result.attempts == 1
    assert len(rec.requests) == 1
    assert rec.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    dumped = result.model_dump_json()
    assert TOKEN not in dumped
    assert json.loads(dumped)["request"]["headers"]["Authorization"] == "Bearer ***"


@pytest.mark.parametrize(
    "inputs",
    [
        {"account_id": "a", "ai_config": {"summarization": {"summary_type": "weekly"}}},
        {"account_id": "a", "titel": "x"},
        {"title": "no account"},
        {"account_id": "a", "session_keep_alive_time_in_secs": 5},
    ],
)
def test_bad_inputs_are_never_sent(inputs: dict[str, Any]) -> None:
    rec = Recorder(created)
    result = client_for(rec).call("realtimekit.meetings.create", inputs)
    assert not result.ok
    assert result.error is not None
    assert result.error.kind == "validation"
    assert not result.sent
    assert rec.requests == [], "a request that failed validation reached the transport"
    with pytest.raises(InputError) as raised:  # the kind's own class, not the root
        result.raise_for_error()
    assert raised.value.kind == "validation"
    assert raised.value.first.where == result.error.field_path


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            400,
            {"success": False, "error": {"code": 400, "message": "title too long"}},
            "title too long",
        ),
        (
            401,
            {
                "success": False,
                "errors": [{"code": 10000, "message": "Authentication error"}],
                "messages": [],
                "result": None,
            },
            "Authentication error",
        ),
        (500, {"success": False, "error": {"code": 500, "message": "boom"}}, "boom"),
    ],
)
def test_error_envelopes_are_parsed(status: int, body: dict[str, Any], message: str) -> None:
    rec = Recorder(lambda r: httpx.Response(status, json=body))
    result = client_for(rec).call(
        "realtimekit.meetings.get", {"account_id": "a", "meeting_id": "m"}
    )
    assert not result.ok
    assert result.error is not None
    assert result.error.kind == "http"
    assert result.error.status_code == status
    assert message in result.error.message
    assert result.error.api_errors
    assert result.error.api_errors[0]["message"] == message
    with pytest.raises(RemoteError):
        result.raise_for_error()


def test_malformed_json_is_a_response_error() -> None:
    rec = Recorder(
        lambda r: httpx.Response(
            201,
            content=b'{"success": true, "data": {',
            headers={"content-type": "application/json"},
        )
    )
    result = client_for(rec).call("realtimekit.meetings.create", {"account_id": "a"})
    assert not result.ok
    assert result.error is not None
    assert result.error.kind == "response"


def test_text_responses_are_kept_as_text() -> None:
    rec = Recorder(
        lambda r: httpx.Response(
            502, text="<html>bad gateway</html>", headers={"content-type": "text/html"}
        )
    )
    result = client_for(rec).call(
        "realtimekit.meetings.get", {"account_id": "a", "meeting_id": "m"}
    )
    assert result.body == "<html>bad gateway</html>"
    assert result.error is not None
    assert result.error.status_code == 502


def test_response_size_cap_stops_reading() -> None:
    big = b"x" * 5000
    rec = Recorder(lambda r: httpx.Response(200, content=big))
    result = client_for(rec, max_response_bytes=1000).call(
        "realtimekit.meetings.get", {"account_id": "a", "meeting_id": "m"}
    )
    assert not result.ok
    assert result.error is not None
    assert "size cap" in (result.error.hint or "")


def test_a_read_timeout_on_create_is_ambiguous_and_not_resent() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    rec = Recorder(slow)
    result = client_for(rec).call("realtimekit.meetings.create", {"account_id": "a"})
    assert result.error is not None
    assert result.error.kind == "ambiguous"
    assert "list meetings" in (result.error.hint or "")
    assert len(rec.requests) == 1


def test_a_read_timeout_on_get_is_a_timeout() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    result = client_for(Recorder(slow)).call(
        "realtimekit.meetings.get", {"account_id": "a", "meeting_id": "m"}
    )
    assert result.error is not None
    assert result.error.kind == "timeout"


def test_secrets_echoed_by_the_server_are_masked() -> None:
    rec = Recorder(
        lambda r: httpx.Response(
            201, json={"success": True, "data": meeting({"title": f"echo {TOKEN}"})}
        )
    )
    result = client_for(rec).call("realtimekit.meetings.create", {"account_id": "a", "title": "x"})
    assert TOKEN not in result.model_dump_json()
    assert result.outputs["title"] == "echo ***"


def test_no_token_is_a_config_error_and_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    rec = Recorder(created)
    client = Client(base_url=BASE, transport=httpx.MockTransport(rec))
    result = client.call("realtimekit.meetings.create", {"account_id": "a"})
    assert result.error is not None
    assert result.error.kind == "config"
    assert rec.requests == []


def test_the_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN)
    rec = Recorder(created)
    client = Client(base_url=BASE, transport=httpx.MockTransport(rec))
    assert client.call("realtimekit.meetings.create", {"account_id": "a"}).ok
    assert TOKEN not in repr(client)


def test_a_passed_http_client_is_used_and_not_closed() -> None:
    rec = Recorder(created)
    http = httpx.Client(transport=httpx.MockTransport(rec))
    with Client(base_url=BASE, token=TOKEN, http_client=http) as client:
        assert client.call("realtimekit.meetings.create", {"account_id": "a"}).ok
    assert not http.is_closed
    http.close()


def test_result_dumps_to_plain_json() -> None:
    result = client_for(Recorder(created)).call("realtimekit.meetings.create", {"account_id": "a"})
    again = TaskResult.model_validate_json(result.model_dump_json())
    assert again == result


async def _async_create(rec: Recorder) -> TaskResult:
    async with AsyncClient(
        base_url=BASE, token=TOKEN, transport=httpx.MockTransport(rec)
    ) as client:
        return await client.call("realtimekit.meetings.create", {"account_id": "a", "title": "A"})


def test_async_client_gives_the_same_result() -> None:
    import asyncio

    rec = Recorder(created)
    result = asyncio.run(_async_create(rec))
    assert result.ok
    assert result.outputs["meeting_id"] == "0b1c"
    assert len(rec.requests) == 1


def test_results_built_without_validation_equal_validated_ones() -> None:
    """The per-call path builds results without re-validating; they must be the same models."""
    result = client_for(Recorder(created)).call("realtimekit.meetings.create", {"account_id": "a"})
    again = TaskResult.model_validate(result.model_dump())
    assert again == result
    assert again.model_dump_json() == result.model_dump_json()
    assert result.model_fields_set >= {"ok", "request", "outputs"}
