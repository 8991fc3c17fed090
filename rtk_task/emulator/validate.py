"""Request validation driven by the OpenAPI document's schemas, compiled once.

The emulator answers as the real API would: types (a JSON boolean is not a number), enums,
ranges, lengths, patterns, ``required`` inside objects, ``nullable``, the formats the
document uses (uuid, uri, date-time with its zone, int32/int64). Properties the schema does
not list are allowed: the schema does not forbid them.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ..manifests.openapi import OpenAPIDocument
from ..manifests.registry import sources_dir

__all__ = ["Schemas", "check", "load_schemas", "strip"]

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}


class Schemas:
    """The request body schema of each operation that takes one, flattened."""

    def __init__(self, bodies: dict[str, dict[str, Any]]) -> None:
        self.bodies = bodies

    def write_only(self) -> list[tuple[str, ...]]:
        """Paths of fields clients may send but never read back (``writeOnly``)."""
        found: set[tuple[str, ...]] = set()
        for schema in self.bodies.values():
            found.update(_write_only(schema, ()))
        return sorted(found)

    def body_errors(self, operation: str, body: Any) -> list[str]:
        """Problems with a request body, each naming its field path."""
        schema = self.bodies.get(operation)
        return check(schema, body, "") if schema else []


def load_schemas(doc: OpenAPIDocument | None = None) -> Schemas:
    """The request body schemas of ``doc`` (default: the shipped document)."""
    doc = doc or OpenAPIDocument.load(sources_dir() / "realtimekit.openapi.json")
    bodies: dict[str, dict[str, Any]] = {}
    for method, path, op in doc.operations():
        if "requestBody" in op:
            where = f"{method} {path}"
            holder = doc.resolve(op["requestBody"], where)
            schema = doc.json_schema_of(holder, where)
            if schema is not None:
                bodies[op["operationId"]] = doc.flatten(schema, where)
    return Schemas(bodies)


def _write_only(schema: dict[str, Any], at: tuple[str, ...]) -> list[tuple[str, ...]]:
    if schema.get("writeOnly"):
        return [at]
    return [
        p
        for key, sub in (schema.get("properties") or {}).items()
        for p in _write_only(sub, (*at, key))
    ]


def strip(value: dict[str, Any], paths: list[tuple[str, ...]]) -> dict[str, Any]:
    """A copy of ``value`` without the fields at ``paths``."""
    out = dict(value)
    for path in paths:
        node: Any = out
        for key in path[:-1]:
            if not isinstance(node, dict) or not isinstance(node.get(key), dict):
                break
            node[key] = dict(node[key])  # copy on the way down: the store keeps its own
            node = node[key]
        else:
            if isinstance(node, dict):
                node.pop(path[-1], None)
    return out


def check(schema: dict[str, Any], value: Any, path: str) -> list[str]:
    """Every way ``value`` breaks ``schema``, as ``path: message``."""
    name = path or "body"
    if value is None:
        return [] if schema.get("nullable") else [f"{name} must not be null"]
    kind = schema.get("type")
    if kind in _TYPES and (
        not isinstance(value, _TYPES[kind])
        or (isinstance(value, bool) and kind in ("integer", "number"))
    ):
        return [f"{name} must be {'an' if kind[0] in 'aeiou' else 'a'} {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        options = ", ".join(map(str, schema["enum"]))
        return [f"{name} must be one of {options}"]
    errors: list[str] = []
    if kind in ("integer", "number"):
        bits = {"int32": 31, "int64": 63}.get(str(schema.get("format")))
        if bits and not -(2**bits) <= value < 2**bits:
            errors.append(f"{name} must fit in {schema['format']}")
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{name} must be >= {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{name} must be <= {schema['maximum']}")
    elif kind == "string":
        if not _format_ok(schema.get("format"), value):
            errors.append(f"{name} must be a valid {schema['format']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{name} must match {schema['pattern']}")
        if len(value) > schema.get("maxLength", len(value)):
            errors.append(f"{name} must be at most {schema['maxLength']} characters")
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{name} must be at least {schema['minLength']} characters")
    elif kind == "object":
        for needed in schema.get("required", ()):
            if needed not in value:
                errors.append(f"{path + '.' if path else ''}{needed} is required")
        for key, sub in (schema.get("properties") or {}).items():
            if key in value:
                errors.extend(check(sub, value[key], f"{path}.{key}" if path else key))
    elif kind == "array" and "items" in schema:
        for i, item in enumerate(value):
            errors.extend(check(schema["items"], item, f"{name}[{i}]"))
    return errors


def _format_ok(fmt: str | None, value: str) -> bool:
    try:
        if fmt == "uuid":
            uuid.UUID(value)
        elif fmt == "uri":
            parts = urlsplit(value)
            return bool(parts.scheme and (parts.netloc or parts.path))
        elif fmt == "date-time":  # RFC 3339: the offset is required
            return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False
    return True
