"""The parts of an n8n HTTP Request node that are more than a value: its body in every content
type, its binary uploads, its pagination, and JavaScript string concatenation in an expression.

- Body (typeVersion 3 and later: ``contentType``; 1 and 2: ``options.bodyContentType``): JSON
  (fields, or JSON text whose ``{{ }}`` parts are templates; a whole-expression body is that
  template, or an input when it cannot be translated), form-urlencoded (fields or one text),
  multipart (text fields and ``formBinaryData`` files), raw (the text, with its
  ``Content-Type``) and ``binaryData`` (``sendBinaryData`` in 1 and 2).
- A binary upload reads an n8n item's binary field, which a workflow file has no counterpart
  for: each becomes an input holding the path of the file to send (``files:`` for a
  multipart field, ``body_file:`` for a whole body), named in a note.
- Pagination (``options.pagination``): a page number (``{{ $pageCount + K }}`` in a query
  parameter) is ``paging: {style: page}`` with ``paginate: true``; where pages end comes from
  ``responseIsEmpty`` (the body is the list) or an expression testing a body list's length.
  Anything else (a next URL, a cursor, an offset, status codes) is a note naming it: an
  offset (``$pageCount * N``) moves by ``N`` in n8n and by the items a page held in a step,
  so the last requests would differ.
- :func:`split_concat`: ``'https://h/items/' + $json.id`` (and template literals) as literal
  text and expressions, so that a URL built in JavaScript keeps its literal host.
- :func:`node_settings`: ``options.timeout`` is the step's read timeout, ``onError: continue...``
  (or ``continueOnFail``) its ``continue_on_error``, the node's ``notes`` its ``description``;
  every other option or setting that is set is a note naming it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "Body",
    "Node",
    "Translator",
    "body_v1",
    "body_v3",
    "literal_hosts",
    "node_settings",
    "pagination",
    "split_concat",
]

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
_HOST = re.compile(r"https?://([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?)")
_PAGE = re.compile(r"^\s*\$pageCount\s*(?:\+\s*(\d+))?\s*$")
#: Options an HTTP Request node may set that change nothing sent or are read elsewhere.
_READ_OPTIONS = frozenset(
    {"pagination", "timeout", "lowercaseHeaders", "bodyContentType", "bodyContentCustomMimeType"}
)
#: Node settings outside ``parameters`` that say nothing about what is sent.
_LAYOUT = frozenset(
    {"id", "name", "type", "typeVersion", "position", "parameters", "credentials", "disabled",
     "webhookId", "notesInFlow", "color", "onError", "continueOnFail", "notes"}
)  # fmt: skip
_EMPTY_LIST = re.compile(
    r"^\s*(?:!\s*\$response\.body((?:\.[A-Za-z_]\w*)*)\.length"
    r"|\$response\.body((?:\.[A-Za-z_]\w*)*)\.length\s*(?:===?|<=?)\s*0)\s*$"
)


@dataclass
class Node:
    """One n8n node as the importer reads it."""

    name: str
    type: str
    version: float
    params: dict[str, Any]
    credentials: dict[str, Any]
    #: The node's settings outside ``parameters`` (``onError``, ``retryOnFail``...).
    settings: dict[str, Any] = field(default_factory=dict)
    #: (parent, its output index, this node's input index)
    parents: list[tuple[str, int, int]] = field(default_factory=list)
    #: Set node fields -> the workflow input each became
    fields: dict[str, str] = field(default_factory=dict)
    step: Any = None
    #: when this node runs (:class:`~.n8n_flow.Cond`)
    cond: Any = None
    #: an IF node's own condition, or the conditions of a Switch node's outputs
    outputs: list[Any] | None = None
    #: the nearest HTTP steps at or above this node (its own step, once made)
    before: list[str] = field(default_factory=list)


class Translator(Protocol):
    """What the body and pagination readers need of the importer."""

    def expression(self, node: Node, value: Any, *, inner: bool = False, url: bool = False) -> Any:
        """An n8n parameter value as template text (a jinja expression with ``inner``)."""

    def named(self, node: Node, items: Any) -> dict[str, Any]:
        """``[{name, value}]`` as a mapping of translated values."""

    def json_body(self, node: Node, text: Any) -> Any:
        """A JSON body's text as a value, a template, or an input."""

    def note(self, node: str, message: str) -> None:
        """A note about the node ``node``."""

    def new_input(self, base: str, spec: dict[str, Any]) -> str:
        """A new workflow input named after ``base`` (never one that is taken)."""


