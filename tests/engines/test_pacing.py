"""The workflow's own pace (rtk_task.engines.pacing), on a virtual clock: the requests of many
concurrent callers, answered after random latencies, never put more than the limit's requests
in any window at the server, and use nearly all of it. The engine test with real workers is
tests/engines/test_temporal_workers.py."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import random
from collections.abc import Callable

import pytest

from rtk_task.engines.pacing import Pacer, limits_of, limits_payload, step_limits
from rtk_task.providers.model import RateLimit
from rtk_task.workflows.model import parse_workflow


class VirtualClock:
    """Time that moves only when every task is waiting: to the next timer."""

    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._changed = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + max(0.0, seconds), next(self._order), future))
        await future

    async def until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            self._changed.clear()
            await self._changed.wait()

    def changed(self) -> None:
        self._changed.set()

    async def drive(self, tasks: list[asyncio.Task[None]]) -> None:
        while not all(t.done() for t in tasks):
            for _ in range(50):  # let every runnable task reach its next wait
                await asyncio.sleep(0)
            if self._timers:
                at, _, future = heapq.heappop(self._timers)
                self.now = max(self.now, at)
                future.set_result(None)
            elif not all(t.done() for t in tasks):
                raise AssertionError("deadlock: tasks wait and no timer is set")
        for task in tasks:
            task.result()


def _busiest_window(arrivals: list[float], per: float) -> int:
    arrivals = sorted(arrivals)
    most, start = 0, 0
    for end, t in enumerate(arrivals):
        while arrivals[start] <= t - per:
            start += 1
        most = max(most, end - start + 1)
    return most


@pytest.mark.parametrize(("latency", "seed"), [(0.002, 1), (0.05, 2), (0.4, 3)])
def test_no_window_at_the_server_holds_more_than_the_limit(latency: float, seed: int) -> None:
    limit, total, workers = RateLimit(requests=50, per=10.0), 400, 16
    rng = random.Random(seed)
    arrivals: list[float] = []

    async def main() -> None:
        clock = VirtualClock()
        pacer = Pacer(lambda: clock.now, clock.sleep, clock.until)
        queue = list(range(total))

        async def worker() -> None:
            while queue:
                queue.pop()
                places = await pacer.book([("api|account", limit)])
                # dispatch jitter (now and then a long stall: requests reach the server out
                # of the order they were booked in), then the trip there and back
                stall = 20 * latency if rng.random() < 0.05 else latency
                await clock.sleep(rng.uniform(0, stall))
                arrivals.append(clock.now + rng.uniform(0, latency))
                await clock.sleep(rng.uniform(0, 2 * latency) + latency)
                pacer.answered(places)
                clock.changed()

        tasks = [asyncio.ensure_future(worker()) for _ in range(workers)]
        await clock.drive(tasks)

    asyncio.run(main())
    assert len(arrivals) == total
    assert _busiest_window(arrivals, limit.per) <= limit.requests
    # the least time the limit allows between the first and the last arrival
    ideal = (total - limit.requests) / limit.requests * limit.per
    used = ideal / (max(arrivals) - min(arrivals))
    # one round trip per window is the cost: a few % of a 10 s window at 50 ms
    assert used >= (0.9 if latency < 0.1 else 0.7), used


def test_a_new_limit_for_a_key_starts_a_new_count() -> None:
    async def main() -> list[float]:
        clock = VirtualClock()
        pacer = Pacer(lambda: clock.now, clock.sleep, clock.until)
        sent: list[float] = []
        for limit in (RateLimit(requests=1, per=5), RateLimit(requests=2, per=5)):
            places = await pacer.book([("k", limit)])
            sent.append(clock.now)
            pacer.answered(places)
        return sent

    assert asyncio.run(main()) == [0.0, 0.0]


WORKFLOW = """
name: paced
{limit}
steps:
  - id: make
    task: realtimekit.meetings.create
    with: {{account_id: acc, title: t}}
"""


def test_step_limits_follow_the_manifest_and_the_workflow_setting() -> None:
    documented = parse_workflow(WORKFLOW.format(limit=""), "wf.yaml")
    step = documented.steps[0]
    limits = dict(step_limits(documented, step, "http://127.0.0.1:9/"))
    assert limits["127.0.0.1|account"] == RateLimit(requests=250, per=10)
    own = parse_workflow(WORKFLOW.format(limit="rate_limit: {requests: 7, per: 2}"), "wf.yaml")
    account = [v for k, v in step_limits(own, own.steps[0], None) if k.endswith("|account")]
    assert account == [RateLimit(requests=7, per=2)]
    # what the workflow reads: the starter's limits, as plain data in its payload
    payload = json.loads(json.dumps({"limits": limits_payload(own, None)}))
    assert limits_of(payload, own.steps[0]) == step_limits(own, own.steps[0], None)
    off = parse_workflow(WORKFLOW.format(limit="rate_limit: false"), "wf.yaml")
    assert step_limits(off, off.steps[0], None) == ()
