"""The emulator's rate limit: 429 with Retry-After and Cloudflare's headers past the limit."""

from __future__ import annotations

import httpx
import pytest

from rtk_task import Client
from rtk_task.emulator.server import EmulatorServer
from rtk_task.ratelimit import Limiter, RateLimit

from ..helpers import CANARY, run_cli

#: Slow: the official SDK or a rate-limited emulator (CI runs every test).
pytestmark = pytest.mark.slow

URL = "/accounts/{acc}/realtimekit/meetings"


def _post(client: httpx.Client, base: str, acc: str) -> httpx.Response:
    return client.post(
        base + URL.format(acc=acc),
        json={"title": "t"},
        headers={"Authorization": f"Bearer {CANARY}"},
    )


def test_past_the_limit_the_answer_is_429_with_retry_after_and_headers() -> None:
    with EmulatorServer(token=CANARY) as server, httpx.Client() as http:
        server.emulator.set_rate_limit("3/60s")
        answers = [_post(http, server.base_url, "a") for _ in range(4)]
        assert [r.status_code for r in answers] == [201, 201, 201, 429]
        assert answers[0].headers["ratelimit-policy"] == '"default";q=3;w=60'
        assert answers[2].headers["ratelimit"].startswith('"default";r=0;t=')
        refused = answers[3]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.json()["success"] is False
        assert _post(http, server.base_url, "b").status_code == 201, "accounts share a count"
        server.emulator.clock.advance(61)
        assert _post(http, server.base_url, "a").status_code == 201, "the window did not move"
        assert server.stats()["rate_limited"] == 1


def test_the_control_route_sets_and_lifts_the_limit() -> None:
    with EmulatorServer(token=CANARY) as server, httpx.Client() as http:
        root = server.base_url.removesuffix("/client/v4")
        assert http.post(root + "/__emulator/rate-limit", json={"limit": "1/60s"}).is_success
        assert [_post(http, server.base_url, "a").status_code for _ in range(2)] == [201, 429]
        assert http.post(root + "/__emulator/rate-limit", json={"limit": None}).is_success
        assert _post(http, server.base_url, "a").status_code == 201
        bad = http.post(root + "/__emulator/rate-limit", json={"limit": "lots"})
        assert bad.status_code == 400


def test_a_limited_client_gets_no_429_from_a_limited_emulator() -> None:
    with EmulatorServer(token=CANARY) as server:
        server.emulator.set_rate_limit("10/0.5s")
        with Client(
            base_url=server.base_url, rate_limit=RateLimit(requests=10, per=0.5), limiter=Limiter()
        ) as client:
            results = [
                client.call("realtimekit.meetings.create", {"account_id": "a", "title": "t"})
                for _ in range(25)
            ]
        assert all(r.ok and r.attempts == 1 for r in results)
        assert server.stats()["rate_limited"] == 0


def test_the_cli_refuses_a_bad_rate_limit() -> None:
    done = run_cli("emulator", "--port", "0", "--rate-limit", "fast")
    assert done.returncode == 2
    assert "--rate-limit" in done.stderr
    assert "250/10s" in done.stderr


def test_the_server_and_the_process_take_the_limit_as_an_argument() -> None:
    from rtk_task.emulator import emulator_process

    with EmulatorServer(token=CANARY, rate_limit="1/60s") as server, httpx.Client() as http:
        assert [_post(http, server.base_url, "a").status_code for _ in range(2)] == [201, 429]
    with emulator_process(token=CANARY, rate_limit="2/60s") as base_url, httpx.Client() as http:
        codes = [_post(http, base_url, "a").status_code for _ in range(3)]
        assert codes == [201, 201, 429], "rtk-task emulator --rate-limit was not applied"