@dataclass
class Body:
    """A request body: its value, the headers it needs, its files."""

    value: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    files: dict[str, Any] = field(default_factory=dict)
    body_file: str | None = None


def _file_input(imp: Translator, node: Node, field_name: str) -> str:
    """An input for the path of the file an n8n binary field held; a note names it."""
    base = re.sub(r"\W+", "_", f"{node.name}_{field_name}_file".lower()).strip("_")
    key = imp.new_input(
        base,
        {
            "type": "string",
            "description": f"path of the file node {node.name!r} sent from its binary"
            f" field {field_name!r}",
        },
    )
    imp.note(
        node.name,
        f"the binary field {field_name!r} is a file read from the input {key} (give its path)",
    )
    return "{{ inputs." + key + " }}"


def body_v3(imp: Translator, node: Node) -> Body:
    """The body of an HTTP Request node of typeVersion 3 and later."""
    p = node.params
    out = Body()
    if not p.get("sendBody"):
        return out
    kind = str(p.get("contentType") or "json")
    params = _dict(p.get("bodyParameters")).get("parameters")
    if kind == "json":
        if p.get("specifyBody") == "json":
            out.value = imp.json_body(node, p.get("jsonBody"))
        else:
            out.value = imp.named(node, params)
    elif kind == "form-urlencoded":
        out.headers["Content-Type"] = FORM
        if p.get("specifyBody") == "string":
            out.value = imp.expression(node, p.get("body") or "")
        else:
            out.value = imp.named(node, params)
    elif kind == "multipart-form-data":
        text = [q for q in params or [] if _dict(q).get("parameterType") != "formBinaryData"]
        out.value = imp.named(node, text) or None
        for q in params or []:
            if isinstance(q, dict) and q.get("parameterType") == "formBinaryData" and q.get("name"):
                given = str(q.get("inputDataFieldName") or "data")
                out.files[str(q["name"])] = _file_input(imp, node, given)
        out.headers["Content-Type"] = MULTIPART  # text fields alone are multipart too
    elif kind == "binaryData":
        out.body_file = _file_input(imp, node, str(p.get("inputDataFieldName") or "data"))
        _binary_type(imp, node, out)
    elif kind == "raw":
        out.value = imp.expression(node, p.get("body") or "")
        _raw_type(imp, node, out, p.get("rawContentType"))
    else:
        imp.note(node.name, f"a {kind} body is not imported")
    return out


def body_v1(imp: Translator, node: Node, json_text: Callable[[Node, Any], Any]) -> Body:
    """The body of an HTTP Request node of typeVersion 1 or 2 (``json_text`` reads JSON
    parameters: query and headers the same way)."""
    p = node.params
    options = _dict(p.get("options"))
    kind = str(options.get("bodyContentType") or "json")
    out = Body()
    json_params = bool(p.get("jsonParameters"))
    if json_params and p.get("sendBinaryData"):
        names = str(p.get("binaryPropertyName") or "data")
        if kind == "multipart-form-data":
            for part in (n.strip() for n in names.split(",") if n.strip()):
                key, _, prop = part.rpartition(":")
                out.files[key or "file"] = _file_input(imp, node, prop)
        else:
            out.body_file = _file_input(imp, node, names)
            if kind == "raw" and options.get("bodyContentCustomMimeType"):
                out.headers["Content-Type"] = str(options["bodyContentCustomMimeType"])
            else:
                _binary_type(imp, node, out)
        return out
    if json_params and kind == "raw":
        raw = p.get("bodyParametersJson")
        out.value = imp.expression(node, raw) if raw not in (None, "") else None
        if out.value is not None:
            _raw_type(imp, node, out, options.get("bodyContentCustomMimeType"))
        return out
    if json_params:
        out.value = json_text(node, p.get("bodyParametersJson"))
    else:
        out.value = imp.named(node, _dict(p.get("bodyParametersUi")).get("parameter"))
    if out.value in ({}, None, ""):
        out.value = None
        return out
    if kind == "form-urlencoded":
        out.headers["Content-Type"] = FORM
    elif kind == "multipart-form-data":
        out.headers["Content-Type"] = MULTIPART
    return out


