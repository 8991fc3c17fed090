"""The public clients: :class:`Client` and :class:`AsyncClient`, one behaviour, two drivers.

Each owns one pooled httpx client (or uses the one passed in). A call is validated and built
by :mod:`rtk_task.execute`, then run as a sans-I/O flow (:func:`rtk_task.retry.retry_flow`,
or :func:`rtk_task.paginate.page_flow` for ``paginate=True``) that both clients drive: the
sync one with blocking sends and ``time.sleep``, the async one with ``await``. Retries,
waits, deadlines and paging are therefore the same code on both paths.

``call`` returns a :class:`TaskResult` whatever happens after the task is found: bad inputs
and remote failures are results with ``ok: false``, never raised (use
:meth:`TaskResult.raise_for_error` to raise). ``prepare`` is the dry run: a result holding
the request that would be sent, nothing sent.

Rate limits (:mod:`rtk_task.ratelimit`): with ``rate_limit=True`` every call keeps to the
limits its provider documents, with a :class:`~rtk_task.ratelimit.RateLimit` to that limit
per account (and the provider's narrower ones), per token and account, on the process's
shared limiter; the default (``None``) sets none. A call's own ``rate_limit`` wins.

The token: one given to the client is used for every task; a client given none reads the
environment variable the called task's manifest names (``auth.env``), at call time, with
trailing CR/LF stripped (a token saved with Windows line ends); a token holding any other
control character is a ``config`` error and nothing is sent.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import SecretStr

from .errors import ConfigError, Problem
from .execute import (
    DEFAULT_MAX_BYTES,
    Call,
    DeadlinePassed,
    ResponseTooLarge,
    dry_run,
    error_result,
    failed,
    finish,
    prepare,
)
from .manifests.model import Manifest
from .manifests.registry import load_task
from .paginate import page_flow, paging_of
from .pool import fair_pool
from .providers import provider_for
from .ratelimit import Gate, Limiter, RateLimit, shared_limiter, token_key
from .result import TaskResult
from .retry import (
    DEFAULT_POLICY,
    Attempt,
    Flow,
    RetryPolicy,
    Send,
    gated,
    retry_after_seconds,
    retry_flow,
)
from .secrets import Redactor, control_characters, read_env

__all__ = ["AsyncClient", "Client", "Task"]

#: What names a task: its id, a manifest file, or a loaded manifest.
Task = str | Path | Manifest
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
#: ``True``: the provider's documented limits; a :class:`RateLimit`: that one per account;
#: ``False`` or ``None``: no client-side limit.
RateLimitSetting = RateLimit | bool | None


class _Base:
    """What both clients share: settings, tokens, building a call's flow, reading a body."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | SecretStr | None = None,
        *,
        timeout: httpx.Timeout | float | None = None,
        max_response_bytes: int = DEFAULT_MAX_BYTES,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimitSetting = None,
        limiter: Limiter | None = None,
    ) -> None:
        self.base_url = base_url
        self.rate_limit = rate_limit
        #: Where slots are booked: the process's shared limiter unless one is given.
        self.limiter = limiter or shared_limiter()
        self._token = SecretStr(token) if isinstance(token, str) else token
        self._redactor = Redactor([self._token.get_secret_value()] if self._token else [])
        #: Tokens read from the environment, by variable: (value, secret, its redactor).
        self._env_tokens: dict[str, tuple[str, SecretStr, Redactor]] = {}
        self.timeout = httpx.Timeout(timeout) if timeout is not None else DEFAULT_TIMEOUT
        self.max_response_bytes = max_response_bytes
        self.retry = retry or DEFAULT_POLICY
        self._default_extensions = {"timeout": self.timeout.as_dict()}
        #: Manifests by the name they were asked for: one registry look-up per client.
        self._tasks: dict[str | Path, Manifest] = {}

    @property
    def redactor(self) -> Redactor:
        """What this client masks: its token, and every token it read from the environment."""
        return self._redactor.extend(v[0] for v in self._env_tokens.values())

    def _manifest(self, task: Task) -> Manifest:
        if isinstance(task, Manifest):
            return task
        return self._tasks.get(task) or self._tasks.setdefault(task, load_task(task))

    def _credentials(self, manifest: Manifest) -> tuple[SecretStr | None, Redactor]:
        """The token for ``manifest`` (the client's, else its ``auth.env`` now) and its mask.

        A task with no auth gets none; a task with a server of its own (a plain ``http``
        step) never gets the client's token, only its own variable's.
        """
        if manifest.auth.type == "none":
            return None, self._redactor
        if self._token is not None and not manifest.fixed_server:
            return self._token, self._redactor
        env = manifest.auth.env
        value = read_env(env) or None  # trailing CR/LF stripped: a file with Windows line ends
        if value is None:
            return None, self._redactor
        if control_characters(value):
            raise ConfigError(
                Problem(
                    env,
                    "the token holds a control character (a line break?), "
                    "which no header may hold; nothing was sent",
                    f"set {env} to the token alone, on one line",
                )
            )
        known = self._env_tokens.get(env)
        if known is None or known[0] != value:
            known = (value, SecretStr(value), Redactor([value]))
            self._env_tokens[env] = known
        return known[1], known[2]

    def _flow(
        self,
        task: Task,
        inputs: dict[str, Any],
        secrets: Iterable[str],
        base_url: str | None,
        retry: RetryPolicy | None,
        paginate: bool,
        max_pages: int | None,
        rate_limit: RateLimitSetting = None,
    ) -> Flow | TaskResult:
        """The flow of one call, or the result of a call that cannot start (nothing sent)."""
        manifest = self._manifest(task)
        try:
            token, redactor = self._credentials(manifest)
        except ConfigError as exc:
            return error_result(manifest.id, exc, self._redactor.extend(secrets))
        if secrets:
            redactor = redactor.extend(secrets)
        base_url = base_url or self.base_url
        policy = retry or self.retry
        setting = self.rate_limit if rate_limit is None else rate_limit
        if not paginate:
            prepared = prepare(manifest, inputs, base_url=base_url, token=token, redactor=redactor)
            if isinstance(prepared, TaskResult):
                return prepared
            flow = retry_flow(prepared, policy)
            gate = self._gate(manifest, prepared, token, setting)
            return flow if gate is None else gated(flow, gate)
        paging = paging_of(manifest)
        if paging is None:
            problem = Problem(
                "paginate",
                f"{manifest.id} does not page",
                "paginate needs a list task with page and page-size parameters",
            )
            return error_result(manifest.id, ConfigError(problem), redactor)

        def build(values: dict[str, Any]) -> Call | TaskResult:
            return prepare(manifest, values, base_url=base_url, token=token, redactor=redactor)

        pages = page_flow(paging, inputs, build, policy, max_pages=max_pages)
        first = build(inputs)
        gate = (
            None if isinstance(first, TaskResult) else self._gate(manifest, first, token, setting)
        )
        return pages if gate is None else gated(pages, gate)

    def _gate(
        self, manifest: Manifest, call: Call, token: SecretStr | None, setting: RateLimitSetting
    ) -> Gate | None:
        """The limits a call counts against, keyed by server, token and account."""
        if not setting:
            return None
        limits = provider_for(manifest.path).rate_limits(manifest.id)
        if isinstance(setting, RateLimit):
            limits = (("account", setting), *limits[1:])
        if not limits:
            return None
        url = httpx.URL(call.request.url)
        match = _ACCOUNT.search(url.path)
        who = token_key(token.get_secret_value() if token else None)
        prefix = f"{url.host}:{url.port}|{who}|{match.group(1) if match else '-'}"
        return Gate(self.limiter, tuple((f"{prefix}|{scope}", lim) for scope, lim in limits))

    def prepare(
        self,
        task: Task,
        inputs: dict[str, Any],
        *,
        secrets: Iterable[str] = (),
        base_url: str | None = None,
    ) -> TaskResult:
        """A dry run: validate and build, send nothing; no token needed.

        The result holds the request that would be sent (``result.request``, secrets
        masked, ``attempts`` 0), or, with ``ok`` false, why it cannot be built.
        """
        manifest = self._manifest(task)
        try:
            token, redactor = self._credentials(manifest)
        except ConfigError as exc:
            return error_result(manifest.id, exc, self._redactor.extend(secrets))
        result, _ = dry_run(
            manifest,
            inputs,
            base_url=base_url or self.base_url,
            token=token,
            redactor=redactor.extend(secrets) if secrets else redactor,
        )
        return result

    def _extensions(self, timeout: httpx.Timeout | None, send: Send) -> dict[str, Any]:
        if timeout is None and send.deadline is None:
            return self._default_extensions
        limits = (timeout or self.timeout).as_dict()
        if send.deadline is not None:
            left = max(0.001, send.deadline - (time.monotonic() - send.started))
            if timeout is None and all(v is not None and v <= left for v in limits.values()):
                return self._default_extensions  # the deadline is further than every timeout
            limits = {k: left if v is None else min(v, left) for k, v in limits.items()}
        return {"timeout": limits}

    def _check_progress(self, raw: bytearray, send: Send) -> None:
        """Stop reading past the size cap, or past the deadline (a slow drip)."""
        if len(raw) > self.max_response_bytes:
            raise ResponseTooLarge(f"more than {self.max_response_bytes} bytes")
        if send.deadline is not None and time.monotonic() - send.started > send.deadline:
            raise DeadlinePassed(f"the deadline ({send.deadline:g} s) passed while reading")

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
        rate_limit: RateLimitSetting = None,
        limiter: Limiter | None = None,
    ) -> None:
        super().__init__(
            base_url,
            token,
            timeout=timeout,
            max_response_bytes=max_response_bytes,
            retry=retry,
            rate_limit=rate_limit,
            limiter=limiter,
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
        paginate: bool = False,
        max_pages: int | None = None,
        rate_limit: RateLimitSetting = None,
    ) -> TaskResult:
        """Validate, send and read one call of ``task`` with ``inputs`` (plain data).

        Failed attempts are retried as ``retry`` (or the client's policy) allows; a call that
        creates something is resent only when the server surely did not process it. With
        ``paginate`` a list task's pages (at most ``max_pages``) are gathered into one result
        whose ``items`` output holds every item and ``pages`` counts the pages.
        ``rate_limit`` (default: the client's) keeps the call to a rate limit; it may wait.
        """
        flow = self._flow(task, inputs, secrets, base_url, retry, paginate, max_pages, rate_limit)
        if isinstance(flow, TaskResult):
            return flow
        try:
            action = next(flow)
            while True:
                if isinstance(action, Send):
                    action = flow.send(self._attempt(action, timeout))
                else:
                    time.sleep(action.seconds)
                    action = flow.send(None)
        except StopIteration as done:
            result: TaskResult = done.value
            return result

    def _attempt(self, send: Send, timeout: httpx.Timeout | None) -> Attempt:
        prepared = send.call
        request = prepared.request.to_httpx()
        request.extensions = self._extensions(timeout, send)
        try:
            response = self._http.send(request, stream=True)
            # one pass over httpx's headers, by lower-case name, for everything read below
            headers = dict(response.headers.multi_items())
            try:
                self._check_length(headers)
                raw = bytearray()
                for chunk in response.iter_bytes():
                    raw += chunk
                    self._check_progress(raw, send)
            finally:
                response.close()
        except (httpx.HTTPError, ResponseTooLarge, DeadlinePassed) as exc:
            return Attempt(failed(prepared, exc, attempts=1, elapsed_ms=0.0), exc)
        result = finish(
            prepared, response.status_code, headers, bytes(raw), attempts=1, elapsed_ms=0.0
        )
        return Attempt(result, retry_after=_retry_after(response.status_code, headers))

    def close(self) -> None:
        """Close the pooled client if this object made it."""
        if self._owns and "_http" in self.__dict__:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient(_Base):
    """Calls tasks with ``await`` over one pooled :class:`httpx.AsyncClient`.

    The client it makes (none is passed) pools by ``limits`` (httpx's default: 100
    connections, 20 kept idle) with :class:`rtk_task.pool.FairPool`, so that many calls
    started at once share the idle connections rather than all waiting on the first one.
    """

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
        limits: httpx.Limits | None = None,
    ) -> None:
        super().__init__(
            base_url,
            token,
            timeout=timeout,
            max_response_bytes=max_response_bytes,
            retry=retry,
            rate_limit=rate_limit,
            limiter=limiter,
        )
        self._owns = http_client is None
        self._given = http_client
        self._transport = transport
        #: The pool's limits when this client makes its own: size it to the calls in flight.
        self.limits = limits or httpx.Limits(max_connections=100, max_keepalive_connections=20)

    @cached_property
    def _http(self) -> httpx.AsyncClient:
        # made on first send: a dry run never pays for the pool and its TLS context; the pool
        # hands an idle connection to one request at a time (see rtk_task.pool)
        return self._given or fair_pool(
            httpx.AsyncClient(transport=self._transport, follow_redirects=False, limits=self.limits)
        )

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
    ) -> TaskResult:
        """:meth:`Client.call` with ``await``: the same flow, driven asynchronously."""
        flow = self._flow(task, inputs, secrets, base_url, retry, paginate, max_pages, rate_limit)
        if isinstance(flow, TaskResult):
            return flow
        try:
            action = next(flow)
            while True:
                if isinstance(action, Send):
                    action = flow.send(await self._attempt(action, timeout))
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
        try:
            response = await self._http.send(request, stream=True)
            # one pass over httpx's headers, by lower-case name, for everything read below
            headers = dict(response.headers.multi_items())
            try:
                self._check_length(headers)
                raw = bytearray()
                async for chunk in response.aiter_bytes():
                    raw += chunk
                    self._check_progress(raw, send)
            finally:
                await response.aclose()
        except (httpx.HTTPError, ResponseTooLarge, DeadlinePassed) as exc:
            return Attempt(failed(prepared, exc, attempts=1, elapsed_ms=0.0), exc)
        result = finish(
            prepared, response.status_code, headers, bytes(raw), attempts=1, elapsed_ms=0.0
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


_ACCOUNT = re.compile(r"/accounts/([^/]+)")


def _retry_after(status: int, headers: dict[str, str]) -> float | None:
    if status in (429, 503):
        return retry_after_seconds(headers.get("retry-after"))
    return None
