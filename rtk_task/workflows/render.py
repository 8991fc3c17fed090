"""Sandboxed Jinja2 rendering of a step's values, one value at a time, types kept.

Every string leaf is a template, compiled once (:func:`compile_value`) and rendered per call.
A leaf that is exactly one expression (``"{{ x }}"``) keeps the native type of ``x``; mixed
text renders to a string. Rendered values are never rendered again, so an output holding
``{{`` stays literal. Undefined names and sandbox violations become :class:`TemplateError`
naming the field path and the variable, with a did-you-mean; an index past the end of a list
names the list and says it is empty, or how many items it has.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError
from jinja2.exceptions import TemplateError as JinjaTemplateError

from ..errors import Problem, TemplateError, did_you_mean
from .sandbox import BudgetExceeded, Missing, bounded_text, environment, plain, rendering

__all__ = [
    "MARKERS",
    "CompiledValue",
    "attribute_chain",
    "compile_value",
    "environment",
    "leaves",
    "references",
]

# one `{{ expression }}` and nothing else; `{{-`, `{{+` and `-}}` only control whitespace
_ONE_EXPRESSION = re.compile(r"^\{\{[-+]?(?P<expr>(?:(?!\{\{|\}\}|\{%|%\}|\{#).)*?)-?\}\}$", re.S)
#: What makes a string a template (an expression, a statement, a comment).
MARKERS = ("{{", "{%", "{#")
_LOADING = (nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)


class CompiledValue:
    """A step value with its templates compiled; :meth:`render` gives a plain value.

    ``light`` says that rendering it is a look-up and nothing more: every string leaf is
    plain text or one ``{{ a.b.c }}`` (no loop, filter or call can run), so an event loop may
    render it inline rather than in a worker thread.
    """

    __slots__ = ("_render", "light", "source")

    def __init__(self, source: Any, render: Callable[[Mapping[str, Any], str], Any]) -> None:
        self.source = source
        self._render = render
        self.light = all(_light(text) for _, text in leaves(source, ()))

    def render(self, context: Mapping[str, Any], where: str = "") -> Any:
        """The value with every template rendered against ``context``."""
        return self._render(context, where)


def _light(text: str) -> bool:
    if not any(m in text for m in MARKERS):
        return True
    one = _ONE_EXPRESSION.match(text.strip())
    return one is not None and _plain_chain(one.group("expr")) is not None


def compile_value(value: Any, where: str = "") -> CompiledValue:
    """Compile every string leaf of ``value``; a syntax error names ``where``."""
    return CompiledValue(value, _compile(value, where))


def _compile(value: Any, where: str) -> Callable[[Mapping[str, Any], str], Any]:
    if isinstance(value, str):
        return _compile_string(value, where)
    if isinstance(value, dict):
        parts = [(k, _compile(v, _join(where, str(k)))) for k, v in value.items()]
        return lambda ctx, at: {k: f(ctx, _join(at, str(k))) for k, f in parts}
    if isinstance(value, list):
        items = [_compile(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return lambda ctx, at: [f(ctx, f"{at}[{i}]") for i, f in enumerate(items)]
    return lambda ctx, at: value


def _compile_string(text: str, where: str) -> Callable[[Mapping[str, Any], str], Any]:
    if not any(m in text for m in MARKERS):
        return lambda ctx, at: text
    one = _ONE_EXPRESSION.match(text.strip())
    chain = _plain_chain(one.group("expr")) if one else None
    if chain is not None:  # `{{ a.b[0].c }}`: valid as it is; Jinja only to explain a miss
        expression_text = one.group("expr") if one else ""

        def render_chain(ctx: Mapping[str, Any], at: str) -> Any:
            found = _look_up(ctx, chain)
            if found is not _MISSING:
                return plain(found)
            expression = _compiled(text, expression_text, where)
            return _guard(lambda: _native(expression(**ctx)), at, text, ctx)

        return render_chain
    compiled = _compiled(text, one.group("expr") if one else None, where)
    if one:

        def render_expression(ctx: Mapping[str, Any], at: str) -> Any:
            return _guard(lambda: _native(compiled(**ctx)), at, text, ctx)

        return render_expression

    def render_template(ctx: Mapping[str, Any], at: str) -> Any:
        return _guard(lambda: bounded_text(compiled.generate(ctx)), at, text, ctx)

    return render_template


@lru_cache(maxsize=4096)
def _parsed(text: str) -> nodes.Template:
    """Jinja's parse of ``text``, refused if it would load another template."""
    ast = environment().parse(text)
    _refuse_loading(ast)
    return ast


