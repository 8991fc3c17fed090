"""Validated inputs -> the HTTP request. Pure: no I/O, so dry runs, cURL and sends share it.

The host comes from the manifest's server, ``--base-url`` or ``RTK_BASE_URL``, never from
step inputs or the path: a built URL whose host is not the base URL's is refused. Path
parameters are percent-encoded whole, so ``/``, ``?``, ``#`` or ``..`` in a value cannot
change the path. Header values with CR or LF are refused. The token is kept
as a :class:`~pydantic.SecretStr` and joins the headers only in :meth:`to_httpx`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from pydantic import SecretStr
from pydantic_core import to_json

from .auth import Credential
from .bodies import Segments, encode_body, query_pairs
from .compiled import compiled
from .errors import ConfigError, InputError, ManifestError, Problem
from .inputs import EXTRA_BODY, check_headers
from .manifests.model import BODY, JSON, MULTIPART, Location, Manifest, media_type
from .providers.model import host_of
from .result import RequestInfo, construct
from .secrets import Redactor

if TYPE_CHECKING:
    import httpx

__all__ = ["PreparedRequest", "base_url_of", "build_request", "resolve_base_url"]

_USER_AGENT = "rtk-task/0.1"


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """A request ready to send. ``headers`` and ``url`` never hold the credential;
    ``credential`` does, masked, and joins them only in :meth:`to_httpx`."""

    task: str
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    #: Bytes, or bytes and files streamed from disk when sent (an upload).
    body: bytes | Segments | None
    #: The body as shown (the structured value, ``<file PATH>`` for a file).
    json_body: Any
    credential: Credential | None
    #: Whether the user set headers (only those can hold secrets or sensitive names).
    user_headers: bool = False
    #: The body's cURL arguments (``("--data-raw", text)``...), when it is not JSON text.
    body_args: tuple[tuple[str, str], ...] = ()

    @property
    def token(self) -> SecretStr | None:
        """The credential's secret (the API token of a bearer auth)."""
        return self.credential.secret if self.credential is not None else None

    def to_httpx(self) -> httpx.Request:
        """The :class:`httpx.Request`, with the credential in.

        Built the way httpx builds one from ``content=`` (``Host`` and ``Content-Length``
        added unless given), but from a URL parsed once per distinct URL and without
        re-encoding a body that is already bytes.
        """
        import httpx  # here: building and showing a request (a dry run) needs no HTTP client

        url = _parsed_url(self.url)
        body = self.body if self.body is not None else b""
        headers = list(self.headers)
        if self.credential is not None:
            headers, extra = self.credential.apply(headers, [])
            if extra:
                url = url.copy_merge_params(tuple(extra))
        # inputs cannot set framing headers (refused when built): these are always ours
        headers.insert(0, ("Host", url.netloc.decode("ascii")))
        if self.body is not None or self.method in ("POST", "PUT", "PATCH"):
            headers.append(("Content-Length", str(len(body))))
        if isinstance(body, Segments):  # files: streamed from disk as they are sent
            from .uploads import UploadStream

            return httpx.Request(self.method, url, headers=headers, stream=UploadStream(body))
        request = httpx.Request(self.method, url, headers=headers, stream=httpx.ByteStream(body))
        request.read()  # like content=: event hooks and auth flows can read request.content
        return request

    def info(self, redactor: Redactor) -> RequestInfo:
        """The request for display: the credential and every secret masked."""
        headers = dict(self.headers)
        if self.user_headers:  # sensitive names, secrets: only the user's headers have them
            headers = redactor.headers(self.headers)
        body, url = self.json_body, self.url
        if self.credential is not None:
            shown_headers, shown_query = self.credential.shown()
            headers.update(shown_headers)
            if shown_query:
                url += ("&" if "?" in url else "?") + urlencode(shown_query, safe="*")
        if redactor:  # a secret can only be in what the user templated: url, body, headers
            if isinstance(self.body, bytes) and redactor.contains(self.body):
                body = redactor.value(body)
            if redactor.contains(url):
                url = redactor.text(url)
        return construct(RequestInfo, method=self.method, url=url, headers=headers, body=body)

    def curl(self, redactor: Redactor, secret_env: Mapping[str, str] | None = None) -> str:
        """A cURL command that runs as printed: the credential and every secret in
        ``secret_env`` (value -> environment variable) are read from their variables by the
        shell, so no secret value is in the text; any other secret is masked."""
        env = {v: k for v, k in (secret_env or {}).items() if v and _ENV_NAME.match(k)}

        def arg(text: str) -> str:
            return _shell_words(text, env, redactor)

        auth_args, query_suffix = self.credential.curl() if self.credential else ([], "")
        url = arg(self.url)
        if query_suffix:
            url += shlex.quote("&" if "?" in self.url else "?") + query_suffix
        parts = [f"curl -sS -X {self.method} {url}"]
        multipart = any(option in ("-F", "--form-string") for option, _ in self.body_args)
        for name, value in self.headers:
            if multipart and name.lower() == "content-type":
                continue  # curl writes the boundary of the body it builds itself
            if not any(secret in value for secret in env):  # else read from its variable
                value = redactor.headers(((name, value),))[name]  # sensitive names masked
            parts.append("-H " + arg(f"{name}: {value}"))
        parts.extend(auth_args)
        if self.body_args:
            for option, value in self.body_args:
                parts.append(f"{option} {arg(value)}")
        elif isinstance(self.body, bytes):  # JSON text (a body with files has its body_args)
            parts.append("--data-raw " + arg(self.body.decode("utf-8")))
        return " \\\n  ".join(parts)


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _shell_words(text: str, env: Mapping[str, str], redactor: Redactor) -> str:
    """``text`` as one shell word: each secret of ``env`` as ``"$VAR"``, the rest quoted
    (and masked by ``redactor``)."""
    if not env or not any(value in text for value in env):
        return shlex.quote(redactor.text(text))
    pattern = re.compile("|".join(re.escape(v) for v in sorted(env, key=len, reverse=True)))
    out: list[str] = []
    pos = 0
    for match in pattern.finditer(text):
        if match.start() > pos:
            out.append(shlex.quote(redactor.text(text[pos : match.start()])))
        out.append(f'"${env[match.group(0)]}"')
        pos = match.end()
    if pos < len(text):
        out.append(shlex.quote(redactor.text(text[pos:])))
    return "".join(out)


