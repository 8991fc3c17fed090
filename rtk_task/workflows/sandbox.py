"""The one Jinja2 environment templates run in: sandboxed, strict, and bounded in work.

Jinja's sandbox stops templates from reaching internals; this adds budgets, so that no
template can take unbounded time or memory, when it is compiled as when it is rendered:

- no constant folding when a template is compiled (``{{ 'a' * 10**9 }}`` is not built at load,
  and no filter below runs at load);
- every turn of a ``for`` loop (a recursive loop's too), every macro call, every item a
  filter goes through (``list``, ``join``, ``sum``, ``sort``, ... up front; ``map``, ``select``,
  ``batch``, ``slice``, ... as their items are taken) counts against :data:`MAX_ITEMS` per
  render; one ``range`` makes at most :data:`MAX_ITEMS` items;
- ``*`` and ``+`` refuse results over :data:`MAX_SIZE` characters and items, counted deeply
  (``[s] * n`` counts ``s`` ``n`` times), and ``*`` ``**`` ``+`` numbers over
  :data:`MAX_INT_BITS` bits;
- text is measured before it is made: ``~``, ``%``, ``str.format``, every ``{{ }}`` of a text,
  the filters that make text (``join``, ``replace``, ``string``, ``tojson``, ``upper``, ...)
  and the string methods that grow (``ljust``, ``expandtabs``, ``replace``, ``join``,
  ``translate``, ...) refuse more than :data:`MAX_SIZE` characters; a macro's or a block's
  output stops at :data:`MAX_SIZE` characters; ``batch`` fills at most :data:`MAX_SIZE`;
- format widths over :data:`MAX_WIDTH` are refused, in ``%`` (``*`` widths too),
  ``str.format`` (nested widths too), and the ``format``, ``center`` and ``indent`` filters;
- a rendered text stops at :data:`MAX_SIZE` characters, and a render stops after
  :data:`MAX_SECONDS` (the clock is read as loops turn, macros are called and filters run);
- only plain data comes out (no ranges, methods or generators), at most :data:`MAX_SIZE`
  items and characters from a render: see :func:`plain`.

A template that passes a budget raises :class:`BudgetExceeded`, which the renderer maps to a
:class:`~rtk_task.errors.TemplateError` naming the field.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from functools import cache
from typing import Any, NoReturn

from jinja2 import StrictUndefined, Undefined, nodes, pass_context, pass_environment
from jinja2 import pass_eval_context as pass_eval
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.filters import (
    do_batch,
    do_center,
    do_format,
    do_indent,
    do_replace,
    make_attrgetter,
    sync_do_join,
)
from jinja2.nodes import EvalContext
from jinja2.runtime import Context, LoopContext, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing

from ..errors import did_you_mean

__all__ = [
    "MAX_INT_BITS",
    "MAX_ITEMS",
    "MAX_SECONDS",
    "MAX_SIZE",
    "MAX_WIDTH",
    "BudgetExceeded",
    "Missing",
    "bounded_text",
    "environment",
    "plain",
    "rendering",
]

#: The longest string or list a template may build, and the longest text it may render.
MAX_SIZE = 1_000_000
#: Loop turns, macro calls and items filters go through in one render, all together.
MAX_ITEMS = 100_000
#: The largest integer a template may compute, in bits.
MAX_INT_BITS = 4096
#: The widest field a format may pad to.
MAX_WIDTH = 1000
#: How long one render may take.
MAX_SECONDS = 2.0

_WIDTH = re.compile(r"(\d{4,})")
_NESTED = re.compile(r"\{[^{}]*\{")  # a replacement field inside a format spec: `{:{}}`


class BudgetExceeded(Exception):
    """A template asked for more work than the budget allows."""


class Missing(UndefinedError):
    """An undefined name, with a hint (a did-you-mean, or what is there instead).

    ``size`` is set when the name is an index past the end of a list: the list's length.
    """

    def __init__(self, name: str, hint: str, size: int | None = None) -> None:
        super().__init__(f"{name!r} is undefined")
        self.name = name
        self.hint = hint
        self.size = size


class _Undefined(StrictUndefined):
    """StrictUndefined that says which name is missing and what is there instead."""

    __slots__ = ()

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> NoReturn:
        if self._undefined_exception is SecurityError:
            raise SecurityError(self._undefined_hint or "unsafe access")
        name = self._undefined_name
        owner = self._undefined_obj
        while isinstance(owner, _Undefined):  # `a.b.c` with `a` missing: name `a`
            name, owner = owner._undefined_name, owner._undefined_obj
        if isinstance(owner, list | tuple) and str(name).lstrip("-").isdigit():
            size = len(owner)
            raise Missing(str(name), "it is empty" if not size else f"it has {size}", size)
        if isinstance(owner, Mapping):
            known = [str(k) for k in owner]
            hint = did_you_mean(str(name), known) or (
                f"available: {', '.join(sorted(known))}" if known else "it is empty"
            )
            raise Missing(str(name), hint)
        if owner is not None and owner is not missing and name is not None:
            raise Missing(str(name), f"a {type(owner).__name__} has no attribute {name!r}")
        raise Missing(str(name), "")  # a top-level name: the renderer knows the context


# Undefined binds its dunders (__str__, __iter__, __eq__, ...) to the base class's method at
# class creation; point every one of them at ours.
for _name, _value in {**vars(Undefined), **vars(StrictUndefined)}.items():
    if _value is Undefined._fail_with_undefined_error and _name != "_fail_with_undefined_error":
        setattr(_Undefined, _name, _Undefined._fail_with_undefined_error)


class _Budget:
    __slots__ = ("deadline", "items")

    def __init__(self) -> None:
        self.items = 0
        self.deadline = time.monotonic() + MAX_SECONDS

    def spend(self, items: int) -> None:
        self.items += items
        if self.items > MAX_ITEMS:
            raise BudgetExceeded(
                f"loops, macro calls and filters went through more than {MAX_ITEMS} items"
                " in one render"
            )
        if time.monotonic() > self.deadline:
            raise BudgetExceeded(f"the render took more than {MAX_SECONDS:g} s")


_BUDGET: ContextVar[_Budget | None] = ContextVar("rtk_template_budget", default=None)


class rendering:
    """The budget of one render: ``with rendering(): ...``."""

    __slots__ = ("_token",)

    def __enter__(self) -> _Budget:
        budget = _Budget()
        self._token = _BUDGET.set(budget)
        return budget

    def __exit__(self, *exc: object) -> None:
        _BUDGET.reset(self._token)


def _budget() -> _Budget:
    budget = _BUDGET.get()
    if budget is None:  # rendered outside `rendering()`: a budget of its own
        budget = _Budget()
        _BUDGET.set(budget)
    return budget


def _walk(values: Iterable[Any]) -> Iterator[Any]:
    """``values``, each item counted against the render's items (the clock read every 16)."""
    budget = _budget()
    for item in values:
        budget.items += 1
        if budget.items > MAX_ITEMS or not budget.items & 15:
            budget.spend(0)
        yield item


