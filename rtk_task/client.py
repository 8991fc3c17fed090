"""The public clients: :class:`Client` and :class:`AsyncClient`.

Each owns one pooled httpx client (or uses the one passed in) and runs a call through
:mod:`rtk_task.execute`. ``call`` returns a :class:`TaskResult` whatever happens after the
task is found: bad inputs and remote failures are results with ``ok: false``, never raised
(use :meth:`TaskResult.raise_for_error` to raise).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import SecretStr

from .execute import (
    DEFAULT_MAX_BYTES,
    Call,
    DeadlinePassed,
    ResponseTooLarge,
    failed,
    finish,
    prepare,
)
from .manifests.model import Manifest
from .manifests.registry import load_task
from .result import TaskResult
from .retry import (
    DEFAULT_POLICY,
    Attempt,
    RetryPolicy,
    classify,
    retry_after_seconds,
    with_retries,
    with_retries_async,
)
from .secrets import Redactor

__all__ = ["AsyncClient", "Client"]

Task = str | Path | Manifest
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class _Base:
    def __init__(
        self,
        base_url: str | None = None,
        token: str | SecretStr | None = None,
        *,
        timeout: httpx.Timeout | float | None = None,
        max_response_bytes: int = DEFAULT_MAX_BYTES,
        retry: RetryPolicy | None = None,
    ) -> None:
        if token is None:
            token = os.environ.get("CLOUDFLARE_API_TOKEN") or None
        self.base_url = base_url
        self._token = SecretStr(token) if isinstance(token, str) else token
        self._redactor = Redactor([self._token.get_secret_value()] if self._token else [])
        self.timeout = httpx.Timeout(timeout) if timeout is not None else DEFAULT_TIMEOUT
        self.max_response_bytes = max_response_bytes
        self.retry = retry or DEFAULT_POLICY
        self._default_extensions = {"timeout": self.timeout.as_dict()}
        #: Manifests by the name they were asked for: one registry look-up per client.
        self._tasks: dict[str | Path, Manifest] = {}

    @property
    def redactor(self) -> Redactor:
        """What this client masks: its token."""
        return self._redactor

    def _prepare(
        self,
        task: Task,
        inputs: dict[str, Any],
        secrets: Iterable[str],
        base_url: str | None,
        *,
        require_token: bool = True,
    ) -> Call | TaskResult:
        if isinstance(task, Manifest):
            manifest = task
        else:
            manifest = self._tasks.get(task) or self._tasks.setdefault(task, load_task(task))
        redactor = self._redactor.extend(secrets) if secrets else self._redactor
        return prepare(
            manifest,
            inputs,
            base_url=base_url or self.base_url,
            token=self._token,
            redactor=redactor,
            require_token=require_token,
        )

    def _extensions(
        self, timeout: httpx.Timeout | None, policy: RetryPolicy, started: float
    ) -> dict[str, Any]:
        if timeout is None and policy.deadline is None:
            return self._default_extensions
        limits = (timeout or self.timeout).as_dict()
        if policy.deadline is not None:
            left = max(0.001, policy.deadline - (time.monotonic() - started))
            limits = {k: left if v is None else min(v, left) for k, v in limits.items()}
        return {"timeout": limits}

    def _check_progress(self, raw: bytearray, policy: RetryPolicy, started: float) -> None:
        """Stop reading past the size cap, or past the deadline (a slow drip)."""
        if len(raw) > self.max_response_bytes:
            raise ResponseTooLarge(f"more than {self.max_response_bytes} bytes")
        if policy.deadline is not None and time.monotonic() - started > policy.deadline:
            raise DeadlinePassed(f"the deadline ({policy.deadline:g} s) passed while reading")

    def _check_length(self, headers: dict[str, str]) -> None:
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_response_bytes:
            raise ResponseTooLarge(f"Content-Length {length} > {self.max_response_bytes}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, token={self._token!r})"


class Client(_Base):
    """Calls tasks synchronously over one pooled :class:`httpx.Client`."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | SecretStr | None = None,
        http_client: httpx.Client | None = None,
        *,
        timeout: httpx.Timeout | float | None = None,
        max_response_bytes: int = DEFAULT_MAX_BYTES,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        super().__init__(
            base_url, token, timeout=timeout, max_response_bytes=max_response_bytes, retry=retry
        )
        self._owns = http_client is None
        self._given = http_client
        self._transport = transport

    @cached_property
    def _http(self) -> httpx.Client:
        # made on first send: a dry run never pays for the pool and its TLS context
        return self._given or httpx.Client(transport=self._transport, follow_redirects=False)

    def call(
        self,
        task: Task,
        inputs: dict[str, Any],
        *,
        secrets: Iterable[str] = (),
        base_url: str | None = None,
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
    ) -> TaskResult:
        """Validate, send and read one call of ``task`` with ``inputs`` (plain data).

        Failed attempts are retried as ``retry`` (or the client's policy) allows; a call that
        creates something is resent only when the server surely did not process it.
        """
        prepared = self._prepare(task, inputs, secrets, base_url)
        if isinstance(prepared, TaskResult):
            return prepared
        policy = retry or self.retry
        started = time.monotonic()

        def send() -> Attempt:
            return self._attempt(prepared, timeout, policy, started)

        attempt = classify(send(), prepared.manifest, policy)
        if attempt.retryable:
            attempt = with_retries(attempt, send, prepared.manifest, policy, started)
        return _final(attempt, started)

    def _attempt(
        self, prepared: Call, timeout: httpx.Timeout | None, policy: RetryPolicy, started: float
    ) -> Attempt:
        request = prepared.request.to_httpx()
        request.extensions = self._extensions(timeout, policy, started)
        try:
            response = self._http.send(request, stream=True)
            # one pass over httpx's headers, by lower-case name, for everything read below
            headers = dict(response.headers.multi_items())
            try:
                self._check_length(headers)
                raw = bytearray()
                for chunk in response.iter_bytes():
                    raw += chunk
                    self._check_progress(raw, policy, started)
            finally:
                response.close()
        except (httpx.HTTPError, ResponseTooLarge, DeadlinePassed) as exc:
            return Attempt(failed(prepared, exc, attempts=1, elapsed_ms=_ms(started)), exc)
        result = finish(
            prepared,
            response.status_code,
            headers,
            bytes(raw),
            attempts=1,
            elapsed_ms=_ms(started),
        )
        return Attempt(result, retry_after=_retry_after(response.status_code, headers))

    def prepare(
        self, task: Task, inputs: dict[str, Any], *, base_url: str | None = None
    ) -> Call | TaskResult:
        """Validate and build without sending (a dry run; no token needed)."""
        return self._prepare(task, inputs, (), base_url, require_token=False)

    def close(self) -> None:
        """Close the pooled client if this object made it."""
        if self._owns and "_http" in self.__dict__:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Base):
    """Calls tasks with ``await`` over one pooled :class:`httpx.AsyncClient`."""

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
    ) -> None:
        super().__init__(
            base_url, token, timeout=timeout, max_response_bytes=max_response_bytes, retry=retry
        )
        self._owns = http_client is None
        self._given = http_client
        self._transport = transport

    @cached_property
    def _http(self) -> httpx.AsyncClient:
        # made on first send: a dry run never pays for the pool and its TLS context
        return self._given or httpx.AsyncClient(transport=self._transport, follow_redirects=False)

    async def call(
        self,
        task: Task,
        inputs: dict[str, Any],
        *,
        secrets: Iterable[str] = (),
        base_url: str | None = None,
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
    ) -> TaskResult:
        """Validate, send and read one call of ``task`` with ``inputs`` (plain data).

        Failed attempts are retried as ``retry`` (or the client's policy) allows; a call that
        creates something is resent only when the server surely did not process it.
        """
        prepared = self._prepare(task, inputs, secrets, base_url)
        if isinstance(prepared, TaskResult):
            return prepared
        policy = retry or self.retry
        started = time.monotonic()

        async def send() -> Attempt:
            return await self._attempt(prepared, timeout, policy, started)

        attempt = classify(await send(), prepared.manifest, policy)
        if attempt.retryable:
            attempt = await with_retries_async(attempt, send, prepared.manifest, policy, started)
        return _final(attempt, started)

    async def _attempt(
        self, prepared: Call, timeout: httpx.Timeout | None, policy: RetryPolicy, started: float
    ) -> Attempt:
        request = prepared.request.to_httpx()
        request.extensions = self._extensions(timeout, policy, started)
        try:
            response = await self._http.send(request, stream=True)
            # one pass over httpx's headers, by lower-case name, for everything read below
            headers = dict(response.headers.multi_items())
            try:
                self._check_length(headers)
                raw = bytearray()
                async for chunk in response.aiter_bytes():
                    raw += chunk
                    self._check_progress(raw, policy, started)
            finally:
                await response.aclose()
        except (httpx.HTTPError, ResponseTooLarge, DeadlinePassed) as exc:
            return Attempt(failed(prepared, exc, attempts=1, elapsed_ms=_ms(started)), exc)
        result = finish(
            prepared,
            response.status_code,
            headers,
            bytes(raw),
            attempts=1,
            elapsed_ms=_ms(started),
        )
        return Attempt(result, retry_after=_retry_after(response.status_code, headers))

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


def _ms(start: float) -> float:
    return (time.monotonic() - start) * 1000


def _retry_after(status: int, headers: dict[str, str]) -> float | None:
    if status in (429, 503):
        return retry_after_seconds(headers.get("retry-after"))
    return None


def _final(attempt: Attempt, started: float) -> TaskResult:
    """The last attempt's result, saying why retrying stopped and the total time."""
    result = attempt.result
    # a result is a fresh object of ours: setting fields in place is safe and cheap
    result.elapsed_ms = round(_ms(started), 3)
    error = result.error
    if error is not None and (attempt.gave_up or (attempt.retryable and result.attempts > 1)):
        why = attempt.gave_up or f"gave up after {result.attempts} attempts"
        result.error = error.model_copy(update={"message": f"{error.message} ({why})"})
    return result
