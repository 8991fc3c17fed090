"""Requests from elsewhere (a cURL command, a Conductor or n8n workflow) as workflow steps.

Every importer reduces what it reads to :class:`Request` s (method, URL, headers, query,
body, Basic user, multipart files: :mod:`.model`) and hands them to :func:`request_step`,
which makes one step of it:

- a typed step of a known task when the URL's path and the method match one of the task's
  path templates (the live ``/accounts/{account_id}/realtime/kit/{app_id}/...`` or the
  legacy ``/accounts/{account_id}/realtimekit/...`` form), with path values, query and body
  fields as workflow inputs (a literal as the input's default, a ``$VAR`` as an input
  without one). When the request went to another host than the task's server (a local
  emulator on ``127.0.0.1``, a proxy), a note gives the ``--base-url`` that sends it there;
  what the task cannot send (a Basic user, files, another body type) is a note too;
- otherwise a plain ``http`` step (:mod:`rtk_task.manifests.http`) that sends what the
  request did: its headers as given (``Accept``, ``Content-Type``), a query name given twice
  as a list, a form body as fields (or as its text, when the fields would not encode to the
  same bytes), multipart ``files:``, Basic auth as ``auth: {basic: ...}``.

A request's text is template text: what the importer translated (a reference to an earlier
step) is a ``{{ }}`` template, and literal text is written so that it renders as itself
(:func:`~.text.literal`: a literal ``{{x}}`` never becomes a live template). Notes a parser
left on the request (:attr:`Request.notes`) come first in the step's.

A credential is never kept (:mod:`.credentials` says what one looks like; :mod:`.parts`
makes each a secret): the URL's ``user:password`` and ``-u``, an ``Authorization`` (any
scheme: ``Token {{ secrets.NAME }}``) or ``Cookie`` header, any header named or valued
like a credential, a signed or credential query parameter, a body field named like one. Each
becomes ``{{ secrets.NAME }}`` with a declared secret, and the step says which environment
variable to set (:attr:`ImportedStep.secrets`). The secret is named after the host
(``status_example_com_token`` for a bearer token, ``hooks_example_com_x_api_key`` for
another header or a query key) and read from a variable ending in ``_TOKEN``, ``_KEY`` or
``_SECRET`` (:func:`token_env`: a manifest's auth reads only those; a Basic user name's
may end in ``_USERNAME``, its password's in ``_PASSWORD``); a task's own auth stays
``api_token``. A variable an imported step may not read (a provider's credential, a
cloud's) is renamed ``IMPORTED_...``. :func:`unique_secrets` renames a secret whose name
an earlier step of the same workflow gave another variable, so one import never merges two
credentials.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from ...inputs import EXTRA_BODY, takes_extra_body
from ...manifests.http import HTTP_TASK, http_manifest
from ...manifests.http_origin import split_origin
from ...manifests.model import BODY, FORM, INPUT_LOCATIONS, PLACEHOLDER, Manifest, media_type
from ...manifests.registry import all_tasks
from ...providers.model import host_of
from . import parts
from .model import Imported, ImportedStep, Request
from .parts import SHELL_VAR, Builder, token_env
from .text import TEMPLATE, literal, split_url

__all__ = [
    "Imported",
    "ImportedStep",
    "Request",
    "TaskIndex",
    "find_task",
    "needed_hosts",
    "request_step",
    "to_data",
    "to_yaml",
    "token_env",
    "unique_inputs",
    "unique_secrets",
    "untranslatable",
]

_SCALAR = re.compile(r"\s*(?:true|false|-?\d{1,30}(?:\.\d{1,30})?(?:[eE][-+]?\d{1,3})?)\s*")


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


def request_step(
    request: Request, step_id: str | None = None, tasks: TaskIndex | None = None
) -> ImportedStep:
    """One step for ``request``: a known task's, else a plain ``http`` one."""
    method = request.method.upper()
    url, user = _without_user(request.url)
    base, query = split_url(url) if "?" in url or "#" in url else (url, {})
    for name, value in request.query.items():  # after the URL's own, as curl -G sends them
        query[name] = [*_listed(query[name]), *_listed(value)] if name in query else value
    path = urlsplit(base).path
    request = Request(
        method,
        base,
        request.headers,
        query,
        request.body,
        request.source,
        request.user or user,
        request.files,
        request.notes,
        request.body_file,
    )
    # a templated scheme and host: a plain http step held to `hosts:`, never a known task
    templated = split_origin(base)[0] is not None
    found = None if templated else (tasks or TaskIndex()).find_path(method, path)
    if found is not None:
        manifest, path_values = found
        sid = step_id or _default_id(manifest.id)
        out = _task_step(request, manifest, path_values, sid)
    else:
        words = [w for w in path.split("/") if w and "$" not in w and "{" not in w]
        words = [w for w in words if "%7B" not in w]
        sid = step_id or re.sub(r"\W", "_", f"{method.lower()}_{words[-1] if words else 'call'}")
        out = _http_step(request, sid)
    out.notes[:0] = [f"{sid}: {note}" for note in request.notes]
    return out


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _without_user(url: str) -> tuple[str, tuple[str, str | None] | None]:
    """``url`` without its ``user:password@``, and the two (never written)."""
    if "@" not in url:
        return url, None
    split = urlsplit(url)
    if "@" not in split.netloc:
        return url, None
    info, _, hostport = split.netloc.rpartition("@")
    name, colon, password = info.partition(":")
    clean = urlunsplit((split.scheme, hostport, split.path, split.query, split.fragment))
    return clean, (unquote(name), unquote(password) if colon else None)


