"""Imported text as template text: literal parts stay literal; JSON read within bounds.

Every string of a workflow step is a Jinja template, so text an importer carries over (an
n8n parameter that is not an expression, a cURL body, a Conductor string) must render as
itself: :func:`literal` writes each ``{{``, ``{%`` and ``{#`` of it as ``{{ '{{' }}`` (an
expression whose value is that text), and :func:`join` puts literal parts and the templates
an importer translated together (a ``{`` just before a template is written the same way).
:func:`unescape` reads back the text of a string that holds nothing else. In a URL, a
literal brace is percent-encoded instead (a path segment may hold only a whole template):
:func:`split_url` splits a URL whose templates stand for translated references into the URL
without its query and the query's values (literal parts decoded, then written as literals;
a name given more than once keeps every value, as a list).

:func:`read_json` reads an import's JSON source within the bounds of :mod:`rtk_task.limits`:
text longer than :data:`~rtk_task.limits.MAX_TEXT_BYTES` or nested deeper than
:data:`~rtk_task.limits.MAX_DEPTH` is refused with ``FILE:LINE`` and a hint before
``json.loads`` sees it (so deep input never reaches a ``RecursionError``), and a syntax
error names ``FILE:LINE:COL``.
"""

from __future__ import annotations

import json
import re
from array import array
from collections.abc import Callable
from itertools import accumulate
from typing import Any
from urllib.parse import unquote_plus

from ...errors import Problem, RtkError
from ...limits import MAX_DEPTH, MAX_TEXT_BYTES

__all__ = [
    "TEMPLATE",
    "has_template",
    "join",
    "literal",
    "literal_deep",
    "literal_url",
    "read_json",
    "split_url",
    "unescape",
    "unescape_deep",
]

_MARKER = re.compile(r"\{[{%#]")
#: One template (what :func:`join` writes between literal parts).
TEMPLATE = re.compile(r"\{\{.*?\}\}", re.S)
#: What :func:`literal` writes for a marker: ``{{ '{{' }}``, ``{{ '{%' }}``, ``{{ '{#' }}``
_ESCAPE = re.compile(r"\{\{ '(\{[{%#]?)' \}\}")
_HOLE = re.compile(r"\x00(\d+)\x00")


def literal(text: str) -> str:
    """``text`` as a template that renders exactly ``text``."""
    if "{" not in text:
        return text
    return _MARKER.sub(lambda m: "{{ '" + m.group(0) + "' }}", text)


def literal_url(text: str) -> str:
    """A literal part of a URL: its braces percent-encoded (they are never a template)."""
    return text.replace("{", "%7B").replace("}", "%7D")


def join(parts: list[tuple[str, bool]]) -> str:
    """``(text, is_template)`` parts as one template: literal ones through :func:`literal`."""
    out: list[str] = []
    for i, (text, template) in enumerate(parts):
        if template:
            out.append(text)
            continue
        text = literal(text)
        if text.endswith("{") and i + 1 < len(parts):
            text = text[:-1] + "{{ '{' }}"  # a `{` before a template would open another
        out.append(text)
    return "".join(out)


