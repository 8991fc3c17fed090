"""Client-side rate limits: booking slots, obeying the server, the same on both clients."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from rtk_task import AsyncClient, Client
from rtk_task.providers import provider_for
from rtk_task.ratelimit import Gate, Limiter, RateLimit, parse_rate, server_policy, server_wait


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_slots_keep_to_the_limit_with_a_margin() -> None:
    clock = FakeClock()
    limiter = Limiter(clock)
    limit = (("k", RateLimit(requests=3, per=1.0)),)
    waits = [limiter.reserve(limit) for _ in range(7)]
    assert waits[:3] == [0, 0, 0]
    assert waits[3] == pytest.approx(1.05)
    assert waits[6] == pytest.approx(2.10)
    # any window of one second holds at most three slots
    slots = sorted(100 + w for w in waits)
    assert all(slots[i + 3] - slots[i] >= 1.0 for i in range(len(slots) - 3))


def test_every_limit_of_a_call_is_kept() -> None:
    limiter = Limiter(FakeClock())
    both = (("acc", RateLimit(requests=5, per=1)), ("rec", RateLimit(requests=2, per=1)))
    waits = [limiter.reserve(both) for _ in range(3)]
    assert waits[2] > 1.0, "the narrower limit was not kept"


def test_the_server_pauses_every_caller_and_may_lower_the_limit() -> None:
    clock = FakeClock()
    limiter = Limiter(clock)
    gate = Gate(limiter, (("k", RateLimit(requests=100, per=1)),))
    assert gate.reserve() == 0
    gate.observe(429, {"retry-after": "3"})
    assert gate.paused() == pytest.approx(3)
    assert gate.reserve() == pytest.approx(3)
    gate.observe(200, {"ratelimit": '"default";r=0;t=7'})
    assert gate.paused() == pytest.approx(7)
    gate.observe(200, {"ratelimit-policy": '"default";q=2;w=10'})
    assert limiter._windows["k"].limit == RateLimit(requests=2, per=10)


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "4"}, 4.0),
        ({"ratelimit-remaining": "0", "ratelimit-reset": "2"}, 2.0),
        ({"ratelimit-remaining": "5", "ratelimit-reset": "2"}, 0.0),
        ({}, 0.0),
    ],
)
def test_server_waits_from_headers(headers: dict[str, str], wait: float) -> None:
    assert server_wait(200, headers) == wait


def test_parse_rate_and_policies() -> None:
    assert parse_rate("250/10s") == RateLimit(requests=250, per=10)
    assert parse_rate("1000/1m") == RateLimit(requests=1000, per=60)
    with pytest.raises(ValueError, match="REQUESTS/SECONDS"):
        parse_rate("fast")
    assert server_policy({}) is None


def test_the_provider_documents_realtimekit_limits() -> None:
    rtk = provider_for("/accounts/{account_id}/realtime/kit/{app_id}/recordings")
    assert rtk.rate_limits("realtimekit.recordings.start") == (
        ("account", RateLimit(requests=250, per=10)),
        ("recordings", RateLimit(requests=1000, per=60)),
    )
    assert rtk.rate_limits("realtimekit.meetings.create") == (
        ("account", RateLimit(requests=250, per=10)),
    )


def _counting_transport(seen: list[str]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if len(seen) == 1:
            return httpx.Response(429, headers={"retry-after": "0"}, json={"success": False})
        return httpx.Response(201, json={"success": True, "data": {"id": "m1"}})

    return httpx.MockTransport(answer)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_both_clients_wait_for_their_slot_and_retry_a_refused_create(kind: str) -> None:
    limiter = Limiter()
    seen: list[str] = []
    inputs = {"account_id": "acc", "title": "t"}
    limit = RateLimit(requests=2, per=0.2)
    if kind == "sync":
        with Client(
            base_url="http://api.test/client/v4",
            token="tok",
            transport=_counting_transport(seen),
            limiter=limiter,
            rate_limit=limit,
        ) as client:
            results = [client.call("realtimekit.meetings.create", inputs) for _ in range(3)]
    else:

        async def main() -> list[object]:
            async with AsyncClient(
                base_url="http://api.test/client/v4",
                token="tok",
                transport=_counting_transport(seen),
                limiter=limiter,
                rate_limit=limit,
            ) as client:
                return list(
                    await asyncio.gather(
                        *(client.call("realtimekit.meetings.create", inputs) for _ in range(3))
                    )
                )

        results = asyncio.run(main())  # type: ignore[assignment]
    assert all(r.ok for r in results)  # type: ignore[attr-defined]
    assert len(seen) == 4, "the refused create was not resent exactly once"
    assert limiter.booked == 4
    assert limiter.waited > 0.2, "no wait was booked past the limit"