def _range(*args: int) -> range:
    made = range(*args)
    if len(made) > MAX_ITEMS:
        raise BudgetExceeded(f"a range of more than {MAX_ITEMS} items")
    return made


def _measure(value: Any) -> int:
    """About how long ``value`` is as text or data: its characters, its items, and the digits
    of its big numbers, all nested levels counted (a string held twice counts twice); counted
    only until :data:`MAX_SIZE` is passed, so it never costs more than that."""
    if type(value) is str:
        return len(value)
    total, stack = 0, [value]
    while stack and total <= MAX_SIZE:
        item = stack.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, int):
            total += item.bit_length() // 3
        elif isinstance(item, list | tuple | dict | set | frozenset):
            total += len(item)
            if total <= MAX_SIZE:
                stack.extend(item.items() if isinstance(item, dict) else item)
    return total


def _too_long(size: int) -> None:
    if size > MAX_SIZE:
        raise BudgetExceeded(f"a text of more than {MAX_SIZE} characters")


def _checked(value: Any) -> Any:
    """``value``, refused when it is longer than :data:`MAX_SIZE` or has too many bits."""
    if isinstance(value, str | bytes | list | tuple) and len(value) > MAX_SIZE:
        raise BudgetExceeded(f"a text or list of more than {MAX_SIZE} items")
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise BudgetExceeded(f"a number of more than {MAX_INT_BITS} bits")
    return value


def _sized(parts: tuple[Any, ...]) -> tuple[Any, ...]:
    """The parts of a ``~``, refused before they are joined if the text would be too long."""
    _too_long(sum(map(_measure, parts)))
    return parts


def _finalize(value: Any) -> Any:
    """What a ``{{ }}`` of a text prints, measured before it becomes text."""
    _too_long(_measure(value))
    return value


