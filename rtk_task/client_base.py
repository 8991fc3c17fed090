"""What :class:`~rtk_task.client.Client` and :class:`~rtk_task.client.AsyncClient` share.

Settings, credentials, the manifest cache, building a call's sans-I/O flow (``_flow``: the retry
or paging flow, behind the rate-limit gate), the per-attempt timeouts and where an answer's body
goes. None of it sends or waits: the clients drive the flow, one with blocking sends and
``time.sleep``, the other with ``await`` (:mod:`rtk_task.client_async`, and
:mod:`rtk_task.client_sync` generated from it by ``scripts/unasync.py``). See
:mod:`rtk_task.client` for what a call does.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from . import tracing
from .auth import Credential
from .errors import ConfigError, InputError, Problem
from .execute import (
    DEFAULT_MAX_BYTES,
    Call,
    ResponseTooLarge,
    dry_run,
    error_result,
    prepare,
    read_credential,
)
from .manifests.model import Auth, Manifest
from .manifests.registry import load_task
from .paginate import page_flow, paging_of
from .ratelimit import Gate, Limiter, RateLimit, shared_limiter, token_key
from .result import TaskResult
from .retry import (
    DEFAULT_POLICY,
    Flow,
    RetryPolicy,
    Send,
    gated,
    retry_after_seconds,
    retry_flow,
)
from .secrets import Redactor
from .sinks import DEFAULT_MAX_DOWNLOAD, Body, Download, Sink, download_problem

__all__ = ["DEFAULT_TIMEOUT", "ClientBase", "RateLimitSetting", "Task", "retry_after"]

#: What names a task: its id, a manifest file, or a loaded manifest.
Task = str | Path | Manifest
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
#: ``True``: the provider's documented limits; a :class:`RateLimit`: that one per account;
#: ``False`` or ``None``: no client-side limit.
RateLimitSetting = RateLimit | bool | None


class ClientBase:
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
        credential = call.request.credential
        who = token_key("\0".join(credential.values) if credential else None)
        prefix = f"{_server_key(_origin(call.request.url))}|{who}"
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


def retry_after(status: int, headers: dict[str, str]) -> float | None:
    """The seconds a 429 or 503 answer asks to wait (its ``Retry-After``), else ``None``."""
    if status in (429, 503):
        return retry_after_seconds(headers.get("retry-after"))
    return None


def _origin(url: str) -> str:
    """``scheme://host:port`` of a URL (what a limiter keys by), without parsing the rest."""
    start = url.find("//") + 2
    end = url.find("/", start)
    return url if end < 0 else url[:end]


@lru_cache(maxsize=256)
def _server_key(origin: str) -> str:
    """``host:port`` of an origin, as httpx reads it (the port ``None`` when it is the
    scheme's default); cached: a client calls the same few servers."""
    url = httpx.URL(origin)
    return f"{url.host}:{url.port}"
