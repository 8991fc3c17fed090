"""Headers a step may set: never the ones that frame the message, never non-ASCII, never the
auth header; every problem is an InputError with the field path, and nothing is sent."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from rtk_task import Client, InputError
from rtk_task.inputs import FRAMING_HEADERS
from rtk_task.manifests.registry import load_task
from rtk_task.request import build_request

CREATE = load_task("realtimekit.meetings.create")


def _build(headers: dict[str, Any]) -> None:
    build_request(
        CREATE,
        {"account_id": "acc", "title": "t", "headers": headers},
        base_url="http://127.0.0.1:9/client/v4",
        token=None,
    )


@pytest.mark.parametrize("name", sorted(FRAMING_HEADERS))
@pytest.mark.parametrize("spelling", [str.lower, str.title, str.upper])
def test_a_framing_or_hop_by_hop_header_is_refused(name: str, spelling: Any) -> None:
    with pytest.raises(InputError) as caught:
        _build({spelling(name): "0"})
    assert caught.value.first.where == f"headers.{spelling(name)}"
    assert "frames the request" in caught.value.first.message


def test_the_smuggling_shape_is_refused_with_both_problems() -> None:
    with pytest.raises(InputError) as caught:
        _build({"Transfer-Encoding": "chunked", "Content-Length": "0"})
    assert {p.where for p in caught.value.problems} == {
        "headers.Transfer-Encoding",
        "headers.Content-Length",
    }


def test_a_non_ascii_value_is_a_validation_error_not_an_encoding_crash() -> None:
    with pytest.raises(InputError) as caught:
        _build({"X-Team": "Équipe"})
    assert caught.value.first.where == "headers.X-Team"


def test_the_auth_header_is_refused_whatever_its_case() -> None:
    with pytest.raises(InputError) as caught:
        _build({"AUTHORIZATION": "Bearer x"})
    assert CREATE.auth.env in caught.value.first.hint


def test_a_call_with_content_length_zero_sends_nothing_and_returns_a_result() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(201, json={"success": True, "data": {"id": "m"}})

    with Client(
        base_url="http://127.0.0.1:9/client/v4", transport=httpx.MockTransport(handler)
    ) as c:
        result = c.call(
            CREATE, {"account_id": "acc", "title": "t", "headers": {"Content-Length": "0"}}
        )
    assert sent == []
    assert result.error is not None
    assert result.error.kind == "validation"
    assert result.error.field_path == "headers.Content-Length"
