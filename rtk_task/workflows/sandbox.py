"""The one Jinja2 environment templates run in: sandboxed, strict, and bounded in work.

Jinja's sandbox stops templates from reaching internals; this adds budgets, so that no
template can take unbounded time or memory:

- no constant folding when a template is compiled (``{{ 'a' * 10**9 }}`` is not built at load);
- ``*``, ``**``, ``+`` and ``%`` refuse results over :data:`MAX_SIZE` characters or items (or
  :data:`MAX_INT_BITS` bits), and format widths over :data:`MAX_WIDTH`, the same in the
  ``format``, ``center`` and ``indent`` filters and ``str.format``;
- ``range`` counts every item it makes against :data:`MAX_ITEMS` per render, so nested loops
  are bounded as a whole;
- a rendered text stops at :data:`MAX_SIZE` characters, and a render stops after
  :data:`MAX_SECONDS`;
- only plain data comes out (no ranges, methods or generators): see :func:`plain`.

A template that passes a budget raises :class:`BudgetExceeded`, which the renderer maps to a
:class:`~rtk_task.errors.TemplateError` naming the field.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from functools import cache
from typing import Any, NoReturn

from jinja2 import StrictUndefined, Undefined
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.filters import do_center, do_format, do_indent
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import missing

from ..errors import did_you_mean

__all__ = [
    "MAX_ITEMS",
    "MAX_SECONDS",
    "MAX_SIZE",
    "BudgetExceeded",
    "Missing",
    "environment",
    "plain",
    "rendering",
]

#: The longest string or list a template may build, and the longest text it may render.
MAX_SIZE = 1_000_000
#: Items ``range`` may make in one render, all calls together.
MAX_ITEMS = 100_000
#: The largest integer a template may compute, in bits.
MAX_INT_BITS = 4096
#: The widest field a format may pad to.
MAX_WIDTH = 1000
#: How long one render may take.
MAX_SECONDS = 2.0

_WIDTH = re.compile(r"(\d{4,})")


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
            raise BudgetExceeded(f"range made more than {MAX_ITEMS} items in one render")
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


def _range(*args: int) -> range:
    made = range(*args)
    _budget().spend(len(made))
    return made


def _size(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes | list | tuple) else 0


def _check_width(spec: Any) -> None:
    if isinstance(spec, str) and any(int(w) > MAX_WIDTH for w in _WIDTH.findall(spec)):
        raise BudgetExceeded(f"a format width over {MAX_WIDTH}")


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        # a key wins over a method of the same name: `outputs.items` is the output named
        # `items` (a list task's), not `dict.items`
        if type(obj) is dict and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if _size(seq) and isinstance(n, int) and _size(seq) * n > MAX_SIZE:
                    raise BudgetExceeded(f"a repetition of more than {MAX_SIZE} items")
        elif operator == "**":
            big = isinstance(left, int) and isinstance(right, int) and abs(left) > 1
            if big and right * abs(left).bit_length() > MAX_INT_BITS:
                raise BudgetExceeded(f"a number of more than {MAX_INT_BITS} bits")
        elif operator == "+":
            if _size(left) + _size(right) > MAX_SIZE:
                raise BudgetExceeded(f"a text or list of more than {MAX_SIZE} items")
        elif operator == "%":
            _check_width(left)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        # the sandbox hands out str.format wrapped; the format string is the method's self
        method = getattr(__obj, "__wrapped__", __obj)
        if getattr(method, "__name__", "") in ("format", "format_map"):
            _check_width(getattr(method, "__self__", None))
        return super().call(__context, __obj, *args, **kwargs)


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
    text = do_indent(value, width, first, blank)
    if len(text) > MAX_SIZE:
        raise BudgetExceeded(f"a text of more than {MAX_SIZE} characters")
    return text


@cache
def environment() -> ImmutableSandboxedEnvironment:
    """The one sandboxed, budgeted environment every template compiles in."""
    env = _Environment(
        undefined=_Undefined,
        autoescape=False,
        loader=None,  # no include / import / extends: there is nothing to load
        keep_trailing_newline=True,
        optimized=False,  # no constant folding: `'a' * 10**9` is never built at load
    )
    # Only pure helpers remain; cycler, joiner, lipsum and namespace go.
    env.globals = {"range": _range, "dict": dict}
    env.filters = {**env.filters, "format": _format, "center": _center, "indent": _indent}
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


def plain(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON data: a range or tuple becomes a list; anything else (a method, a
    generator, a macro) is refused."""
    if isinstance(value, _PLAIN):
        return str(value) if isinstance(value, str) and type(value) is not str else value
    if depth > 100:
        raise BudgetExceeded("a value nested more than 100 levels deep")
    if isinstance(value, Mapping):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | range):
        return [plain(v, depth + 1) for v in value]
    raise BudgetExceeded(f"the value is a {type(value).__name__}, not data (JSON)")
