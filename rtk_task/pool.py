"""The connection pool of the async client: each idle connection goes to one waiting request.

httpcore 1.0's pool (``_assign_requests_to_connections``) hands every queued request the
first idle connection, because an HTTP/1.1 connection stays "idle" until the request it was
given starts on it. When many requests start in one turn of the event loop (a ``for_each``
step's workers, a gather) while the pool holds idle connections, they all wait on the same
one; all but one then fail with ``ConnectionNotAvailable`` and queue again, and the pool
re-scans every request and connection each time: quadratic work, a pool that never grows
past the idle connections it had (a run of 1,000 adds at concurrency 64 made ~4,700 retries
over 14-21 connections). The same pass also counts *all* connections as idle when deciding
what to close, so past ``max_keepalive_connections`` connections every connection is closed
as soon as it is idle (no reuse at all under load). Upstream: encode/httpcore#1035, #1110.

:class:`FairPool` is that pool with one pass that keeps those promises:

- a connection is handed to at most one waiting request per pass, and one handed to a request
  that has not started on it yet is neither handed again nor closed;
- only connections that are idle and unclaimed count toward ``max_keepalive_connections``;
- otherwise as httpcore: closed and expired connections are dropped, a new connection is made
  while below ``max_connections``, and at the limit an idle one is closed to make room.

:func:`fair_pool` installs it in an :class:`httpx.AsyncClient`'s default transport (its
settings, proxies and TLS untouched) and leaves any other transport alone.
"""

from __future__ import annotations

import httpcore
import httpx

__all__ = ["FairPool", "fair_pool"]


class FairPool(httpcore.AsyncConnectionPool):
    """httpcore's async pool, assigning each idle connection to one waiting request."""

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        if self._http2:  # a connection takes many requests at once: httpcore's own pass
            return super()._assign_requests_to_connections()
        closing: list[httpcore.AsyncConnectionInterface] = []
        # handed to a request that has not started on it yet (or is using it)
        claimed = {id(r.connection) for r in self._requests if r.connection is not None}
        idle = sum(1 for c in self._connections if c.is_idle() and id(c) not in claimed)
        conn: httpcore.AsyncConnectionInterface
        for conn in list(self._connections):
            if conn.is_closed():
                self._connections.remove(conn)
            elif id(conn) in claimed:
                continue
            elif conn.has_expired() or (conn.is_idle() and idle > self._max_keepalive_connections):
                idle -= conn.is_idle()
                self._connections.remove(conn)
                closing.append(conn)
        free = [c for c in self._connections if id(c) not in claimed and c.is_available()]
        for request in self._requests:
            if not request.is_queued():
                continue
            origin = request.request.url.origin
            found = next((c for c in free if c.can_handle_request(origin)), None)
            if found is not None:
                free.remove(found)
                conn = found
            else:
                if len(self._connections) >= self._max_connections:
                    spare = next((c for c in free if c.is_idle()), None)
                    if spare is None:
                        continue  # it waits for a connection to come back
                    free.remove(spare)
                    self._connections.remove(spare)
                    closing.append(spare)
                conn = self.create_connection(origin)
                self._connections.append(conn)
            request.assign_to_connection(conn)
        return closing


def fair_pool(http: httpx.AsyncClient) -> httpx.AsyncClient:
    """``http`` with :class:`FairPool` as the pool of its default transport; a client whose
    transport is not httpx's own (a mock, a custom transport) is returned unchanged."""
    transport = getattr(http, "_transport", None)
    pool = getattr(transport, "_pool", None)
    if type(pool) is httpcore.AsyncConnectionPool and hasattr(pool, "_requests"):
        pool.__class__ = FairPool  # same state, one method replaced: settings are kept
    return http