def _binary_type(imp: Translator, node: Node, out: Body) -> None:
    out.headers.setdefault("Content-Type", "application/octet-stream")
    imp.note(
        node.name,
        "n8n sends a binary body with the media type of its file; it is sent as"
        " application/octet-stream unless a Content-Type header says another",
    )


def _raw_type(imp: Translator, node: Node, out: Body, given: Any) -> None:
    if isinstance(given, str) and given:
        out.headers["Content-Type"] = given
        return
    out.headers["Content-Type"] = "text/plain"
    imp.note(node.name, "its raw body names no content type: it is sent as text/plain")


def node_settings(imp: Translator, node: Node, step: dict[str, Any]) -> None:
    """The node's options and settings: a timeout, ``onError`` and its notes as the
    step's; every other one a note."""
    options = _dict(node.params.get("options"))
    timeout = options.get("timeout")
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0:
        step["timeout"] = {"read": timeout / 1000}
    for key in sorted(k for k in options if k not in _READ_OPTIONS):
        if not _empty(options[key]):  # an option left as n8n writes it unset says nothing
            imp.note(node.name, f"its option {key!r} is not imported")
    on_error = str(node.settings.get("onError") or "")
    if node.settings.get("continueOnFail") or on_error.startswith("continue"):
        step["continue_on_error"] = True
        if on_error == "continueErrorOutput":
            imp.note(
                node.name,
                "its error output is not imported: the workflow goes on after a failure",
            )
    if isinstance(node.settings.get("notes"), str) and node.settings["notes"].strip():
        step["description"] = node.settings["notes"].strip()
    for key in sorted(k for k in node.settings if k not in _LAYOUT):
        imp.note(node.name, f"its setting {key!r} is not imported")


def _empty(value: Any) -> bool:
    """Whether an n8n option is unset: empty, or mappings of nothing (``{response: {}}``)."""
    if isinstance(value, dict):
        return all(_empty(v) for v in value.values())
    return value in (None, "", [])


# -- pagination ------------------------------------------------------------------------------


