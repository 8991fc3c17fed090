"""The emulator's API: both path forms, paging, writes, participants, auth, validation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rtk_task.emulator import EmulatorServer

from ..helpers import CANARY

TOKEN = "emu-token-1"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(port=0, token=TOKEN) as srv:
        yield srv


@pytest.fixture
def http(server: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers=AUTH, timeout=5) as client:
        yield client


LIVE = "/accounts/acc/realtime/kit/app/meetings"
LEGACY = "/accounts/acc/realtimekit/meetings"


def create(http: httpx.Client, path: str = LIVE, **body: Any) -> dict[str, Any]:
    r = http.post(path, json=body)
    assert r.status_code == 201, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


def test_a_meeting_created_on_either_path_is_visible_on_the_other(http: httpx.Client) -> None:
    a = create(http, LIVE, title="live")
    b = create(http, LEGACY, title="legacy")
    assert http.get(f"{LEGACY}/{a['id']}").json()["data"]["title"] == "live"
    assert http.get(f"{LIVE}/{b['id']}").json()["data"]["title"] == "legacy"
    assert http.get("/accounts/other/realtimekit/meetings").json()["paging"]["total_count"] == 0


def test_create_fills_what_the_real_api_fills(http: httpx.Client) -> None:
    r = http.post(LIVE, json={"title": "T", "record_on_start": True})
    body = r.json()
    assert body["success"] is True
    m = body["data"]
    assert m["status"] == "ACTIVE"
    assert m["record_on_start"] is True
    assert m["persist_chat"] is False
    assert m["session_keep_alive_time_in_secs"] == 60
    assert m["created_at"].endswith("Z")
    assert http.post(LIVE).status_code == 201, "the body is optional"


def test_paging_45_meetings_20_a_page(http: httpx.Client) -> None:
    for i in range(45):
        create(http, title=f"m{i}")
    pages = [http.get(LIVE, params={"page_no": n, "per_page": 20}).json() for n in (1, 2, 3, 4)]
    assert [len(p["data"]) for p in pages] == [20, 20, 5, 0]
    assert pages[0]["paging"] == {"total_count": 45, "start_offset": 1, "end_offset": 20}
    assert pages[2]["paging"] == {"total_count": 45, "start_offset": 41, "end_offset": 45}
    assert [m["title"] for m in pages[1]["data"]][:2] == ["m20", "m21"]
    found = http.get(LIVE, params={"search": "M4"}).json()
    assert {m["title"] for m in found["data"]} == {"m4", *(f"m{i}" for i in range(40, 45))}


def test_update_replace_participants_and_tokens(http: httpx.Client) -> None:
    m = create(http, title="old", persist_chat=True)
    patched = http.patch(f"{LIVE}/{m['id']}", json={"title": "new"}).json()["data"]
    assert patched["title"] == "new"
    assert patched["persist_chat"] is True
    assert patched["updated_at"] >= m["updated_at"]
    replaced = http.put(f"{LIVE}/{m['id']}", json={"title": "again"}).json()["data"]
    assert replaced["persist_chat"] is False
    assert replaced["id"] == m["id"]
    r = http.post(
        f"{LIVE}/{m['id']}/participants",
        json={"preset_name": "host", "custom_participant_id": "h@x"},
    )
    assert r.status_code == 201
    person = r.json()["data"]
    assert person["token"]
    r = http.post(f"{LIVE}/{m['id']}/participants/{person['id']}/token")
    assert r.status_code == 200
    assert r.json()["data"]["token"] != person["token"]
    http.patch(f"{LIVE}/{m['id']}", json={"status": "INACTIVE"})
    late = http.post(
        f"{LIVE}/{m['id']}/participants",
        json={"preset_name": "host", "custom_participant_id": "late"},
    )
    assert late.status_code == 409


def test_write_only_fields_are_never_read_back(http: httpx.Client) -> None:
    m = create(http, recording_config={"storage_config": {"type": "aws", "access_key": "AK"}})
    assert "access_key" not in m["recording_config"]["storage_config"]
    assert "access_key" not in http.get(f"{LIVE}/{m['id']}").text


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": "Basic x"}, 401),
        (AUTH, 200),
    ],
)
def test_bearer_check(server: EmulatorServer, headers: dict[str, str], status: int) -> None:
    r = httpx.get(server.base_url + LIVE, headers=headers)
    assert r.status_code == status
    if status == 401:
        assert r.json()["errors"][0]["code"] == 10000


def test_without_a_configured_token_any_bearer_passes() -> None:
    with EmulatorServer(port=0) as srv:
        assert httpx.get(srv.base_url + LIVE, headers={"Authorization": "Bearer x"}).is_success
        assert httpx.get(srv.base_url + LIVE).status_code == 401


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"ai_config": {"summarization": {"summary_type": "weekly"}}},
            "ai_config.summarization.summary_type must be one of",
        ),
        (
            {"ai_config": {"summarization": {"word_limit": 5000}}},
            "ai_config.summarization.word_limit must be <= 1000",
        ),
        ({"persist_chat": 1}, "persist_chat must be a boolean"),
        ({"session_keep_alive_time_in_secs": True}, "must be a number"),
        (
            {"recording_config": {"realtimekit_bucket_config": {}}},
            "recording_config.realtimekit_bucket_config.enabled is required",
        ),
        ({"recording_config": {"video_config": {"watermark": {"url": "not a uri"}}}}, "valid uri"),
    ],
)
def test_validation_names_the_field(http: httpx.Client, body: dict[str, Any], message: str) -> None:
    r = http.post(LIVE, json=body)
    assert r.status_code == 400
    assert r.json() == {
        "success": False,
        "error": {"code": 400, "message": r.json()["error"]["message"]},
    }
    assert message in r.json()["error"]["message"]


@pytest.mark.parametrize("raw", [b"not json", b"[1, 2]", b'"text"'])
def test_a_body_that_is_not_a_json_object_is_400(http: httpx.Client, raw: bytes) -> None:
    assert http.post(LIVE, content=raw).status_code == 400


def test_unknown_routes_methods_and_ids(http: httpx.Client) -> None:
    assert http.get("/nope").status_code == 404
    assert http.delete(LIVE).status_code == 405
    assert http.get(f"{LIVE}/not-a-uuid").status_code == 404
    assert http.get(f"{LIVE}/00000000-0000-4000-8000-000000000000").status_code == 404


def test_stats_count_requests_and_reset_empties(server: EmulatorServer, http: httpx.Client) -> None:
    create(http)
    http.get(LIVE)
    stats = httpx.get(server.base_url.replace("/client/v4", "/__emulator/stats")).json()
    assert stats["requests"] == {"create_meeting": 1, "get_all_meetings": 1}
    assert stats["meetings_created"] == {"acc": 1}
    httpx.post(server.base_url.replace("/client/v4", "/__emulator/reset"))
    assert server.stats()["meetings_total"] == 0


def test_only_loopback_hosts_are_served() -> None:
    from rtk_task.errors import RtkError

    with pytest.raises(RtkError, match="loopback"):
        EmulatorServer(host="0.0.0.0")


def test_a_recording_stops_on_the_legacy_path_that_has_no_app_id(emulator: Any) -> None:
    headers = {"Authorization": f"Bearer {CANARY}"}
    base = f"{emulator.base_url}/accounts/acc-legacy/realtimekit"
    with httpx.Client(headers=headers) as http:
        meeting = http.post(f"{base}/meetings", json={"title": "rec"}).json()["data"]["id"]
        started = http.post(f"{base}/recordings", json={"meeting_id": meeting})
        assert started.status_code == 200, started.text
        recording = started.json()["data"]["id"]
        stopped = http.put(f"{base}/recordings/{recording}", json={"action": "stop"})
    assert stopped.status_code == 200, stopped.text
