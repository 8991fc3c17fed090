"""Requests from elsewhere (a cURL command, a Conductor or n8n workflow) as workflow steps.

Every importer reduces what it reads to :class:`Request` s (method, URL, headers, query,
JSON body) and hands them to :func:`request_step`, which makes one step of it:

- a typed step of a known task when the URL's path and the method match one of the task's
  path templates (the live ``/accounts/{account_id}/realtime/kit/{app_id}/...`` or the
  legacy ``/accounts/{account_id}/realtimekit/...`` form), with path values, query and body
  fields as workflow inputs (a literal as the input's default, a ``$VAR`` as an input
  without one);
- otherwise a plain ``http`` step (:mod:`rtk_task.manifests.http`).

A credential (an ``Authorization`` header, ``-u``, ``X-Auth-Key``, an API key in the query)
is never kept: it becomes ``{{ secrets.NAME }}`` with a declared secret, and the step says
which environment variable to set (:attr:`ImportedStep.secrets`). The secret is named after
the host (``status_example_com_token`` for a bearer token, ``hooks_example_com_x_api_key``
for another header or a query key) and read from a variable ending in ``_TOKEN``, ``_KEY``
or ``_SECRET`` (:func:`token_env`: a manifest's auth reads only those); a task's own auth
stays ``api_token``. :func:`unique_secrets` renames a secret whose name an earlier step of
the same workflow gave another variable, so one import never merges two credentials. Values
that are already templates (references an importer translated) are kept as they are.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from ...manifests.http import HTTP_TASK
from ...manifests.model import (
    BODY,
    INPUT_LOCATIONS,
    PLACEHOLDER,
    TOKEN_ENV_SUFFIXES,
    Manifest,
)
from ...manifests.registry import all_tasks

__all__ = ["ImportedStep", "Request", "request_step", "to_yaml", "token_env", "unique_secrets"]

#: Header names (lower case) that carry a credential.
SECRET_HEADERS = frozenset({"authorization", "x-auth-key", "x-api-key", "api-key", "x-auth-token"})
#: Query names (lower case) that carry a credential.
SECRET_QUERY = frozenset({"api_key", "apikey", "key", "token", "access_token", "auth"})
#: Headers the core sets itself: dropped from an imported request.
_OWN_HEADERS = frozenset({"content-type", "accept", "user-agent", "content-length", "host"})
_SHELL_VAR = re.compile(r"^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$")
_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object"}


@dataclass
class Request:
    """One HTTP request as an importer read it."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    #: What the request came from, for messages (``curl``, a task's name).
    source: str = "request"


@dataclass
class ImportedStep:
    """A step made from a request, with the inputs and secrets it needs declared."""

    step: dict[str, Any]
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Secret name -> environment variable.
    secrets: dict[str, str] = field(default_factory=dict)
    #: What could not be carried over, or what the user must do (set a variable).
    notes: list[str] = field(default_factory=list)


def _match(manifest: Manifest, method: str, path: str) -> dict[str, str] | None:
    """Path values when ``path`` ends with one of the manifest's templates."""
    if manifest.method != method:
        return None
    got = [unquote(p) for p in path.strip("/").split("/")]
    best: dict[str, str] | None = None
    for template in manifest.path_templates:
        want = template.strip("/").split("/")
        if len(want) > len(got):
            continue
        tail = got[len(got) - len(want) :]
        values: dict[str, str] = {}
        for w, g in zip(want, tail, strict=True):
            name = PLACEHOLDER.fullmatch(w)
            if name:
                values[name.group(1)] = g
            elif w != g:
                break
        else:
            if best is None or len(values) > len(best):
                best = values
    return best


def find_task(method: str, url: str) -> tuple[Manifest, dict[str, str]] | None:
    """The known task whose path template the URL's path ends with, and its path values."""
    path = urlsplit(url).path
    found: list[tuple[int, Manifest, dict[str, str]]] = []
    for manifest in all_tasks():
        values = _match(manifest, method.upper(), path)
        if values is not None:
            literal = max(len(t.strip("/").split("/")) for t in manifest.path_templates)
            found.append((literal - len(values), manifest, values))
    if not found:
        return None
    _, manifest, values = max(found, key=lambda f: f[0])
    return manifest, values


