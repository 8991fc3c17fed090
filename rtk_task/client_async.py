"""The :class:`AsyncClient`: calls tasks over one pooled :class:`httpx.AsyncClient`.

The source of :mod:`rtk_task.client_sync`: ``scripts/unasync.py`` writes the sync
:class:`~rtk_task.client.Client` from this file (``async def`` to ``def``, ``await`` dropped,
``AsyncClient`` to ``Client``, ``aclose`` to ``close``, ``asyncio.sleep`` to ``time.sleep``...),
so a call's driving loop, an attempt and closing are written once. A line ending in
``# unasync: async only``, or between ``# unasync: begin async only`` and
``# unasync: end async only``, is left out of the sync client (the pool's ``limits`` and
:func:`rtk_task.pool.fair_pool`). Change this file, then run ``python scripts/unasync.py``;
``tests/test_unasync.py`` fails while the generated file is stale.

What the two clients share (settings, credentials, building a call's flow) is
:class:`rtk_task.client_base.ClientBase`; what a call does is told in :mod:`rtk_task.client`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import SecretStr

from . import tracing
from .client_base import ClientBase, RateLimitSetting, Task, retry_after
from .errors import ConfigError
from .execute import (
    DEFAULT_MAX_BYTES,
    DeadlinePassed,
    ResponseTooLarge,
    error_result,
    failed,
    finish,
)
from .pool import fair_pool  # unasync: async only
from .ratelimit import Limiter
from .result import TaskResult
from .retry import Attempt, RetryPolicy, Send

__all__ = ["AsyncClient"]


class AsyncClient(ClientBase):
    """Calls tasks over one pooled :class:`httpx.AsyncClient` (or the one passed in)."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | SecretStr | None = None,
        http_client: httpx.AsyncClient | None = None,
        *,
        timeout: httpx.Timeout | float | None = None,
        max_response_bytes: int = DEFAULT_MAX_BYTES,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimitSetting = None,
        limiter: Limiter | None = None,
        limits: httpx.Limits | None = None,  # unasync: async only
        credentials: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            base_url,
            token,
            timeout=timeout,
            max_response_bytes=max_response_bytes,
            retry=retry,
            rate_limit=rate_limit,
            limiter=limiter,
            credentials=credentials,
        )
        self._owns = http_client is None
        self._given = http_client
        self._transport = transport
        # unasync: begin async only
        #: The pool's limits when this client makes its own (httpx's default: 100 connections,
        #: 20 kept idle): size it to the calls in flight.
        self.limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)
        # unasync: end async only

    @cached_property
    def _http(self) -> httpx.AsyncClient:
        # made on first send: a dry run never pays for the pool and its TLS context
        if self._given is not None:
            return self._given
        # annotated: the sync client, without the pool line below, returns it at once
        made: httpx.AsyncClient = httpx.AsyncClient(
            transport=self._transport,
            follow_redirects=False,
            limits=self.limits,  # unasync: async only
        )
        # unasync: begin async only
        # rtk_task.pool.FairPool in place of httpcore's pool: it hands an idle connection to
        # one request at a time, so that many calls started at once share the idle
        # connections rather than all waiting on the first one
        fair_pool(made)
        # unasync: end async only
        return made

    async def call(
        self,
        task: Task,
        inputs: dict[str, Any],
        *,
        secrets: Iterable[str] = (),
        base_url: str | None = None,
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        paginate: bool = False,
        max_pages: int | None = None,
        rate_limit: RateLimitSetting = None,
        save_to: str | Path | None = None,
        raw_outputs: dict[str, Any] | None = None,
    ) -> TaskResult:
        """Validate, send and read one call of ``task`` with ``inputs`` (plain data).

        Failed attempts are retried as ``retry`` (or the client's policy) allows; a call that
        creates something is resent only when the server surely did not process it. With
        ``paginate`` a list task's pages (at most ``max_pages``) are gathered into one result
        whose ``items`` output holds every item and ``pages`` counts the pages.
        ``rate_limit`` (default: the client's) keeps the call to a rate limit; it may wait.
        ``save_to`` writes a successful answer's body to that file (a download: text, an
        image, an archive, up to ``max_download_bytes``; written whole or not at all) instead
        of parsing it; the outputs are ``file``, ``bytes`` and ``content_type``.
        ``raw_outputs``, a dict, receives the outputs before masking (a workflow step passes
        a value equal to a secret on to later steps unchanged; never show it).
        """
        flow = self._flow(
            task,
            inputs,
            secrets,
            base_url,
            retry,
            paginate,
            max_pages,
            rate_limit,
            save_to,
            raw_outputs,
        )
        if isinstance(flow, TaskResult):
            return flow
        attempt = tracing.traced_async(self._attempt) if tracing.enabled() else self._attempt
        try:
            action = next(flow)
            while True:
                if isinstance(action, Send):
                    action = flow.send(await attempt(action, timeout))
                else:
                    await asyncio.sleep(action.seconds)
                    action = flow.send(None)
        except StopIteration as done:
            result: TaskResult = done.value
            return result

    async def _attempt(self, send: Send, timeout: httpx.Timeout | None) -> Attempt:
        prepared = send.call
        request = prepared.request.to_httpx()
        request.extensions = self._extensions(timeout, send)
        if send.headers:  # the attempt's trace context: sent, never shown in a result
            request.headers.update(send.headers)
        try:
            auth = self._auth(prepared)
            response = await self._http.send(request, stream=True, auth=auth)
            # one pass over httpx's headers, by lower-case name, for everything read below
            headers = dict(response.headers.multi_items())
            try:
                with self._sink(send, response.status_code, headers) as sink:
                    async for chunk in response.aiter_bytes():
                        sink.write(chunk)
                    sink.finish()
            finally:
                await response.aclose()
        except (httpx.HTTPError, ResponseTooLarge, DeadlinePassed, OSError) as exc:
            return Attempt(failed(prepared, exc, attempts=1, elapsed_ms=0.0), exc)
        except ConfigError as exc:  # no OAuth2 token: the request itself was not sent
            return Attempt(error_result(prepared.manifest.id, exc, prepared.redactor))
        result = finish(
            prepared,
            response.status_code,
            headers,
            sink.body,
            attempts=1,
            elapsed_ms=0.0,
            saved=sink.saved,
        )
        return Attempt(result, retry_after=retry_after(response.status_code, headers))

    async def aclose(self) -> None:
        """Close the pooled client if this object made it."""
        if self._owns and "_http" in self.__dict__:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
