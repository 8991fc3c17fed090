"""Where a value is in a workflow file: its line in the YAML, and its field path as text.

A problem names ``FILE:LINE`` and the field path (``steps[2].with.x``, ``steps.s.with.x``);
these helpers find both from a ``loc`` tuple (``("steps", 2, "with", "x")``), and turn
ruamel's commented containers into plain data.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["dotted", "line_of", "path_of", "plain"]


def path_of(where: str, prefix: str) -> tuple[Any, ...]:
    """``steps.s.with.a.b[0]`` -> ``("a", "b", 0)``."""
    rest = where.removeprefix(prefix).lstrip(".")
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"\.|\[|\]", rest) if p)


def plain(node: Any) -> Any:
    """ruamel's commented containers -> plain dicts and lists."""
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, str) else k: plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node


def line_of(data: Any, loc: tuple[Any, ...]) -> int:
    """The 1-based line of the deepest node on ``loc`` that the YAML knows."""
    line = 1
    node = data
    for part in loc:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(node, dict) and part in node:
                line = lc.key(part)[0] + 1 if lc else line
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                line = lc.item(part)[0] + 1 if lc else line
                node = node[part]
            else:
                break
        except (KeyError, AttributeError, TypeError):
            break
    return line


def dotted(loc: tuple[Any, ...]) -> str:
    """``("steps", 2, "with", "x")`` -> ``steps[2].with.x``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "float", "Timeout"):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out
