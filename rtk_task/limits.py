"""The bounds on what any input may make rtk-task hold, and a JSON reader that keeps them.

No file, flag or answer can exhaust the machine: text past :data:`MAX_TEXT_BYTES`, nesting
past :data:`MAX_DEPTH` and (in YAML) alias expansion past :data:`MAX_NODES` are refused with
our error, never a ``RecursionError`` or a swap storm. :func:`nesting_path` measures depth
with an explicit stack, so measuring never recurses either; :func:`loads_json` maps every way
``json.loads`` can fail (syntax, a ``RecursionError`` on deep input, ``NaN`` when refused) to
the caller's error class with ``FILE:LINE:COL`` or the field path where it went wrong.
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
