"""The async client's pool: an idle connection goes to one waiting request, counts are right."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable

import httpcore
import httpx
from httpcore._async.connection_pool import AsyncPoolRequest

from rtk_task import AsyncClient
from rtk_task.pool import FairPool, fair_pool

ORIGIN = "http://127.0.0.1:8787/"


class FakeConnection(httpcore.AsyncConnectionInterface):
    """A connection in a fixed state: idle (free for a request) or active."""

    def __init__(self, idle: bool) -> None:
        self.idle = idle

    def can_handle_request(self, origin: httpcore.Origin) -> bool:
        return origin == httpcore.URL(ORIGIN).origin

    def is_available(self) -> bool:
        return self.idle

    def has_expired(self) -> bool:
        return False

    def is_idle(self) -> bool:
        return self.idle

    def is_closed(self) -> bool:
        return False

    def info(self) -> str:
        return "fake"


def in_loop(test: Callable[[], None]) -> Callable[[], None]:
    """Run ``test`` inside an event loop (httpcore's events need one)."""

    @functools.wraps(test)
    def run() -> None:
        async def main() -> None:
            test()

        asyncio.run(main())

    return run


def _pool(*connections: FakeConnection, max_keepalive: int = 20) -> FairPool:
    pool = FairPool(max_connections=10, max_keepalive_connections=max_keepalive)
    pool._connections.extend(connections)
    return pool


def _queue(pool: FairPool, n: int) -> list[AsyncPoolRequest]:
    requests = [AsyncPoolRequest(httpcore.Request("POST", ORIGIN)) for _ in range(n)]
    pool._requests.extend(requests)
    return requests


@in_loop
def test_one_idle_connection_goes_to_one_of_many_waiting_requests() -> None:
    idle = FakeConnection(idle=True)
    pool = _pool(idle)
    waiting = _queue(pool, 4)
    closing = pool._assign_requests_to_connections()
    assert closing == []
    given = [r.connection for r in waiting]
    assert given[0] is idle
    assert all(c is not None and c is not idle for c in given[1:]), (
        "several requests were handed the same idle connection"
    )
    assert len({id(c) for c in given}) == 4
    assert len(pool._connections) == 4


@in_loop
def test_a_connection_handed_out_but_not_started_is_neither_handed_again_nor_closed() -> None:
    idle = FakeConnection(idle=True)
    pool = _pool(idle, max_keepalive=1)
    first = _queue(pool, 1)
    pool._assign_requests_to_connections()
    assert first[0].connection is idle
    pool._max_keepalive_connections = 0  # idle past the limit, were it not promised
    second = _queue(pool, 1)  # the first has not started on its connection yet
    closing = pool._assign_requests_to_connections()
    assert idle not in closing, "a connection promised to a request was closed"
    assert second[0].connection is not idle


@in_loop
def test_only_idle_connections_count_toward_the_keepalive_limit() -> None:
    # httpcore counts every connection here and closes each idle one past the limit
    active = [FakeConnection(idle=False) for _ in range(3)]
    idle = [FakeConnection(idle=True) for _ in range(2)]
    pool = _pool(*active, *idle, max_keepalive=2)
    assert pool._assign_requests_to_connections() == []
    assert len(pool._connections) == 5
    pool = _pool(*active, *idle, max_keepalive=1)
    closing = pool._assign_requests_to_connections()
    assert closing == [idle[0]], "one idle connection past the limit of one should close"


@in_loop
def test_at_the_connection_limit_a_request_waits_or_replaces_an_idle_connection() -> None:
    busy = [FakeConnection(idle=False) for _ in range(9)]
    spare = FakeConnection(idle=True)
    pool = _pool(*busy, spare)
    waiting = _queue(pool, 2)
    pool._assign_requests_to_connections()
    assert waiting[0].connection is spare
    assert waiting[1].connection is None, "the pool went past max_connections"


def test_the_client_pools_fairly_with_its_limits_and_leaves_other_transports_alone() -> None:
    async def main() -> None:
        limits = httpx.Limits(max_connections=150, max_keepalive_connections=64)
        async with AsyncClient(base_url=ORIGIN, limits=limits) as client:
            pool = client._http._transport._pool  # type: ignore[attr-defined]
            assert type(pool) is FairPool
            assert (pool._max_connections, pool._max_keepalive_connections) == (150, 64)
        mock = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
        assert fair_pool(mock)._transport is mock._transport
        assert type(mock._transport) is httpx.MockTransport
        await mock.aclose()
        given = httpx.AsyncClient()
        async with AsyncClient(base_url=ORIGIN, http_client=given) as client:
            assert client._http is given
            assert type(given._transport._pool) is httpcore.AsyncConnectionPool  # type: ignore[attr-defined]
        await given.aclose()

    asyncio.run(main())
