"""Small expressions carried between a workflow's templates, JavaScript and jq, both ways.

A condition (``when:``) or a computed value (``{{ inputs.people | length }}``) is read into
a tree (:func:`from_jinja`), written as JavaScript for a Conductor ``SWITCH`` or as jq for a
``JSON_JQ_TRANSFORM`` (:func:`emit`), and read back from that text (:func:`parse`) into a
template again. What is written is always fully parenthesised, so reading it back needs no
precedence rules, and :func:`parse` reads exactly what :func:`emit` writes.

The tree: ``("ref", name)``, ``("const", value)``, ``("op", op, a, b)`` with ``op`` one of
``== != < > <= >= and or + - * /``, ``("not", a)``, and ``("filter", name, a, arg)`` with
``name`` one of ``length first last join default string uri``. ``uri`` (jq's ``@uri``)
encodes a query or path value for the engine; read back it is dropped, since a workflow's
request encodes its values itself. A reference's name is whatever the
caller gives it (``v0`` for the engine, a workflow reference when read back); read back,
``$.S['response']['body']`` (a task's output in a Conductor ``loopCondition``) is the
reference named ``S['response']['body']``.

Meaning kept: comparisons, ``and``/``or``/``not``, arithmetic and the filters above. Where
the languages differ: a bare value as a condition follows JavaScript's truthiness in a
``SWITCH`` (an empty list or mapping counts as true there), and jq's ``//`` (``default``)
also replaces ``false``.

Reading is bounded: an expression nested deeper than :data:`MAX_NESTING` is
:class:`Untranslatable`, never a ``RecursionError``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Literal

from jinja2 import nodes

from ..render import attribute_chain

__all__ = ["MAX_NESTING", "Tree", "Untranslatable", "emit", "from_jinja", "parse", "parse_object"]

#: Deepest nesting of parentheses :func:`parse` reads.
MAX_NESTING = 100

Tree = tuple[Any, ...]
Lang = Literal["js", "jq", "jinja"]

_COMPARE = {"eq": "==", "ne": "!=", "lt": "<", "gt": ">", "lteq": "<=", "gteq": ">="}
_ARITH = {nodes.Add: "+", nodes.Sub: "-", nodes.Mul: "*", nodes.Div: "/"}
_FILTERS = {"length", "first", "last", "join", "default", "string"}
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Untranslatable(ValueError):
    """A template part that has no counterpart; its message says which."""


def from_jinja(node: nodes.Node, ref: Callable[[tuple[str, ...]], Tree]) -> Tree:
    """The tree of a jinja expression; ``ref`` turns an attribute chain into a ``ref`` leaf."""
    chain = attribute_chain(node)
    if chain is not None:
        return ref(chain)
    if isinstance(node, nodes.Const):
        return ("const", node.value)
    if isinstance(node, nodes.Compare) and len(node.ops) == 1:
        op = node.ops[0]
        if op.op in _COMPARE:
            return ("op", _COMPARE[op.op], from_jinja(node.expr, ref), from_jinja(op.expr, ref))
        raise Untranslatable(f"the test {op.op!r}")
    if isinstance(node, nodes.And | nodes.Or):
        word = "and" if isinstance(node, nodes.And) else "or"
        return ("op", word, from_jinja(node.left, ref), from_jinja(node.right, ref))
    if isinstance(node, nodes.Not):
        return ("not", from_jinja(node.node, ref))
    for kind, symbol in _ARITH.items():
        if isinstance(node, kind):
            return ("op", symbol, from_jinja(node.left, ref), from_jinja(node.right, ref))
    if isinstance(node, nodes.Concat):
        out = from_jinja(node.nodes[0], ref)
        for part in node.nodes[1:]:
            out = ("op", "+", ("filter", "string", out, None), from_jinja(part, ref))
        return out
    if isinstance(node, nodes.Filter) and node.node is not None and node.name in _FILTERS:
        if node.kwargs or node.dyn_args or node.dyn_kwargs or len(node.args) > 1:
            raise Untranslatable(f"the {node.name} filter with those arguments")
        arg = from_jinja(node.args[0], ref) if node.args else None
        if node.name in ("join", "default") and (arg is None or arg[0] != "const"):
            raise Untranslatable(f"{node.name} needs one constant argument")
        return ("filter", node.name, from_jinja(node.node, ref), arg)
    if isinstance(node, nodes.Filter):
        raise Untranslatable(f"the {node.name} filter")
    raise Untranslatable(type(node).__name__.lower())


def emit(tree: Tree, lang: Lang, ref: Callable[[str], str]) -> str:
    """``tree`` as ``lang`` text; ``ref`` writes a reference's name."""
    kind = tree[0]
    if kind == "ref":
        return ref(tree[1])
    if kind == "const":
        if lang == "jinja" and tree[1] is None:
            return "none"
        return json.dumps(tree[1])
    if kind == "not":
        inner = emit(tree[1], lang, ref)
        return {"js": f"!({inner})", "jq": f"({inner} | not)", "jinja": f"(not {inner})"}[lang]
    if kind == "op":
        op = tree[1]
        if lang == "js":
            op = {"and": "&&", "or": "||"}.get(op, op)
        return f"({emit(tree[2], lang, ref)} {op} {emit(tree[3], lang, ref)})"
    name, value = tree[1], emit(tree[2], lang, ref)
    arg = emit(tree[3], lang, ref) if tree[3] is not None else ""
    if lang == "jinja":
        if name == "uri":  # the request encodes its values itself
            inner = tree[2]
            return emit(inner[2] if inner[:2] == ("filter", "string") else inner, lang, ref)
        return f"({value} | {name}({arg}))" if arg else f"({value} | {name})"
    if lang == "jq":
        return {
            "length": f"({value} | length)",
            "first": f"({value} | first)",
            "last": f"({value} | last)",
            "string": f"({value} | tostring)",
            "uri": f"({value} | @uri)",
            "join": f"({value} | map(tostring) | join({arg}))",
            "default": f"({value} // {arg})",
        }[name]
    if name == "length":
        return f"({value}).length"
    raise Untranslatable(f"the {name} filter in a condition")


_TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?)|(?P<ref>\$\.\w+(?:\['[^'\\\n]*'\])*|\.\w+)"""
    r"""|(?P<op>==|!=|<=|>=|&&|\|\||//|[<>|!()+\-*/{}:,])|(?P<word>@?[A-Za-z_]\w*))"""
)


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    at = 0
    text = text.strip()
    while at < len(text):
        m = _TOKEN.match(text, at)
        if m is None or m.end() == at:
            raise Untranslatable(f"cannot read {text[at : at + 20]!r}")
        out.append(m.group(m.lastgroup or "op"))
        at = m.end()
    return out


class _Reader:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.at = 0
        self.depth = 0

    def next(self) -> str:
        if self.at >= len(self.toks):
            raise Untranslatable("the expression ends early")
        self.at += 1
        return self.toks[self.at - 1]

    def expect(self, *want: str) -> None:
        for w in want:
            got = self.next()
            if got != w:
                raise Untranslatable(f"expected {w!r}, found {got!r}")

    def peek(self) -> str | None:
        return self.toks[self.at] if self.at < len(self.toks) else None

    def expr(self) -> Tree:
        self.depth += 1
        try:
            if self.depth > MAX_NESTING:
                raise Untranslatable(f"nested deeper than {MAX_NESTING} levels")
            return self._expr()
        finally:
            self.depth -= 1

    def _expr(self) -> Tree:
        t = self.next()
        if t == "!":
            self.expect("(")
            inner = self.expr()
            self.expect(")")
            return ("not", inner)
        if t.startswith(("$.", ".")) and len(t) > 1:
            return ("ref", t.lstrip("$."))
        if t == "(":
            return self.group()
        if t in ("true", "false", "null") or t[0] in '"-0123456789':
            return ("const", json.loads(t))
        raise Untranslatable(f"unexpected {t!r}")

    def group(self) -> Tree:
        a = self.expr()
        t = self.next()
        if t == ")":
            if self.peek() == ".":  # JavaScript's (a).length
                self.expect(".", "length")
                return ("filter", "length", a, None)
            if self.peek() == ".length":
                self.next()
                return ("filter", "length", a, None)
            return a
        if t == "|":
            name = self.next()
            if name == "not":
                self.expect(")")
                return ("not", a)
            if name in ("tostring", "@uri"):
                self.expect(")")
                return ("filter", "string" if name == "tostring" else "uri", a, None)
            if name in ("length", "first", "last"):
                self.expect(")")
                return ("filter", name, a, None)
            if name == "map":
                self.expect("(", "tostring", ")", "|", "join", "(")
                sep = self.expr()
                self.expect(")", ")")
                return ("filter", "join", a, sep)
            raise Untranslatable(f"the jq function {name!r}")
        if t == "//":
            b = self.expr()
            self.expect(")")
            return ("filter", "default", a, b)
        op = {"&&": "and", "||": "or"}.get(t, t)
        if op not in ("==", "!=", "<", ">", "<=", ">=", "and", "or", "+", "-", "*", "/"):
            raise Untranslatable(f"the operator {t!r}")
        b = self.expr()
        self.expect(")")
        return ("op", op, a, b)


def parse(text: str) -> Tree:
    """The tree of a JavaScript or jq expression as :func:`emit` writes it."""
    try:
        reader = _Reader(text)
        tree = reader.expr()
    except json.JSONDecodeError as exc:  # a string or number token that is not JSON
        raise Untranslatable(f"cannot read a constant: {exc.msg}") from None
    if reader.peek() is not None:
        raise Untranslatable(f"text after the expression: {reader.peek()!r}")
    return tree


def parse_object(text: str) -> dict[str, Tree]:
    """``{"k": E, ...}`` (a jq object as the exporter writes it; a key may also be a bare
    name, as jq allows: ``{approved: .x}``) as its trees."""
    try:
        reader = _Reader(text)
        reader.expect("{")
        out: dict[str, Tree] = {}
        while reader.peek() != "}":
            key = reader.next()
            if _KEY.fullmatch(key):
                name = key
            elif key.startswith('"'):
                name = str(json.loads(key))
            else:
                raise Untranslatable(f"not a key of a jq object: {key!r}")
            reader.expect(":")
            out[name] = reader.expr()
            if reader.peek() == ",":
                reader.next()
            elif reader.peek() != "}":
                raise Untranslatable(f"expected ',' or '}}', found {reader.peek()!r}")
        reader.expect("}")
    except json.JSONDecodeError as exc:
        raise Untranslatable(f"cannot read a constant: {exc.msg}") from None
    if reader.peek() is not None:
        raise Untranslatable(f"text after the object: {reader.peek()!r}")
    return out
