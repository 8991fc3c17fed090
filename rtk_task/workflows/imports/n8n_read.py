"""Reading an n8n node's parameters: expressions and references as templates, JSON text.

The base of the n8n importer (:mod:`.n8n`): :class:`Reader` turns an n8n parameter value into
template text (:meth:`Reader.expression`), each ``{{ }}`` part into a workflow reference or,
when it cannot be translated, a workflow input (:meth:`Reader.reference`: one input for each
distinct expression, never two expressions in one input), and JSON parameters into values
whose ``{{ }}`` parts are templates (:meth:`Reader.json_text`, :meth:`Reader.json_body`).

- ``{{ $node["Name"].json.P }}``, ``{{ $('Name').item.json.P }}`` (``.first()``, ``.last()``)
  and ``{{ $json.P }}`` (the node before, looking through nodes that hand their items on)
  become ``{{ steps.S.outputs.NAME }}``, or ``{{ inputs.F }}`` for a Set node's field; while
  an ``until:`` condition is read, the HTTP node it repeats is ``response.body``;
- JavaScript string concatenation and template literals keep their literal text
  (:func:`~.n8n_parts.split_concat`); ``JSON.stringify(X)`` as a whole JSON body is ``X``
  (n8n parses the text it makes).
"""

from __future__ import annotations

import json
import re
from typing import Any

from ...errors import RtkError, WorkflowError
from . import Imported, References
from .credentials import name_is_credential, redact
from .n8n_flow import IF_NODE, SWITCH_NODE, WAIT_NODE
from .n8n_parts import Node, split_concat
from .text import join, literal, literal_deep, literal_url, read_json

__all__ = ["SET_NODE", "Reader", "step_id"]

SET_NODE = "n8n-nodes-base.set"
NOOP_NODE = "n8n-nodes-base.noOp"
#: Nodes that hand on the items they get: ``$json`` after them is the node's before.
_PASS_THROUGH = (IF_NODE, SET_NODE, SWITCH_NODE, WAIT_NODE, NOOP_NODE)
_EXPR = re.compile(r"\{\{(.*?)\}\}", re.S)
# $node["Name"].json / $('Name').item.json (first(), last(), item) / $json / $input.item.json
_NODE_REF = re.compile(
    r"""^\$node\[\s*(['"])(?P<a>.+?)\1\s*\]\.json(?P<ra>.*)$"""
    r"""|^\$\(\s*(['"])(?P<b>.+?)\4\s*\)\.(?:item|first\(\)|last\(\))\.json(?P<rb>.*)$"""
)
_PREVIOUS = re.compile(r"^(?:\$json|\$input\.(?:item|first\(\)|last\(\))\.json)(?P<rest>.*)$")
_PATH_PART = re.compile(r"""\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*(?:(['"])(.*?)\2|(\d+))\s*\]""")
_DOLLARS = re.compile(r"^\$+")
_STRINGIFY = re.compile(r"^\s*JSON\.stringify\((?P<inner>.*)\)\s*$", re.S)


