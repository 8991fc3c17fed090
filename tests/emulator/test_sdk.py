"""The official SDK (cloudflare 5.9.0) against the emulator: one call or more per resource."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest

from rtk_task.emulator import EmulatorServer

#: Slow: the official SDK or a rate-limited emulator (CI runs every test).
pytestmark = pytest.mark.slow

TOKEN = "emu-token-sdk"
ACC, APP = "acc", "0123456789abcdef0123456789abcdef"  # recordings' PUT wants a 32-hex app id


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(port=0, token=TOKEN, recording_delays=(5, 5)) as srv:
        yield srv


@pytest.fixture
def sdk(server: EmulatorServer) -> Any:
    from cloudflare import Cloudflare

    with Cloudflare(api_token=TOKEN, base_url=server.base_url, max_retries=0) as client:
        yield client.realtime_kit


def _join(server: EmulatorServer, meeting_id: str, participant_id: str) -> dict[str, Any]:
    r = httpx.post(
        server.base_url.replace("/client/v4", "/__emulator/join"),
        json={"account_id": ACC, "meeting_id": meeting_id, "participant_id": participant_id},
    )
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()["data"]
    return data


def _preset_body(server: EmulatorServer) -> dict[str, Any]:
    schema = server.emulator.schemas.bodies["post-presets"]
    sample: dict[str, Any] = server.emulator.shapes.sample(
        {**schema, "required": ["config", "ui", "permissions"]}
    )
    return sample


def test_apps_presets_meetings_and_participants(server: EmulatorServer, sdk: Any) -> None:
    created = sdk.apps.post(account_id=ACC, name="demo")
    assert created.data.app.name == "demo"
    apps = sdk.apps.get(account_id=ACC)
    assert [a.name for a in apps.data] == ["demo"]
    body = _preset_body(server)
    preset = sdk.presets.create(APP, account_id=ACC, name="host", **body)
    assert preset.data.name == "host"
    got = sdk.presets.get_preset_by_id(preset.data.id, account_id=ACC, app_id=APP)
    assert got.data.id == preset.data.id
    listed = sdk.presets.get(APP, account_id=ACC).data  # the starter "host" gave way to it
    assert [p.id for p in listed if p.name == "host"] == [preset.data.id]
    meeting = sdk.meetings.create(APP, account_id=ACC, title="SDK").data
    person = sdk.meetings.add_participant(
        meeting.id, account_id=ACC, app_id=APP, custom_participant_id="a@x", preset_name="host"
    ).data
    assert person.token
    people = sdk.meetings.get_meeting_participants(meeting.id, account_id=ACC, app_id=APP)
    assert [p.custom_participant_id for p in people.data] == ["a@x"]


def test_webhooks_and_recordings_move_through_their_states(
    server: EmulatorServer, sdk: Any
) -> None:
    hook = sdk.webhooks.create_webhook(
        APP,
        account_id=ACC,
        name="w",
        url="http://127.0.0.1:9/hook",
        events=["recording.statusUpdate"],
    )
    assert hook.data.events == ["recording.statusUpdate"]
    assert hook.data.enabled is True
    assert [h.id for h in sdk.webhooks.get_webhooks(APP, account_id=ACC).data] == [hook.data.id]
    meeting = sdk.meetings.create(APP, account_id=ACC, title="rec").data
    started = sdk.recordings.start_recordings(APP, account_id=ACC, meeting_id=meeting.id)
    assert started.data.status == "INVOKED"
    rid = started.data.id
    server.emulator.clock.advance(5)
    one = sdk.recordings.get_one_recording(rid, account_id=ACC, app_id=APP)
    assert one.data.status == "RECORDING"
    assert one.data.started_time is not None
    stopped = sdk.recordings.pause_resume_stop_recording(
        rid, account_id=ACC, app_id=APP, action="stop"
    )
    assert stopped.data.status == "UPLOADING"
    server.emulator.clock.advance(5)
    done = sdk.recordings.get_one_recording(rid, account_id=ACC, app_id=APP)
    assert done.data.status == "UPLOADED"
    assert done.data.download_url
    assert done.data.download_url.startswith("http")
    listed = sdk.recordings.get_recordings(APP, account_id=ACC)
    assert [r.id for r in listed.data] == [rid]


def test_active_session_sessions_and_analytics(server: EmulatorServer, sdk: Any) -> None:
    meeting = sdk.meetings.create(APP, account_id=ACC, title="live").data
    ids = []
    for who in ("a@x", "b@x"):
        person = sdk.meetings.add_participant(
            meeting.id,
            account_id=ACC,
            app_id=APP,
            custom_participant_id=who,
            preset_name="group_call_participant",
        ).data
        ids.append(person.id)
        _join(server, meeting.id, person.id)
    active = sdk.active_session.get_active_session(meeting.id, account_id=ACC, app_id=APP)
    assert active.data.live_participants == 2
    kicked = sdk.active_session.kick_participants(
        meeting.id, account_id=ACC, app_id=APP, participant_ids=[ids[0]], custom_participant_ids=[]
    )
    assert [p.id for p in kicked.data.participants] == [ids[0]]
    left = sdk.active_session.kick_all_participants(meeting.id, account_id=ACC, app_id=APP)
    assert left.data.kicked_participants_count == 1
    sessions = sdk.sessions.get_sessions(APP, account_id=ACC)
    assert sessions.data.sessions[0].associated_id == meeting.id
    assert sessions.data.sessions[0].status == "ENDED"
    sid = sessions.data.sessions[0].id
    people = sdk.sessions.get_session_participants(sid, account_id=ACC, app_id=APP)
    assert sorted(p.custom_participant_id for p in people.data.participants) == ["a@x", "b@x"]
    stats = sdk.analytics.get_org_analytics(APP, account_id=ACC)
    assert stats.data.session_stats.sessions_count == 1


def test_livestreams(server: EmulatorServer, sdk: Any) -> None:
    meeting = sdk.meetings.create(APP, account_id=ACC, title="stream").data
    started = sdk.livestreams.start_livestreaming_a_meeting(
        meeting.id, account_id=ACC, app_id=APP, name="ls"
    )
    assert started.data.status == "LIVE"
    active = sdk.livestreams.get_meeting_active_livestreams(meeting.id, account_id=ACC, app_id=APP)
    assert active.data.id == started.data.id
    sdk.livestreams.stop_livestreaming_a_meeting(meeting.id, account_id=ACC, app_id=APP)
    overall = sdk.livestreams.get_livestream_analytics_complete(APP, account_id=ACC)
    assert overall.data.count == 1


class _Catcher(BaseHTTPRequestHandler):
    got: list[bytes]
    event: threading.Event

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length", 0))
        type(self).got.append(self.rfile.read(size))
        self.send_response(204)
        self.end_headers()
        type(self).event.set()

    def log_message(self, *args: Any) -> None:
        return


def test_a_webhook_for_recording_events_receives_the_call(server: EmulatorServer, sdk: Any) -> None:
    import json

    handler: type[_Catcher] = type("Catcher", (_Catcher,), {"got": [], "event": threading.Event()})
    receiver = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{receiver.server_port}/hook"
        sdk.webhooks.create_webhook(
            APP, account_id=ACC, name="w", url=url, events=["recording.statusUpdate"]
        )
        meeting = sdk.meetings.create(APP, account_id=ACC, title="hooked").data
        sdk.recordings.start_recordings(APP, account_id=ACC, meeting_id=meeting.id)
        assert handler.event.wait(10), "the webhook was not called within 10 s"
        call = json.loads(handler.got[0])
        assert call["event"] == "recording.statusUpdate"
        assert call["recording"]["meeting_id"] == meeting.id
        assert call["recording"]["status"] == "INVOKED"
    finally:
        receiver.shutdown()
        receiver.server_close()


def test_webhooks_to_urls_that_are_not_http_are_refused(server: EmulatorServer) -> None:
    # any http(s) URL is accepted (tests/emulator/test_fidelity.py); other schemes are not
    r = httpx.post(
        f"{server.base_url}/accounts/{ACC}/realtime/kit/{APP}/webhooks",
        headers={"Authorization": f"Bearer {TOKEN}"},
        json={"name": "w", "url": "ftp://example.com/hook", "events": ["meeting.started"]},
    )
    assert r.status_code == 400
    assert "http" in r.json()["error"]["message"]


def test_a_seeded_session_reports_its_participants_chat_and_summary() -> None:
    sid, peer = "5f0c4a52-0000-4000-8000-000000000001", "5f0c4a52-0000-4000-8000-000000000002"
    seed = {
        "accounts": {
            ACC: {
                "sessions": [
                    {
                        "id": sid,
                        "associated_id": "5f0c4a52-0000-4000-8000-000000000003",
                        "started_at": "2025-01-01T10:00:00.000Z",
                        "participants": [{"id": peer, "custom_participant_id": "a@x"}],
                        "chat": [{"participant_id": peer, "name": "A", "message": "hi, all"}],
                        "transcript": "A: hello\nB: hi",
                    }
                ]
            }
        }
    }
    with EmulatorServer(port=0, token=TOKEN, seed=seed) as srv:
        http = httpx.Client(
            base_url=f"{srv.base_url}/accounts/{ACC}/realtime/kit/{APP}",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        people = http.get(f"/sessions/{sid}/participants").json()["data"]["participants"]
        assert [p["custom_participant_id"] for p in people] == ["a@x"]
        chat_url = http.get(f"/sessions/{sid}/chat").json()["data"]["chat_download_url"]
        assert '"hi, all"' in httpx.get(chat_url).text
        assert http.get(f"/sessions/{sid}/summary").status_code == 404
        assert http.post(f"/sessions/{sid}/summary").json()["data"]["status"] == "COMPLETED"
        summary_url = http.get(f"/sessions/{sid}/summary").json()["data"]["summaryDownloadUrl"]
        assert httpx.get(summary_url).text == "2 lines from 2 speakers (A, B)."
        http.close()
