"""An n8n workflow's HTTP Request nodes as steps, in the order of its ``connections``.

Read: ``n8n-nodes-base.httpRequest`` nodes of typeVersion 1 to 4 (``method`` or
``requestMethod``, ``url``, query, headers and body as key/value lists or JSON text, and
``authentication``), ``n8n-nodes-base.set`` nodes (their literal fields become workflow
inputs with those defaults) and ``n8n-nodes-base.if`` nodes (a simple condition becomes the
``when:`` of every step on its branch; the false branch gets ``not (...)``).

References become workflow references where they can:

- ``{{ $node["Name"].json.P }}``, ``{{ $('Name').item.json.P }}`` (also ``.first()``,
  ``.last()``) and ``{{ $json.P }}`` (the node before, looking through IF and Set nodes)
  become ``{{ steps.S.outputs.NAME }}`` (an ``outputs:`` entry is added to ``S`` when its task
  has none at ``P``), or ``{{ inputs.F }}`` for a field of a Set node;
- anything else (code, a trigger's data, ``$now``) becomes an input the user gives, and is
  listed in the notes: never silently dropped, never left as text that would not load.

Credentials are never written: a node's credential becomes a declared secret read from an
environment variable the notes name (a known task's own token variable when the URL is one
of its paths, as ``import curl`` does), and so does every header, query or body value that
names or looks like one (:mod:`.credentials`), an expression there included; a Set node's
field that looks like one becomes an input without its default. Text that is not an
expression (a parameter without ``=``, the text around ``{{ }}``) stays literal. Every step
follows the HTTP steps before it in the connections (a reference or ``depends_on``), so the
order of the calls is the order n8n ran.

A node that cannot be translated costs its own step, never the whole file: a note names
the node and says why (a URL whose host comes from an expression: a step's host is a
literal). The export is read within bounds (:func:`~.text.read_json`), and every step of the import
costs the same however many nodes came before: 20,000 nodes import in seconds
(``benchmarks/bench_imports.py``).
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ...errors import Problem, RtkError, WorkflowError
from . import (
    Imported,
    ImportedStep,
    References,
    Request,
    TaskIndex,
    request_step,
    token_env,
    unique_secrets,
    untranslatable,
)
from .credentials import looks_secret, name_is_credential, redact
from .text import join, literal, literal_deep, literal_url, read_json

__all__ = ["import_n8n"]

HTTP_NODE = "n8n-nodes-base.httpRequest"
SET_NODE = "n8n-nodes-base.set"
IF_NODE = "n8n-nodes-base.if"
_EXPR = re.compile(r"\{\{(.*?)\}\}", re.S)
# $node["Name"].json / $('Name').item.json (first(), last(), item) / $json / $input.item.json
_NODE_REF = re.compile(
    r"""^\$node\[\s*(['"])(?P<a>.+?)\1\s*\]\.json(?P<ra>.*)$"""
    r"""|^\$\(\s*(['"])(?P<b>.+?)\4\s*\)\.(?:item|first\(\)|last\(\))\.json(?P<rb>.*)$"""
)
_PREVIOUS = re.compile(r"^(?:\$json|\$input\.(?:item|first\(\)|last\(\))\.json)(?P<rest>.*)$")
_PATH_PART = re.compile(r"""\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*(?:(['"])(.*?)\2|(\d+))\s*\]""")
_CREDENTIAL_VAR = "N8N_{}"
_INPUT_REF = re.compile(r"inputs\.([A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class _Node:
    name: str
    type: str
    version: float
    params: dict[str, Any]
    credentials: dict[str, Any]
    parents: list[tuple[str, int]] = field(default_factory=list)  # (node, output index)
    #: Set node fields -> the workflow input each became
    fields: dict[str, str] = field(default_factory=dict)
    step: ImportedStep | None = None
    #: ``when`` conditions (jinja expressions) inherited from IF nodes above
    conditions: list[str] = field(default_factory=list)
    #: an IF node's own condition, when it translates
    condition: str | None = None
    #: the nearest HTTP steps at or above this node (its own step, once made)
    before: list[str] = field(default_factory=list)


def import_n8n(text: str, file: str = "<n8n>") -> Imported:
    """The HTTP Request nodes of the n8n workflow export ``text`` as steps."""
    data = read_json(text, file, WorkflowError, "export it from n8n (Download)")
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise WorkflowError(Problem(file, "an n8n workflow has a `nodes` list"))
    return _Importer(data, file).run()


class _Importer:
    def __init__(self, data: dict[str, Any], file: str) -> None:
        self.file = file
        self.imported = Imported(str(data.get("name") or "imported"))
        self.refs = References()
        self.nodes: dict[str, _Node] = {}
        self.order: list[str] = []
        self.inputs: dict[str, dict[str, Any]] = {}
        self.tasks = TaskIndex()  # read once: matched against every node's URL
        #: secrets the steps so far declared (name -> variable), and their step ids
        self.taken: dict[str, str] = {}
        self.ids: set[str] = set()
        for raw in data["nodes"]:
            if not isinstance(raw, dict) or not raw.get("name"):
                continue
            if raw.get("disabled"):
                self.note(str(raw["name"]), "disabled in n8n; not imported")
                continue
            params, credentials = raw.get("parameters"), raw.get("credentials")
            node = _Node(
                name=str(raw["name"]),
                type=str(raw.get("type") or ""),
                version=_version(raw.get("typeVersion")),
                params=dict(params) if isinstance(params, dict) else {},
                credentials=credentials if isinstance(credentials, dict) else {},
            )
            self.nodes[node.name] = node
            self.order.append(node.name)
        connections = data.get("connections") or {}
        self.children: dict[str, list[tuple[str, int]]] = {n: [] for n in self.nodes}
        for source, kinds in connections.items() if isinstance(connections, dict) else []:
            main = kinds.get("main") if isinstance(kinds, dict) else None
            for index, targets in enumerate(main if isinstance(main, list) else []):
                for target in targets if isinstance(targets, list) else []:
                    name = str(target.get("node") if isinstance(target, dict) else None)
                    if source in self.nodes and name in self.nodes:
                        self.nodes[name].parents.append((source, index))
                        self.children[source].append((name, index))

    def note(self, node: str, message: str) -> None:
        self.imported.notes.append(f"{self.file}: node {node!r}: {message}")

    def run(self) -> Imported:
        for name in self.in_order():
            node = self.nodes[name]
            self.http_before(node)
            if node.parents:
                parent, index = node.parents[0]
                node.conditions = list(self.nodes[parent].conditions)
                cond = self.nodes[parent].condition
                if cond is not None:
                    node.conditions.append(cond if index == 0 else f"not ({cond})")
            if node.type == HTTP_NODE:
                try:
                    self.http(node)
                except RtkError as exc:  # this node costs its own step, not the whole file
                    self.note(name, f"not imported: {exc.first.message}")
            elif node.type == SET_NODE:
                self.set_node(node)
            elif node.type == IF_NODE:
                self.if_node(node)
            elif node.parents:
                self.note(name, f"a {node.type} node is not imported")
        if not self.imported.steps:
            raise WorkflowError(
                Problem(self.file, "no HTTP Request nodes to import", f"node types: {HTTP_NODE}")
            )
        order = {k: i for i, k in enumerate(self.inputs)}
        for step in self.imported.steps:
            found = {m.group(1) for m in _INPUT_REF.finditer(json.dumps(step.step))}
            known = sorted((k for k in found if k in order), key=order.__getitem__)
            step.inputs.update((k, self.inputs[k]) for k in known)
        return self.imported

    def in_order(self) -> list[str]:
        """Nodes parents first; among the ready ones, the order n8n would reach them."""
        waiting = {n: {p for p, _ in node.parents} for n, node in self.nodes.items()}
        done: list[str] = []
        seen: set[str] = set()  # done or ready
        ready = deque(n for n in self.order if not waiting[n])
        seen.update(ready)
        while ready:
            name = ready.popleft()
            done.append(name)
            for child, _ in sorted(self.children[name], key=lambda c: c[1]):
                waiting[child].discard(name)
                if not waiting[child] and child not in seen:
                    seen.add(child)
                    ready.append(child)
        for name in self.order:
            if name not in seen:
                self.note(name, "part of a loop in the connections; not imported")
        return done

    # -- nodes ------------------------------------------------------------------------

    def set_node(self, node: _Node) -> None:
        p = node.params
        found: list[tuple[str, Any]] = []
        assignments = (p.get("assignments") or {}).get("assignments")
        if isinstance(assignments, list):  # typeVersion 3.3 and later
            found = [(str(a.get("name")), a.get("value")) for a in assignments if a.get("name")]
        elif isinstance((p.get("fields") or {}).get("values"), list):  # 3.0 to 3.2
            for f in p["fields"]["values"]:
                value = next((f[k] for k in f if k.endswith("Value")), f.get("value"))
                found.append((str(f.get("name")), value))
        elif isinstance(p.get("values"), dict):  # 1 and 2: {string: [...], number: [...]}
            for items in p["values"].values():
                found.extend((str(f.get("name")), f.get("value")) for f in items or [])
        for name, value in found:
            key = _step_id(name)
            if isinstance(value, str) and value.startswith("="):
                self.note(node.name, f"field {name!r} is an expression; made an input to give")
                self.inputs[key] = {"type": "string", "description": f"{node.name}.{name}"}
            elif name_is_credential(name, "body") or _secret_looking(value):
                self.note(
                    node.name,
                    f"field {name!r} looks like a credential: its value is not written;"
                    f" give it as the input {key}",
                )
                self.inputs[key] = {"type": "string", "description": f"{node.name}.{name}"}
            else:
                kinds = {bool: "boolean", int: "integer", float: "number", dict: "object"}
                kind = kinds.get(type(value), "array" if isinstance(value, list) else "string")
                self.inputs[key] = {"type": kind, "default": value}
            node.fields[name] = key

    def if_node(self, node: _Node) -> None:
        condition = _condition(node, lambda v: self.expression(node, v, inner=True))
        if condition is None:
            self.note(
                node.name,
                "its condition cannot be translated: the steps after it run on both branches;"
                " add `when:` by hand",
            )
        else:
            node.condition = condition

    def http(self, node: _Node) -> None:
        p = node.params
        v4 = node.version >= 3
        method = str(p.get("method" if v4 else "requestMethod") or "GET").upper()
        url = str(self.expression(node, p.get("url") or "", url=True))
        query: dict[str, Any] = {}
        headers: dict[str, Any] = {}
        body: Any = None
        if v4:
            if p.get("sendQuery"):
                query.update(self.pairs(node, p, "Query", "queryParameters"))
            if p.get("sendHeaders"):
                headers.update(self.pairs(node, p, "Headers", "headerParameters"))
            if p.get("sendBody"):
                if p.get("contentType", "json") != "json":
                    self.note(node.name, f"a {p['contentType']} body is not imported")
                else:
                    body = self.pairs(node, p, "Body", "bodyParameters")
        else:
            json_params = bool(p.get("jsonParameters"))
            for key, out in (("query", query), ("header", headers), ("body", None)):
                got = (
                    self.json_text(node, p.get(f"{key}ParametersJson"))
                    if json_params
                    else self.named(node, (p.get(f"{key}ParametersUi") or {}).get("parameter"))
                )
                if out is None:
                    body = got or None
                elif isinstance(got, dict):
                    out.update(got)
        headers.update(self.credential(node))
        request = Request(method, url, {k: str(v) for k, v in headers.items()}, query, body)
        request.source = node.name
        sid = base = _step_id(node.name)
        n = 2
        while sid in self.ids:
            sid, n = f"{base}_{n}", n + 1
        self.ids.add(sid)
        step = request_step(request, sid, self.tasks)
        problem = untranslatable(step)
        if problem is not None:
            self.note(node.name, f"not imported: {problem}")
            return
        unique_secrets(step, self.taken)
        for note in step.notes:
            self.note(node.name, note)
        step.notes = []
        if node.conditions:
            many = len(node.conditions) > 1
            joined = " and ".join(f"({c})" if many else c for c in node.conditions)
            step.step["when"] = "{{ " + joined + " }}"
        before = self.http_before(node)
        text = json.dumps(step.step)
        after = [s for s in before if f"steps.{s}." not in text]
        if after:
            step.step["depends_on"] = after
        node.step = step
        node.before = [str(step.step["id"])]
        self.refs.steps[str(step.step["id"])] = step
        self.imported.steps.append(step)

    def http_before(self, node: _Node) -> list[str]:
        """The nearest HTTP steps above ``node`` (looking through other nodes); each node's
        are known once its parents were read (:meth:`run` reads parents first)."""
        out: list[str] = []
        for parent, _ in node.parents:
            out.extend(s for s in self.nodes[parent].before if s not in out)
        if node.step is None:
            node.before = out
        return out

    def pairs(self, node: _Node, p: dict[str, Any], what: str, key: str) -> dict[str, Any]:
        if p.get(f"specify{what}") == "json":
            got = self.json_text(node, p.get(f"json{what}"))
            return got if isinstance(got, dict) else {}
        return self.named(node, (p.get(key) or {}).get("parameters"))

    def named(self, node: _Node, items: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("name"):
                name, value = str(item["name"]), item.get("value", "")
                if name_is_credential(name) and isinstance(value, str) and value[:1] == "=":
                    # a credential: never translated (it becomes a secret); its text only
                    self.note(node.name, f"{name} is an expression; its credential is a secret")
                    out[name] = literal(_EXPR.sub("expr", value[1:]).strip())
                    continue
                out[name] = self.expression(node, value)
        return out

    def json_text(self, node: _Node, text: Any) -> Any:
        """JSON text whose values may hold ``{{ }}`` expressions (n8n's ``jsonBody``)."""
        if isinstance(text, dict | list):
            return literal_deep(text)
        if not isinstance(text, str) or not text.strip():
            return None
        found: list[str] = []
        # only an expression (``=...``) holds ``{{ }}`` parts; elsewhere they are text
        tokens = _tokenize(text[1:], found) if text.startswith("=") else text
        try:
            # placeholders hold \x00: not strict
            data = read_json(tokens, f"node {node.name!r}", WorkflowError, strict=False)
        except RtkError as exc:
            self.note(node.name, f"its JSON parameters are not JSON ({exc.first}); left out")
            return None

        def back(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: back(v) for k, v in value.items()}
            if isinstance(value, list):
                return [back(v) for v in value]
            if isinstance(value, str) and "\x00" in value and found:
                text = re.sub(r"\x00(\d+)\x00", lambda m: "{{" + found[int(m[1])] + "}}", value)
                return self.expression(node, "=" + text)
            return literal(value) if isinstance(value, str) else value

        return back(data)

    def credential(self, node: _Node) -> dict[str, str]:
        """The header a node's credential makes: ``$VAR``, turned into a secret later."""
        auth = str(node.params.get("authentication") or "none")
        if auth == "none":
            return {}
        kind = str(
            node.params.get("genericAuthType") or node.params.get("nodeCredentialType") or auth
        )
        cred: Any = node.credentials.get(kind) or next(iter(node.credentials.values()), {})
        label = str((cred or {}).get("name") or kind)
        env = token_env(
            _CREDENTIAL_VAR.format(re.sub(r"[^A-Z0-9]+", "_", label.upper()).strip("_"))
        )
        if kind in ("httpHeaderAuth", "headerAuth", "httpBearerAuth") or "Api" in kind:
            return {"Authorization": f"Bearer ${env}"}
        self.note(
            node.name,
            f"its {kind} credential {label!r} is not imported: only a bearer token is; add"
            ' `Authorization: "Bearer {{ secrets.NAME }}"` by hand',
        )
        return {}

    # -- expressions ------------------------------------------------------------------

    def expression(self, node: _Node, value: Any, *, inner: bool = False, url: bool = False) -> Any:
        """An n8n parameter value with its ``{{ }}`` parts translated, the rest literal.

        With ``inner``, a jinja expression (no braces) for use inside a condition; with
        ``url``, literal braces are percent-encoded (a URL's path holds whole templates).
        """
        if not isinstance(value, str) or not value.startswith("="):
            if isinstance(value, str):
                return json.dumps(value) if inner else literal_url(value) if url else literal(value)
            return value
        text = value[1:]
        whole = _EXPR.fullmatch(text.strip())
        if inner:
            if whole:
                return self.reference(node, whole.group(1).strip())
            return json.dumps(text) if "{{" not in text else None
        parts: list[tuple[str, bool]] = []
        at = 0
        for found in _EXPR.finditer(text):
            parts.append((text[at : found.start()], False))
            parts.append(("{{ " + self.reference(node, found.group(1).strip()) + " }}", True))
            at = found.end()
        parts.append((text[at:], False))
        if url:
            return "".join(t if template else literal_url(t) for t, template in parts)
        return join(parts)

    def reference(self, node: _Node, expr: str) -> str:
        """One ``{{ }}`` expression as a jinja expression (an input when untranslatable)."""
        named = _NODE_REF.match(expr)
        got: str | None = None
        if named:
            source = named.group("a") or named.group("b")
            got = self.read(source, named.group("ra") or named.group("rb") or "")
        else:
            prev = _PREVIOUS.match(expr)
            if prev:
                got = self.read_previous(node, prev.group("rest"))
        if got is not None:
            return got
        key = _step_id(re.sub(r"^\$+", "", redact(expr)))[:40] or "value"
        key = f"n8n_{key}".rstrip("_")
        shown = redact(expr)  # an expression may hold a credential's literal
        self.inputs[key] = {"type": "string", "description": f"n8n expression {{{{ {shown} }}}}"}
        self.note(node.name, f"{{{{ {shown} }}}} cannot be translated; it is the input {key}")
        return f"inputs.{key}"

    def read_previous(self, node: _Node, rest: str) -> str | None:
        seen: set[str] = set()
        while node.parents and node.name not in seen:  # up through IF and Set nodes
            seen.add(node.name)
            parent = self.nodes[node.parents[0][0]]
            if parent.type not in (IF_NODE, SET_NODE):
                return self.read(parent.name, rest)
            if parent.type == SET_NODE:
                got = self.read(parent.name, rest)
                if got is not None:
                    return got
            node = parent
        return None

    def read(self, source: str, rest: str) -> str | None:
        path = _path(rest)
        node = self.nodes.get(source)
        if node is None or path is None:
            return None
        if node.type == SET_NODE:
            if path and path[0] in node.fields:
                return ".".join([f"inputs.{node.fields[path[0]]}", *path[1:]])
            return None
        if node.step is None:
            return None
        got = self.refs.output(str(node.step.step["id"]), ".".join(path))
        return got.removeprefix("{{ ").removesuffix(" }}") if got else None


def _path(rest: str) -> list[str] | None:
    """``.data.id`` or ``["data"]["id"]`` as ``["data", "id"]``; ``None`` if computed."""
    out: list[str] = []
    at = 0
    rest = rest.strip()
    while at < len(rest):
        m = _PATH_PART.match(rest, at)
        if m is None:
            return None
        out.append(m.group(1) or m.group(3) or m.group(4))
        at = m.end()
    return out


def _tokenize(text: str, found: list[str]) -> str:
    """``text`` with each ``{{ }}`` a placeholder; quoted when it stood for a whole value."""
    out: list[str] = []
    in_string = escaped = False
    i = 0
    while i < len(text):
        c = text[i]
        if text.startswith("{{", i):
            end = text.find("}}", i + 2)
            if end < 0:
                out.append(text[i:])
                break
            found.append(text[i + 2 : end])
            token = f"\x00{len(found) - 1}\x00"
            out.append(token if in_string else json.dumps(token))
            i = end + 2
            continue
        if in_string and not escaped and c == '"':
            in_string = False
        elif not in_string and c == '"':
            in_string = True
        escaped = in_string and c == "\\" and not escaped
        out.append(c)
        i += 1
    return "".join(out)


_OPS = {
    "equals": "{l} == {r}", "equal": "{l} == {r}", "notEquals": "{l} != {r}",
    "notEqual": "{l} != {r}", "gt": "{l} > {r}", "larger": "{l} > {r}", "lt": "{l} < {r}",
    "smaller": "{l} < {r}", "gte": "{l} >= {r}", "largerEqual": "{l} >= {r}",
    "lte": "{l} <= {r}", "smallerEqual": "{l} <= {r}", "contains": "{r} in {l}",
    "notContains": "{r} not in {l}", "true": "{l} == true", "false": "{l} == false",
    "empty": "not {l}", "isEmpty": "not {l}", "notEmpty": "{l}", "isNotEmpty": "{l}",
    "exists": "{l} is defined", "notExists": "{l} is not defined",
}  # fmt: skip


def _condition(node: _Node, translate: Any) -> str | None:
    """An IF node's conditions as one jinja expression, or ``None``."""
    conditions = node.params.get("conditions") or {}
    parts: list[str] = []
    combinator = "and"
    if isinstance(conditions.get("conditions"), list):  # typeVersion 2
        combinator = str(conditions.get("combinator") or "and").lower()
        items = [
            (c.get("leftValue"), (c.get("operator") or {}).get("operation"), c.get("rightValue"))
            for c in conditions["conditions"]
        ]
    else:  # typeVersion 1: {string: [...], number: [...], boolean: [...]}
        combinator = "or" if node.params.get("combineOperation") == "any" else "and"
        items = [
            (c.get("value1"), c.get("operation") or "equal", c.get("value2"))
            for kind in ("string", "number", "boolean", "dateTime")
            for c in conditions.get(kind) or []
        ]
    for left, op, right in items:
        form = _OPS.get(str(op))
        lhs, rhs = translate(left), translate(right)
        if form is None or lhs is None or (rhs is None and "{r}" in form):
            return None
        parts.append(form.format(l=lhs, r=rhs))
    if not parts or combinator not in ("and", "or"):
        return None
    return f" {combinator} ".join(f"({p})" if len(parts) > 1 else p for p in parts)


def _version(value: Any) -> float:
    try:
        return float(value or 1)
    except (TypeError, ValueError):
        return 1.0


def _secret_looking(value: Any) -> bool:
    return isinstance(value, str) and any(looks_secret(w) for w in value.split())


def _step_id(name: str) -> str:
    out = re.sub(r"\W+", "_", name.strip().lower()).strip("_") or "step"
    return out if not out[0].isdigit() else f"n_{out}"
