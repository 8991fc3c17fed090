"""Reading a workflow's YAML within bounds: no file can make loading exhaust the machine.

A few hundred bytes of nested aliases (the "billion laughs") expand to billions of nodes
once anything walks the loaded data; a few thousand ``[`` recurse past Python's stack. Before
ruamel.yaml composes anything, :func:`load_yaml` walks the document's *events* (a flat
stream: walking it never recurses) and refuses, with ``FILE:LINE`` and a hint:

- text larger than :data:`~rtk_task.limits.MAX_TEXT_BYTES`;
- nesting deeper than :data:`~rtk_task.limits.MAX_DEPTH`;
- a document that would expand to more than :data:`~rtk_task.limits.MAX_NODES` nodes once
  its aliases are followed (each anchor's expanded size is counted once, so the check is
  linear in the text).

YAML syntax errors are left to the caller, which already maps them with their lines.
"""

from __future__ import annotations

from typing import Any

from ..errors import Problem, WorkflowError
from ..limits import MAX_DEPTH, MAX_NODES, MAX_TEXT_BYTES

__all__ = ["check_yaml_bounds", "load_yaml"]


def load_yaml(text: str, file: str, typ: str = "safe") -> Any:
    """``YAML(typ=typ, pure=True).load(text)``, after :func:`check_yaml_bounds`."""
    from ruamel.yaml import YAML

    check_yaml_bounds(text, file)
    # pure: ruamel's C loader (if installed) would resolve scalars the YAML 1.1 way
    return YAML(typ=typ, pure=True).load(text)


def check_yaml_bounds(text: str, file: str) -> None:
    """Raise :class:`WorkflowError` if ``text`` is too large, too deep or expands too far."""
    from ruamel.yaml import YAML
    from ruamel.yaml.events import (
        AliasEvent,
        CollectionEndEvent,
        CollectionStartEvent,
        NodeEvent,
    )

    if len(text) > MAX_TEXT_BYTES:
        raise WorkflowError(
            Problem(
                f"{file}:1",
                f"too large: {len(text):,} characters (the limit is {MAX_TEXT_BYTES:,})",
                "a workflow file is a few kilobytes; split it into several workflows",
            )
        )
    anchors: dict[str, int] = {}
    # one frame per open collection: [expanded size so far, its anchor]
    stack: list[list[Any]] = [[0, None]]
    total = 0  # the sum of the sizes on the stack, kept as it grows
    for event in YAML(typ="safe", pure=True).parse(text):
        if isinstance(event, AliasEvent):
            size = anchors.get(event.anchor, 1)  # an unknown anchor: the composer reports it
            stack[-1][0] += size
            total += size
        elif isinstance(event, CollectionStartEvent):
            if len(stack) > MAX_DEPTH:
                raise WorkflowError(
                    Problem(
                        _where(file, event),
                        f"nested deeper than {MAX_DEPTH} levels",
                        "flatten the structure; no workflow needs this much nesting",
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
        if total > MAX_NODES:
            raise WorkflowError(
                Problem(
                    _where(file, event),
                    f"expands to more than {MAX_NODES:,} values once its aliases are followed",
                    "use fewer nested aliases (&name / *name); write the values out instead",
                )
            )


def _where(file: str, event: Any) -> str:
    mark = getattr(event, "start_mark", None)
    return f"{file}:{mark.line + 1}" if mark is not None else file
