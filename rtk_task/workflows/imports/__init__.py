"""Requests from elsewhere (a cURL command, a Conductor or n8n workflow) as workflow steps.

Every importer reduces what it reads to :class:`Request` s (method, URL, headers, query,
JSON body) and hands them to :func:`request_step`, which makes one step of it:

- a typed step of a known task when the URL's path and the method match one of the task's
  path templates (the live ``/accounts/{account_id}/realtime/kit/{app_id}/...`` or the
  legacy ``/accounts/{account_id}/realtimekit/...`` form), with path values, query and body
  fields as workflow inputs (a literal as the input's default, a ``$VAR`` as an input
  without one);
- otherwise a plain ``http`` step (:mod:`rtk_task.manifests.http`).

A request's text is template text: what the importer translated (a reference to an earlier
step) is a ``{{ }}`` template, and literal text is written so that it renders as itself
(:func:`~.text.literal`: a literal ``{{x}}`` never becomes a live template).

A credential is never kept (:mod:`.credentials` says what one looks like): the URL's
``user:password``, an ``Authorization`` or ``Cookie`` header, any header named or valued
like a credential, a signed or credential query parameter, a body field named like one. Each
becomes ``{{ secrets.NAME }}`` with a declared secret, and the step says which environment
variable to set (:attr:`ImportedStep.secrets`). The secret is named after the host
(``status_example_com_token`` for a bearer token, ``hooks_example_com_x_api_key`` for
another header or a query key) and read from a variable ending in ``_TOKEN``, ``_KEY`` or
``_SECRET`` (:func:`token_env`: a manifest's auth reads only those); a task's own auth
stays ``api_token``. A variable an imported step may not read (a provider's credential,
a cloud's) is renamed ``IMPORTED_...``. :func:`unique_secrets` renames a secret whose name
an earlier step of the same workflow gave another variable, so one import never merges two
credentials.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from ...manifests.http import HTTP_TASK
from ...manifests.model import (
    BODY,
    INPUT_LOCATIONS,
    PLACEHOLDER,
    TOKEN_ENV_SUFFIXES,
    Manifest,
)
from ...manifests.registry import all_tasks
from .credentials import imported_env, is_credential, name_is_credential, scheme_of
from .text import TEMPLATE, has_template, literal, split_url, unescape_deep

__all__ = [
    "ImportedStep",
    "Request",
    "TaskIndex",
    "find_task",
    "request_step",
    "to_yaml",
    "token_env",
    "unique_secrets",
]

#: Headers the core sets itself: dropped from an imported request.
_OWN_HEADERS = frozenset({"content-type", "accept", "user-agent", "content-length", "host"})
_SHELL_VAR = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
_ANY_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
_STEP_REF = re.compile(r"\{\{ steps\.[A-Za-z_]\w*\.outputs\.[A-Za-z_]\w* \}\}")
_SCALAR = re.compile(r"\s*(?:true|false|-?\d{1,30}(?:\.\d{1,30})?(?:[eE][-+]?\d{1,3})?)\s*")
_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object"}


@dataclass
class Request:
    """One HTTP request as an importer read it, as template text (see the module's doc)."""

    method: str
    #: The URL; a query in it joins :attr:`query`, its ``user:password`` is a credential.
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    #: What the request came from, for messages (``curl``, a task's name).
    source: str = "request"
    #: ``(user, password)`` of Basic auth (``curl -u``): declared as secrets, never written.
    user: tuple[str, str | None] | None = None


@dataclass
class ImportedStep:
    """A step made from a request, with the inputs and secrets it needs declared."""

    step: dict[str, Any]
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Secret name -> environment variable.
    secrets: dict[str, str] = field(default_factory=dict)
    #: What could not be carried over, or what the user must do (set a variable).
    notes: list[str] = field(default_factory=list)


#: A path template, split: each segment's placeholder name, or ``None`` and its text.
_Template = list[tuple[str | None, str]]


class TaskIndex:
    """The known tasks' path templates, split once and grouped by method, so matching a
    request costs the same however many an import makes."""

    def __init__(self, tasks: Sequence[Manifest] | None = None) -> None:
        self.by_method: dict[str, list[tuple[Manifest, list[_Template], int]]] = {}
        for manifest in all_tasks() if tasks is None else tasks:
            templates: list[_Template] = []
            for template in manifest.path_templates:
                split: _Template = []
                for segment in template.strip("/").split("/"):
                    name = PLACEHOLDER.fullmatch(segment)
                    split.append((name.group(1), "") if name else (None, segment))
                templates.append(split)
            longest = max(len(t) for t in templates)
            self.by_method.setdefault(manifest.method, []).append((manifest, templates, longest))

    def find(self, method: str, url: str) -> tuple[Manifest, dict[str, str]] | None:
        """The task whose path template the URL's path ends with, and its path values."""
        return self.find_path(method, urlsplit(url).path)

    def find_path(self, method: str, path: str) -> tuple[Manifest, dict[str, str]] | None:
        """:meth:`find` for a URL's path."""
        raw = path.strip("/").split("/")
        got = [unquote(p) for p in raw]
        found: list[tuple[int, Manifest, dict[str, str]]] = []
        for manifest, templates, longest in self.by_method.get(method.upper(), []):
            values = _match(templates, got, raw)
            if values is not None:
                found.append((longest - len(values), manifest, values))
        if not found:
            return None
        _, manifest, values = max(found, key=lambda f: f[0])
        return manifest, values


def _match(templates: list[_Template], got: list[str], raw: list[str]) -> dict[str, str] | None:
    """Path values when the path ``got`` (decoded; ``raw`` as written) ends with one of the
    templates: a value is a template the importer translated, or a segment's literal text."""
    best: dict[str, str] | None = None
    for want in templates:
        if len(want) > len(got):
            continue
        start = len(got) - len(want)
        values: dict[str, str] = {}
        for (name, text), g, r in zip(want, got[start:], raw[start:], strict=True):
            if name is not None:
                values[name] = r if TEMPLATE.fullmatch(r) else literal(g)
            elif text != g:
                break
        else:
            if best is None or len(values) > len(best):
                best = values
    return best


def find_task(
    method: str, url: str, tasks: TaskIndex | None = None
) -> tuple[Manifest, dict[str, str]] | None:
    """The known task whose path template the URL's path ends with, and its path values;
    ``tasks`` is an index of :func:`~rtk_task.manifests.registry.all_tasks` (an importer
    makes one per import)."""
    return (tasks or TaskIndex()).find(method, url)


def _secret_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "secret"
    return f"http_{name}" if name[0].isdigit() else name


def _env_name(text: str, token: bool = True) -> str:
    name = re.sub(r"[^A-Z0-9_]+", "_", text.upper()).strip("_") or "SECRET"
    name = name if not name[0].isdigit() else f"HTTP_{name}"
    return token_env(name) if token else name


def token_env(name: str) -> str:
    """``name`` as a token variable's name (a manifest's auth reads only those): ``_TOKEN``
    added unless it ends in one of :data:`~rtk_task.manifests.model.TOKEN_ENV_SUFFIXES`."""
    return name if name.endswith(TOKEN_ENV_SUFFIXES) else f"{name}_TOKEN"


def _numbered(env: str, n: int) -> str:
    """``HOST_X_TOKEN`` as ``HOST_X_2_TOKEN``: another variable, still token-like."""
    for suffix in TOKEN_ENV_SUFFIXES:
        if env.endswith(f"_{suffix}"):
            return f"{env[: -len(suffix)]}{n}_{suffix}"
    return f"{env}_{n}"


def _literal_part(value: str) -> str:
    """The literal text of a template (every template, escapes included, left out)."""
    return TEMPLATE.sub(" ", value)


def _refs_only(value: str) -> bool:
    """Whether ``value`` holds references to earlier steps and no literal credential."""
    if not _STEP_REF.search(value):
        return False
    rest = _STEP_REF.sub(" ", value)
    scheme = scheme_of(rest)
    if scheme is not None:
        rest = rest.strip()[len(scheme) :]
    return not rest.strip()


class _Builder:
    """Collects the inputs and secrets of one imported step."""

    def __init__(self, step_id: str) -> None:
        self.step_id = step_id
        self.out = ImportedStep({})
        #: variables read for a literal value here -> its secret (two values, two variables)
        self.defaults: dict[str, str] = {}

    def value(self, name: str, value: Any, kind: str | None = None) -> Any:
        """``value`` as ``{{ inputs.NAME }}`` with the input declared (a template stays)."""
        if has_template(value):
            return value
        value = unescape_deep(value)  # an input's default is data, never rendered
        spec: dict[str, Any] = {}
        var = _SHELL_VAR.match(value) if isinstance(value, str) else None
        if var:
            spec = {"type": kind or "string", "description": f"${var.group(1)} in the request"}
        else:
            spec = {"type": kind or _TYPES.get(type(value), "array"), "default": value}
        key = re.sub(r"[^A-Za-z0-9_]", "_", name) or "value"
        self.out.inputs[key] = spec
        return f"{{{{ inputs.{key} }}}}"

    def secret(self, name: str, value: str, default_env: str, *, token: bool = True) -> str:
        """``{{ secrets.NAME }}`` for a credential; its variable from ``$VAR`` if it was one."""
        var = _ANY_VAR.search(value)
        # a manifest's auth reads only token-like variables: ``$HOOKS`` is read as HOOKS_TOKEN
        env = (token_env(var.group(1)) if token else var.group(1)) if var else default_env
        if var is None:  # a literal credential: a variable of its own
            n = 2
            while env in self.out.secrets.values() and self.defaults.get(env) != value:
                env, n = _numbered(default_env, n), n + 1
            self.defaults[env] = value
        safe = imported_env(env)
        if safe != env:
            self.out.notes.append(
                f"{self.step_id}: the source names ${env}, which an imported step may not read"
                f" (another service's or a cloud's credential): it reads ${safe} instead"
            )
            env = safe
        for known, known_env in self.out.secrets.items():
            if known_env == env:
                return f"{{{{ secrets.{known} }}}}"
        secret = base = _secret_name(name)
        n = 2
        while secret in self.out.secrets:
            secret, n = f"{base}_{n}", n + 1
        self.out.secrets[secret] = env
        self.out.notes.append(f"set {env}: the credential of {self.step_id} is read from it")
        return f"{{{{ secrets.{secret} }}}}"


def request_step(
    request: Request, step_id: str | None = None, tasks: TaskIndex | None = None
) -> ImportedStep:
    """One step for ``request``: a known task's, else a plain ``http`` one."""
    method = request.method.upper()
    url, user = _without_user(request.url)
    base, query = split_url(url) if "?" in url or "#" in url else (url, {})
    parts = urlsplit(base)
    request = Request(
        method,
        base,
        request.headers,
        {**query, **request.query},
        request.body,
        request.source,
        request.user or user,
    )
    found = (tasks or TaskIndex()).find_path(method, parts.path)
    if found is not None:
        manifest, path_values = found
        sid = step_id or _default_id(manifest.id)
        return _task_step(request, manifest, path_values, sid)
    words = [w for w in parts.path.split("/") if w and "$" not in w and "{" not in w]
    words = [w for w in words if "%7B" not in w]
    sid = step_id or re.sub(r"\W", "_", f"{method.lower()}_{words[-1] if words else 'call'}")
    return _http_step(request, sid)


def _without_user(url: str) -> tuple[str, tuple[str, str | None] | None]:
    """``url`` without its ``user:password@``, and the two (never written)."""
    if "@" not in url:
        return url, None
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    info, _, hostport = parts.netloc.rpartition("@")
    name, colon, password = info.partition(":")
    clean = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    return clean, (unquote(name), unquote(password) if colon else None)


def _default_id(task_id: str) -> str:
    from ..authoring import default_step_id

    return default_step_id(task_id)


def _basic(b: _Builder, request: Request, host: str) -> None:
    """``user:password`` (the URL's or ``-u``) as two declared secrets, never written."""
    if request.user is None:
        return
    user, password = request.user
    b.secret(f"{host}_username", user, _env_name(f"{host}_USERNAME", False), token=False)
    if password is not None:
        b.secret(f"{host}_password", password, _env_name(f"{host}_PASSWORD", False), token=False)
    b.out.notes.append(
        f"{b.step_id}: the request's user and password (Basic auth) are declared as secrets;"
        " an imported step sends only a bearer token: send them another way, or ask the API"
        " for a token"
    )


def _headers(
    b: _Builder, request: Request, host: str, own: frozenset[str] = frozenset()
) -> tuple[dict[str, Any], bool]:
    """The headers to send (credentials as secrets), and whether the task's own credential
    header was among them (``own``: its names, lower case)."""
    headers: dict[str, Any] = {}
    owned = False
    for name, value in request.headers.items():
        low = name.lower()
        if low in _OWN_HEADERS:
            continue
        if low in own:
            owned = True
            continue
        text = str(value)
        plain = _literal_part(text)
        if low in ("authorization", "proxy-authorization"):
            label = "token" if low == "authorization" else name
            secret = b.secret(f"{host}_{label}", text, _env_name(f"{host}_{label}"))
            if low == "authorization" and (scheme_of(plain) or "").lower() == "bearer":
                headers[name] = f"Bearer {secret}"
                continue
            b.out.notes.append(
                f"{name}: only a bearer token can be imported; set it as "
                'Authorization: "Bearer {{ secrets.NAME }}"'
            )
            continue
        named = name_is_credential(name)
        if (named and not _refs_only(text)) or (not named and is_credential(name, plain)):
            secret = b.secret(f"{host}_{name}", text, _env_name(f"{host}_{name}"))
            scheme = scheme_of(plain)
            headers[name] = f"{scheme} {secret}" if scheme else secret
        else:
            headers[name] = value
    return headers, owned


def _query(
    b: _Builder, request: Request, host: str, known: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """The query, each credential a secret (``known``: the task's parameters, whose values
    are only judged by their names)."""
    out: dict[str, Any] = {}
    for name, value in request.query.items():
        if not isinstance(value, str):
            out[name] = value
            continue
        named = name_is_credential(name, "query")
        plain = _literal_part(value)
        guess = name not in known and is_credential(name, plain, "query")
        if (named and not _refs_only(value)) or (not named and guess):
            out[name] = b.secret(f"{host}_{name}", value, _env_name(f"{host}_{name}"))
        else:
            out[name] = value
    return out


def _body(b: _Builder, body: Any, host: str) -> Any:
    """``body`` with each field named like a credential a secret, at any depth."""
    if isinstance(body, list):
        return [_body(b, v, host) for v in body]
    if not isinstance(body, dict):
        return body
    out: dict[str, Any] = {}
    for name, value in body.items():
        credential = isinstance(value, str) and name_is_credential(str(name), "body")
        if credential and not _refs_only(value):
            value = b.secret(f"{host}_{name}", value, _env_name(f"{host}_{name}"))
        out[name] = _body(b, value, host)
    return out


def _task_step(
    request: Request, manifest: Manifest, path_values: dict[str, str], sid: str
) -> ImportedStep:
    b = _Builder(sid)
    host = urlsplit(request.url).hostname or "api"
    kinds = {p.name: p.type.value for loc in INPUT_LOCATIONS for p in manifest.parameters.at(loc)}
    with_: dict[str, Any] = {}
    for name, value in path_values.items():
        with_[name] = b.value(name, value, "string")
    _basic(b, request, host)
    # where the task's own auth puts its credential: read from its variables, never written
    own_headers, own_query = manifest.auth.places
    for name, value in _query(b, request, host, frozenset(kinds)).items():
        if name in own_query:
            _own_credential(b, manifest)
            continue
        with_[name] = b.value(name, _typed(value, kinds.get(name)), kinds.get(name))
    body = _body(b, request.body, host)
    if manifest.body_whole and body is not None:
        with_[BODY] = b.value(BODY, body, kinds.get(BODY))
    elif isinstance(body, dict):
        for name, value in body.items():
            with_[str(name)] = b.value(str(name), value, kinds.get(str(name)))
    elif body is not None:
        b.out.notes.append(f"{manifest.id} takes a JSON object body; the body was left out")
    headers, owned = _headers(b, request, host, frozenset(h.lower() for h in own_headers))
    if owned:
        _own_credential(b, manifest)
    if headers:
        with_["headers"] = headers
    b.out.step = {"id": sid, "task": manifest.id, "with": with_}
    return b.out


def _own_credential(b: _Builder, manifest: Manifest) -> None:
    """Note that the task's credential is read from its own variables (declared once)."""
    variables = manifest.auth.variables
    for env in variables:
        if env in b.out.secrets.values():
            continue
        b.out.secrets["api_token" if len(variables) == 1 else _secret_name(env.lower())] = env
        b.out.notes.append(f"set {env}: {manifest.id} sends it as {manifest.auth.describe()}")


def _typed(value: Any, kind: str | None) -> Any:
    """A query value (text) in the parameter's type, when it reads as one."""
    if not isinstance(value, str) or kind in (None, "string") or not _SCALAR.fullmatch(value):
        return value
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    wanted: dict[str, tuple[type, ...]] = {
        "integer": (int,),
        "number": (int, float),
        "boolean": (bool,),
    }
    kinds = wanted.get(kind or "")
    return parsed if kinds and isinstance(parsed, kinds) else value


def _http_step(request: Request, sid: str) -> ImportedStep:
    b = _Builder(sid)
    parts = urlsplit(request.url)
    host = parts.hostname or "api"
    _basic(b, request, host)
    segments = []
    for seg in parts.path.split("/"):
        var = _SHELL_VAR.match(seg)
        segments.append(b.value(var.group(1).lower(), seg) if var else seg)
    url = f"{parts.scheme}://{parts.netloc}{'/'.join(segments)}"
    with_: dict[str, Any] = {"method": request.method.upper(), "url": url}
    headers, _ = _headers(b, request, host)
    if headers:
        with_["headers"] = headers
    query = _query(b, request, host)
    if query:
        with_["query"] = query
    if request.body is not None:
        # JSON of any type; a Content-Type header picks another
        with_["body"] = _body(b, request.body, host)
    b.out.step = {"id": sid, "task": HTTP_TASK, "with": with_}
    return b.out


def unique_secrets(step: ImportedStep, earlier: list[ImportedStep] | dict[str, str]) -> None:
    """Rename each secret of ``step`` whose name an ``earlier`` step gave another variable
    (``name_2``, ``name_3``...), in its declarations and in the step's templates.

    ``earlier`` is the earlier steps, or the secrets they declared (name -> variable), which
    this call then updates with the step's: an importer keeps one, so each step costs the
    same however many came before.
    """
    if isinstance(earlier, dict):
        taken = earlier
    else:
        taken = {k: v for s in earlier for k, v in s.secrets.items()}
    for name, env in list(step.secrets.items()):
        if taken.get(name, env) == env:
            continue
        new, n = f"{name}_2", 2
        while taken.get(new, env) != env or (new in step.secrets and new != name):
            n += 1
            new = f"{name}_{n}"
        del step.secrets[name]
        step.secrets[new] = env
        text = json.dumps(step.step).replace(f"secrets.{name} ", f"secrets.{new} ")
        step.step = json.loads(text)
        step.notes = [n.replace(f"secrets.{name} ", f"secrets.{new} ") for n in step.notes]
    taken.update(step.secrets)


def to_yaml(
    steps: list[ImportedStep], name: str = "imported", inputs: dict[str, Any] | None = None
) -> str:
    """A whole workflow file holding ``steps``, as YAML text."""
    from .yamlout import dump

    data: dict[str, Any] = {"name": name}
    merged_inputs: dict[str, Any] = dict(inputs or {})
    secrets: dict[str, str] = {}
    for s in steps:
        merged_inputs.update(s.inputs)
        secrets.update(s.secrets)
    if merged_inputs:
        data["inputs"] = merged_inputs
    if secrets:
        data["secrets"] = secrets
    data["steps"] = [s.step for s in steps]
    return dump(data)


@dataclass
class Imported:
    """A whole imported workflow: its name, steps, and what could not be carried over."""

    name: str
    steps: list[ImportedStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+")


class References:
    """Turns another engine's references to earlier steps into ``steps.S.outputs.NAME``.

    A step read for the response path ``P`` gets an output: the task's own output when one
    has that path, else ``NAME: "{{ response.body.P }}"`` added to the step's ``outputs:``.
    A path whose parts are not all names or indexes is not one (``None``): it would be
    read as an expression.
    """

    def __init__(self) -> None:
        self.steps: dict[str, ImportedStep] = {}

    def output(self, step_id: str, path: str) -> str | None:
        """``{{ steps.S.outputs.NAME }}`` for ``path`` in the body of step ``S``."""
        target = self.steps.get(step_id)
        words = [w for w in path.split(".") if w]
        if target is None or not all(_WORD.fullmatch(w) for w in words):
            return None
        task = str(target.step.get("task"))
        if task != HTTP_TASK:
            from ...manifests.registry import load_task

            for o in load_task(task).outputs:
                if o.path == path:
                    return f"{{{{ steps.{step_id}.outputs.{o.name} }}}}"
        name = re.sub(r"\W", "_", words[-1] if words else "body")
        name = name if not name[0].isdigit() else f"item_{name}"
        outputs = target.step.setdefault("outputs", {})
        wanted = "{{ response.body" + "".join(f".{w}" for w in words) + " }}"
        base, n = name, 2
        while name in outputs and outputs[name] != wanted:
            name, n = f"{base}_{n}", n + 1
        outputs[name] = wanted
        return f"{{{{ steps.{step_id}.outputs.{name} }}}}"
