"""What every call of a manifest needs, worked out once per manifest object.

The input model, where each input goes, the path templates with their placeholders, and the
declared outputs' paths split into parts. A manifest is frozen, so this never goes stale;
the cache holds the manifest itself so that its ``id()`` is not reused while cached.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from threading import Lock
from typing import TYPE_CHECKING, Any

from .manifests.model import INPUT_LOCATIONS, PLACEHOLDER, Location, Manifest, Param
from .result import OutputTree

if TYPE_CHECKING:
    from pydantic import TypeAdapter

__all__ = ["Compiled", "compiled"]

_CACHE: OrderedDict[int, Compiled] = OrderedDict()
_SIZE = 256
_LOCK = Lock()


@dataclass(eq=False, slots=True)
class Compiled:
    """Per-manifest facts for the per-call path."""

    manifest: Manifest
    locations: dict[str, Location]
    #: The query and body parameters by name (their styles, which are files).
    params: dict[str, Param]
    #: Each path template split at its placeholders: ``(literal, name, literal, ...)``, and
    #: the names it needs.
    templates: tuple[tuple[tuple[str, ...], frozenset[str]], ...]
    outputs: tuple[tuple[str, tuple[str, ...]], ...]
    #: The outputs as a tree of path parts (one walk per body).
    output_tree: OutputTree
    #: Whether a successful answer must be JSON (a response schema or outputs are declared).
    promises_json: bool
    #: The validator of the step inputs, built on first use by :func:`rtk_task.inputs.input_model`.
    input_model: TypeAdapter[Any] | None = field(default=None)


def compiled(manifest: Manifest) -> Compiled:
    """The :class:`Compiled` facts of ``manifest``."""
    hit = _CACHE.get(id(manifest))
    if hit is not None and hit.manifest is manifest:
        return hit
    outputs = tuple((o.name, tuple(o.path.split(".")) if o.path else ()) for o in manifest.outputs)
    facts = Compiled(
        manifest=manifest,
        locations={
            p.name: loc for loc in reversed(INPUT_LOCATIONS) for p in manifest.parameters.at(loc)
        },
        params={
            p.name: p
            for loc in (Location.BODY, Location.QUERY)
            for p in manifest.parameters.at(loc)
        },
        templates=tuple(
            (tuple(PLACEHOLDER.split(t)), frozenset(PLACEHOLDER.findall(t)))
            for t in manifest.path_templates
        ),
        outputs=outputs,
        output_tree=_tree(outputs),
        promises_json=manifest.response_schema is not None or bool(manifest.outputs),
    )
    with _LOCK:
        _CACHE[id(manifest)] = facts
        while len(_CACHE) > _SIZE:
            _CACHE.popitem(last=False)
    return facts


def _tree(outputs: tuple[tuple[str, tuple[str, ...]], ...]) -> OutputTree:
    """``(("id", ("data", "id")),)`` -> ``((), {"data": ((), {"id": (("id",), {})})})``."""
    root: tuple[list[str], dict[str, Any]] = ([], {})
    for name, parts in outputs:
        node = root
        for part in parts:
            node = node[1].setdefault(part, ([], {}))
        node[0].append(name)
    return _frozen(root)


def _frozen(node: tuple[list[str], dict[str, Any]]) -> OutputTree:
    names, children = node
    return tuple(names), {part: _frozen(sub) for part, sub in children.items()}