def _default_id(task_id: str) -> str:
    from ..authoring import default_step_id

    return default_step_id(task_id)


def _task_step(
    request: Request, manifest: Manifest, path_values: dict[str, str], sid: str
) -> ImportedStep:
    b = Builder(sid)
    host = urlsplit(request.url).hostname or "api"
    kinds = {p.name: p.type.value for loc in INPUT_LOCATIONS for p in manifest.parameters.at(loc)}
    with_: dict[str, Any] = {}
    for name, value in path_values.items():
        with_[name] = b.value(name, value, "string")
    _server_note(b, request, manifest)
    if request.user is not None:
        b.note(
            f"the request's user and password (Basic auth) are not sent: {manifest.id}"
            f" authenticates with {manifest.auth.describe()}"
        )
    # where the task's own auth puts its credential: read from its variables, never written
    own_headers, own_query = manifest.auth.places
    for name, value in parts.query(b, request, host, frozenset(kinds)).items():
        if name in own_query:
            _own_credential(b, manifest)
            continue
        with_[name] = b.value(name, _typed(value, kinds.get(name)), kinds.get(name))
    body = parts.body(b, request.body, host)
    if manifest.body_whole and body is not None:
        with_[BODY] = b.value(BODY, body, kinds.get(BODY))
    elif isinstance(body, dict):
        newer: dict[str, Any] = {}  # fields newer than the docs: extra_body, checked as JSON
        for name, value in body.items():
            into = with_ if str(name) in kinds or not takes_extra_body(manifest) else newer
            into[str(name)] = b.value(str(name), value, kinds.get(str(name)))
        if newer:
            with_[EXTRA_BODY] = newer
            b.note(f"{', '.join(newer)}: not in {manifest.id}'s docs, sent under {EXTRA_BODY}")
    elif body is not None:
        b.out.notes.append(f"{manifest.id} takes a JSON object body; the body was left out")
    sent = _content_type(request)
    if body is not None and sent and media_type(sent) not in _media(manifest):
        b.note(f"the request's body was {sent}; {manifest.id} sends it as {_media(manifest)[0]}")
    if request.files or request.body_file:
        b.note(
            f"the file {', '.join(request.files) or 'body'} is not sent: {manifest.id} takes"
            " none; write an http step to upload it"
        )
    lowered = frozenset(h.lower() for h in own_headers)
    headers, owned = parts.headers(b, request, host, lowered, typed=True)
    if owned:
        _own_credential(b, manifest)
    if headers:
        with_["headers"] = headers
    b.out.step = {"id": sid, "task": manifest.id, "with": with_}
    return b.out


def _content_type(request: Request) -> str | None:
    return next((v for k, v in request.headers.items() if k.lower() == "content-type"), None)


def _media(manifest: Manifest) -> list[str]:
    """The media types a task sends its body as (JSON when it names none)."""
    return [media_type(t) for t in manifest.content_types] or ["application/json"]


def _server_note(b: Builder, request: Request, manifest: Manifest) -> None:
    """A note when the request went to a host other than the task's servers (a local
    emulator, a proxy): the step calls the task's server unless run with that base URL."""
    host = host_of(request.url)
    if not manifest.servers or host in {host_of(s) for s in manifest.servers}:
        return
    split = urlsplit(request.url)
    segments = split.path.rstrip("/").split("/")
    base = f"{split.scheme}://{split.netloc}"
    for template in sorted(manifest.path_templates, key=len, reverse=True):
        n = len(template.strip("/").split("/"))
        if TaskIndex([manifest]).find_path(manifest.method, "/".join(segments[-n:])):
            base += "/".join(segments[:-n])
            break
    b.note(
        f"the request went to {base}, not to {manifest.id}'s server {manifest.servers[0]}:"
        f" run the workflow with --base-url {base} to send it there"
    )


