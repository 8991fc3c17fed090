"""OAuth2 client credentials (RFC 6749 section 4.4) as an :class:`httpx.Auth`.

httpx drives :class:`OAuth2` on the sync and the async client alike. It takes a token from the
process-wide :class:`TokenCache` or fetches one from the token URL (only a host the
credential may go to; the answer is read up to :data:`TOKEN_ANSWER_BYTES`), sends the request
with it, and on a 401 forgets the token, fetches a new one and sends once more: a 401 means
the server refused the request without acting on it, so even a create may be resent.

With traces on (:mod:`rtk_task.tracing`) each token fetch is a span of its own, ``oauth2
token``, under the attempt's: the token URL's host and port and the answer's status, never
the client's secret or the token.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import AsyncGenerator, Generator
from typing import TYPE_CHECKING, Any

import httpx

from . import tracing
from .auth import Credential
from .errors import ConfigError, Problem

if TYPE_CHECKING:
    from opentelemetry.trace import Span

__all__ = ["EXPIRY_MARGIN", "TOKEN_ANSWER_BYTES", "OAuth2", "TokenCache", "token_cache"]

#: The most bytes of a token endpoint's answer that are read.
TOKEN_ANSWER_BYTES = 64 * 1024
#: A cached token is fetched again this many seconds before it expires.
EXPIRY_MARGIN = 30.0


class TokenCache:
    """OAuth2 access tokens by (token URL, client id, scopes), until they expire."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str, tuple[str, ...]], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, tuple[str, ...]]) -> str | None:
        """A token still valid for :data:`EXPIRY_MARGIN` seconds, if one is cached."""
        with self._lock:
            found = self._tokens.get(key)
        if found is None or found[1] - EXPIRY_MARGIN <= time.monotonic():
            return None
        return found[0]

    def put(self, key: tuple[str, str, tuple[str, ...]], token: str, expires_in: float) -> None:
        """Keep ``token`` for ``expires_in`` seconds."""
        with self._lock:
            self._tokens[key] = (token, time.monotonic() + expires_in)

    def drop(self, key: tuple[str, str, tuple[str, ...]], token: str) -> None:
        """Forget ``token`` (the server refused it), unless another has replaced it."""
        with self._lock:
            if self._tokens.get(key, ("",))[0] == token:
                del self._tokens[key]


_CACHE = TokenCache()


def token_cache() -> TokenCache:
    """The process's token cache, shared by every client."""
    return _CACHE


class OAuth2(httpx.Auth):
    """OAuth2 client credentials (RFC 6749 section 4.4) as an :class:`httpx.Auth`."""

    def __init__(self, credential: Credential, servers: tuple[str, ...], task: str) -> None:
        auth = credential.auth
        self.credential = credential
        self.client_id = credential.user.get_secret_value() if credential.user else ""
        self.key = (auth.token_url, self.client_id, auth.scopes)
        credential.check_host(auth.token_url, servers, task)
        self.cache = _CACHE

    def _token_request(self) -> httpx.Request:
        auth = self.credential.auth
        secret = self.credential.secret_value()
        form = {"grant_type": "client_credentials"}
        if auth.scopes:
            form["scope"] = " ".join(auth.scopes)
        headers = {"Accept": "application/json"}
        if auth.token_auth == "basic":
            pair = base64.b64encode(f"{self.client_id}:{secret}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {pair}"
        else:
            form.update(client_id=self.client_id, client_secret=secret)
        return httpx.Request("POST", auth.token_url, data=form, headers=headers)

    def _take(self, response: httpx.Response, body: bytes) -> str:
        """The access token of a token endpoint's answer (cached), or a ConfigError."""
        try:
            data = json.loads(body) if response.status_code == 200 else None
        except ValueError:
            data = None
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token or not token.isprintable():
            raise ConfigError(
                Problem(
                    "auth.token_url",
                    f"the token endpoint answered {response.status_code} without an "
                    "access_token; the request was not sent",
                    f"check ${self.credential.auth.username_env} and "
                    f"${self.credential.auth.env}, and the scopes",
                )
            )
        expires = data.get("expires_in") if isinstance(data, dict) else None
        lifetime = float(expires) if isinstance(expires, int | float) and expires > 0 else 3600.0
        self.cache.put(self.key, token, lifetime)
        return token

    def _flow(self, request: httpx.Request) -> Generator[httpx.Request, Any, None]:
        """Yields the token request (its answer is read by the driver and sent back as
        ``(response, body)``) or the real request (sent back as the response)."""
        token = self.cache.get(self.key)
        for fresh in (False, True):
            if token is None:
                response, body = yield self._token_request()
                token = self._take(response, body)
            request.headers["Authorization"] = f"Bearer {token}"
            response = yield request
            if response.status_code != 401 or fresh:
                return
            self.cache.drop(self.key, token)
            token = None

    def _check_size(self, response: httpx.Response) -> None:
        """A token answer is small: one that says it is not is refused unread (httpx reads
        the answers of an auth flow whole; one without a length comes from the credential's
        own host, and is read)."""
        length = response.headers.get("content-length", "")
        if length and (not length.isdigit() or int(length) > TOKEN_ANSWER_BYTES):
            raise ConfigError(
                Problem(
                    "auth.token_url",
                    f"the token endpoint's answer is not a small JSON document "
                    f"(Content-Length {length}); the request was not sent",
                    "check the token URL",
                )
            )

    def _fetch_span(self, outgoing: httpx.Request, request: httpx.Request) -> Span | None:
        """The span of a token fetch when ``outgoing`` is one (not ``request``), else ``None``."""
        if outgoing is request:
            return None
        return tracing.token_span(
            self.credential.auth.token_url, self.client_id, self.credential.secret_value()
        )

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, Any, None]:
        flow = self._flow(request)
        outgoing = next(flow)
        while True:
            fetch, status = self._fetch_span(outgoing, request), None
            try:
                response = yield outgoing
                if outgoing is request:
                    outgoing = flow.send(response)
                else:
                    status = response.status_code
                    self._check_size(response)
                    outgoing = flow.send((response, response.read()))
            except StopIteration:
                return
            except BaseException as exc:
                tracing.token_end(fetch, status, exc)
                raise
            tracing.token_end(fetch, status)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, Any]:
        flow = self._flow(request)
        outgoing = next(flow)
        while True:
            fetch, status = self._fetch_span(outgoing, request), None
            try:
                response = yield outgoing
                if outgoing is request:
                    outgoing = flow.send(response)
                else:
                    status = response.status_code
                    self._check_size(response)
                    outgoing = flow.send((response, await response.aread()))
            except StopIteration:
                return
            except BaseException as exc:
                tracing.token_end(fetch, status, exc)
                raise
            tracing.token_end(fetch, status)
