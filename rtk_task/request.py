"""Validated inputs -> the HTTP request. Pure: no I/O, so dry runs, cURL and sends share it.

The host comes from the manifest's server, ``--base-url`` or ``RTK_BASE_URL``, never from
step inputs. Path parameters are percent-encoded whole, so ``/``, ``?``, ``#`` or ``..`` in
a value cannot change the path. Header values with CR or LF are refused. The token is kept
as a :class:`~pydantic.SecretStr` and joins the headers only in :meth:`to_httpx`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx
from pydantic import SecretStr

from .compiled import compiled
from .errors import InputError, Problem, RtkError
from .manifest import Location, Manifest
from .result import RequestInfo, construct
from .secrets import Redactor

__all__ = ["PreparedRequest", "build_request", "resolve_base_url"]

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_USER_AGENT = "rtk-task/0.1"


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """A request ready to send. ``headers`` never hold the token; ``token`` does, masked."""

    task: str
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    json_body: Any
    token: SecretStr | None
    auth_header: str
    token_env: str

    def to_httpx(self) -> httpx.Request:
        """The :class:`httpx.Request`, with the Authorization header."""
        headers = list(self.headers)
        if self.token is not None:
            headers.append((self.auth_header, f"Bearer {self.token.get_secret_value()}"))
        return httpx.Request(self.method, self.url, headers=headers, content=self.body)

    def info(self, redactor: Redactor) -> RequestInfo:
        """The request for display: Authorization and every secret masked."""
        headers = dict(self.headers)
        if self.token is not None:
            headers[self.auth_header] = "Bearer ***"
        body, url = self.json_body, self.url
        if redactor:  # a secret can only be in what the user templated: url, body, headers
            if self.body is not None and redactor.contains(self.body):
                body = redactor.value(body)
            if redactor.contains(url):
                url = redactor.text(url)
            headers = redactor.headers(headers.items())
        return construct(RequestInfo, method=self.method, url=url, headers=headers, body=body)

    def curl(self, redactor: Redactor) -> str:
        """A runnable cURL command that reads the token from its environment variable."""
        parts = [f"curl -sS -X {self.method} {shlex.quote(redactor.text(self.url))}"]
        for name, value in redactor.headers(self.headers).items():
            parts.append("-H " + shlex.quote(f"{name}: {value}"))
        if self.token is not None:
            # double quotes: the shell fills the token in; it never appears in the text
            parts.append(f'-H "{self.auth_header}: Bearer ${self.token_env}"')
        if self.body is not None:
            parts.append("--data-raw " + shlex.quote(redactor.text(self.body.decode("utf-8"))))
        return " \\\n  ".join(parts)


def resolve_base_url(manifest: Manifest, override: str | None = None) -> str:
    """``override``, else ``RTK_BASE_URL``, else the manifest's first server."""
    server = manifest.servers[0] if manifest.servers else ""
    return _checked_base_url(override or os.environ.get("RTK_BASE_URL") or server, manifest.id)


@lru_cache(maxsize=64)
def _checked_base_url(url: str, task: str) -> str:
    """A base URL, checked once: the per-call path sees the same few again and again."""
    if not url:
        raise RtkError(Problem("base_url", f"{task} names no server", "pass --base-url URL"))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise RtkError(
            Problem(
                "base_url", f"not an http(s) URL: {url!r}", "e.g. http://127.0.0.1:8787/client/v4"
            )
        )
    return url.rstrip("/")


def build_request(
    manifest: Manifest,
    inputs: dict[str, Any],
    *,
    base_url: str,
    token: SecretStr | None,
) -> PreparedRequest:
    """The request for validated ``inputs`` (only what the user set is sent)."""
    plan = compiled(manifest)
    path_values: dict[str, Any] = {}
    query: list[tuple[str, str]] = []
    body: dict[str, Any] = {}
    headers: dict[str, str] = {}
    for name, value in inputs.items():
        where = plan.locations.get(name)
        if where is Location.PATH:
            path_values[name] = value
        elif where is Location.QUERY:
            if value is not None:
                query.extend(_query_pairs(name, value))
        elif where is Location.BODY:
            body[name] = value
        elif name == "headers" and value:
            headers.update(value)
    template = _pick_template(plan.templates, path_values, manifest.id)
    path = _PLACEHOLDER.sub(lambda m: _segment(m.group(1), path_values[m.group(1)]), template)
    url = base_url + path + ("?" + urlencode(query) if query else "")
    sent_headers = _headers(headers, has_body=bool(body) or manifest.body_required)
    payload = None
    if body or manifest.body_required:
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return PreparedRequest(
        task=manifest.id,
        method=manifest.method,
        url=url,
        headers=sent_headers,
        body=payload,
        json_body=body if payload is not None else None,
        token=token,
        auth_header=manifest.auth.header,
        token_env=manifest.auth.env,
    )


def _pick_template(
    templates: tuple[tuple[str, frozenset[str]], ...], given: dict[str, Any], task: str
) -> str:
    """The template that uses the most given path parameters and needs no missing one."""
    best: tuple[str, frozenset[str]] | None = None
    for template, names in templates:
        if names <= given.keys() and (best is None or len(names) > len(best[1])):
            best = (template, names)
    if best is None:
        needed = min(templates, key=lambda t: len(t[1] - given.keys()))[1] - given.keys()
        raise InputError(
            [Problem(name, "is required", f"a path parameter of {task}") for name in sorted(needed)]
        )
    return best[0]


def _segment(name: str, value: Any) -> str:
    text = _scalar(value)
    if not text:
        raise InputError(Problem(name, "is empty", "a path parameter needs a value"))
    encoded = quote(text, safe="")
    # `.` and `..` are dot segments that URL normalisation would resolve: encode them.
    return encoded.replace(".", "%2E") if set(text) == {"."} else encoded


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _query_pairs(name: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, list):
        return [(name, _scalar(v)) for v in value]
    return [(name, _scalar(value))]


def _headers(given: dict[str, str], *, has_body: bool) -> tuple[tuple[str, str], ...]:
    problems = []
    out: dict[str, str] = {"Accept": "application/json", "User-Agent": _USER_AGENT}
    if has_body:
        out["Content-Type"] = "application/json"
    lowered = {k.lower(): k for k in out}
    for name, value in given.items():
        if not _HEADER_NAME.match(name):
            problems.append(Problem(f"headers.{name}", "is not a valid header name"))
        elif not isinstance(value, str) or "\r" in value or "\n" in value or "\0" in value:
            problems.append(
                Problem(
                    f"headers.{name}",
                    "header values cannot hold CR, LF or NUL",
                    "one header, one line",
                )
            )
        elif name.lower() == "authorization":
            problems.append(
                Problem(
                    f"headers.{name}",
                    "is set from the task's auth",
                    "set CLOUDFLARE_API_TOKEN or pass a token instead",
                )
            )
        else:
            out.pop(lowered.get(name.lower(), name), None)
            out[name] = value
    InputError.collect(problems)
    return tuple(out.items())
