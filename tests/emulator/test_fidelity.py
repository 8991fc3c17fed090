"""The emulator answers as the real API does (issue 24, item 8).

Webhooks accept any http(s) URL, as the API does, yet nothing leaves loopback: a call to any
other URL is recorded as undelivered and never attempted. ``socket.getaddrinfo`` and
``socket.create_connection`` are patched here to refuse any host off loopback while the
emulator runs in this process (``EmulatorServer`` serves from a thread), so a DNS lookup or
a connection would show. A participant's ``preset_name`` must name a preset of the account;
every account starts with the starter presets the README, examples and tests join with.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Any, Literal

import httpx
import pytest

from rtk_task.emulator import EmulatorServer
from rtk_task.emulator.hooks import KEEP_UNDELIVERED, NOT_LOOPBACK, Hooks
from rtk_task.emulator.store import STARTER_PRESETS

TOKEN = "emu-token-fidelity"
ACC, APP = "acc", "0123456789abcdef0123456789abcdef"
OUTSIDE = "https://example.com/hook"

if TYPE_CHECKING:
    #: The events the SDK's ``webhooks.create_webhook`` takes (its parameter's own Literal).
    SdkEvent = Literal[
        "meeting.started",
        "meeting.ended",
        "meeting.participantJoined",
        "meeting.participantLeft",
        "meeting.chatSynced",
        "recording.statusUpdate",
        "livestreaming.statusUpdate",
        "meeting.transcript",
        "meeting.summary",
    ]


def _loopback_host(host: Any) -> bool:
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


@pytest.fixture
def off_loopback(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every host off loopback that this process tried to resolve or connect to (refused)."""
    tried: list[str] = []
    real_lookup, real_connect = socket.getaddrinfo, socket.create_connection

    def guard(host: Any) -> None:
        if not _loopback_host(host):
            tried.append(str(host))
            raise OSError(f"the test refuses to leave loopback ({host!r})")

    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        guard(host)
        return real_lookup(host, *args, **kwargs)

    def connect(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        guard(address[0])
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    monkeypatch.setattr(socket, "create_connection", connect)
    return tried


@pytest.fixture
def server(off_loopback: list[str]) -> Iterator[EmulatorServer]:
    with EmulatorServer(port=0, token=TOKEN) as srv:
        yield srv


@pytest.fixture
def http(server: EmulatorServer) -> Iterator[httpx.Client]:
    base = f"{server.base_url}/accounts/{ACC}/realtime/kit/{APP}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=base, headers=auth, timeout=5) as client:
        yield client


def _control(server: EmulatorServer, name: str) -> str:
    return server.base_url.replace("/client/v4", f"/__emulator/{name}")


def _stats(server: EmulatorServer) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(_control(server, "stats")).json()
    return data


def _meeting_with(http: httpx.Client, preset: str = "group_call_host") -> tuple[str, str]:
    meeting = http.post("/meetings", json={"title": "fidelity"}).json()["data"]["id"]
    r = http.post(
        f"/meetings/{meeting}/participants",
        json={"preset_name": preset, "custom_participant_id": "a@x"},
    )
    assert r.status_code == 201, r.text
    return meeting, r.json()["data"]["id"]


def _join(server: EmulatorServer, meeting: str, person: str) -> None:
    body = {"account_id": ACC, "meeting_id": meeting, "participant_id": person}
    r = httpx.post(_control(server, "join"), json=body)
    assert r.status_code == 200, r.text


class _Receiver:
    """A webhook receiver on loopback, answering 204 to every POST."""

    def __init__(self) -> None:
        got: list[bytes] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                got.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.got = got
        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    got = _Receiver()
    yield got
    got.close()


def _events_to(stats: dict[str, Any], url: str) -> list[str]:
    return [u["event"] for u in stats["webhooks"]["undelivered"] if u["url"] == url]


# -- webhooks ------------------------------------------------------------------------------------


@pytest.mark.slow  # the official SDK, as tests/emulator/test_sdk.py drives it
def test_the_sdk_registers_a_webhook_off_loopback_and_nothing_leaves(
    server: EmulatorServer, http: httpx.Client, receiver: _Receiver, off_loopback: list[str]
) -> None:
    from cloudflare import Cloudflare

    events: list[SdkEvent] = ["meeting.started", "meeting.participantJoined"]
    with Cloudflare(api_token=TOKEN, base_url=server.base_url, max_retries=0) as client:
        sdk = client.realtime_kit
        hook = sdk.webhooks.create_webhook(
            APP, account_id=ACC, name="out", url=OUTSIDE, events=events
        )
        assert hook.data.url == OUTSIDE
        assert hook.data.enabled is True
        sdk.webhooks.create_webhook(APP, account_id=ACC, name="in", url=receiver.url, events=events)
        listed = sdk.webhooks.get_webhooks(APP, account_id=ACC).data
        assert sorted(h.url for h in listed) == sorted([OUTSIDE, receiver.url])
        meeting = sdk.meetings.create(APP, account_id=ACC, title="hooked").data
        assert meeting is not None
        person = sdk.meetings.add_participant(
            meeting.id,
            account_id=ACC,
            app_id=APP,
            custom_participant_id="a@x",
            preset_name="group_call_host",
        ).data
        assert person is not None
    _join(server, meeting.id, person.id)  # meeting.started, then meeting.participantJoined
    assert server.emulator.hooks.settled(10), "the loopback deliveries did not finish in 10 s"
    stats = _stats(server)
    assert _events_to(stats, OUTSIDE) == events
    assert {u["reason"] for u in stats["webhooks"]["undelivered"]} == {NOT_LOOPBACK}
    assert stats["webhooks"]["delivered"] == 2  # the loopback hook got both
    assert stats["webhooks"]["failed"] == 0
    assert len(receiver.got) == 2
    assert off_loopback == [], "the emulator looked up or connected to a host off loopback"


def test_any_http_url_is_accepted_and_only_loopback_is_called(
    server: EmulatorServer, http: httpx.Client, receiver: _Receiver, off_loopback: list[str]
) -> None:
    urls = [OUTSIDE, "http://hooks.example.org:8080/x?y=1", "http://10.0.0.1/hook", receiver.url]
    for i, url in enumerate(urls):
        body = {"name": f"w{i}", "url": url, "events": ["meeting.started"]}
        r = http.post("/webhooks", json=body)
        assert r.status_code == 201, r.text
        assert r.json()["data"]["url"] == url
    meeting, person = _meeting_with(http)
    _join(server, meeting, person)
    assert server.emulator.hooks.settled(10)
    stats = _stats(server)["webhooks"]
    assert [u["url"] for u in stats["undelivered"]] == urls[:3]
    assert stats["delivered"] == 1
    assert len(receiver.got) == 1
    assert off_loopback == []


def test_a_webhook_url_must_be_an_absolute_http_url(http: httpx.Client) -> None:
    for url in ("ftp://example.com/hook", "mailto:a@example.com", "https:///nohost", "//x/y"):
        r = http.post("/webhooks", json={"name": "w", "url": url, "events": ["meeting.started"]})
        assert r.status_code == 400, (url, r.text)
        assert r.json()["success"] is False
    hook = http.post("/webhooks", json={"name": "w", "url": OUTSIDE, "events": []}).json()
    r = http.patch(f"/webhooks/{hook['data']['id']}", json={"url": "file:///etc/passwd"})
    assert r.status_code == 400
    assert http.get(f"/webhooks/{hook['data']['id']}").json()["data"]["url"] == OUTSIDE


def test_a_seed_may_name_webhooks_off_loopback(off_loopback: list[str]) -> None:
    seed = {"accounts": {ACC: {"webhooks": [{"name": "w", "url": OUTSIDE, "events": ["x"]}]}}}
    with EmulatorServer(port=0, token=TOKEN, seed=seed) as srv:
        hooks = srv.emulator.store.all(ACC, "webhooks")
        assert [h["url"] for h in hooks] == [OUTSIDE]
    assert off_loopback == []


def test_undelivered_calls_are_kept_to_the_last_hundred(off_loopback: list[str]) -> None:
    hooks = Hooks()
    for i in range(KEEP_UNDELIVERED + 50):
        hooks.send(OUTSIDE, {"event": f"e{i}"})
    kept = hooks.stats()["undelivered"]
    assert len(kept) == KEEP_UNDELIVERED
    assert kept[0]["event"] == "e50"
    assert kept[-1]["event"] == f"e{KEEP_UNDELIVERED + 49}"
    assert hooks.settled(0), "nothing was queued"
    hooks.clear()
    assert hooks.stats() == {"delivered": 0, "failed": 0, "undelivered": []}
    assert off_loopback == []


def test_a_failed_loopback_delivery_is_counted_and_listed(server: EmulatorServer) -> None:
    with socket.socket() as s:  # a loopback port nobody listens on (bound, never listening)
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
        server.emulator.hooks.send(closed, {"event": "meeting.started"})
        assert server.emulator.hooks.settled(10)
    stats = _stats(server)["webhooks"]
    assert stats["failed"] == 1
    assert stats["undelivered"][0]["url"] == closed
    assert stats["undelivered"][0]["reason"].startswith("failed:")


def test_a_malformed_webhook_id_is_the_400_the_document_declares(http: httpx.Client) -> None:
    r = http.get("/webhooks/not-a-guid")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == 400
    unknown = "00000000-0000-4000-8000-000000000000"
    assert http.get(f"/webhooks/{unknown}").status_code == 404
    assert http.get("/meetings/not-a-uuid").status_code == 404  # meetings declare no 400


# -- participants and presets ----------------------------------------------------------------------


def test_an_unknown_preset_name_is_refused(http: httpx.Client) -> None:
    meeting = http.post("/meetings", json={}).json()["data"]["id"]
    r = http.post(
        f"/meetings/{meeting}/participants",
        json={"preset_name": "no_such_preset", "custom_participant_id": "a@x"},
    )
    assert r.status_code == 404
    body = r.json()
    assert body["success"] is False
    assert body["error"]["code"] == 404
    assert "No preset found" in body["error"]["message"]
    assert "no_such_preset" in body["error"]["message"]
    people = http.get(f"/meetings/{meeting}/participants").json()
    assert people["paging"]["total_count"] == 0


@pytest.mark.parametrize("preset", sorted(STARTER_PRESETS))
def test_a_starter_preset_is_accepted(http: httpx.Client, preset: str) -> None:
    _meeting_with(http, preset)


def test_every_account_lists_the_starter_presets(http: httpx.Client) -> None:
    names = [p["name"] for p in http.get("/presets").json()["data"]]
    assert names == list(STARTER_PRESETS)
    for name in ("host", "group_call_host"):
        assert name in names, "the README, examples and tests join with it"


def _preset_body(server: EmulatorServer, name: str) -> dict[str, Any]:
    schema = server.emulator.schemas.bodies["post-presets"]
    sample: dict[str, Any] = server.emulator.shapes.sample(schema)
    return {**sample, "name": name}


def test_a_created_preset_is_accepted_and_a_deleted_one_refused(
    server: EmulatorServer, http: httpx.Client
) -> None:
    r = http.post("/presets", json=_preset_body(server, "coach"))
    assert r.status_code == 201, r.text
    meeting, _ = _meeting_with(http, "coach")
    assert http.delete(f"/presets/{r.json()['data']['id']}").status_code == 200
    again = http.post(
        f"/meetings/{meeting}/participants",
        json={"preset_name": "coach", "custom_participant_id": "b@x"},
    )
    assert again.status_code == 404


def test_a_starter_gives_way_to_a_preset_created_under_its_name(
    server: EmulatorServer, http: httpx.Client
) -> None:
    created = http.post("/presets", json=_preset_body(server, "host"))
    assert created.status_code == 201, created.text
    hosts = [p for p in http.get("/presets").json()["data"] if p["name"] == "host"]
    assert [p["id"] for p in hosts] == [created.json()["data"]["id"]]
    assert http.post("/presets", json=_preset_body(server, "host")).status_code == 409
    _meeting_with(http, "host")


def test_a_changed_starter_is_kept_like_any_preset(
    server: EmulatorServer, http: httpx.Client
) -> None:
    guest = next(p for p in http.get("/presets").json()["data"] if p["name"] == "guest")
    assert http.patch(f"/presets/{guest['id']}", json={"ui": {}}).status_code == 200
    assert http.post("/presets", json=_preset_body(server, "guest")).status_code == 409


def test_a_seeded_preset_is_accepted() -> None:
    seed = {"accounts": {ACC: {"presets": [{"name": "tutor", "config": {}, "ui": {}}]}}}
    with EmulatorServer(port=0, token=TOKEN, seed=seed) as srv:
        base = f"{srv.base_url}/accounts/{ACC}/realtime/kit/{APP}"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=base, headers=auth, timeout=5) as http:
            _meeting_with(http, "tutor")
            _meeting_with(http, "host")  # the starters are there too


def test_changing_a_participant_to_an_unknown_preset_is_refused(http: httpx.Client) -> None:
    meeting, person = _meeting_with(http)
    where = f"/meetings/{meeting}/participants/{person}"
    assert http.patch(where, json={"preset_name": "nope"}).status_code == 404
    assert http.put(where, json={"preset_name": "nope"}).status_code == 404
    assert http.patch(where, json={"preset_name": "guest"}).status_code == 200
    assert http.get(where).json()["data"]["preset_name"] == "guest"


def test_a_reset_forgets_webhook_deliveries(server: EmulatorServer) -> None:
    server.emulator.hooks.send(OUTSIDE, {"event": "meeting.started"})
    assert _stats(server)["webhooks"]["undelivered"]
    assert httpx.post(_control(server, "reset")).status_code == 200
    assert _stats(server)["webhooks"] == {"delivered": 0, "failed": 0, "undelivered": []}