def resolve_base_url(manifest: Manifest, override: str | None = None) -> str:
    """``override``, else ``RTK_BASE_URL``, else the manifest's first server; a task with a
    fixed server (a plain ``http`` step) always goes to its own."""
    return base_url_of(manifest, override)[0]


def base_url_of(manifest: Manifest, override: str | None = None) -> tuple[str, bool]:
    """:func:`resolve_base_url`, and whether the caller named it (``override`` or
    ``RTK_BASE_URL``): a credential may go to a base URL its caller named.

    A base URL may be given per provider, ``realtimekit=URL,petstore=URL`` (a workflow that
    calls two APIs, each on its own mock): a task takes its provider's, and one whose provider
    is not named goes to its own server.
    """
    server = manifest.servers[0] if manifest.servers else ""
    if manifest.fixed_server:
        return _checked_base_url(server, manifest.id), False
    named = override or os.environ.get("RTK_BASE_URL")
    if named and not named.startswith(("http://", "https://")):
        named = per_provider(named).get(manifest.provider)
    return _checked_base_url(named or server, manifest.id), bool(named)


_PROVIDER_URL = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*=\s*(https?://\S+?)\s*$")


@lru_cache(maxsize=64)
def per_provider(text: str) -> dict[str, str]:
    """``provider=URL,provider=URL`` as a mapping; a part that is neither is a config error."""
    out: dict[str, str] = {}
    for part in text.split(","):
        match = _PROVIDER_URL.match(part)
        if match is None:
            raise ConfigError(
                Problem(
                    "base_url",
                    f"not a base URL nor PROVIDER=URL: {part.strip()[:80]!r}",
                    "e.g. http://127.0.0.1:8787/client/v4, or "
                    "realtimekit=http://127.0.0.1:8787/client/v4,petstore=http://127.0.0.1:4010",
                )
            )
        out[match.group(1)] = match.group(2)
    return out


@lru_cache(maxsize=1024)
def _parsed_url(url: str) -> httpx.URL:
    """httpx's parse of ``url`` (an immutable object): workflows send the same URLs again."""
    import httpx

    return httpx.URL(url)


@lru_cache(maxsize=64)
def _checked_base_url(url: str, task: str) -> str:
    """A base URL, checked once: the per-call path sees the same few again and again."""
    if not url:
        raise ConfigError(Problem("base_url", f"{task} names no server", "pass --base-url URL"))
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
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
    token: SecretStr | None = None,
    credential: Credential | None = None,
) -> PreparedRequest:
    """The request for validated ``inputs`` (only what the user set is sent).

    ``credential`` (or, for a single-secret auth, ``token``) is checked against the URL's
    host: a credential that may not go there is a :class:`ConfigError` and nothing is built.
    """
    plan = compiled(manifest)
    locations = plan.locations
    path_values: dict[str, Any] = {}
    query: list[tuple[str, str]] = []
    body: dict[str, Any] = {}
    given: dict[str, str] = {}
    extra = False
    for name, value in inputs.items():
        where = locations.get(name)
        if where is Location.BODY:
            body[name] = value
        elif where is Location.PATH:
            path_values[name] = value
        elif where is Location.QUERY:
            if value is not None:
                query.extend(query_pairs(name, value, plan.params.get(name)))
        elif name == "headers" and value:
            given = value
        elif name == EXTRA_BODY and value:  # fields newer than the docs, after the documented
            body.update((k, v) for k, v in value.items() if k not in body)
            extra = True
    parts = _pick_template(plan.templates, path_values, manifest.id)
    # parts alternate literal text and placeholder names: (literal, name, literal, ...)
    path = "".join(
        _segment(part, path_values[part]) if i % 2 else part for i, part in enumerate(parts)
    )
    if not _keeps_host(base_url, parts[0] if parts else ""):
        _check_host(base_url, base_url + path, manifest.id)
    url = base_url + path + ("?" + urlencode(query) if query else "")
    if credential is None and token is not None and manifest.auth.type != "none":
        # a token handed in with the base URL: the caller named where it goes
        credential = Credential(manifest.auth, secret=token, extra_hosts=(host_of(base_url),))
    if credential is not None:
        credential.check_host(base_url, manifest.servers, manifest.id)
    has_body = bool(body) or manifest.body_required
    if given:
        check_headers(given, manifest)
    if not has_body:
        headers = _merge_headers(given, None) if given else _DEFAULT_HEADERS[False]
        return PreparedRequest(
            manifest.id, manifest.method, url, headers, None, None, credential, bool(given)
        )
    chosen = _content_type(manifest, given)
    whole: Any = body.get(BODY) if manifest.body_whole else body
    if chosen is None and not manifest.body_whole:  # JSON of fields: the common, fast path
        headers = _merge_headers(given, JSON) if given else _DEFAULT_HEADERS[True]
        return PreparedRequest(
            manifest.id, manifest.method, url, headers, to_json(body), body, credential, bool(given)
        )
    if extra:
        raise InputError(
            Problem(
                EXTRA_BODY,
                f"is sent only in a JSON body, and this one is {chosen}",
                "leave Content-Type out to send JSON",
            )
        )
    encoded = encode_body(
        chosen or JSON, whole, plan.params, plan.params.get(BODY) if manifest.body_whole else None
    )
    return PreparedRequest(
        manifest.id,
        manifest.method,
        url,
        _merge_headers(given, encoded.content_type),
        encoded.content,
        encoded.shown,
        credential,
        bool(given),
        encoded.curl,
    )