def _compiled(text: str, expression: str | None, where: str) -> Any:
    """``text`` compiled (one expression's callable, or a template), or its syntax error
    naming ``where``."""
    try:
        return _compile_text(text, expression)
    except TemplateSyntaxError as exc:
        raise _syntax_error(exc.message or "", text, where) from None
    except SyntaxError as exc:  # the Python Jinja wrote was refused, e.g. `macro m(x, x)`
        raise _syntax_error(exc.msg, text, where) from None
    except _Loads as exc:
        raise TemplateError(
            Problem(where or "template", str(exc), "templates cannot load other templates")
        ) from None


@lru_cache(maxsize=4096)
def _compile_text(text: str, expression: str | None) -> Any:
    """Jinja's compile of ``text``, once per distinct text (steps repeat their templates: an
    imported workflow of 20,000 steps has few distinct ones). Compiled objects are immutable."""
    env = environment()
    ast = _parsed(text)
    if expression is not None:
        return env.compile_expression(expression, undefined_to_none=False)
    return env.from_string(ast)


#: ``a.b[0].c``: names, dotted keys and list indexes, nothing else.
_CHAIN = re.compile(r"^\s*([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*|\[\d+\])*)\s*$")
_PART = re.compile(r"\.([A-Za-z_]\w*)|\[(\d+)\]")
_MISSING = object()


def _plain_chain(expression: str) -> tuple[str | int, ...] | None:
    """``inputs.people[0].email`` as ``("inputs", "people", 0, "email")``; ``None`` for an
    expression that is more than a chain of keys and indexes (a filter, a call, a test)."""
    found = _CHAIN.match(expression)
    if found is None:
        return None
    rest = tuple(key or int(index) for key, index in _PART.findall(found.group(2)))
    return (found.group(1), *rest)


def _look_up(context: Mapping[str, Any], chain: tuple[str | int, ...]) -> Any:
    """The value of a plain chain, walking only dicts and lists (data: nothing to sandbox),
    or ``_MISSING`` where Jinja must say what is wrong (a missing key, an index past the
    end, anything that is not a dict or a list on the way)."""
    node: Any = context
    for part in chain:
        if isinstance(part, str):
            if not isinstance(node, Mapping) or part not in node:
                return _MISSING
        elif not isinstance(node, list) or part >= len(node):
            return _MISSING
        node = node[part]
    return node


class _Loads(Exception):
    """A template that would load another (refused: there is nothing to load)."""


def _refuse_loading(ast: nodes.Template) -> None:
    loads = next(ast.find_all(_LOADING), None)
    if loads is not None:
        raise _Loads(f"refused by the sandbox: {{% {type(loads).__name__.lower()} %}}")


def _syntax_error(message: str, text: str, where: str) -> TemplateError:
    return TemplateError(
        Problem(where or "template", f"template syntax: {message}", f"in {text!r}")
    )


def _native(value: Any) -> Any:
    if isinstance(value, StrictUndefined):  # e.g. `{{ x is defined and x }}` at the edge
        str(value)
    return plain(value)


