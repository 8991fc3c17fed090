"""What a provider tells every later stage, as data: auth, paging, rate limits, hosts.

These models are the vocabulary shared by a provider (a module here, a provider file a user
writes, or one derived from an OpenAPI document) and the manifests built from it. A manifest
carries its own copy (``auth``, ``paging``, ``rate_limits``), so the per-call core reads the
manifest alone and never asks which vendor it is talking to.

- :class:`Auth`: every common scheme (``none``, ``bearer``, ``basic``, ``api_key`` in a header,
  the query or a cookie, a custom ``header`` template, OAuth2 ``client_credentials``). Each
  secret is read from an environment variable the auth names, and the credential is bound to
  ``hosts``: it is never sent anywhere else.
- :class:`Paging`: page number, offset/limit, cursor (a body field or a header) and ``Link``.
- :class:`RateLimit` and :class:`LimitRule`: the documented limits and what keys them.

Nothing here imports another part of rtk_task but the ground (:mod:`rtk_task.errors`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "CREDENTIAL_ENV_SUFFIXES",
    "HEADER_NAME",
    "PLACEHOLDER",
    "RESERVED_HEADERS",
    "SECRET_MARK",
    "USER_ENV_SUFFIXES",
    "Auth",
    "AuthType",
    "LimitRule",
    "Paging",
    "PagingStyle",
    "RateLimit",
    "host_of",
    "parse_rate",
]

#: A ``{name}`` placeholder in a path template.
PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
#: An environment variable may hold a secret only if its name ends in one of these: ``HOME``
#: or ``PATH`` must never be sent as a credential.
CREDENTIAL_ENV_SUFFIXES = ("TOKEN", "KEY", "SECRET", "PASSWORD")
#: The variable of a user name or client id (Basic, OAuth2) may also end in one of these.
USER_ENV_SUFFIXES = (*CREDENTIAL_ENV_SUFFIXES, "USER", "USERNAME", "ID", "LOGIN", "ACCOUNT")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: RFC 9110 token characters: a header name that cannot break a request or a shell line.
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
#: Headers the transport sets itself; no credential goes in them.
RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
#: Where the secret goes in a ``header`` auth's template: ``Token {{ secret }}``.
SECRET_MARK = re.compile(r"\{\{\s*secret\s*\}\}")
_HOST = re.compile(r"^(\*\.)?[A-Za-z0-9.\-]+(:\d+)?$|^\[[0-9A-Fa-f:.]+\](:\d+)?$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


#: A secret source other than a variable: ``file:PATH``, ``prefect_block:NAME``,
#: ``keyring:SERVICE/NAME``.
_SOURCE = re.compile(r"^(file|prefect_block|keyring):\S")


@lru_cache(maxsize=1024)
def host_of(url: str) -> str:
    """The host of a URL, lower case, without port or credentials (``""`` if it has none);
    cached: every call checks its credential's host against the same few base URLs."""
    from urllib.parse import urlsplit

    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _variable(env: str, suffixes: tuple[str, ...], what: str) -> str:
    if _SOURCE.match(env):  # a workflow secret kept elsewhere (rtk_task.secret_sources)
        return env
    if not _ENV_NAME.match(env):
        raise ValueError(f"{env[:80]!r} is not an environment variable name")
    if not env.upper().endswith(suffixes):
        raise ValueError(
            f"{env!r} does not look like a {what} variable: its name must end in "
            + ", ".join(suffixes)
        )
    return env


AuthType = Literal["none", "bearer", "basic", "api_key", "header", "oauth2"]


