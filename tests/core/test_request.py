"""Building requests: pure, path-safe, header-safe, host never from inputs."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from rtk_task.errors import InputError, RtkError
from rtk_task.manifests.registry import load_task
from rtk_task.request import build_request, resolve_base_url
from rtk_task.secrets import Redactor

BASE = "http://127.0.0.1:8787/client/v4"
CREATE = load_task("realtimekit.meetings.create")
GET = load_task("realtimekit.meetings.get")
LIST = load_task("realtimekit.meetings.list")


def test_legacy_path_without_app_id_and_live_path_with_it() -> None:
    legacy = build_request(CREATE, {"account_id": "acc"}, base_url=BASE, token=None)
    live = build_request(CREATE, {"account_id": "acc", "app_id": "app"}, base_url=BASE, token=None)
    assert legacy.url == f"{BASE}/accounts/acc/realtimekit/meetings"
    assert live.url == f"{BASE}/accounts/acc/realtime/kit/app/meetings"


@pytest.mark.parametrize(
    ("value", "segment"),
    [
        ("a/b", "a%2Fb"),
        ("x?y=1", "x%3Fy%3D1"),
        ("x#frag", "x%23frag"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("../../admin", "..%2F..%2Fadmin"),
        ("ü space", "%C3%BC%20space"),
    ],
)
def test_path_parameters_cannot_change_the_path(value: str, segment: str) -> None:
    req = build_request(GET, {"account_id": "acc", "meeting_id": value}, base_url=BASE, token=None)
    assert req.url == f"{BASE}/accounts/acc/realtimekit/meetings/{segment}"
    # httpx keeps the encoded segment: nothing normalises it back into path syntax
    assert req.to_httpx().url.raw_path.decode().endswith(f"/meetings/{segment}")


def test_query_parameters_are_encoded() -> None:
    req = build_request(
        LIST, {"account_id": "a", "per_page": 20, "search": "a&b=c"}, base_url=BASE, token=None
    )
    assert req.url.endswith("/meetings?per_page=20&search=a%26b%3Dc")


def test_body_is_exactly_what_was_set_with_unicode_and_quotes_intact() -> None:
    title = 'He said "hi"\n{{ 7*7 }} ü ☃'
    req = build_request(CREATE, {"account_id": "a", "title": title}, base_url=BASE, token=None)
    assert isinstance(req.body, bytes)
    assert json.loads(req.body) == {"title": title}
    assert dict(req.headers)["Content-Type"] == "application/json"


@pytest.mark.parametrize("value", ["a\r\nX-Evil: 1", "a\nb", "a\rb"])
def test_header_values_with_cr_or_lf_are_refused(value: str) -> None:
    with pytest.raises(InputError, match="CR, LF"):
        build_request(
            CREATE, {"account_id": "a", "headers": {"X-Trace": value}}, base_url=BASE, token=None
        )


def test_authorization_cannot_come_from_inputs() -> None:
    with pytest.raises(InputError, match="auth"):
        build_request(
            CREATE,
            {"account_id": "a", "headers": {"Authorization": "Bearer x"}},
            base_url=BASE,
            token=None,
        )


def test_the_token_is_only_in_the_httpx_request_never_in_shown_forms() -> None:
    token = "tok-canary-9f2c"
    req = build_request(CREATE, {"account_id": "a"}, base_url=BASE, token=SecretStr(token))
    assert req.to_httpx().headers["Authorization"] == f"Bearer {token}"
    redactor = Redactor([token])
    for text in (repr(req), str(req.info(redactor)), req.curl(redactor)):
        assert token not in text
    assert "$CLOUDFLARE_API_TOKEN" in req.curl(redactor)


def test_base_url_comes_from_override_env_or_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RTK_BASE_URL", raising=False)
    assert resolve_base_url(CREATE) == "https://api.cloudflare.com/client/v4"
    monkeypatch.setenv("RTK_BASE_URL", "http://127.0.0.1:1/v4/")
    assert resolve_base_url(CREATE) == "http://127.0.0.1:1/v4"
    assert resolve_base_url(CREATE, BASE) == BASE
    with pytest.raises(RtkError, match="http"):
        resolve_base_url(CREATE, "ftp://example")


def test_missing_path_parameter_is_reported() -> None:
    with pytest.raises(InputError, match="meeting_id"):
        build_request(GET, {"account_id": "a"}, base_url=BASE, token=None)


def _header_set(request: httpx.Request) -> list[tuple[str, str]]:
    return sorted(request.headers.multi_items())


@pytest.mark.parametrize(
    ("manifest", "inputs"),
    [
        (CREATE, {"account_id": "acc", "title": "Sync ü"}),
        (CREATE, {"account_id": "acc"}),  # a POST with no body fields
        (GET, {"account_id": "acc", "meeting_id": "m"}),  # a GET: no body, no length
        (LIST, {"account_id": "acc", "per_page": 5, "headers": {"X-Trace": "t"}}),
    ],
)
def test_the_httpx_request_is_what_httpx_builds_from_content(
    manifest: Any, inputs: dict[str, Any]
) -> None:
    """Built from bytes and a parsed URL, the request equals httpx's own ``content=`` build."""
    req = build_request(manifest, inputs, base_url=BASE, token=SecretStr("tok-1234"))
    ours = req.to_httpx()
    headers = [*req.headers, ("Authorization", "Bearer tok-1234")]
    assert req.body is None or isinstance(req.body, bytes)  # no files: no Segments
    theirs = httpx.Request(req.method, req.url, headers=headers, content=req.body)
    assert (ours.method, ours.url) == (theirs.method, theirs.url)
    assert _header_set(ours) == _header_set(theirs)
    assert ours.content == theirs.content  # readable at once, as event hooks expect
    assert [k for k, _ in ours.headers.multi_items()].count("host") == 1


def test_a_url_sent_again_is_not_parsed_again() -> None:
    from rtk_task.request import _parsed_url

    one = build_request(GET, {"account_id": "a", "meeting_id": "m"}, base_url=BASE, token=None)
    other = build_request(GET, {"account_id": "a", "meeting_id": "n"}, base_url=BASE, token=None)
    one.to_httpx()
    before = _parsed_url.cache_info()
    assert str(one.to_httpx().url) == one.url
    assert str(other.to_httpx().url).endswith("/meetings/n")
    after = _parsed_url.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == (1, 1)
