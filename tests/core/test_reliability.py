"""Volume guarantees against the emulator: no lost or duplicated creates, flat memory."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from rtk_task import AsyncClient, TaskResult
from rtk_task.emulator import EmulatorServer
from rtk_task.retry import RetryPolicy

from ..helpers import CANARY

FAST = RetryPolicy(initial_interval=0.001, max_interval=0.01, jitter=0, max_attempts=6)


async def _creates(
    base_url: str, count: int, concurrency: int, account: str, retry: RetryPolicy = FAST
) -> list[TaskResult]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    sem = asyncio.Semaphore(concurrency)
    # a read timeout far above any answer's time: a busy machine (another job beside this
    # one) slows the emulator, and a create that times out is ambiguous, never resent
    async with AsyncClient(
        base_url=base_url,
        retry=retry,
        http_client=httpx.AsyncClient(limits=limits),
        timeout=httpx.Timeout(120.0, connect=30.0),
    ) as client:

        async def one(i: int) -> TaskResult:
            async with sem:
                return await client.call(
                    "realtimekit.meetings.create", {"account_id": account, "title": f"m-{i}"}
                )

        return list(await asyncio.gather(*(one(i) for i in range(count))))


def _titles(base_url: str, account: str) -> Counter[str]:
    titles: Counter[str] = Counter()
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {CANARY}"}) as http:
        page = 1
        while True:
            body = http.get(
                f"/accounts/{account}/realtimekit/meetings",
                params={"page_no": page, "per_page": 500},
            ).json()
            titles.update(m["title"] for m in body["data"])
            if not body["data"]:
                return titles
            page += 1


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_1000_creates_with_random_faults_lose_nothing_and_duplicate_nothing() -> None:
    faults = [  # none of these processes the request: the server surely did not create
        {
            "action": "status",
            "status": 429,
            "retry_after": "0",
            "probability": 0.2,
            "seed": 1,
            "times": None,
            "match": {"operation": "create_meeting"},
        },
        {"action": "status", "status": 503, "probability": 0.05, "seed": 2, "times": None},
        {"action": "status", "status": 500, "probability": 0.05, "seed": 3, "times": None},
    ]
    with EmulatorServer(port=0, token=CANARY, faults=faults) as server:
        results = asyncio.run(_creates(server.base_url, 1000, 50, "faulty"))
        ok = sum(r.ok for r in results)
        stats = server.stats()
        titles = _titles(server.base_url, "faulty")
    assert stats["faults_fired"] > 100, "the faults did not fire"
    assert stats["meetings_created"]["faulty"] == ok, "meetings on the server != ok results"
    assert max(titles.values()) == 1, "a meeting was created twice"
    kinds = Counter(r.error.kind for r in results if r.error)
    assert set(kinds) <= {"ambiguous", "http"}, kinds
    assert sum(r.attempts > 1 for r in results) > 50, "429s were not retried"


def test_ambiguous_failures_are_reported_and_never_resent() -> None:
    faults = [{"action": "process_then_fail", "probability": 0.2, "seed": 5, "times": None}]
    with EmulatorServer(port=0, token=CANARY, faults=faults) as server:
        results = asyncio.run(_creates(server.base_url, 200, 20, "amb"))
        stats = server.stats()
        titles = _titles(server.base_url, "amb")
    ambiguous = [r for r in results if r.error and r.error.kind == "ambiguous"]
    assert ambiguous, "no fault fired"
    assert stats["requests"]["create_meeting"] == 200, "an ambiguous create was resent"
    assert stats["meetings_created"]["amb"] == 200
    assert max(titles.values()) == 1


@pytest.fixture
def emulator_process() -> Iterator[str]:
    """The emulator in its own process, so its store does not count in our memory."""
    from rtk_task.emulator import emulator_process

    with emulator_process(CANARY) as base_url:
        yield base_url


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        return next(int(line.split()[1]) / 1024 for line in fh if line.startswith("VmRSS:"))


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_10000_async_creates_at_concurrency_100_are_all_accounted_for(
    emulator_process: str,
) -> None:
    base = emulator_process

    async def run() -> tuple[list[Any], float, float]:
        warm = await _creates(base, 2000, 100, "load")
        before = _rss_mb()
        rest = await _creates(base, 8000, 100, "load")
        return [*warm, *rest], before, _rss_mb()

    results, before, after = asyncio.run(run())
    stats = httpx.get(base.replace("/client/v4", "/__emulator/stats")).json()
    assert len(results) == 10_000
    assert all(r.ok for r in results), Counter(r.error.kind for r in results if r.error)
    assert stats["meetings_created"]["load"] == 10_000
    # 8,000 more calls (and their results, kept here) must not grow memory much
    assert after - before < 60, f"memory grew {after - before:.1f} MB over 8,000 calls"