def _secret_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "secret"
    return f"http_{name}" if name[0].isdigit() else name


def _env_name(text: str) -> str:
    name = re.sub(r"[^A-Z0-9_]+", "_", text.upper()).strip("_") or "SECRET"
    return token_env(name if not name[0].isdigit() else f"HTTP_{name}")


def token_env(name: str) -> str:
    """``name`` as a token variable's name (a manifest's auth reads only those): ``_TOKEN``
    added unless it ends in one of :data:`~rtk_task.manifests.model.TOKEN_ENV_SUFFIXES`."""
    return name if name.endswith(TOKEN_ENV_SUFFIXES) else f"{name}_TOKEN"


class _Builder:
    """Collects the inputs and secrets of one imported step."""

    def __init__(self, step_id: str) -> None:
        self.step_id = step_id
        self.out = ImportedStep({})

    def value(self, name: str, value: Any, kind: str | None = None) -> Any:
        """``value`` as ``{{ inputs.NAME }}`` with the input declared (a template stays)."""
        if isinstance(value, str) and "{{" in value:
            return value
        spec: dict[str, Any] = {}
        var = _SHELL_VAR.match(value) if isinstance(value, str) else None
        if var:
            spec = {"type": kind or "string", "description": f"${var.group(1)} in the request"}
        else:
            spec = {"type": kind or _TYPES.get(type(value), "array"), "default": value}
        key = re.sub(r"[^A-Za-z0-9_]", "_", name) or "value"
        self.out.inputs[key] = spec
        return f"{{{{ inputs.{key} }}}}"

    def secret(self, name: str, value: str, default_env: str) -> str:
        """``{{ secrets.NAME }}`` for a credential; its variable from ``$VAR`` if it was one."""
        var = re.search(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", value)
        # a manifest's auth reads only token-like variables: ``$HOOKS`` is read as HOOKS_TOKEN
        env = token_env(var.group(1)) if var else default_env
        secret = _secret_name(name)
        self.out.secrets[secret] = env
        self.out.notes.append(f"set {env}: the credential of {self.step_id} is read from it")
        return f"{{{{ secrets.{secret} }}}}"


def request_step(request: Request, step_id: str | None = None) -> ImportedStep:
    """One step for ``request``: a known task's, else a plain ``http`` one."""
    method = request.method.upper()
    found = find_task(method, request.url)
    parts = urlsplit(request.url)
    if found is not None:
        manifest, path_values = found
        sid = step_id or _default_id(manifest.id)
        return _task_step(request, manifest, path_values, sid)
    words = [w for w in parts.path.split("/") if w and "$" not in w and "{" not in w]
    sid = step_id or re.sub(r"\W", "_", f"{method.lower()}_{words[-1] if words else 'call'}")
    return _http_step(request, sid)


def _default_id(task_id: str) -> str:
    from ..authoring import default_step_id

    return default_step_id(task_id)


def _headers(b: _Builder, request: Request, host: str) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    for name, value in request.headers.items():
        low = name.lower()
        if low in _OWN_HEADERS:
            continue
        if low in SECRET_HEADERS:
            env = _env_name(f"{host}_{'token' if low == 'authorization' else name}")
            label = "token" if low == "authorization" else name
            secret = b.secret(f"{host}_{label}", value, env)
            bearer = value.strip().lower().startswith("bearer ")
            if low == "authorization" and not bearer:
                b.out.notes.append(
                    f"{name}: only a bearer token can be imported; set it as "
                    'Authorization: "Bearer {{ secrets.NAME }}"'
                )
                continue
            headers[name] = f"Bearer {secret}" if low == "authorization" else secret
        else:
            headers[name] = value
    return headers


def _query(b: _Builder, request: Request, host: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in request.query.items():
        if name.lower() in SECRET_QUERY and isinstance(value, str) and "{{" not in value:
            out[name] = b.secret(f"{host}_{name}", value, _env_name(f"{host}_{name}"))
        else:
            out[name] = value
    return out


def _task_step(
    request: Request, manifest: Manifest, path_values: dict[str, str], sid: str
) -> ImportedStep:
    b = _Builder(sid)
    kinds = {p.name: p.type.value for loc in INPUT_LOCATIONS for p in manifest.parameters.at(loc)}
    with_: dict[str, Any] = {}
    for name, value in path_values.items():
        with_[name] = b.value(name, value, "string")
    auth = manifest.auth
    # where the task's own auth puts its credential: read from its variables, never written
    own_headers, own_query = auth.places
    for name, value in _query(b, request, "api").items():
        if name in own_query:
            _own_credential(b, manifest)
            continue
        with_[name] = b.value(name, _typed(value, kinds.get(name)), kinds.get(name))
    body = request.body
    if manifest.body_whole and body is not None:
        with_[BODY] = b.value(BODY, body, kinds.get(BODY))
    elif isinstance(body, dict):
        for name, value in body.items():
            with_[str(name)] = b.value(str(name), value, kinds.get(str(name)))
    elif body is not None:
        b.out.notes.append(f"{manifest.id} takes a JSON object body; the body was left out")
    headers = {}
    for name, value in request.headers.items():
        low = name.lower()
        if low in _OWN_HEADERS:
            continue
        if low in own_headers:
            _own_credential(b, manifest)
            continue
        if low in SECRET_HEADERS:
            host = urlsplit(request.url).hostname or "api"
            headers[name] = b.secret(f"{host}_{name}", value, _env_name(name))
        else:
            headers[name] = value
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
    if not isinstance(value, str) or kind in (None, "string") or value.startswith("$"):
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
    segments = []
    for seg in parts.path.split("/"):
        var = _SHELL_VAR.match(seg)
        segments.append(b.value(var.group(1).lower(), seg) if var else seg)
    url = f"{parts.scheme}://{parts.netloc}{'/'.join(segments)}"
    with_: dict[str, Any] = {"method": request.method.upper(), "url": url}
    headers = _headers(b, request, host)
    if headers:
        with_["headers"] = headers
    query = _query(b, request, host)
    if query:
        with_["query"] = query
    if request.body is not None:
        with_["body"] = request.body  # JSON of any type; a Content-Type header picks another
    b.out.step = {"id": sid, "task": HTTP_TASK, "with": with_}
    return b.out


def unique_secrets(step: ImportedStep, earlier: list[ImportedStep]) -> None:
    """Rename each secret of ``step`` whose name an ``earlier`` step gave another variable
    (``name_2``, ``name_3``...), in its declarations and in the step's templates."""
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


def to_yaml(
    steps: list[ImportedStep], name: str = "imported", inputs: dict[str, Any] | None = None
) -> str:
    """A whole workflow file holding ``steps``, as YAML text."""
    import io

    from ruamel.yaml import YAML

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
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


@dataclass
class Imported:
    """A whole imported workflow: its name, steps, and what could not be carried over."""

    name: str
    steps: list[ImportedStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class References:
    """Turns another engine's references to earlier steps into ``steps.S.outputs.NAME``.

    A step read for the response path ``P`` gets an output: the task's own output when one
    has that path, else ``NAME: "{{ response.body.P }}"`` added to the step's ``outputs:``.
    """

    def __init__(self) -> None:
        self.steps: dict[str, ImportedStep] = {}

    def output(self, step_id: str, path: str) -> str | None:
        """``{{ steps.S.outputs.NAME }}`` for ``path`` in the body of step ``S``."""
        target = self.steps.get(step_id)
        if target is None:
            return None
        task = str(target.step.get("task"))
        if task != HTTP_TASK:
            from ...manifests.registry import load_task

            for o in load_task(task).outputs:
                if o.path == path:
                    return f"{{{{ steps.{step_id}.outputs.{o.name} }}}}"
        words = [w for w in path.split(".") if w]
        name = re.sub(r"\W", "_", words[-1] if words else "body")
        outputs = target.step.setdefault("outputs", {})
        wanted = "{{ response.body" + "".join(f".{w}" for w in words) + " }}"
        base, n = name, 2
        while name in outputs and outputs[name] != wanted:
            name, n = f"{base}_{n}", n + 1
        outputs[name] = wanted
        return f"{{{{ steps.{step_id}.outputs.{name} }}}}"
