"""OpenAPI schemas -> :class:`Param` trees: ``$ref`` resolved, ``allOf`` merged, variants kept.

:class:`Schemas` reads the schemas of one document (a JSON Schema dialect: 3.0's, or 3.1's
JSON Schema 2020-12). Every shape the specification allows gives a result; a schema of the
wrong shape is an :class:`OpenAPIError` naming where it is, never another exception.
Guarantees:

- **References** are resolved inside the document only (an external ``$ref`` is an error, and
  so is a cycle of bare references). A schema that contains itself, like a session's breakout
  rooms, is cut at the repeat into a plain object (with its description), so recursion ends.
  Nesting past 32 levels (properties, items, variants, map values) is an error.
- **Flattening** inlines every ``$ref``, merges every ``allOf`` (properties and ``required``
  together) and flattens every variant, item and map value. Each ``$ref`` is flattened once
  per document: the flattened component is reused wherever it is met again, unless a schema
  being inlined above it is part of it (where the cut depends on the context), so a large
  document costs about its size. A flattened schema is shared: read it, never change it.
- **A parameter tree** (:func:`param_from_flat`): ``oneOf`` and ``anyOf`` give the
  parameter's ``one_of``/``any_of`` variants, each a :class:`Param` named :data:`ONE_OF` or
  :data:`ANY_OF`; its type is the schema's own, else the variants' common type, else ``any``
  (a lone variant beside ``null`` is that variant, nullable). A 3.1 type list of several
  types is ``any`` with one ``any_of`` variant per type; ``const`` is a one-value ``enum``;
  ``discriminator.propertyName`` is kept. ``additionalProperties`` with a schema gives
  ``additional`` (a :class:`Param` named :data:`MAP_VALUES`), ``true`` (or ``{}``)
  ``additional=True``. An object with no properties that says nothing of others is left as
  manifests have always had it, ``additional`` unset: with no fields known, any is accepted
  (so the shipped manifests, built before ``additional`` existed, read the same). A schema
  with no type and nothing else is ``any``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import OpenAPIError, Problem
from .model import Param, ParamType

__all__ = ["ANY_OF", "MAP_VALUES", "ONE_OF", "SPEC_HINT", "Schemas", "param_from_flat"]

#: The hint of every error about a document of the wrong shape.
SPEC_HINT = "check the document against the OpenAPI 3 specification"

#: Deepest nesting of a schema (properties, items, variants) that is read.
_MAX_DEPTH = 32
#: What a schema nested deeper than :data:`_MAX_DEPTH` becomes: any value, said so. A
#: real document's response can nest that deep through its variants (Stripe's expandable
#: objects inside ``anyOf`` inside ``anyOf``...); cutting it keeps the operation usable, and
#: what is cut is only not checked, never refused.
_TOO_DEEP: dict[str, Any] = {"description": "nested deeper than 32 levels: not checked"}
#: The names of a schema's parts below a parameter (an array's item is ``[]``).
ONE_OF = "[oneOf]"
ANY_OF = "[anyOf]"
MAP_VALUES = "*"
_TYPES = frozenset(t.value for t in ParamType) - {ParamType.ANY.value}
#: Keys of a schema that a variant made from a 3.1 type list does not repeat.
_NOT_INHERITED = frozenset(
    {"type", "description", "title", "default", "nullable", "oneOf", "anyOf", "discriminator"}
)


@dataclass
class _Reach:
    """What flattening one schema met: every reference (followed, cut or reused) and the
    deepest level it went to. A flattened component is reusable in a context that holds none
    of its references."""

    refs: set[str] = field(default_factory=set)
    deepest: int = 0


class Schemas:
    """The schemas of one document: resolved, flattened (each ``$ref`` once), read as
    :class:`Param` trees."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self._flat: dict[str, tuple[dict[str, Any], frozenset[str], int]] = {}

    def resolve(self, node: Any, where: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
        """Follow ``$ref`` until a plain object."""
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen:
                raise OpenAPIError(
                    Problem(where, f"$ref cycle through {ref}", "such schemas are not supported")
                )
            seen = (*seen, ref)
            node = self._pointer(ref, where)
        if isinstance(node, bool):  # 3.1: `true` is any value, `false` none
            return {} if node else {"not": {}}
        if not isinstance(node, dict):
            raise OpenAPIError(Problem(where, "expected an object"))
        return node

    def _pointer(self, ref: str, where: str) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise OpenAPIError(Problem(where, f"external $ref {ref!r} is not supported"))
        node: Any = self.data
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                raise OpenAPIError(Problem(where, f"$ref {ref!r} does not resolve"))
            node = node[part]
        return node

    def flatten(
        self, schema: Any, where: str, depth: int = 0, inside: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """A schema with every ``$ref`` inlined, every ``allOf`` merged, every variant,
        item and map value flattened.

        ``inside`` holds the references being inlined above this node: a schema met again
        inside itself becomes a plain object (with its description), so recursion ends. The
        result shares the flattened components with other results: read it, never change it.
        """
        return self._flatten(schema, where, depth, inside, _Reach())

    def _flatten(
        self, schema: Any, where: str, depth: int, inside: tuple[str, ...], reach: _Reach
    ) -> dict[str, Any]:
        if depth > _MAX_DEPTH:
            return dict(_TOO_DEEP)
        reach.deepest = max(reach.deepest, depth)
        ref = schema.get("$ref") if isinstance(schema, dict) else None
        if not isinstance(ref, str):
            return self._flatten_node(self.resolve(schema, where), where, depth, inside, reach)
        if ref in inside:
            reach.refs.add(ref)
            again = self.resolve(schema, where)
            cut: dict[str, Any] = {"type": "object"}
            if again.get("description"):
                cut["description"] = again["description"]
            return cut
        cached = self._flat.get(ref)
        if cached is not None and cached[1].isdisjoint(inside):
            flat, refs, height = cached
            if depth + height > _MAX_DEPTH:
                return dict(_TOO_DEEP)
            reach.refs |= refs
            reach.deepest = max(reach.deepest, depth + height)
            return flat
        mine = _Reach(deepest=depth)
        flat = self._flatten_node(self.resolve(schema, where), where, depth, (*inside, ref), mine)
        mine.refs.add(ref)
        reach.refs |= mine.refs
        reach.deepest = max(reach.deepest, mine.deepest)
        if mine.refs.isdisjoint(inside):  # the same in any context that holds none of them
            self._flat[ref] = (flat, frozenset(mine.refs), mine.deepest - depth)
        return flat

    def _flatten_node(
        self,
        schema: dict[str, Any],
        where: str,
        depth: int,
        inside: tuple[str, ...],
        reach: _Reach,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if not isinstance(schema.get("allOf", []), list):
            raise OpenAPIError(Problem(where, "`allOf` must be a list of schemas", SPEC_HINT))
        if not isinstance(schema.get("properties", {}), dict):
            raise OpenAPIError(Problem(where, "`properties` must be an object", SPEC_HINT))
        for key in ("oneOf", "anyOf"):
            if not isinstance(schema.get(key, []), list):
                raise OpenAPIError(Problem(where, f"`{key}` must be a list of schemas", SPEC_HINT))
        for part in schema.get("allOf", ()):
            sub = dict(self._flatten(part, where, depth + 1, inside, reach))
            props = {**out.get("properties", {}), **sub.pop("properties", {})}
            required = [*out.get("required", ()), *sub.pop("required", ())]
            out.update(sub)
            if props:
                out["properties"] = props
            if required:
                out["required"] = list(dict.fromkeys(required))
        for key, value in schema.items():
            if key in ("allOf", "x-rtk-source", "example"):
                continue
            if key == "properties":
                merged = {
                    name: self._flatten(sub, f"{where}.{name}", depth + 1, inside, reach)
                    for name, sub in value.items()
                }
                out["properties"] = {**out.get("properties", {}), **merged}
            elif key == "items":
                out["items"] = self._flatten(value, f"{where}[]", depth + 1, inside, reach)
            elif key in ("oneOf", "anyOf"):
                out[key] = [
                    self._flatten(sub, f"{where}<{key} {i}>", depth + 1, inside, reach)
                    for i, sub in enumerate(value)
                ]
            elif key == "additionalProperties" and isinstance(value, dict):
                out[key] = self._flatten(value, f"{where}.*", depth + 1, inside, reach)
            elif key == "required":
                out["required"] = list(dict.fromkeys([*out.get("required", ()), *value]))
            else:
                out[key] = value
        if isinstance(out.get("type"), list):
            _one_type(out)
        if "type" not in out and "properties" in out:
            out["type"] = "object"
        return out

    def param(self, name: str, schema: dict[str, Any], where: str) -> Param:
        """A parameter tree from a schema."""
        flat = self.flatten(schema, where)
        return param_from_flat(name, flat, where, required=False)


def param_from_flat(
    name: str,
    schema: dict[str, Any],
    where: str,
    *,
    required: bool,
    files: bool = False,
    parts: bool = False,
) -> Param:
    """A :class:`Param` from a flattened schema of any shape (``files``: a multipart part,
    where a 3.1 ``contentMediaType`` string is a file; ``parts``: its fields are those)."""
    raw = schema.get("type")
    nullable = bool(schema.get("nullable"))
    types: list[Any]
    if isinstance(raw, list):  # 3.1 style ["string", "null"]
        nullable = nullable or "null" in raw
        types = [t for t in dict.fromkeys(raw) if t != "null"]
    elif raw == "null":
        nullable, types = True, []
    else:
        types = [raw] if raw is not None else []
    if not types and "properties" in schema:
        types = ["object"]
    enum = (schema["const"],) if "const" in schema else _tuple(schema.get("enum"))
    if not types and enum:
        found = {_json_type(v) for v in enum if v is not None}
        types = [found.pop()] if len(found) == 1 else []
    outer = types[0] if len(types) == 1 else None
    one_of, null_one = _variants(schema.get("oneOf"), ONE_OF, where, outer, files)
    any_of, null_any = _variants(schema.get("anyOf"), ANY_OF, where, outer, files)
    nullable = nullable or null_one or null_any
    text = schema.get("description") or ""
    if not text and name in (ONE_OF, ANY_OF):
        text = schema.get("title") or ""
    description = " ".join(str(text).split())
    variants = (*one_of, *any_of)
    if len(variants) == 1 and not types and "discriminator" not in schema:
        only = variants[0]  # 3.1's anyOf: [X, {type: null}] is X, nullable
        return only.model_copy(
            update={
                "name": name,
                "required": required,
                "nullable": nullable or only.nullable,
                "description": description or only.description,
                "default": schema.get("default", only.default),
            }
        )
    if len(types) > 1:
        base = {k: v for k, v in schema.items() if k not in _NOT_INHERITED}
        split = tuple(
            param_from_flat(ANY_OF, {**base, "type": t}, where, required=False, files=files)
            for t in types
        )
        kind, any_of = ParamType.ANY, (*split, *any_of)
    elif types:
        kind = ParamType(types[0]) if types[0] in _TYPES else ParamType.ANY
    else:
        common = {v.type for v in variants}
        kind = common.pop() if len(common) == 1 else ParamType.ANY
    needed = set(schema.get("required", ()))
    children = tuple(
        param_from_flat(child, sub, f"{where}.{child}", required=child in needed, files=parts)
        for child, sub in (schema.get("properties") or {}).items()
    )
    items = schema.get("items")
    fmt = schema.get("format")
    if (
        files
        and kind is ParamType.STRING
        and (schema.get("contentMediaType") or schema.get("contentEncoding"))
    ):
        fmt = "binary"
    additional: Param | bool | None = None
    if kind is ParamType.OBJECT:
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            additional = param_from_flat(MAP_VALUES, extra, f"{where}.*", required=False)
        elif extra is True or extra == {}:
            additional = True
    said = schema.get("discriminator")
    discriminator = said.get("propertyName") if isinstance(said, dict) else None
    return Param(
        name=name,
        type=kind,
        required=required,
        description=description,
        default=schema.get("default"),
        enum=enum,
        minimum=schema.get("minimum"),
        maximum=schema.get("maximum"),
        format=fmt,
        nullable=nullable,
        items=param_from_flat("[]", items, f"{where}[]", required=False, files=files)
        if items
        else None,
        children=children,
        additional=additional,
        one_of=one_of,
        any_of=any_of,
        discriminator=discriminator if isinstance(discriminator, str) else None,
    )


def _variants(
    raw: Any, name: str, where: str, outer: str | None, files: bool
) -> tuple[tuple[Param, ...], bool]:
    """The variants of a ``oneOf``/``anyOf``, and whether one of them is ``null``; a variant
    with no type of its own takes the schema's."""
    if not isinstance(raw, list):
        return (), False
    out: list[Param] = []
    null = False
    for sub in raw:
        if sub.get("type") in ("null", ["null"]):
            null = True
            continue
        if outer and "type" not in sub and "properties" not in sub:
            sub = {**sub, "type": outer}
        out.append(param_from_flat(name, sub, f"{where}{name}", required=False, files=files))
    return tuple(out), null


def _one_type(schema: dict[str, Any]) -> None:
    """Put a 3.1 type list in the 3.0 form every reader of a flattened schema knows: ``[X,
    "null"]`` is ``X``, nullable; several types are an ``anyOf`` of one variant each (beside
    an ``anyOf`` of its own, that ``anyOf`` says what fits)."""
    listed = schema.pop("type")
    types = [t for t in dict.fromkeys(listed) if t != "null"]
    if "null" in listed:
        schema["nullable"] = True
    if len(types) == 1:
        schema["type"] = types[0]
    elif types and "anyOf" not in schema:
        base = {k: v for k, v in schema.items() if k not in _NOT_INHERITED}
        schema["anyOf"] = [{**base, "type": t} for t in types]
    elif not types:
        schema["type"] = "null"


def _tuple(enum: Any) -> tuple[Any, ...] | None:
    return None if enum is None else tuple(enum)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "string"