class Auth(_Frozen):
    """How a request is authenticated, and where its credential may be sent.

    =========  ===============================================================================
    type       what is sent
    =========  ===============================================================================
    none       nothing
    bearer     ``<header>: Bearer $<env>`` (``header`` defaults to ``Authorization``)
    basic      ``Authorization: Basic base64($<username_env>:$<env>)``; either may be empty
               (``curl -u key:`` is a user name and no password)
    api_key    ``$<env>`` as the header, query parameter or cookie ``name`` (``location``)
    header     ``<header>: <template>`` with ``{{ secret }}`` replaced by ``$<env>``
               (``Authorization: Token {{ secret }}``)
    oauth2     OAuth2 client credentials: a token from ``token_url`` (client id
               ``$<username_env>``, secret ``$<env>``, ``scopes``), cached until it expires,
               fetched again once on a 401; sent as ``Authorization: Bearer ...``
    =========  ===============================================================================

    ``hosts`` are the hosts the credential may be sent to (``*.example.com`` for any
    subdomain); empty means the hosts of the manifest's own servers. A request to any other
    host is refused before anything is sent, unless the caller named that base URL itself.
    """

    type: AuthType = "none"
    #: The variable of the secret: the token, the key, the password or the client secret.
    env: str = ""
    #: The header a bearer token or a ``header`` template goes in.
    header: str = "Authorization"
    #: ``api_key``: the name of the header, query parameter or cookie.
    name: str = ""
    #: ``api_key``: where it goes.
    location: Literal["header", "query", "cookie"] = "header"
    #: ``header``: the value, with ``{{ secret }}`` where the secret goes.
    template: str = ""
    #: ``basic``: the user name's variable; ``oauth2``: the client id's.
    username_env: str = ""
    #: ``oauth2``: the token endpoint, the scopes asked for, and how the client authenticates
    #: there (``basic``: HTTP Basic, RFC 6749's default; ``body``: in the form).
    token_url: str = ""
    scopes: tuple[str, ...] = ()
    token_auth: Literal["basic", "body"] = "basic"
    #: The hosts the credential may be sent to (empty: the manifest's servers').
    hosts: tuple[str, ...] = ()
    #: Where the scheme came from, or why there is none (shown by ``show``).
    note: str = ""

    @model_validator(mode="before")
    @classmethod
    def _bearer_by_default(cls, data: Any) -> Any:
        """``{env: X_TOKEN}`` alone is a bearer token, as manifest version 1 first wrote it."""
        if isinstance(data, dict) and "type" not in data and data.get("env"):
            return {**data, "type": "bearer"}
        return data

    @field_validator("env")
    @classmethod
    def _secret_variable(cls, env: str) -> str:
        return _variable(env, CREDENTIAL_ENV_SUFFIXES, "secret") if env else env

    @field_validator("username_env")
    @classmethod
    def _user_variable(cls, env: str) -> str:
        return _variable(env, USER_ENV_SUFFIXES, "user name or client id") if env else env

    @field_validator("header")
    @classmethod
    def _header_name(cls, header: str) -> str:
        if not HEADER_NAME.match(header):
            raise ValueError(f"{header[:80]!r} is not a header name")
        if header.lower() in RESERVED_HEADERS:
            raise ValueError(f"{header!r} is set by the transport; it cannot carry a credential")
        return header

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        for host in hosts:
            if not _HOST.match(host):
                raise ValueError(f"{host[:80]!r} is not a host name (e.g. api.example.com)")
        return tuple(h.lower() for h in hosts)

    @model_validator(mode="after")
    def _complete(self) -> Auth:
        """Each scheme has what it needs, and nothing that could carry a credential astray."""
        if self.type in ("bearer", "api_key", "header") and not self.env:
            raise ValueError(f"auth {self.type!r} needs `env`, the variable of the secret")
        if self.type == "basic" and not (self.env or self.username_env):
            raise ValueError("auth 'basic' needs `username_env`, `env` (the password), or both")
        if self.type == "api_key":
            if not self.name or (self.location == "header" and not HEADER_NAME.match(self.name)):
                raise ValueError("auth 'api_key' needs `name`: the header, query or cookie name")
            if self.location == "header" and self.name.lower() in RESERVED_HEADERS:
                raise ValueError(f"{self.name!r} is set by the transport")
        if self.type == "header" and len(SECRET_MARK.findall(self.template)) != 1:
            raise ValueError("auth 'header' needs `template` with one {{ secret }}")
        if self.type == "header" and any(c in self.template for c in "\r\n\0"):
            raise ValueError("a header template is one line")
        if self.type == "oauth2":
            if not (self.env and self.username_env):
                raise ValueError("auth 'oauth2' needs `username_env` (client id) and `env`")
            if not self.token_url.startswith(("https://", "http://")):
                raise ValueError("auth 'oauth2' needs `token_url`, an http(s) URL")
        return self

    def describe(self) -> str:
        """One line: what is sent, from which variables."""
        ref = f"${self.env}"
        text = {
            "none": "none",
            "bearer": f"{self.header}: Bearer {ref}",
            "basic": f"HTTP Basic ${self.username_env or '(no user)'}:"
            + (ref if self.env else "(no password)"),
            "api_key": f"{self.location} {self.name}={ref}",
            "header": f"{self.header}: {SECRET_MARK.sub(ref, self.template)}",
            "oauth2": f"OAuth2 client credentials (${self.username_env}, {ref}) from "
            f"{self.token_url}" + (f" scopes {' '.join(self.scopes)}" if self.scopes else ""),
        }[self.type]
        if self.hosts:
            text += f"; only to {', '.join(self.hosts)}"
        return text + (f" ({self.note})" if self.note else "")

    @property
    def variables(self) -> tuple[str, ...]:
        """Every environment variable this auth reads."""
        return tuple(v for v in (self.username_env, self.env) if v)

    @property
    def refs(self) -> str:
        """Its variables as a person reads them: ``$A and $B``."""
        return " and ".join(f"${v}" for v in self.variables)

    @property
    def places(self) -> tuple[frozenset[str], frozenset[str]]:
        """Where the credential goes: header names (lower case), query parameter names."""
        if self.type == "api_key" and self.location == "query":
            return frozenset(), frozenset({self.name})
        if self.type == "api_key" and self.location == "header":
            return frozenset({self.name.lower()}), frozenset()
        if self.type in ("bearer", "header"):
            return frozenset({self.header.lower()}), frozenset()
        if self.type in ("basic", "oauth2"):
            return frozenset({"authorization"}), frozenset()
        return frozenset(), frozenset()

    def allows(self, host: str, servers: tuple[str, ...] = ()) -> bool:
        """Whether the credential may be sent to ``host``."""
        host = host.lower()
        allowed = self.hosts or tuple(host_of(s) for s in servers)
        for pattern in allowed:
            pattern = pattern.rsplit(":", 1)[0] if not pattern.startswith("[") else pattern
            if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
                return True
        return False