class _Buffer(list[str]):
    """The output of a macro, a ``{% set %}`` block, a filter or call block: at most
    :data:`MAX_SIZE` characters, checked as it is written."""

    __slots__ = ("size",)

    def __init__(self) -> None:
        super().__init__()
        self.size = 0

    def append(self, text: str) -> None:
        self.size += len(text)
        if self.size > MAX_SIZE:
            raise BudgetExceeded(f"a macro or block wrote more than {MAX_SIZE} characters")
        super().append(text)

    def extend(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.append(text)


def _check_width(spec: Any) -> None:
    if isinstance(spec, str) and any(int(w) > MAX_WIDTH for w in _WIDTH.findall(spec)):
        raise BudgetExceeded(f"a format width over {MAX_WIDTH}")


#: The name of the loop's walk (see _CodeGenerator): no filter a template names can have it.
_WALK = "rtk:walk"


class _CodeGenerator(CodeGenerator):
    """Jinja's code, with every loop walked by :func:`_walk`, every ``~`` measured before its
    parts are joined, and every buffer (a macro's, a block's) a :class:`_Buffer`."""

    def visit_For(self, node: nodes.For, frame: Frame) -> None:
        iterable = node.iter
        node.iter = nodes.Filter(iterable, _WALK, [], [], None, None, lineno=node.lineno)
        try:
            super().visit_For(node, frame)
        finally:
            node.iter = iterable

    def visit_Filter(self, node: nodes.Filter, frame: Frame) -> None:
        if node.name != _WALK or node.node is None:
            super().visit_Filter(node, frame)
            return
        self.write("environment.walk(")
        self.visit(node.node, frame)
        self.write(")")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        if frame.eval_ctx.volatile:  # as Jinja's own
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        else:
            join = "markup_join" if frame.eval_ctx.autoescape else "str_join"
        self.write(f"{join}(environment.sized((")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write(")))")

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.buffer()")


#: Methods of a string (or a number) whose first argument is the result's length.
_WIDE = frozenset({"center", "ljust", "rjust", "zfill", "to_bytes"})


def _method_args(
    owner: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Any, ...]:
    """The arguments of ``owner.name(...)`` (a string's or a number's method), refused when
    the result would pass :data:`MAX_SIZE`; a ``join``'s items come back as a list."""
    size = 0
    if name in ("format", "format_map"):
        _check_width(owner)
        values = (*args, *kwargs.values())
        if _NESTED.search(owner) and any(type(v) is int and v > MAX_WIDTH for v in values):
            raise BudgetExceeded(f"a format width over {MAX_WIDTH}")
        size = len(owner) + sum(map(_measure, values))
    elif name in _WIDE:
        width = args[0] if args else kwargs.get("width", kwargs.get("length"))
        size = width if isinstance(width, int) else 0
    elif isinstance(owner, int):
        return args
    elif name == "expandtabs":
        tab = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(tab, int):
            size = len(owner) + owner.count("\t" if isinstance(owner, str) else b"\t") * tab
    elif name == "replace" and len(args) >= 2 and all(type(a) is type(owner) for a in args[:2]):
        found = owner.count(args[0]) if args[0] else len(owner) + 1
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        if isinstance(count, int) and count >= 0:
            found = min(found, count)
        size = len(owner) + found * len(args[1])
    elif name == "join" and args:
        items = list(args[0])
        args = (items, *args[1:])
        size = sum(map(_measure, items)) + len(owner) * len(items)
    elif name == "translate" and args:
        table = args[0]
        table = [*table.values()] if isinstance(table, Mapping) else table
        lengths = [len(v) for v in table if isinstance(v, str)] if _size(table) else []
        size = len(owner) * max([1, *lengths])
    _too_long(size)
    return args


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _CodeGenerator
    # what the generated code calls: see _CodeGenerator
    walk = staticmethod(_walk)
    sized = staticmethod(_sized)
    buffer = _Buffer

    def getattr(self, obj: Any, attribute: str) -> Any:
        # a key wins over a method of the same name: `outputs.items` is the output named
        # `items` (a list task's), not `dict.items`
        if type(obj) is dict and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*" and isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise BudgetExceeded(f"a number of more than {MAX_INT_BITS} bits")
        elif operator == "*":
            for seq, n in ((left, right), (right, left)):
                if _size(seq) and isinstance(n, int) and _measure(seq) * n > MAX_SIZE:
                    raise BudgetExceeded(f"a repetition of more than {MAX_SIZE} items")
        elif operator == "**":
            big = isinstance(left, int) and isinstance(right, int) and abs(left) > 1
            if big and right * abs(left).bit_length() > MAX_INT_BITS:
                raise BudgetExceeded(f"a number of more than {MAX_INT_BITS} bits")
        elif operator == "+":
            if _size(left) and _size(right) and _measure(left) + _measure(right) > MAX_SIZE:
                raise BudgetExceeded(f"a text or list of more than {MAX_SIZE} items")
        elif operator == "%" and isinstance(left, str):
            _check_width(left)
            values = right if isinstance(right, tuple) else (right,)
            if "*" in left and any(type(v) is int and v > MAX_WIDTH for v in values):
                raise BudgetExceeded(f"a format width over {MAX_WIDTH}")
            _too_long(len(left) + sum(map(_measure, values)))
        return _checked(super().call_binop(context, operator, left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(__obj, Macro | LoopContext):  # a macro, or a recursive loop's next level
            _budget().spend(1)
            if isinstance(__obj, LoopContext) and args:
                args = (_walk(args[0]), *args[1:])
            return super().call(__context, __obj, *args, **kwargs)
        # the sandbox hands out str.format wrapped; the format string is the method's self
        method = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(method, "__self__", None)
        if not isinstance(owner, str | bytes | int):
            return super().call(__context, __obj, *args, **kwargs)
        args = _method_args(owner, getattr(method, "__name__", ""), args, kwargs)
        return _checked(super().call(__context, __obj, *args, **kwargs))


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple) else 0


def _format(value: Any, *args: Any, **kwargs: Any) -> str:
    _check_width(value)
    return do_format(value, *args, **kwargs)


def _center(value: str, width: int = 80) -> str:
    if width > MAX_WIDTH:
        raise BudgetExceeded(f"center wider than {MAX_WIDTH}")
    return do_center(value, width)


def _indent(value: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    if isinstance(width, int) and width > MAX_WIDTH:
        raise BudgetExceeded(f"indent wider than {MAX_WIDTH}")
    if isinstance(width, str) and len(width) > MAX_WIDTH:
        raise BudgetExceeded(f"indent wider than {MAX_WIDTH}")
    pad = len(width) if isinstance(width, str) else width
    _too_long(len(str(value)) + (len(str(value).splitlines()) + 1) * pad)
    return do_indent(value, width, first, blank)


@pass_eval
def _join(ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: Any = None) -> str:
    if attribute is not None:
        value = map(make_attrgetter(ctx.environment, attribute), value)
    items = list(value)
    _too_long(sum(map(_measure, items)) + _measure(d) * max(len(items) - 1, 0))
    return sync_do_join(ctx, items, d)


@pass_eval
def _replace(ctx: EvalContext, s: Any, old: Any, new: Any, count: int | None = None) -> str:
    text, old_text = str(s), str(old)
    found = text.count(old_text) if old_text else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    _too_long(len(text) + found * len(str(new)))
    return do_replace(ctx, s, old, new, count)


@pass_environment
def _sum(env: Any, iterable: Iterable[Any], attribute: Any = None, start: Any = 0) -> Any:
    """Jinja's ``sum``, but lists and tuples are added up in linear time, and only so far."""
    if attribute is not None:
        iterable = map(make_attrgetter(env, attribute), iterable)
    if not isinstance(start, list | tuple):
        return sum(iterable, start)
    total = list(start)
    for item in iterable:
        if type(item) is not type(start):
            kind, other = type(start).__name__, type(item).__name__
            raise TypeError(f'can only concatenate {kind} (not "{other}") to {kind}')
        if len(total) + len(item) > MAX_SIZE:
            raise BudgetExceeded(f"a text or list of more than {MAX_SIZE} items")
        total.extend(item)
    return tuple(total) if isinstance(start, tuple) else total


def _batch(value: Iterable[Any], linecount: int, fill_with: Any = None) -> Iterator[list[Any]]:
    if fill_with is not None and linecount > MAX_SIZE:
        raise BudgetExceeded(f"a batch of more than {MAX_SIZE} items")
    return do_batch(value, linecount, fill_with)


#: Filters that go through all of their value at once: they count its items first.
_EAGER = frozenset({"dictsort", "groupby", "join", "list", "max", "min", "sort", "sum"})
#: Filters that give items one by one: each item given counts as it is taken.
_LAZY = frozenset(
    {"batch", "items", "map", "reject", "rejectattr", "reverse", "select", "selectattr"}
    | {"slice", "unique"}
)
#: Filters that make text of their value and arguments: measured first.
_TEXT = frozenset(
    {"capitalize", "center", "e", "escape", "forceescape", "format", "indent", "lower"}
    | {"pprint", "replace", "safe", "string", "striptags", "title", "tojson", "trim"}
    | {"truncate", "upper", "urlencode", "urlize", "wordcount", "wordwrap", "xmlattr"}
)
_PASSED: dict[str, Callable[[Context], tuple[Any, ...]]] = {
    "context": lambda context: (context,),
    "eval_context": lambda context: (context.eval_ctx,),
    "environment": lambda context: (context.environment,),
    "": lambda context: (),
}


def _bounded(name: str, f: Callable[..., Any]) -> Callable[..., Any]:
    """Filter ``f`` within the budgets (items, the clock, sizes). It takes the context, so
    Jinja never runs it while compiling."""
    passed = _PASSED.get(getattr(getattr(f, "jinja_pass_arg", None), "name", ""), _PASSED[""])
    eager, lazy, text = name in _EAGER, name in _LAZY, name in _TEXT

    @pass_context
    def bounded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        _budget().spend(len(value) if eager and hasattr(value, "__len__") else 0)
        if text:
            _too_long(_measure(value) + sum(map(_measure, (*args, *kwargs.values()))))
        result = f(*passed(context), value, *args, **kwargs)
        return _walk(result) if lazy and isinstance(result, Iterator) else _checked(result)

    return bounded


@cache
def environment() -> ImmutableSandboxedEnvironment:
    """The one sandboxed, budgeted environment every template compiles in."""
    env = _Environment(
        undefined=_Undefined,
        autoescape=False,
        loader=None,  # no include / import / extends: there is nothing to load
        keep_trailing_newline=True,
        optimized=False,  # no constant folding: `'a' * 10**9` is never built at load
        finalize=_finalize,
    )
    # Only pure helpers remain; cycler, joiner, lipsum and namespace go.
    env.globals = {"range": _range, "dict": dict}
    ours = {"format": _format, "center": _center, "indent": _indent, "join": _join}
    ours |= {"replace": _replace, "sum": _sum, "batch": _batch}
    env.filters = {
        name: _bounded(name, f) if name in _EAGER | _LAZY | _TEXT else f
        for name, f in {**env.filters, **ours}.items()
    }
    return env


def bounded_text(chunks: Iterator[str]) -> str:
    """Join a render's chunks, stopping at :data:`MAX_SIZE` characters or the deadline."""
    budget = _budget()
    out: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_SIZE:
            raise BudgetExceeded(f"the text passed {MAX_SIZE} characters")
        if time.monotonic() > budget.deadline:
            raise BudgetExceeded(f"the render took more than {MAX_SECONDS:g} s")
        out.append(chunk)
    return "".join(out)


_PLAIN = (str, int, float, bool, type(None))
_SCALAR = frozenset({int, float, bool, type(None)})  # kept as they are, and not counted


def plain(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON data: a range or tuple becomes a list; anything else (a method, a
    generator, a macro) is refused. During a render (in :class:`rendering`), a list or a
    dict may hold :data:`MAX_SIZE` items and characters in all, its nested ones included."""
    if isinstance(value, _PLAIN):
        return str(value) if isinstance(value, str) and type(value) is not str else value
    return _plain(value, depth, [MAX_SIZE] if _BUDGET.get() is not None else None)


def _plain(value: Any, depth: int, left: list[int] | None) -> Any:
    if left is not None and isinstance(value, str | list | tuple | range | Mapping):
        left[0] -= len(value)
        if left[0] < 0:
            raise BudgetExceeded(f"the value holds more than {MAX_SIZE} items and characters")
    if isinstance(value, _PLAIN):
        return str(value) if isinstance(value, str) and type(value) is not str else value
    if depth > 100:
        raise BudgetExceeded("a value nested more than 100 levels deep")
    if isinstance(value, Mapping):
        return {
            str(k): v if type(v) in _SCALAR else _plain(v, depth + 1, left)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | range):
        return [v if type(v) in _SCALAR else _plain(v, depth + 1, left) for v in value]
    raise BudgetExceeded(f"the value is a {type(value).__name__}, not data (JSON)")