def _own_credential(b: Builder, manifest: Manifest) -> None:
    """Note that the task's credential is read from its own variables (declared once)."""
    variables = manifest.auth.variables
    for env in variables:
        if env in b.out.secrets.values():
            continue
        name = "api_token" if len(variables) == 1 else parts.secret_name(env.lower())
        b.out.secrets[name] = env
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
    b = Builder(sid)
    origin, rest = split_origin(request.url)
    split = urlsplit(request.url if origin is None else "https://api" + rest)
    host = split.hostname or "api"
    auth = parts.basic(b, request, host)
    segments = []
    for seg in split.path.split("/"):
        var = SHELL_VAR.match(seg)
        segments.append(b.value(var.group(1).lower(), seg) if var else seg)
    head = origin if origin is not None else f"{split.scheme}://{split.netloc}"
    url = head + "/".join(segments)
    with_: dict[str, Any] = {"method": request.method.upper(), "url": url}
    headers, _ = parts.headers(b, request, host, typed=False)
    if auth and any(k.lower() == "authorization" for k in headers):
        b.note("the Authorization header is sent, not the user and password (as curl does)")
    elif auth:
        with_["auth"] = {"basic": auth}
    if headers:
        with_["headers"] = headers
    query = parts.query(b, request, host)
    if query:
        with_["query"] = query
    sent = _content_type(request)
    if isinstance(request.body, str) and sent and media_type(sent) == FORM:
        with_["body"] = parts.form_text(b, request.body, host)  # a form kept as its text
    elif request.body is not None:
        # JSON of any type; a Content-Type header picks another
        with_["body"] = parts.body(b, request.body, host)
    if request.files:
        with_["files"] = request.files
    if request.body_file is not None:
        with_["body_file"] = request.body_file
    b.out.step = {"id": sid, "task": HTTP_TASK, "with": with_}
    return b.out


def untranslatable(step: ImportedStep) -> str | None:
    """Why ``step`` would not load (a plain ``http`` step whose request the ``http`` task
    cannot send: a host from an input, a URL that is not one), or ``None``. An importer of
    many steps leaves that one out with a note, and keeps the others."""
    if step.step.get("task") != HTTP_TASK:
        return None
    with_ = step.step.get("with")
    plan = http_manifest(
        str(step.step.get("id")),
        with_ if isinstance(with_, dict) else {},
        step.secrets,
        hosts=tuple(step.hosts) if step.hosts is not None else None,
    )
    if not plan.problems:
        return None
    _, message, hint = plan.problems[0]
    return f"{message} ({hint})" if hint else message


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


def unique_inputs(step: ImportedStep, taken: dict[str, dict[str, Any]]) -> None:
    """Rename each input of ``step`` whose name ``taken`` (the inputs declared so far) gives
    another declaration (``name_2``...), in its declarations and its templates; then add the
    step's to ``taken``. Two values never share one input."""
    for name, spec in list(step.inputs.items()):
        if taken.get(name, spec) == spec:
            continue
        new, n = f"{name}_2", 2
        while new in taken or new in step.inputs:
            n += 1
            new = f"{name}_{n}"
        del step.inputs[name]
        step.inputs[new] = spec
        text = json.dumps(step.step)
        step.step = json.loads(re.sub(rf"\binputs\.{re.escape(name)}\b", f"inputs.{new}", text))
    taken.update(step.inputs)


def to_yaml(
    steps: list[ImportedStep], name: str = "imported", inputs: dict[str, Any] | None = None
) -> str:
    """A whole workflow file holding ``steps``, as YAML text."""
    from .yamlout import dump

    return dump(to_data(steps, name, inputs))


def needed_hosts(steps: Sequence[ImportedStep]) -> list[str] | None:
    """The ``hosts:`` that ``steps`` need, each once, in order; ``None`` when no step's URL
    host is templated (an empty list when one is, and no host is known)."""
    hosts: list[str] | None = None
    for s in steps:
        if s.hosts is not None:
            hosts = [*(hosts or []), *(h for h in s.hosts if h not in (hosts or []))]
    return hosts


def to_data(
    steps: list[ImportedStep], name: str = "imported", inputs: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A whole workflow file holding ``steps``, as data (:func:`to_yaml` writes it)."""
    data: dict[str, Any] = {"name": name}
    merged_inputs: dict[str, Any] = dict(inputs or {})
    secrets: dict[str, str] = {}
    for s in steps:
        merged_inputs.update(s.inputs)
        secrets.update(s.secrets)
    hosts = needed_hosts(steps)
    if merged_inputs:
        data["inputs"] = merged_inputs
    if secrets:
        data["secrets"] = secrets
    if hosts is not None:
        data["hosts"] = hosts
    data["steps"] = [s.step for s in steps]
    return data


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