def _guard(run: Callable[[], Any], where: str, text: str, context: Mapping[str, Any]) -> Any:
    try:
        with rendering():
            return run()
    except Missing as exc:
        if exc.size is not None:
            raise TemplateError(_past_the_end(exc.name, exc.size, where, text)) from None
        hint = exc.hint or did_you_mean(exc.name, context) or f"names: {', '.join(context)}"
        raise TemplateError(
            Problem(where or "template", f"{exc.name!r} is undefined in {text!r}", hint)
        ) from None
    except SecurityError as exc:
        raise TemplateError(
            Problem(
                where or "template",
                f"refused by the sandbox: {exc}",
                "templates may read values, not call internals",
            )
        ) from None
    except BudgetExceeded as exc:
        raise TemplateError(
            Problem(
                where or "template",
                f"refused: {exc}",
                "templates shape values; they are not for bulk work",
            )
        ) from None
    except RecursionError:
        raise TemplateError(
            Problem(where or "template", "recursion too deep", f"in {text!r}")
        ) from None
    except JinjaTemplateError as exc:
        raise TemplateError(Problem(where or "template", str(exc.message or exc))) from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise TemplateError(
            Problem(where or "template", f"{type(exc).__name__}: {exc}", f"in {text!r}")
        ) from None


def _past_the_end(index: str, size: int, where: str, text: str) -> Problem:
    """The problem of ``LIST[index]`` on a list of ``size`` items: it names the list."""
    name = "the list"
    try:
        ast = environment().parse(text)
    except TemplateSyntaxError:
        ast = None
    for node in ast.find_all((nodes.Getitem, nodes.Getattr)) if ast is not None else ():
        if isinstance(node, nodes.Getattr):
            key, owner = node.attr, node.node
        elif isinstance(node, nodes.Getitem):
            try:
                key, owner = node.arg.as_const(), node.node
            except nodes.Impossible:
                continue
        else:
            continue
        chain = attribute_chain(owner)
        if str(key) == index and chain:
            name = ".".join(chain)
            break
    if not size:
        return Problem(
            where or "template",
            f"{name} is empty: it has no item [{index}] (in {text!r})",
            f'run the step only when it has items: when: "{{{{ {name} }}}}"',
        )
    return Problem(
        where or "template",
        f"{name} has no item [{index}]: it has {size} (in {text!r})",
        f"its items are [0] to [{size - 1}]",
    )


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def attribute_chain(node: nodes.Node) -> tuple[str, ...] | None:
    """``a.b['c']`` -> ``("a", "b", "c")``; ``None`` for anything computed."""
    if isinstance(node, nodes.Name):
        return (node.name,)
    if isinstance(node, nodes.Getattr):
        head = attribute_chain(node.node)
        return (*head, node.attr) if head else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        head = attribute_chain(node.node)
        return (*head, str(node.arg.value)) if head else None
    return None


def references(value: Any) -> set[tuple[str, ...]]:
    """Attribute chains read by the templates in ``value``, e.g. ``("steps", "a", "outputs")``."""
    found: set[tuple[str, ...]] = set()

    def visit(text: str) -> None:
        try:
            ast = environment().parse(text)
        except TemplateSyntaxError:
            return  # reported when the value is compiled
        for node in ast.find_all((nodes.Getattr, nodes.Getitem, nodes.Name)):
            got = attribute_chain(node)
            if got:
                found.add(got)

    def walk(v: Any) -> None:
        if isinstance(v, str) and any(m in v for m in MARKERS):
            visit(v)
        elif isinstance(v, dict):
            for item in v.values():
                walk(item)
        elif isinstance(v, list):
            for item in v:
                walk(item)

    walk(value)
    return found


def leaves(value: Any, at: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], str]]:
    """``(path, text)`` of every string leaf of ``value`` that holds a template."""
    if isinstance(value, str):
        return [(at, value)] if any(m in value for m in MARKERS) else []
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in leaves(v, (*at, k))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in leaves(v, (*at, i))]
    return []
