"""Reading a workflow's YAML within bounds: no file can make loading exhaust the machine.

A few hundred bytes of nested aliases (the "billion laughs") expand to billions of nodes
once anything walks the loaded data; a few thousand ``[`` recurse past Python's stack. Before
ruamel.yaml composes anything, :func:`load_yaml` has :func:`rtk_task.limits.check_yaml` walk
the document's events and refuse, as a :class:`WorkflowError` with ``FILE:LINE`` and a hint,
text larger than :data:`~rtk_task.limits.MAX_TEXT_BYTES`, nesting deeper than
:data:`~rtk_task.limits.MAX_DEPTH`, and a document that expands to more than
:data:`~rtk_task.limits.MAX_NODES` nodes once its aliases are followed. YAML syntax errors are
left to the caller, which already maps them with their lines.
"""

from __future__ import annotations

from typing import Any

from ..errors import WorkflowError
from ..limits import check_yaml

__all__ = ["check_yaml_bounds", "load_yaml"]


def load_yaml(text: str, file: str, typ: str = "safe") -> Any:
    """``YAML(typ=typ, pure=True).load(text)``, after :func:`check_yaml_bounds`."""
    from ruamel.yaml import YAML

    check_yaml_bounds(text, file)
    # pure: ruamel's C loader (if installed) would resolve scalars the YAML 1.1 way
    return YAML(typ=typ, pure=True).load(text)


def check_yaml_bounds(text: str, file: str) -> None:
    """Raise :class:`WorkflowError` if ``text`` is too large, too deep or expands too far."""
    check_yaml(text, file, WorkflowError)
