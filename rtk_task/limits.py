"""The bounds on what any input may make rtk-task hold, and a JSON reader that keeps them.

No file, flag or answer can exhaust the machine: text past :data:`MAX_TEXT_BYTES`, nesting
past :data:`MAX_DEPTH` and (in YAML) alias expansion past :data:`MAX_NODES` are refused with
our error, never a ``RecursionError`` or a swap storm. :func:`nesting_path` measures depth
with an explicit stack, so measuring never recurses either; :func:`loads_json` maps every way
``json.loads`` can fail (syntax, a ``RecursionError`` on deep input, ``NaN`` when refused) to
the caller's error class with ``FILE:LINE:COL`` or the field path where it went wrong.
:func:`check_yaml` walks a YAML document's events (a flat stream: it never recurses) before
anything composes it, and refuses size, depth and alias expansion past the bounds with
``FILE:LINE``: a 500-byte "billion laughs" is refused after reading 500 bytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from .errors import Problem, RtkError

__all__ = [
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_TEXT_BYTES",
    "check_yaml",
    "is_finite",
    "loads_json",
    "nesting_path",
    "refuse_constant",
    "too_deep",
]

#: Deepest nesting of lists and mappings any input may have (a workflow, a manifest, a body).
MAX_DEPTH = 100
#: Most nodes a YAML document may expand to once its aliases are followed.
MAX_NODES = 200_000
#: Largest text read as a workflow, manifest, record or input file (16 MiB).
MAX_TEXT_BYTES = 16 * 1024 * 1024


def nesting_path(value: Any, limit: int = MAX_DEPTH) -> tuple[Any, ...] | None:
    """The path to the first container nested deeper than ``limit``, or ``None``.

    Iterative and linear in the number of containers; a container met twice (shared by
    reference) is measured once, so even a shared-reference bomb is measured cheaply.
    """
    seen: set[int] = set()
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if not isinstance(node, dict | list | tuple) or id(node) in seen:
            continue
        if len(path) >= limit:
            return path
        seen.add(id(node))
        items = node.items() if isinstance(node, dict) else enumerate(node)
        stack.extend((child, (*path, key)) for key, child in items)
    return None


def is_finite(value: Any) -> bool:
    """Whether no number anywhere in a JSON value is NaN or infinite (walked, not recursed)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return False
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return True


def refuse_constant(name: str) -> Any:
    """``parse_constant`` for :func:`json.loads`: ``NaN``/``Infinity`` are not JSON."""
    raise ValueError(f"{name} is not a JSON number")


def loads_json(
    text: str | bytes,
    where: str,
    error: Callable[[Problem], RtkError],
    *,
    allow_nan: bool = False,
    hint: str = "strings need double quotes; no trailing commas",
) -> Any:
    """``json.loads(text)`` within the bounds, or ``error(Problem)`` raised; ``where`` names it.

    ``NaN`` and ``Infinity`` are refused unless ``allow_nan``: they cannot be written back as
    JSON that another reader accepts.
    """
    if len(text) > MAX_TEXT_BYTES:
        raise error(
            Problem(
                where,
                f"too large: {len(text):,} bytes (the limit is {MAX_TEXT_BYTES:,})",
                "split it, or pass a smaller file",
            )
        )
    try:
        value = json.loads(text, parse_constant=None if allow_nan else refuse_constant)
    except json.JSONDecodeError as exc:
        raise error(
            Problem(f"{where}:{exc.lineno}:{exc.colno}", f"not JSON: {exc.msg}", hint)
        ) from None
    except RecursionError:
        value = None
        path: tuple[Any, ...] | None = ("...",)
    except ValueError as exc:  # refuse_constant, or bytes that are not UTF-8
        raise error(Problem(where, f"not JSON: {exc}", "write numbers as digits")) from None
    else:
        path = nesting_path(value)
    if path is not None:
        raise error(too_deep(where, path))
    return value


def too_deep(where: str, path: tuple[Any, ...]) -> Problem:
    """The problem of a value nested past :data:`MAX_DEPTH`."""
    at = ".".join(str(p) for p in path[:8]) + (".…" if len(path) > 8 else "")
    return Problem(
        where,
        f"nested deeper than {MAX_DEPTH} levels (at {at})",
        "flatten the structure; no input needs this much nesting",
    )


def check_yaml(text: str, file: str, error: Callable[[Problem], RtkError]) -> None:
    """Raise ``error(Problem)`` if YAML ``text`` is too large, too deep or expands too far.

    Each anchor's expanded size is counted once, when its node ends, so the check is linear
    in the text. YAML syntax errors are left to the loader, which reports them with lines.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent

    if len(text) > MAX_TEXT_BYTES:
        raise error(
            Problem(
                f"{file}:1",
                f"too large: {len(text):,} characters (the limit is {MAX_TEXT_BYTES:,})",
                "split it into several files",
            )
        )
    if _surely_within(text):
        return
    # a bomb is small text that expands to many values: a file may hold as many values as
    # its own text can write out (one in 8 characters), and never fewer than MAX_NODES
    limit = max(MAX_NODES, len(text) // 8)
    anchors: dict[str, int] = {}
    # one frame per open collection: [expanded size so far, its anchor]
    stack: list[list[Any]] = [[0, None]]
    total = 0  # the sum of the sizes on the stack, kept as it grows
    for event in YAML(typ="safe", pure=True).parse(text):
        if isinstance(event, AliasEvent):
            size = anchors.get(event.anchor, 1)  # an unknown anchor: the loader reports it
            stack[-1][0] += size
            total += size
        elif isinstance(event, CollectionStartEvent):
            if len(stack) > MAX_DEPTH:
                raise error(
                    Problem(
                        _line(file, event),
                        f"nested deeper than {MAX_DEPTH} levels",
                        "flatten the structure; no input needs this much nesting",
                    )
                )
            stack.append([1, event.anchor])
            total += 1
        elif isinstance(event, CollectionEndEvent):
            size, anchor = stack.pop()
            if anchor is not None:
                anchors[anchor] = size
            stack[-1][0] += size
            continue
        elif isinstance(event, NodeEvent):  # a scalar
            stack[-1][0] += 1
            total += 1
            if event.anchor is not None:
                anchors[event.anchor] = 1
        else:
            continue
        if total > limit:
            raise error(
                Problem(
                    _line(file, event),
                    f"expands to more than {limit:,} values once its aliases are followed",
                    "use fewer nested aliases (&name / *name); write the values out instead",
                )
            )


def _line(file: str, event: Any) -> str:
    mark = getattr(event, "start_mark", None)
    return f"{file}:{mark.line + 1}" if mark is not None else file


def _surely_within(text: str) -> bool:
    """Whether ``text`` cannot pass the YAML bounds, known without parsing it (the event walk
    costs as much as the load itself, and every workflow file is loaded on every command).

    Conservative: no ``*`` (so no alias, and no expansion past the text itself), no more
    characters than :data:`MAX_NODES` (a node takes at least one), and an upper bound of the
    nesting under :data:`MAX_DEPTH`: every flow collection opens with ``[`` or ``{``, and every
    block level takes more indentation or one more ``-``, ``?`` or ``:`` indicator on its line.
    """
    if "*" in text or len(text) > MAX_NODES:
        return False
    flow = text.count("[") + text.count("{")
    if flow > MAX_DEPTH:
        return False
    indent = indicators = 0
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        indent = max(indent, len(line) - len(stripped))
        indicators = max(indicators, line.count("- ") + line.count("? ") + line.count(": "))
    return flow + indent + indicators < MAX_DEPTH
