"""Client-side rate limits: booking slots, obeying the server, the same on both clients."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import random
from typing import Any

import httpx
import pytest

from rtk_task import AsyncClient, Client, TaskResult
from rtk_task.providers import provider_for
from rtk_task.ratelimit import (
    MARGIN,
    PACE,
    Gate,
    Limiter,
    RateLimit,
    parse_rate,
    server_policy,
    server_wait,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Server:
    """A server counting arrivals over a sliding window, answering as the emulator does."""

    def __init__(self, requests: int, per: float) -> None:
        self.requests, self.per = requests, per
        self.log: list[float] = []
        self.refused = 0

    def arrive(self, at: float) -> tuple[int, dict[str, str]]:
        window = [t for t in self.log if t > at - self.per]
        if len(window) >= self.requests:
            self.refused += 1
            wait = window[0] + self.per - at
            return 429, {"retry-after": str(max(1, math.ceil(wait)))}
        self.log.append(at)
        window.append(at)
        reset = math.ceil(window[0] + self.per - at)
        return 201, {"ratelimit": f'"default";r={self.requests - len(window)};t={reset}'}


def simulate(
    limit: RateLimit, count: int, workers: int, latency: tuple[float, float], seed: int = 1
) -> tuple[Limiter, Server, list[float], float]:
    """``count`` requests from ``workers`` callers, each answer ``latency`` seconds after it
    leaves (arriving somewhere in between), on a fake clock; the arrivals and the end time."""
    clock = FakeClock()
    start = clock.now
    limiter = Limiter(clock)
    server = Server(limit.requests, limit.per)
    rand = random.Random(seed)
    events: list[tuple[float, int, str, int, Any]] = []
    order = itertools.count()
    gates = [Gate(limiter, (("k", limit),)) for _ in range(workers)]
    left = count
    end = start

    def push(at: float, kind: str, worker: int, data: Any = None) -> None:
        heapq.heappush(events, (at, next(order), kind, worker, data))

    def book(worker: int) -> None:
        nonlocal left
        if left == 0:
            return
        left -= 1
        wait = gates[worker].reserve()
        push(clock.now + wait, "wake", worker, wait == 0)  # 0: it already left

    for worker in range(workers):
        book(worker)
    while events:
        at, _, kind, worker, data = heapq.heappop(events)
        assert at >= clock.now
        clock.now = at
        if kind == "wake":
            wait = 0.0 if data else gates[worker].ready()
            if wait > 0:
                push(at + wait, "wake", worker)
                continue
            took = rand.uniform(*latency)
            push(at + rand.uniform(0, took), "arrive", worker, at + took)
        elif kind == "arrive":
            push(data, "answer", worker, server.arrive(at))
        else:
            status, headers = data
            gates[worker].observe(status, headers)
            end = max(end, at)
            if status == 429:
                wait = gates[worker].reserve()
                push(at + wait, "wake", worker, wait == 0)
            else:
                book(worker)
    return limiter, server, server.log, end - start


@pytest.mark.parametrize(
    ("requests", "per", "count", "workers", "latency"),
    [
        (100, 1.0, 1000, 64, (0.001, 0.02)),  # the benchmark's shape
        (250, 10.0, 1000, 64, (0.001, 0.05)),  # RealtimeKit's documented account limit
        (3, 1.0, 20, 8, (0.001, 0.01)),  # more callers than the limit
        (5, 0.1, 40, 16, (0.05, 0.3)),  # answers slower than the window
        (10, 1.0, 300, 32, (0.001, 0.4)),  # answers coming back far out of order
    ],
)
def test_the_schedule_keeps_to_the_limit_and_wastes_no_window(
    requests: int, per: float, count: int, workers: int, latency: tuple[float, float]
) -> None:
    limit = RateLimit(requests=requests, per=per)
    limiter, server, arrivals, elapsed = simulate(limit, count, workers, latency)
    assert server.refused == 0, "the server refused a request the limiter let go"
    assert len(arrivals) == count
    assert limiter.pauses == 0, "a full window the limiter filled itself was taken for a pause"
    # never more than `requests` arrivals within any span of `per` seconds
    assert all(b - a >= per for a, b in zip(arrivals, arrivals[requests:], strict=False))
    # ceil(N/R) windows, plus a bounded margin: each window waits one answer more (the rule's
    # cost), and the first window's requests go as fast as the callers and answers allow
    windows = math.ceil(count / requests)
    slowest = latency[1]
    first = math.ceil(requests / min(workers, requests)) * slowest
    bound = windows * per * (1 + MARGIN) + windows * slowest + first
    if slowest < per:
        assert elapsed <= bound, f"{elapsed:.3f} s for {windows} windows (bound {bound:.3f})"
    assert limiter.booked == count, "a request was booked twice"


def test_every_limit_of_a_call_is_kept() -> None:
    clock = FakeClock()
    limiter = Limiter(clock)
    both = (("acc", RateLimit(requests=5, per=1)), ("rec", RateLimit(requests=2, per=1)))
    gates = [Gate(limiter, both) for _ in range(3)]
    assert [gates[0].reserve(), gates[1].reserve()] == [0, 0]
    clock.now += 0.01
    gates[0].observe(201, {})
    assert gates[2].reserve() == pytest.approx(1 + MARGIN), "the narrower limit was not kept"


def test_a_place_waits_for_the_answer_that_opened_its_window() -> None:
    clock = FakeClock()
    limiter = Limiter(clock)
    limit = (("k", RateLimit(requests=1, per=1)),)
    first, second = Gate(limiter, limit), Gate(limiter, limit)
    assert first.reserve() == 0
    planned = second.reserve()
    assert planned == pytest.approx(1 + MARGIN), "planned from the first request's departure"
    clock.now += 0.5
    first.observe(201, {})  # its answer took half a second: it may have arrived that late
    clock.now += planned - 0.5
    assert second.ready() == pytest.approx(0.5), "left before the window after the answer"
    clock.now += 0.5
    assert second.ready() == 0
    assert limiter.booked == 2


def test_one_late_answer_holds_back_one_place_not_every_later_one() -> None:
    clock = FakeClock()
    limiter = Limiter(clock)
    limit = (("k", RateLimit(requests=3, per=1)),)
    gates = [Gate(limiter, limit) for _ in range(6)]
    assert [g.reserve() for g in gates[:3]] == [0, 0, 0]
    clock.now += 0.01
    gates[1].observe(201, {})
    gates[2].observe(201, {})
    clock.now += 0.49
    gates[0].observe(201, {})  # the first answer came last, half a second late
    # the fourth waits a window after the early answers, not after the late one: in any
    # window it may arrive in, at most the late one of the three may be counted with it
    assert gates[3].reserve() == pytest.approx(0.01 + 1 + MARGIN - 0.5)
    clock.now += gates[3].ready()
    assert gates[3].ready() == 0
    clock.now += 0.001
    gates[3].observe(201, {})
    # the fifth goes at once: the late answer and the fourth leave room for one more
    assert gates[4].reserve() == 0
    # the sixth, the fifth still out, waits for the late answer's window to pass
    late_window_ends = 100.5 + 1 + MARGIN
    assert gates[5].reserve() == pytest.approx(late_window_ends - clock.now)
    clock.now = late_window_ends
    assert gates[5].ready() == 0
    assert limiter.booked == 6


def test_an_answer_counts_from_when_its_headers_came() -> None:
    clock = FakeClock()
    limiter = Limiter(clock)
    limit = (("k", RateLimit(requests=1, per=1)),)
    first, second = Gate(limiter, limit), Gate(limiter, limit)
    assert first.reserve() == 0
    clock.now += 0.01
    headers_came = clock.now
    clock.now += 0.05  # the client read the body and worked out the result meanwhile
    first.observe(201, {}, at=headers_came)
    assert second.reserve() == pytest.approx(headers_came + 1 + MARGIN - clock.now)
    # a time later than the clock is no evidence: the answer counts from now
    clock.now = headers_came + 1 + MARGIN
    assert second.ready() == 0
    second.observe(201, {}, at=clock.now + 5)
    assert limiter._windows["k"].ends[-1] == pytest.approx(clock.now + 1 + MARGIN)


def test_an_unsent_request_frees_its_place() -> None:
    clock = FakeClock()
    limiter = Limiter(clock)
    limit = (("k", RateLimit(requests=1, per=1)),)
    first, second = Gate(limiter, limit), Gate(limiter, limit)
    first.reserve()
    second.reserve()
    first.release()  # e.g. the task was cancelled: no answer will ever come
    clock.now += 1 + MARGIN
    assert second.ready() == 0


def test_the_server_pauses_every_caller_and_may_lower_the_limit() -> None:
    clock = FakeClock()
    limiter = Limiter(clock)
    gate = Gate(limiter, (("k", RateLimit(requests=100, per=1)),))
    other = Gate(limiter, (("k", RateLimit(requests=100, per=1)),))
    assert gate.reserve() == 0
    gate.observe(429, {"retry-after": "3"})
    assert gate.paused() == pytest.approx(3)
    assert gate.reserve() == pytest.approx(3)
    # both wait for the pause's end, spread out as waiting requests are (PACE)
    assert other.reserve() == pytest.approx(3 + PACE / 100)
    clock.now += 3 + PACE / 100
    assert other.ready() == 0
    # a server saying nothing remains, when our requests do not fill the window: obeyed
    gate.observe(200, {"ratelimit": '"default";r=0;t=7'})
    assert gate.paused() == pytest.approx(7)
    gate.observe(200, {"ratelimit-policy": '"default";q=2;w=10'})
    assert limiter._windows["k"].limit == RateLimit(requests=2, per=10)
    assert limiter.booked == 3, "a pause cost a second booking"


def test_a_full_window_we_filled_ourselves_is_no_pause() -> None:
    clock = FakeClock()
    limiter = Limiter(clock)
    gates = [Gate(limiter, (("k", RateLimit(requests=3, per=1)),)) for _ in range(3)]
    assert [g.reserve() for g in gates] == [0, 0, 0]
    clock.now += 0.01
    for number, gate in enumerate(gates):
        gate.observe(201, {"ratelimit": f'"default";r={2 - number};t=1'})
    assert limiter.pauses == 0
    assert gates[0].paused() == 0


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

        async def main() -> list[TaskResult]:
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

        results = asyncio.run(main())
    assert all(r.ok for r in results)
    assert len(seen) == 4, "the refused create was not resent exactly once"
    assert limiter.booked == 4
    # the third and fourth sends each wait a window after an answer (less the time it took)
    assert limiter.waited > 0.18, "no wait was booked past the limit"
