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

Credentials: a client given none reads the variables the called task's auth names (``auth.env``
and, for Basic and OAuth2, ``auth.username_env``), at call time, with trailing CR/LF stripped
(a value saved with Windows line ends); a value holding any other control character is a
``config`` error and nothing is sent. A ``token`` given to the client is the secret of every
task whose auth takes one (bearer, API key, header template), but never of a task with a
server of its own (a plain ``http`` step); ``credentials`` (variable -> value) stands in for
the environment. Each credential goes only to its auth's hosts, or to a base URL the caller
named (:meth:`rtk_task.auth.Credential.check_host`); redirects are never followed.

Traces (:mod:`rtk_task.tracing`): with an OpenTelemetry SDK configured, each attempt is a client
span and sends its ``traceparent``; with none, the plain attempt runs (no span, no header).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import SecretStr

from . import tracing
from .auth import Credential
from .errors import ConfigError, InputError, Problem
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
    read_credential,
)
from .manifests.model import Auth, Manifest
from .manifests.registry import load_task
from .paginate import page_flow, paging_of
from .pool import fair_pool
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
from .secrets import Redactor
from .sinks import DEFAULT_MAX_DOWNLOAD, Body, Download, Sink, download_problem

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
        credentials: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url
        #: Values by variable name, read instead of the environment (``None``: the environment).
        self._environ = dict(credentials) if credentials is not None else None
        self.rate_limit = rate_limit
        #: Where slots are booked: the process's shared limiter unless one is given.
        self.limiter = limiter or shared_limiter()
        self._token = SecretStr(token) if isinstance(token, str) else token
        given = [self._token.get_secret_value()] if self._token else []
        self._redactor = Redactor([*given, *(self._environ or {}).values()])
        #: Credentials read, by auth: (the values read, the credential, its redactor).
        self._env_tokens: dict[Auth, tuple[tuple[str, ...], Credential, Redactor]] = {}
        self.timeout = httpx.Timeout(timeout) if timeout is not None else DEFAULT_TIMEOUT
        self.max_response_bytes = max_response_bytes
        #: The most bytes a download (``save_to``) may write.
        self.max_download_bytes = DEFAULT_MAX_DOWNLOAD
        self.retry = retry or DEFAULT_POLICY
        self._default_extensions = {"timeout": self.timeout.as_dict()}
        #: Manifests by the name they were asked for: one registry look-up per client.
        self._tasks: dict[str | Path, Manifest] = {}
        tracing.configure_from_env()  # once per process: OTLP export when OTEL_* asks for it

    @property
    def redactor(self) -> Redactor:
        """What this client masks: its token, and every token it read from the environment."""
        return self._redactor.extend(v for known in self._env_tokens.values() for v in known[0])

    def _manifest(self, task: Task) -> Manifest:
        if isinstance(task, Manifest):
            return task
        return self._tasks.get(task) or self._tasks.setdefault(task, load_task(task))

    def _credentials(self, manifest: Manifest) -> tuple[Credential | None, Redactor]:
        """The credential for ``manifest`` and its mask.

        A task with no auth gets none; the client's token is the secret of a one-secret auth
        (never of a task with a server of its own, a plain ``http`` step); otherwise the
        auth's variables are read now.
        """
        auth = manifest.auth
        if auth.type == "none":
            return None, self._redactor
        if (
            self._token is not None
            and not manifest.fixed_server
            and auth.type in ("bearer", "api_key", "header")
        ):
            return Credential(auth, secret=self._token), self._redactor
        credential = read_credential(auth, self._environ)
        if credential is None:
            return None, self._redactor
        values = credential.values
        known = self._env_tokens.get(auth)
        if known is None or known[0] != values:
            # one mask per value read, with the client's own: never rebuilt per call
            known = (values, credential, self._redactor.extend(values))
            self._env_tokens[auth] = known
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
        save_to: str | Path | None = None,
        raw_outputs: dict[str, Any] | None = None,
    ) -> Flow | TaskResult:
        """The flow of one call, or the result of a call that cannot start (nothing sent)."""
        manifest = self._manifest(task)
        try:
            credential, redactor = self._credentials(manifest)
        except ConfigError as exc:
            return error_result(manifest.id, exc, self._redactor.extend(secrets))
        if secrets:
            redactor = redactor.extend(secrets)
        base_url = base_url or self.base_url
        policy = retry or self.retry
        setting = self.rate_limit if rate_limit is None else rate_limit
        if save_to is not None:
            problem = download_problem(Path(save_to))
            if problem is None and paginate:
                problem = Problem("save_to", "a paged call has no single body", "")
            if problem is not None:
                return error_result(manifest.id, InputError(problem), redactor)
        if not paginate:
            prepared = prepare(
                manifest, inputs, base_url=base_url, credential=credential, redactor=redactor
            )
            if isinstance(prepared, TaskResult):
                return prepared
            if save_to is not None or raw_outputs is not None:
                saved = str(save_to) if save_to is not None else None
                prepared = replace(prepared, save_to=saved, raw_outputs=raw_outputs)
            flow = retry_flow(prepared, policy)
            gate = self._gate(manifest, prepared, inputs, setting)
            return flow if gate is None else gated(flow, gate)
        paging = paging_of(manifest)
        if paging is None:
            problem = Problem(
                "paginate",
                f"{manifest.id} does not page",
                "paginate needs a list task whose manifest says how it pages (`paging`)",
            )
            return error_result(manifest.id, ConfigError(problem), redactor)

        def build(values: dict[str, Any]) -> Call | TaskResult:
            return prepare(
                manifest, values, base_url=base_url, credential=credential, redactor=redactor
            )

        pages = page_flow(paging, inputs, build, policy, max_pages=max_pages)
        first = build(inputs)
        gate = (
            None if isinstance(first, TaskResult) else self._gate(manifest, first, inputs, setting)
        )
        return pages if gate is None else gated(pages, gate)

    def _gate(
        self, manifest: Manifest, call: Call, inputs: dict[str, Any], setting: RateLimitSetting
    ) -> Gate | None:
        """The limits a call counts against (its manifest's), keyed by server, credential and
        each limit's key input (the account)."""
        if not setting:
            return None
        rules = [(rule.scope, rule.limit, rule.key) for rule in manifest.rate_limits]
        if isinstance(setting, RateLimit):
            account = next((r[2] for r in rules if r[0] == "account"), "")
            rules = [("account", setting, account), *(r for r in rules if r[0] != "account")]
        if not rules:
            return None
        url = httpx.URL(call.request.url)
        credential = call.request.credential
        who = token_key("\0".join(credential.values) if credential else None)
        prefix = f"{url.host}:{url.port}|{who}"
        return Gate(
            self.limiter,
            tuple(
                (f"{prefix}|{inputs.get(key, '-') if key else '-'}|{scope}", limit)
                for scope, limit, key in rules
            ),
        )

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
            credential, redactor = self._credentials(manifest)
        except ConfigError as exc:
            return error_result(manifest.id, exc, self._redactor.extend(secrets))
        result, _ = dry_run(
            manifest,
            inputs,
            base_url=base_url or self.base_url,
            credential=credential,
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

    @staticmethod
    def _auth(call: Call) -> httpx.Auth | None:
        """The OAuth2 flow of a call whose auth needs a token fetched first."""
        credential = call.request.credential
        if credential is None or credential.auth.type != "oauth2":
            return None
        from .oauth2 import OAuth2

        return OAuth2(credential, call.manifest.servers, call.manifest.id)

    def _sink(self, send: Send, status: int, headers: dict[str, str]) -> Sink:
        """Where the answer's body goes: a file when the call saves a successful one, else
        memory (refused at once when its Content-Length passes the cap)."""
        path = send.call.save_to
        if path and 200 <= status < 300:
            return Download(Path(path), self.max_download_bytes, send)
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_response_bytes:
            raise ResponseTooLarge(f"Content-Length {length} > {self.max_response_bytes}")
        return Body(self.max_response_bytes, send)

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
        attempt = tracing.traced(self._attempt) if tracing.enabled() else self._attempt
        try:
            action = next(flow)
            while True:
                if isinstance(action, Send):
                    action = flow.send(attempt(action, timeout))
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
        if send.headers:  # the attempt's trace context: sent, never shown in a result
            request.headers.update(send.headers)
        try:
            auth = self._auth(prepared)
            response = self._http.send(request, stream=True, auth=auth)
            # one pass over httpx's headers, by lower-case name, for everything read below
            headers = dict(response.headers.multi_items())
            try:
                with self._sink(send, response.status_code, headers) as sink:
                    for chunk in response.iter_bytes():
                        sink.write(chunk)
                    sink.finish()
            finally:
                response.close()
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
        save_to: str | Path | None = None,
        raw_outputs: dict[str, Any] | None = None,
    ) -> TaskResult:
        """:meth:`Client.call` with ``await``: the same flow, driven asynchronously."""
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


def _retry_after(status: int, headers: dict[str, str]) -> float | None:
    if status in (429, 503):
        return retry_after_seconds(headers.get("retry-after"))
    return None
