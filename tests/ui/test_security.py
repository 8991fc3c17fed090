"""The playground's guards over plain HTTP: Host, Origin and CSRF; the token never sent."""

from __future__ import annotations

from pathlib import Path

import httpx

from rtk_task.ui import UiServer

from ..helpers import CANARY

_CREATE = {"task": "realtimekit.meetings.create", "with": {"account_id": "acc", "title": "T"}}


def _session(ui: UiServer) -> tuple[httpx.Client, dict[str, str]]:
    client = httpx.Client(base_url=ui.url, timeout=10)
    csrf = client.get("/api/session").json()["csrf"]
    return client, {"x-csrf-token": csrf, "origin": ui.url.rstrip("/")}


def test_same_origin_request_with_the_csrf_token_is_served(ui: UiServer) -> None:
    client, headers = _session(ui)
    answer = client.post("/api/preview", json=_CREATE, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["request"]["body"] == {"title": "T"}


def test_foreign_origin_is_refused(ui: UiServer) -> None:
    client, headers = _session(ui)
    answer = client.post(
        "/api/test", json=_CREATE, headers={**headers, "origin": "http://evil.example"}
    )
    assert answer.status_code == 403
    assert "cross-origin" in answer.json()["error"]["message"]


def test_missing_or_wrong_csrf_token_is_refused(ui: UiServer) -> None:
    client, headers = _session(ui)
    no_token = {"origin": headers["origin"]}
    assert client.post("/api/test", json=_CREATE, headers=no_token).status_code == 403
    wrong = {**headers, "x-csrf-token": "guess"}
    assert client.post("/api/add", json=_CREATE, headers=wrong).status_code == 403


def test_foreign_host_is_refused_even_for_reads(ui: UiServer) -> None:
    client, _ = _session(ui)
    for path in ("/", "/api/session", "/api/tasks"):
        answer = client.get(path, headers={"host": f"attacker.example:{ui.port}"})
        assert answer.status_code == 403, path
        assert "csrf" not in answer.text


def test_nothing_was_sent_when_refused(ui: UiServer) -> None:
    from .conftest import emulator_stats

    client, headers = _session(ui)
    before = emulator_stats(ui)["requests"]
    client.post("/api/test", json=_CREATE, headers={"origin": headers["origin"]})
    assert emulator_stats(ui)["requests"] == before


def test_api_answers_never_hold_the_token(ui: UiServer) -> None:
    client, headers = _session(ui)
    texts = [client.get(p).text for p in ("/api/session", "/api/tasks", "/api/workflow")]
    texts.append(client.post("/api/preview", json=_CREATE, headers=headers).text)
    tested = client.post("/api/test", json=_CREATE, headers=headers)
    assert tested.json()["result"]["status_code"] == 201
    texts.append(tested.text)
    assert all(CANARY not in t for t in texts)


def test_loopback_only() -> None:
    import pytest

    from rtk_task.errors import ConfigError

    with pytest.raises(ConfigError, match="loopback only"):
        UiServer(host="0.0.0.0")


def test_live_target_asks_before_a_call_that_is_not_idempotent(
    fresh_emulator: object, tmp_path: Path
) -> None:
    server = fresh_emulator
    url = server.base_url  # type: ignore[attr-defined]
    with UiServer(port=0, base_url=url, records_root=tmp_path) as live:
        client, headers = _session(live)
        assert client.get("/api/session").json()["live"] is True
        refused = client.post("/api/test", json=_CREATE, headers=headers)
        assert refused.status_code == 409
        assert "not idempotent" in refused.json()["confirm"]
        assert server.stats()["requests"] == {}  # type: ignore[attr-defined]
        sent = client.post("/api/test", json={**_CREATE, "confirm": True}, headers=headers)
        assert sent.json()["result"]["status_code"] == 201
        assert CANARY not in refused.text + sent.text
