"""The plain ``http`` task: one step's ``with:`` as a synthetic, per-step :class:`Manifest`.

A step ``task: http`` gives ``with: {method, url, headers, query, body, body_file, files,
auth, paging}``. Its request is described by a manifest built from that step alone, so that
validating, building, sending, reading the answer and the step's ``outputs:`` are the same code
as for every other task.
What this module guarantees:

- The URL's scheme, host and port are literals from the workflow file: a template there is
  refused, so no input can change where the request goes, unless the workflow lists the
  hosts its steps may call (``hosts:``). Then the URL may start with a template (``"{{
  inputs.base_url }}/v1/items"``): it is rendered when the step runs, and a host that is not
  one of ``hosts:`` is refused before anything is sent (:mod:`.http_origin`).
- Path segments may be templated: a segment (``{{ inputs.id }}``, or text and templates
  together, ``{{ inputs.id }}.json``) is rendered as text and percent-encoded as one segment
  when sent, so a ``/``, ``?`` or ``..`` in a value cannot change the path. The query string
  and the fragment are literals.
- ``query`` keys become query parameters and ``body`` keys (a mapping) body fields; a literal
  query string in the URL joins ``query`` (a name given more than once there is a list, sent
  as repeated keys). A name used twice is refused.
- The ``Content-Type`` header picks the body's encoding (JSON when it names none).
  ``files: {NAME: PATH}`` (or a list of paths) are ``multipart/form-data`` file fields, each
  read from its path when the request is sent (after the body's text fields); with no
  ``Content-Type`` the body is then multipart, and any other is refused. ``body_file: PATH``
  sends the bytes of one file as the whole body (``application/octet-stream`` unless the
  ``Content-Type`` header names another type; not JSON).
- ``paging: {style, param, size_param, start, items, total, next}`` says how the step's list
  pages (:class:`~rtk_task.providers.model.Paging`; ``items``, ``total`` and ``next`` are
  paths into the response body, ``next`` may be ``header:Name``), so that ``paginate: true``
  gathers every page's ``items``; the page parameter is a query parameter.
- ``Authorization: "<Scheme> {{ secrets.NAME }}"`` (``Bearer`` or any other scheme) becomes
  the manifest's auth (the secret's environment variable), so the value is masked
  everywhere like the API token. ``auth: {basic: {user: "{{ secrets.U }}", password:
  "{{ secrets.P }}"}}`` (either may be left out: ``curl -u key:``) is HTTP Basic from two
  declared secrets. Either credential is sent only to the URL's host (with a templated
  host: only to the rendered host, which is one of ``hosts:``).
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
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlsplit

from pydantic import ValidationError

from .http_origin import host_names, servers_of, split_origin
from .model import (
    BODY,
    MULTIPART,
    Auth,
    Manifest,
    Output,
    Paging,
    Param,
    Parameters,
    ParamType,
    is_json,
    media_type,
)

__all__ = ["HTTP_TASK", "HttpPlan", "http_manifest"]

#: The task name of a plain HTTP step.
HTTP_TASK = "http"
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_MARKERS = ("{{", "{%", "{#")
_KEYS = ("method", "url", "headers", "query", "body", "body_file", "files", "auth", "paging")
_PAGING_KEYS = ("style", "param", "size_param", "start", "items", "total", "next")
#: The host of the URL a templated origin is parsed with (never sent: replaced when run).
_PLACEHOLDER_ORIGIN = "https://origin.invalid"
#: ``{{ ... }}`` in a path segment with text around it.
_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.S)
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
    #: The URL's scheme and host part when it is templated (rendered when the step runs,
    #: its host held to ``hosts:``), else ``None``.
    origin: str | None = None
    #: Whether the URL has no path of its own after a templated origin.
    bare: bool = False


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
    hosts: tuple[str, ...] | None = None,
) -> HttpPlan:
    """The synthetic manifest of the ``http`` step ``step_id``.

    ``secrets`` maps the workflow's secret names to environment variables; ``type_of`` gives
    the type a template stands for (``"integer"`` for ``{{ inputs.n }}``), ``None`` when it
    cannot know (the field then takes any JSON value; text around a template is a string);
    ``hosts`` is the workflow's ``hosts:``
    (``None`` when it has none: the URL's scheme and host must then be literals).
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
    plan.origin, rest = split_origin(url)
    if plan.origin is not None and hosts is None:
        problems.append(
            (
                ("url",),
                "the url's scheme and host are templated, and the workflow lists no `hosts:`",
                "list the hosts its steps may call (hosts: [api.example.com]), or write"
                " the host as a literal",
            )
        )
        return plan
    if plan.origin is not None:
        plan.bare = not rest.startswith("/")
        parts = urlsplit(_PLACEHOLDER_ORIGIN + rest)
    else:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append((("url",), f"not an http(s) URL: {url!r}", "e.g. https://host/path"))
            return plan
    if any(_templated(p) for p in (parts.netloc, parts.query, parts.fragment)):
        problems.append(
            (
                ("url",),
                "only path segments of a url can be templated (and, with `hosts:`, its"
                " scheme and host)",
                "put query values in `query:`",
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
        if "{%" in segment or "{#" in segment:
            problems.append(
                (
                    ("url",),
                    f"path segment {segment!r} holds a template block or comment",
                    "a segment holds text and {{ }} expressions: /items/{{ inputs.id }}.json",
                )
            )
            continue
        found = _LAST_NAME.search(segment) or _LAST_NAME.search(segment[: segment.rfind("}}") + 2])
        name = found.group(1) if found else "segment"
        base, n = name, 2
        while name in values or name == "headers":
            name, n = f"{base}_{n}", n + 1
        values[name] = _segment_value(segment)
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
    paging = _paging(with_.get("paging"), values, query_params, problems)
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
    body_file = with_.get("body_file")
    if body_file is not None:
        whole = True
        body_params.extend(_body_file(body_file, body, files, values, problems))
    auth = Auth(type="none", env="")
    # where a credential may go: the URL's host, or (templated) the hosts it may render to
    to_hosts = host_names(hosts or ()) if plan.origin is not None else (parts.hostname or "",)
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
                    hosts=to_hosts,
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
            auth = _basic(with_["auth"], secrets, to_hosts, problems)
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
    if body_file is not None and content_type is None:
        content_type = "application/octet-stream"
    elif body_file is not None and (
        not isinstance(content_type, str) or is_json(media_type(content_type))
    ):
        problems.append(
            (
                ("headers", "Content-Type"),
                "a body_file is sent as its bytes, with the media type of the file",
                "leave Content-Type out (application/octet-stream), or name the file's type",
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
            body="body" in with_ or bool(files) or body_file is not None,
            whole=whole,
            content_type=content_type if isinstance(content_type, str) else None,
            servers=servers_of(hosts or ()) if plan.origin is not None else None,
            paging=paging,
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


def _segment_value(segment: str) -> str:
    """A templated path segment as the template of its text: one ``{{ }}`` alone renders as
    text; around templates, literal text is decoded (it is encoded again with the values,
    as one segment) and written so that it renders as itself."""
    if segment.startswith("{{") and segment.endswith("}}") and segment.count("{{") == 1:
        return segment + _AS_TEXT
    out: list[str] = []
    at = 0
    for found in _EXPRESSION.finditer(segment):
        out.append(_literal_text(unquote(segment[at : found.start()])))
        out.append(found.group(0))
        at = found.end()
    out.append(_literal_text(unquote(segment[at:])))
    return "".join(out)


def _literal_text(text: str) -> str:
    """``text`` as template text that renders as itself (a brace as a string expression)."""
    if "{" not in text and "}" not in text:
        return text
    quoted = text.replace("\\", "\\\\").replace("'", "\\'")
    return "{{ '" + quoted + "' }}"


def _paging(
    given: Any, values: dict[str, Any], query_params: list[Param], problems: list[HttpProblem]
) -> tuple[Paging, tuple[Output, ...]] | None:
    """``paging:`` as the manifest's paging and the outputs it reads (``items``, ``total``,
    ``next``: paths into the body); the page parameter joins the query."""
    if given is None:
        return None
    if not isinstance(given, dict) or not set(given) <= set(_PAGING_KEYS):
        problems.append(
            (("paging",), "paging is a mapping", f"paging: {{{', '.join(_PAGING_KEYS)}}}")
        )
        return None
    paths = {k: given.get(k) for k in ("items", "total", "next")}
    if not all(v is None or isinstance(v, str) for v in paths.values()):
        problems.append((("paging",), "items, total and next are body paths", "items: data"))
        return None
    nxt = paths["next"] or ""
    outputs = [Output(name="items", path=paths["items"] or "")]
    if paths["total"]:
        outputs.append(Output(name="total", path=paths["total"]))
    if nxt and not nxt.startswith("header:"):
        outputs.append(Output(name="next", path=nxt))
    try:
        paging = Paging(
            style=given.get("style"),
            param=given.get("param") or "",
            size_param=given.get("size_param") or "",
            start=given.get("start"),
            items="items",
            total="total" if paths["total"] else "",
            next=nxt if nxt.startswith("header:") else ("next" if nxt else ""),
        )
    except ValidationError as exc:
        problems.append(
            (("paging",), str(exc.errors()[0]["msg"]).removeprefix("Value error, "), "")
        )
        return None
    if paging.param and paging.param not in values:  # the page's own query parameter
        kind = ParamType.STRING if paging.style == "cursor" else ParamType.INTEGER
        query_params.append(Param(name=paging.param, type=kind, nullable=True))
    return paging, tuple(outputs)


def _body_file(
    path: Any, body: Any, files: Any, values: dict[str, Any], problems: list[HttpProblem]
) -> list[Param]:
    """``body_file: PATH``: the whole body is that file's bytes (a path, or a template)."""
    if body is not None or files is not None:
        problems.append(
            (("body_file",), "a body_file is the whole body", "leave out body and files")
        )
        return []
    if not isinstance(path, str) or not path:
        problems.append((("body_file",), "a body_file is the path of a file", "body_file: a.png"))
        return []
    values[BODY] = path
    return [Param(name=BODY, type=ParamType.STRING, format="binary", required=True)]


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
    servers: tuple[str, ...] | None,
    paging: tuple[Paging, tuple[Output, ...]] | None,
) -> Manifest:
    """The manifest of an http step: its own server (``servers``: those a templated origin
    may render to), only the credential it names."""
    templated_type = content_type is not None and _templated(content_type)
    return Manifest(
        id=_task_id(step_id),
        summary=f"{method} {parts.scheme}://{parts.netloc}{parts.path}",
        method=method,  # checked against _METHODS above
        path=path,
        servers=(f"{parts.scheme}://{parts.netloc}",) if servers is None else servers,
        fixed_server=True,
        paging=paging[0] if paging else None,
        outputs=paging[1] if paging else (),
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


def _basic(
    given: Any, secrets: Mapping[str, str], hosts: tuple[str, ...], problems: list[HttpProblem]
) -> Auth:
    """``auth: {basic: {user, password}}`` as the manifest's Basic auth, only to ``hosts``."""
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
            hosts=hosts,
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
    """The type a value is validated as: a literal's own, a template's as ``type_of`` says;
    one ``{{ }}`` alone of a type it cannot know (an earlier step's output) keeps the type
    it renders to, and text around a template is a string."""
    if _templated(value):
        known = type_of(value)
        if known in set(ParamType):
            return ParamType(known)
        whole = value.strip()
        alone = whole.startswith("{{") and whole.endswith("}}") and whole.count("{{") == 1
        return ParamType.ANY if alone else ParamType.STRING
    return _TYPES.get(type(value), ParamType.STRING)