def literal_deep(value: Any) -> Any:
    """Every string in ``value`` (a JSON value) through :func:`literal`; keys stay."""
    if isinstance(value, str):
        return literal(value)
    if isinstance(value, dict):
        return {k: literal_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [literal_deep(v) for v in value]
    return value


def unescape(text: str) -> str | None:
    """The text a template made of literal text (and :func:`literal` escapes) renders, or
    ``None`` when it holds a real template."""
    if not any(m in text for m in ("{{", "{%", "{#")):
        return text
    rest = _ESCAPE.sub(lambda m: m.group(1), text)
    plain = _ESCAPE.sub("", text)
    return None if any(m in plain for m in ("{{", "{%", "{#")) else rest


def has_template(value: Any) -> bool:
    """Whether ``value`` (a JSON value) holds a template other than literal escapes."""
    if isinstance(value, str):
        return unescape(value) is None
    if isinstance(value, dict):
        return any(has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(has_template(v) for v in value)
    return False


def unescape_deep(value: Any) -> Any:
    """``value`` with each string as :func:`unescape` reads it (``value`` has no template)."""
    if isinstance(value, str):
        got = unescape(value)
        return value if got is None else got
    if isinstance(value, dict):
        return {k: unescape_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unescape_deep(v) for v in value]
    return value


def _parts(text: str, holes: list[str]) -> list[tuple[str, bool]]:
    parts: list[tuple[str, bool]] = []
    at = 0
    for found in _HOLE.finditer(text):
        parts.append((text[at : found.start()], False))
        parts.append((holes[int(found.group(1))], True))
        at = found.end()
    parts.append((text[at:], False))
    return parts


def split_url(url: str) -> tuple[str, dict[str, Any]]:
    """``url`` (literal braces percent-encoded, templates whole) as the URL without its query
    or fragment, and its query: each name and literal part decoded, then made a literal (a
    name given more than once has the list of its values, in order)."""
    holes: list[str] = []

    def hide(found: re.Match[str]) -> str:
        holes.append(found.group(0))
        return f"\x00{len(holes) - 1}\x00"

    hidden = TEMPLATE.sub(hide, url.replace("\x00", "%00")).partition("#")[0]
    base, _, query_text = hidden.partition("?")
    query: dict[str, Any] = {}
    for pair in filter(None, query_text.split("&")):
        key, _, value = pair.partition("=")
        name = "".join(t for t, _ in _parts(unquote_plus(key), holes))
        text = join(_parts(unquote_plus(value), holes))
        before = query.get(name)
        if before is None:
            query[name] = text
        else:
            query[name] = [*(before if isinstance(before, list) else [before]), text]
    return "".join(t for t, _ in _parts(base, holes)), query


# -- bounded JSON ----------------------------------------------------------------------------

_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.S)
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_BRACKET_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def _too_deep_at(text: str, limit: int) -> int | None:
    """Where ``text`` (JSON) first nests deeper than ``limit``, or ``None``; linear, no
    recursion, at about the speed of ``json.loads``. Text inside strings does not count."""
    if text.count("[") + text.count("{") <= limit:
        return None
    # with escaped backslashes and quotes gone, every `"` opens or closes a string
    unescaped = text.replace("\\\\", "").replace('\\"', "")
    outside = "".join(unescaped.split('"')[0::2]).encode("utf-8", "replace")
    steps = outside.translate(None, _NOT_BRACKETS).translate(_BRACKET_STEPS)
    depth = max(accumulate(array("b", steps)), default=0)  # signed: +1 and -1
    if depth <= limit:
        return None
    depth = 0
    for found in _TOKEN.finditer(text):  # only on refusal: find where, for the message
        depth += _STEP.get(found.group(0), 0)
        if depth > limit:
            return found.start()
    return None


def _line_col(text: str, at: int) -> str:
    line = text.count("\n", 0, at) + 1
    return f"{line}:{at - (text.rfind(chr(10), 0, at) + 1) + 1}"


def read_json(
    text: str,
    where: str,
    error: Callable[[Problem], RtkError],
    hint: str = "strings need double quotes; no trailing commas",
    *,
    strict: bool = True,
) -> Any:
    """``json.loads(text)`` within the bounds, or ``error(Problem)`` raised (``where`` names
    the file or field: ``where:LINE:COL`` when the place is known); ``strict=False`` lets
    strings hold control characters."""
    size = len(text)
    if size <= MAX_TEXT_BYTES and not text.isascii():
        size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_TEXT_BYTES:
        raise error(
            Problem(
                where,
                f"too large: {size:,} bytes (the limit is {MAX_TEXT_BYTES:,})",
                "import a smaller file: split the workflow, or remove pinned data",
            )
        )
    at = _too_deep_at(text, MAX_DEPTH)
    if at is not None:
        raise error(
            Problem(
                f"{where}:{_line_col(text, at)}",
                f"nested deeper than {MAX_DEPTH} levels",
                "flatten the structure; no workflow needs this much nesting",
            )
        )
    try:
        return json.loads(text, strict=strict)
    except json.JSONDecodeError as exc:
        where = f"{where}:{exc.lineno}:{exc.colno}"
        raise error(Problem(where, f"not JSON: {exc.msg}", hint)) from None
    except RecursionError:  # cannot happen within MAX_DEPTH; never a traceback all the same
        raise error(
            Problem(where, f"nested deeper than {MAX_DEPTH} levels", "flatten the structure")
        ) from None
    except ValueError as exc:
        raise error(Problem(where, f"not JSON: {exc}", hint)) from None