PagingStyle = Literal["page", "offset", "cursor", "link"]


class Paging(_Frozen):
    """How a list asks for its next page.

    - ``page``: the query parameter ``param`` counts pages from ``start`` (1), ``size_param``
      sets their size;
    - ``offset``: ``param`` is the offset of the first item (from 0), ``size_param`` the count;
    - ``cursor``: ``param`` takes the cursor the last page gave: its output ``next`` (read from
      the body) or, written ``header:Name``, the response header ``Name``;
    - ``link``: the next page is the ``rel="next"`` URL of the ``Link`` header (same host and
      path only).

    Every style reads a page's items from the output ``items``; ``total`` names the output
    that counts every item (paging then stops when they are all in). Paging also stops at an
    empty or short page, when there is no next cursor or link, and at ``max_pages``.
    """

    style: PagingStyle
    param: str = ""
    size_param: str = ""
    #: The first page's number or offset when the step gives none (``None``: 1 for
    #: ``page``, 0 for ``offset``).
    start: int | None = None
    items: str = "items"
    total: str = ""
    next: str = ""

    @model_validator(mode="after")
    def _complete(self) -> Paging:
        if self.style != "link" and not self.param:
            raise ValueError(f"paging {self.style!r} needs `param`, the query parameter it sets")
        if self.style == "cursor" and not self.next:
            raise ValueError("cursor paging needs `next`: an output or `header:Name`")
        return self


class RateLimit(BaseModel):
    """At most ``requests`` requests every ``per`` seconds (``rate_limit: {requests, per}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    requests: int = Field(ge=1, le=1_000_000)
    #: Seconds, at most a day: a longer window only ever makes calls wait past any deadline.
    per: float = Field(gt=0, le=86_400, allow_inf_nan=False)

    def __str__(self) -> str:
        return f"{self.requests}/{self.per:g}s"


class LimitRule(_Frozen):
    """A documented limit a call counts against: ``scope`` names it (``account`` is the widest,
    the one a workflow's own ``rate_limit`` replaces), ``key`` the input whose value tells
    whose limit it is (``account_id``), if any. Limits are also kept per host and token."""

    scope: str = "account"
    limit: RateLimit
    key: str = ""


def parse_rate(text: str) -> RateLimit:
    """``"250/10s"`` (or ``250/10``, ``1000/1m``) as a :class:`RateLimit`; ``ValueError`` else."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*(ms|s|m|h)?\s*", text)
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"not a rate: {text!r} (write REQUESTS/SECONDS, e.g. 250/10s)")
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[match.group(3) or "s"]
    per = float(match.group(2) or 1) * scale
    if per <= 0:
        raise ValueError(f"not a rate: {text!r} (the window must be longer than 0)")
    return RateLimit(requests=int(match.group(1)), per=per)
