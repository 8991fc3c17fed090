"""The plain ``http`` task: one step's ``with:`` as a synthetic, per-step :class:`Manifest`.

A step ``task: http`` gives ``with: {method, url, headers, query, body, files, auth}``. Its
request is described by a manifest built from that step alone, so that validating, building,
sending, reading the answer and the step's ``outputs:`` are the same code as for every other
task.
What this module guarantees:

- The URL's scheme, host and port are literals from the workflow file: a template there is
  refused, so no input can change where the request goes. Only whole path segments may be
  templated; each becomes a path parameter, percent-encoded as one segment when sent.
- ``query`` keys become query parameters and ``body`` keys (a mapping) body fields; a literal
  query string in the URL joins ``query`` (a name given more than once there is a list, sent
  as repeated keys). A name used twice is refused.
- The ``Content-Type`` header picks the body's encoding (JSON when it names none).
  ``files: {NAME: PATH}`` (or a list of paths) are ``multipart/form-data`` file fields, each
  read from its path when the request is sent (after the body's text fields); with no
  ``Content-Type`` the body is then multipart, and any other is refused.
- ``Authorization: "<Scheme> {{ secrets.NAME }}"`` (``Bearer`` or any other scheme) becomes
  the manifest's auth (the secret's environment variable), so the value is masked
  everywhere like the API token. ``auth: {basic: {user: "{{ secrets.U }}", password:
  "{{ secrets.P }}"}}`` (either may be left out: ``curl -u key:``) is HTTP Basic from two
  declared secrets. Either credential is sent only to the URL's host.
- ``POST`` and ``PATCH`` are not idempotent: after an ambiguous failure they are never sent
  again. ``GET``, ``HEAD``, ``OPTIONS``, ``PUT`` and ``DELETE`` are.

:func:`http_manifest` returns the manifest, the step's values in the shape the core reads
(path, query and body names side by side, ``headers``), and every problem found, each with
its field path under ``with``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, parse_qsl, quote, urlsplit

from pydantic import ValidationError

from .model import BODY, MULTIPART, Auth, Manifest, Param, Parameters, ParamType, media_type

__all__ = ["HTTP_TASK", "HttpPlan", "http_manifest"]

#: The task name of a plain HTTP step.
HTTP_TASK = "http"
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_MARKERS = ("{{", "{%", "{#")
_KEYS = ("method", "url", "headers", "query", "body", "files", "auth")
#: ``[Scheme ]{{ secrets.NAME }}``: an Authorization header from one declared secret.
_AUTH_SECRET = re.compile(
    r"^\s*(?:([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s+)?\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*$"
)
#: ``{{ secrets.NAME }}`` alone: a Basic user name or password.
_SECRET = re.compile(r"^\s*\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*$")
_BASIC_HINT = 'auth: {basic: {user: "{{ secrets.USER }}", password: "{{ secrets.PASS }}"}}'
_LAST_NAME = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\s*$")
# a path segment that is exactly one template: rendered as text (a path is text on the wire)
_AS_TEXT = "{#- path segment -#}"
_TYPES = {
    bool: ParamType.BOOLEAN,
    int: ParamType.INTEGER,
    float: ParamType.NUMBER,
    str: ParamType.STRING,
    dict: ParamType.OBJECT,
    list: ParamType.ARRAY,
}

#: ``(field path under with, message, hint)``
HttpProblem = tuple[tuple[Any, ...], str, str]


@dataclass
class HttpPlan:
    """What :func:`http_manifest` found: the manifest, the core-shaped values, problems."""

    manifest: Manifest | None
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[HttpProblem] = field(default_factory=list)


def _templated(value: Any) -> bool:
    return isinstance(value, str) and any(m in value for m in _MARKERS)


def _task_id(step_id: str) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", step_id.lower()) or "step"
    return f"http.{name}"


def http_manifest(
    step_id: str,
    with_: Mapping[str, Any],
    secrets: Mapping[str, str],
    type_of: Callable[[str], str | None] = lambda text: None,
) -> HttpPlan:
    """The synthetic manifest of the ``http`` step ``step_id``.

    ``secrets`` maps the workflow's secret names to environment variables; ``type_of`` gives
    the type a template stands for (``"integer"`` for ``{{ inputs.n }}``), ``None`` when it
    cannot know (the field is then a string).
    """
    plan = HttpPlan(None)
    problems = plan.problems
    for key in with_:
        if key not in _KEYS:
            problems.append(((key,), f"an http step has no {key!r}", f"use {', '.join(_KEYS)}"))
    method = with_.get("method", "GET")
    if not isinstance(method, str) or method.upper() not in _METHODS:
        problems.append(
            (("method",), f"not an HTTP method: {method!r}", f"one of {', '.join(_METHODS)}")
        )
        method = "GET"
    method = method.upper()
    url = with_.get("url")
    if not isinstance(url, str) or not url:
        problems.append((("url",), "an http step needs a url", "url: https://host/path"))
        return plan
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        problems.append((("url",), f"not an http(s) URL: {url!r}", "e.g. https://host/path"))
        return plan
    if any(_templated(p) for p in (parts.netloc, parts.query, parts.fragment)):
        problems.append(
            (
                ("url",),
                "only whole path segments of a url can be templated",
                "the host is a literal; put values in path segments, `query:` or `body:`",
            )
        )
        return plan
    if parts.fragment:
        problems.append((("url",), "a url fragment (#...) is never sent", "leave it out"))
    values: dict[str, Any] = {}
    path_params: list[Param] = []
    segments: list[str] = []
    for segment in parts.path.split("/"):
        if not _templated(segment):
            # literal: kept as written (already-encoded text stays), braces encoded
            segments.append(quote(segment, safe="/:@!$&'()*+,;=-._~%"))
            continue
        if not (segment.startswith("{{") and segment.endswith("}}")) or segment.count("{{") > 1:
            problems.append(
                (
                    ("url",),
                    f"path segment {segment!r} mixes text and a template",
                    "template a whole segment: /items/{{ inputs.id }}",
                )
            )
            continue
        found = _LAST_NAME.search(segment)
        name = found.group(1) if found else "segment"
        base, n = name, 2
        while name in values or name == "headers":
            name, n = f"{base}_{n}", n + 1
        values[name] = segment + _AS_TEXT
        path_params.append(Param(name=name, type=ParamType.STRING, required=True))
        segments.append("{" + name + "}")
    path = "/".join(segments) or "/"
    query_params: list[Param] = []
    query: dict[str, Any] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        before = query.get(name)
        # a name given again is a list: sent as repeated keys, in order
        query[name] = value if before is None else [*_listed(before), value]
    given_query = with_.get("query")
    if given_query is not None and not isinstance(given_query, dict):
        problems.append((("query",), "query is a mapping", "query: {name: value}"))
    elif given_query:
        query.update({str(k): v for k, v in given_query.items()})
    for name, value in query.items():
        if name in values or name == "headers":
            problems.append(
                (("query", name), f"{name!r} names a path segment too", "rename one of them")
            )
            continue
        values[name] = value
        query_params.append(Param(name=name, type=_type(value, type_of), nullable=True))
    body = with_.get("body")
    body_params: list[Param] = []
    whole = body is not None and not isinstance(body, dict)
    if whole:  # an array, a scalar, a text: the whole body
        if BODY in values:
            problems.append((("body",), "'body' names a query parameter too", "rename it"))
        values[BODY] = body
        body_params.append(Param(name=BODY, type=_type(body, type_of), nullable=True))
    elif body:
        for name, value in body.items():
            name = str(name)
            if name in values or name == "headers":
                problems.append(
                    (
                        ("body", name),
                        f"{name!r} is a query parameter or path segment too",
                        "a body field and a query parameter cannot share a name",
                    )
                )
                continue
            values[name] = value
            body_params.append(Param(name=name, type=_type(value, type_of), nullable=True))
    files = with_.get("files")
    if files is not None:
        body_params.extend(_files(files, values, whole, problems))
    auth = Auth(type="none", env="")
    headers = with_.get("headers")
    if headers is not None and not isinstance(headers, dict):
        problems.append((("headers",), "headers is a mapping", "headers: {Name: value}"))
    elif headers:
        kept: dict[str, Any] = {}
        for name, value in headers.items():
            if str(name).lower() != "authorization":
                kept[str(name)] = value
                continue
            given = _AUTH_SECRET.match(value) if isinstance(value, str) else None
            if given is None or given.group(2) not in secrets:
                problems.append(
                    (
                        ("headers", name),
                        "Authorization is given as a declared secret",
                        'Authorization: "Bearer {{ secrets.NAME }}" (or another scheme:'
                        ' "Token {{ secrets.NAME }}") with NAME under `secrets:`',
                    )
                )
                continue
            scheme, env = given.group(1), secrets[given.group(2)]
            try:
                auth = Auth(
                    type="bearer" if scheme == "Bearer" else "header",
                    header=str(name),
                    template=""
                    if scheme == "Bearer"
                    else f"{scheme or ''} {{{{ secret }}}}".lstrip(),
                    env=env,
                    hosts=(parts.hostname or "",),
                )
            except ValidationError as exc:
                problems.append(
                    (
                        ("headers", name),
                        str(exc.errors()[0]["msg"]).removeprefix("Value error, "),
                        "name the secret's variable like a token: ..._TOKEN, ..._KEY, ..._SECRET",
                    )
                )
        if kept:
            values["headers"] = kept
    if "auth" in with_:
        if auth.type != "none":
            problems.append(
                (("auth",), "an Authorization header and `auth:` both", "keep one of them")
            )
        else:
            auth = _basic(with_["auth"], secrets, parts.hostname or "", problems)
    content_type = next(
        (v for k, v in (headers or {}).items() if str(k).lower() == "content-type"), None
    )
    if files and content_type is None:
        content_type = MULTIPART  # file fields: a multipart body
    elif files and (not isinstance(content_type, str) or media_type(content_type) != MULTIPART):
        problems.append(
            (
                ("headers", "Content-Type"),
                "file fields are sent as multipart/form-data",
                "leave Content-Type out, or make it multipart/form-data",
            )
        )
    if problems:
        return plan
    plan.values = values
    try:
        plan.manifest = _manifest(
            step_id,
            method,
            parts,
            path,
            auth,
            Parameters(path=tuple(path_params), query=tuple(query_params), body=tuple(body_params)),
            body="body" in with_ or bool(files),
            whole=whole,
            content_type=content_type if isinstance(content_type, str) else None,
        )
    except ValidationError as exc:
        problems.append(
            (
                ("headers", "Authorization"),
                str(exc.errors()[0]["msg"]).removeprefix("Value error, "),
                "declare a secret of this API's own (e.g. STATUS_TOKEN) for it",
            )
        )
    return plan


def _manifest(
    step_id: str,
    method: str,
    parts: SplitResult,
    path: str,
    auth: Auth,
    parameters: Parameters,
    *,
    body: bool,
    whole: bool,
    content_type: str | None,
) -> Manifest:
    """The manifest of an http step: its own server, only the credential it names."""
    templated_type = content_type is not None and _templated(content_type)
    return Manifest(
        id=_task_id(step_id),
        summary=f"{method} {parts.scheme}://{parts.netloc}{parts.path}",
        method=method,  # checked against _METHODS above
        path=path,
        servers=(f"{parts.scheme}://{parts.netloc}",),
        fixed_server=True,
        auth=auth,
        parameters=parameters,
        body_required=body,
        body_whole=whole,
        # the step's Content-Type decides the body's encoding (JSON when it names none)
        content_types=(content_type,) if content_type and not templated_type else (),
        success_status=(200, 201, 202, 203, 204, 206),
        idempotent=method in _IDEMPOTENT,
    )


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _files(
    files: Any, values: dict[str, Any], whole: bool, problems: list[HttpProblem]
) -> list[Param]:
    """The body fields of ``files:`` (each a path, or a list of paths), read when sent."""
    if not isinstance(files, dict):
        problems.append((("files",), "files is a mapping", "files: {field: path/to/file}"))
        return []
    if whole:
        problems.append((("files",), "file fields need a body of fields", "make body a mapping"))
        return []
    out: list[Param] = []
    for name, paths in files.items():
        name = str(name)
        if name in values or name == "headers":
            problems.append(
                (("files", name), f"{name!r} is a body field or parameter too", "rename one")
            )
            continue
        if not _listed(paths) or not all(isinstance(p, str) and p for p in _listed(paths)):
            problems.append(
                (("files", name), "a file field is a path, or a list of paths", "name a file")
            )
            continue
        values[name] = paths
        one = Param(name=name, type=ParamType.STRING, format="binary")
        many = Param(name=name, type=ParamType.ARRAY, items=one.model_copy(update={"name": "[]"}))
        out.append(many if isinstance(paths, list) else one)
    return out


def _basic(given: Any, secrets: Mapping[str, str], host: str, problems: list[HttpProblem]) -> Auth:
    """``auth: {basic: {user, password}}`` as the manifest's Basic auth, only to ``host``."""
    none = Auth(type="none", env="")
    inner = given.get("basic") if isinstance(given, dict) and set(given) == {"basic"} else None
    if not isinstance(inner, dict) or not inner or not set(inner) <= {"user", "password"}:
        problems.append((("auth",), "auth is HTTP Basic from declared secrets", _BASIC_HINT))
        return none
    envs: dict[str, str] = {}
    for key, value in inner.items():
        found = _SECRET.match(value) if isinstance(value, str) else None
        if found is None or found.group(1) not in secrets:
            problems.append(
                (
                    ("auth", "basic", key),
                    f"the {key} is given as a declared secret",
                    f'{key}: "{{{{ secrets.NAME }}}}" with NAME under `secrets:`',
                )
            )
            continue
        envs[key] = secrets[found.group(1)]
    if len(envs) != len(inner):
        return none
    try:
        return Auth(
            type="basic",
            username_env=envs.get("user", ""),
            env=envs.get("password", ""),
            hosts=(host,),
        )
    except ValidationError as exc:
        problems.append(
            (
                ("auth", "basic"),
                str(exc.errors()[0]["msg"]).removeprefix("Value error, "),
                "name the variables like ..._USER (or _USERNAME) and ..._PASSWORD",
            )
        )
        return none


def _type(value: Any, type_of: Callable[[str], str | None]) -> ParamType:
    """The type a value is validated as: a literal's own, a template's as ``type_of`` says."""
    if _templated(value):
        known = type_of(value)
        return ParamType(known) if known in set(ParamType) else ParamType.STRING
    return _TYPES.get(type(value), ParamType.STRING)