def pagination(imp: Translator, node: Node, query: dict[str, Any]) -> dict[str, Any] | None:
    """An HTTP Request node's ``options.pagination`` as step keys (``paginate``,
    ``max_pages`` and the http step's ``paging``), or ``None`` (a note says why)."""
    options = _dict(node.params.get("options"))
    outer = options.get("pagination")
    given = outer.get("pagination") if isinstance(outer, dict) else None
    if not isinstance(given, dict):
        return None
    mode = str(given.get("paginationMode") or "updateAParameterInEachRequest")
    if mode == "off":
        return None

    def skip(why: str) -> None:
        imp.note(node.name, f"its pagination is not imported ({why}): only the first page is read")

    if mode != "updateAParameterInEachRequest":
        skip(f"{mode}: the next page's URL comes from an expression")
        return None
    items = _dict(given.get("parameters")).get("parameters")
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
        skip("it updates more or less than one parameter")
        return None
    param = items[0]
    name, value = str(param.get("name") or ""), str(param.get("value") or "")
    if str(param.get("type") or "qs") != "qs" or not name:
        skip(f"it updates the {param.get('type')} parameter {name!r}, not a query parameter")
        return None
    text = value[1:].strip() if value.startswith("=") else ""
    inner = text[2:-2] if text.startswith("{{") and text.endswith("}}") else ""
    page = _PAGE.match(inner)
    if page is None:
        skip(f"{name} = {value!r} is not a page number, $pageCount + N")
        return None
    paging: dict[str, Any] = {"style": "page", "param": name, "start": int(page.group(1) or 0)}
    complete = str(given.get("paginationCompleteWhen") or "responseIsEmpty")
    if complete == "responseIsEmpty":
        paging["items"] = ""
        imp.note(node.name, "its pages are gathered: each page's body is the list of items")
    elif complete == "other":
        expr = str(given.get("completeExpression") or "")
        expr = expr[1:].strip() if expr.startswith("=") else expr
        expr = expr[2:-2] if expr.startswith("{{") and expr.endswith("}}") else expr
        found = _EMPTY_LIST.match(expr)
        if found is None:
            skip(f"it ends when {expr!r}, which is not an empty list of the body")
            return None
        paging["items"] = (found.group(1) or found.group(2) or "").lstrip(".")
    else:
        skip(f"it ends on {complete}")
        return None
    query.pop(name, None)  # the page parameter is the paging's own
    out: dict[str, Any] = {"paging": paging, "paginate": True}
    if given.get("limitPagesFetched"):
        most = given.get("maxRequests", 100)
        if isinstance(most, int) and most >= 1:
            out["max_pages"] = most
    interval = given.get("requestInterval")
    if isinstance(interval, int | float) and interval > 0:
        imp.note(node.name, f"its {interval} ms between pages is not kept (rate_limit paces calls)")
    return out


# -- JavaScript ------------------------------------------------------------------------------

_STRING = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\"""", re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), body, flags=re.S)


def _top_level_plus(expr: str) -> list[str] | None:
    """``expr`` split at its top-level ``+`` (outside strings and brackets)."""
    pieces: list[str] = []
    depth, start, at = 0, 0, 0
    while at < len(expr):
        c = expr[at]
        if c in "'\"":
            found = _STRING.match(expr, at)
            if found is None:
                return None
            at = found.end()
            continue
        if c == "`":
            end = expr.find("`", at + 1)
            if end < 0:
                return None
            at = end + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "+" and depth == 0:
            pieces.append(expr[start:at].strip())
            start = at + 1
        at += 1
    pieces.append(expr[start:].strip())
    return pieces if all(pieces) else None


def split_concat(expr: str) -> list[tuple[str, bool]] | None:
    """A JavaScript string concatenation (``'a' + x + "b"``) or template literal
    (`` `a${x}b` ``) as ``(text, is_literal)`` parts; ``None`` when it is neither (a
    ``+`` that may add numbers: neither of the first two operands is a string)."""
    expr = expr.strip()
    if expr.startswith("`") and expr.endswith("`") and expr.count("`") == 2:
        parts: list[tuple[str, bool]] = []
        for i, piece in enumerate(re.split(r"\$\{(.*?)\}", expr[1:-1], flags=re.S)):
            if piece:
                parts.append((piece, i % 2 == 0))
        return parts
    pieces = _top_level_plus(expr)
    if pieces is None or len(pieces) < 2:
        return None
    if not any(_STRING.fullmatch(p) for p in pieces[:2]):
        return None
    return [(_unquote(p), True) if _STRING.fullmatch(p) else (p, False) for p in pieces]


def literal_hosts(text: str) -> list[str]:
    """Every ``http(s)://HOST[:PORT]`` written literally in ``text``, lower case, once each."""
    out: list[str] = []
    for found in _HOST.finditer(text):
        host = found.group(1).lower()
        if host not in out:
            out.append(host)
    return out


def _dict(value: Any) -> dict[str, Any]:
    """``value`` when it is a mapping (an n8n parameter), else an empty one."""
    return value if isinstance(value, dict) else {}