def _content_type(manifest: Manifest, given: dict[str, str]) -> str | None:
    """The media type the body is sent as (``None``: JSON, as the manifest names none)."""
    stated = next((v for k, v in given.items() if k.lower() == "content-type"), None)
    offered = manifest.content_types
    if not offered:
        return stated
    if stated is None:
        return offered[0] if media_type(offered[0]) != JSON else None
    if media_type(stated) in {media_type(o) for o in offered}:
        return stated
    raise InputError(
        Problem(
            "headers.Content-Type",
            f"{manifest.id} takes a body as {', '.join(offered)}, not {stated!r}",
            "leave Content-Type out, or name one of those",
        )
    )


@lru_cache(maxsize=256)
def _keeps_host(base_url: str, head: str) -> bool:
    """Whether ``base_url + head + ...`` surely has the base URL's host: ``head`` (the path
    template's text before its first placeholder) starts a path. Placeholder values are
    percent-encoded whole, so only the template's own text could move the authority."""
    return head.startswith("/") and not head.startswith("//")


def _check_host(base_url: str, url: str, task: str) -> None:
    """Refuse a URL whose host is not the base URL's (a path template that moves the host)."""
    built, base = urlsplit(url), urlsplit(base_url)
    if (built.scheme, built.netloc) != (base.scheme, base.netloc):
        raise ManifestError(
            Problem(
                f"{task}: path",
                f"the built URL's host {built.netloc!r} is not the base URL's {base.netloc!r}",
                "a path template starts with `/`; fix the manifest",
            )
        )


def _pick_template(
    templates: tuple[tuple[tuple[str, ...], frozenset[str]], ...],
    given: dict[str, Any],
    task: str,
) -> tuple[str, ...]:
    """The template that uses the most given path parameters and needs no missing one."""
    best: tuple[tuple[str, ...], frozenset[str]] | None = None
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


def _defaults(content_type: str | None) -> dict[str, str]:
    out = {"Accept": "application/json", "User-Agent": _USER_AGENT}
    if content_type is not None:
        out["Content-Type"] = content_type
    return out


#: The headers of a request without user headers, by whether it has a (JSON) body.
_DEFAULT_HEADERS = {
    flag: tuple(_defaults(JSON if flag else None).items()) for flag in (False, True)
}


def _merge_headers(given: dict[str, str], content_type: str | None) -> tuple[tuple[str, str], ...]:
    """The default headers with the user's (checked) ones over them; the body's own
    ``Content-Type`` (a multipart boundary) wins over the user's."""
    out = _defaults(content_type)
    lowered = {k.lower(): k for k in out}
    for name, value in given.items():
        if content_type is not None and name.lower() == "content-type":
            if media_type(content_type) == MULTIPART:
                continue
            out.pop("Content-Type", None)
        else:
            out.pop(lowered.get(name.lower(), name), None)
        out[name] = value
    return tuple(out.items())