class Reader:
    """What an n8n node's parameters say, as template text; the inputs made on the way."""

    def __init__(self, name: str, file: str) -> None:
        self.file = file
        self.imported = Imported(name)
        self.refs = References()
        self.nodes: dict[str, Node] = {}
        self.inputs: dict[str, dict[str, Any]] = {}
        #: each untranslatable expression's input (the same text, the same input)
        self.expr_inputs: dict[str, str] = {}
        #: the HTTP node whose own answer a condition being read is about (``until:``)
        self.until_of: str | None = None

    def note(self, node: str, message: str) -> None:
        self.imported.notes.append(f"{self.file}: node {node!r}: {message}")

    def new_input(self, base: str, spec: dict[str, Any]) -> str:
        """A workflow input named ``base`` (``base_2``... when that is taken)."""
        key, n = base, 2
        while key in self.inputs:
            key, n = f"{base}_{n}", n + 1
        self.inputs[key] = spec
        return key

    def pairs(self, node: Node, p: dict[str, Any], what: str, key: str) -> dict[str, Any]:
        if p.get(f"specify{what}") == "json":
            got = self.json_text(node, p.get(f"json{what}"))
            return got if isinstance(got, dict) else {}
        return self.named(node, _dict(p.get(key)).get("parameters"))

    def named(self, node: Node, items: Any) -> dict[str, Any]:
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

    def json_body(self, node: Node, text: Any) -> Any:
        """A JSON body: its JSON (``{{ }}`` parts templates), the template of a whole
        expression, or (text that is not JSON) an input of the whole body."""
        if isinstance(text, str) and text.startswith("="):
            whole = _EXPR.fullmatch(text[1:].strip())
            if whole:
                inner = whole.group(1).strip()
                found = _STRINGIFY.match(inner)  # n8n parses the text it makes
                ref = self.reference(
                    node, found.group("inner").strip() if found else inner, "object"
                )
                return "{{ " + ref + " }}"
        errors: list[str] = []
        got = self.json_text(node, text, errors=errors)
        if errors:
            key = self.new_input(
                f"n8n_{step_id(node.name)}_body",
                {"type": "object", "description": f"the JSON body of node {node.name!r}"},
            )
            self.note(node.name, f"its JSON body is not JSON ({errors[0]}): it is the input {key}")
            return "{{ inputs." + key + " }}"
        return got

    def json_text(self, node: Node, text: Any, *, errors: list[str] | None = None) -> Any:
        """JSON text whose values may hold ``{{ }}`` expressions (n8n's ``jsonBody``); text
        that is not JSON is a note, or (``errors``) the problem added there."""
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
            if errors is not None:
                errors.append(str(exc.first))
            else:
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

    # -- expressions ------------------------------------------------------------------

    def expression(self, node: Node, value: Any, *, inner: bool = False, url: bool = False) -> Any:
        """An n8n parameter value with its ``{{ }}`` parts translated, the rest literal.

        With ``inner``, a jinja expression (no braces) for use inside a condition; with
        ``url``, literal braces are percent-encoded (a URL's path holds whole templates).
        """
        if not isinstance(value, str) or not value.startswith("="):
            if isinstance(value, str):
                return json.dumps(value) if inner else literal_url(value) if url else literal(value)
            return _const(value) if inner else value
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
            pieces = split_concat(found.group(1))
            for piece, is_literal in pieces or [(found.group(1).strip(), False)]:
                if is_literal:
                    parts.append((piece, False))
                else:
                    parts.append(("{{ " + self.reference(node, piece.strip()) + " }}", True))
            at = found.end()
        parts.append((text[at:], False))
        if url:
            return "".join(t if template else literal_url(t) for t, template in parts)
        return join(parts)

    def reference(self, node: Node, expr: str, kind: str = "string") -> str:
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
        shown = redact(expr)  # an expression may hold a credential's literal
        key = self.expr_inputs.get(expr)
        if key is None:
            base = "n8n_" + step_id(_DOLLARS.sub("", shown))[:40].rstrip("_")
            key = self.new_input(
                base if base != "n8n" else "n8n_value",
                {"type": kind, "description": f"n8n expression {{{{ {shown} }}}}"},
            )
            self.expr_inputs[expr] = key
        self.note(node.name, f"{{{{ {shown} }}}} cannot be translated; it is the input {key}")
        return f"inputs.{key}"

    def read_previous(self, node: Node, rest: str) -> str | None:
        seen: set[str] = set()
        while node.parents and node.name not in seen:  # up through nodes that pass items on
            seen.add(node.name)
            parent = self.nodes[node.parents[0][0]]
            if parent.type not in _PASS_THROUGH:
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
        if source == self.until_of:  # the answer the until is about: its own response
            return "response.body" + "".join(_index(p) for p in path)
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


def _const(value: Any) -> str:
    """A literal value as a jinja expression."""
    return "none" if value is None else json.dumps(value)


def _index(part: str) -> str:
    """One part of a body path as jinja: ``.name``, ``[0]`` or ``['a-b']``."""
    if part.isdigit():
        return f"[{part}]"
    return f".{part}" if part.isidentifier() else f"[{json.dumps(part)}]"


def step_id(name: str) -> str:
    out = re.sub(r"\W+", "_", name.strip().lower()).strip("_") or "step"
    return out if not out[0].isdigit() else f"n_{out}"


def _dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a mapping (an n8n parameter), else an empty one."""
    return value if isinstance(value, dict) else {}
