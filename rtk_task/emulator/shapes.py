"""Answers shaped by the OpenAPI document: every JSON body the emulator sends fits its schema.

The handlers build answers from the store (what happened); :meth:`Shapes.conform` then fits
that value to the response schema the document declares for the operation and status: fields
the schema lists are kept (and fitted, recursively), a missing required field is filled with
the schema's default, first enum value or a neutral value of its type (a format-true string
for uuid, date-time and uri), a value of the wrong type is replaced the same way, and fields
the schema does not list are kept unless the schema forbids extra properties. Schemas are read
lazily, ``$ref`` by ``$ref``, so recursive schemas (breakout rooms in breakout rooms) cost only
as deep as the value is. Nothing here invents state: a filled value is a placeholder of the
declared type, never a fact the emulator pretends to know.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ..manifests.openapi import OpenAPIDocument

__all__ = ["Shapes"]

_PLACEHOLDER_TIME = "1970-01-01T00:00:00.000Z"
_MAX_FILL_DEPTH = 6  # filling required fields of required fields: schemas may recurse


class Shapes:
    """Response schemas of one document, and the fitting of values to them."""

    def __init__(self, doc: OpenAPIDocument) -> None:
        self.doc = doc
        self._responses: dict[tuple[str, int], dict[str, Any] | None] = {}
        for _method, _path, op in doc.operations():
            for status, response in (op.get("responses") or {}).items():
                if not str(status).isdigit():
                    continue
                holder = doc.resolve(response, op["operationId"])
                schema = doc.json_schema_of(holder, op["operationId"])
                self._responses[(op["operationId"], int(status))] = schema

    def declared(self, operation: str, status: int) -> bool:
        """Whether the document declares ``status`` for ``operation`` with a JSON schema."""
        return self._responses.get((operation, status)) is not None

    def answer(self, operation: str, status: int, body: Any) -> Any:
        """``body`` fitted to the schema declared for ``operation`` and ``status`` (if any)."""
        schema = self._responses.get((operation, status))
        return body if schema is None else self.conform(schema, body)

    # -- fitting ----------------------------------------------------------------------------

    def _merged(self, schema: Any) -> dict[str, Any]:
        """``schema`` with its ``$ref`` followed and its ``allOf`` merged one level deep."""
        node = self.doc.resolve(schema, "response")
        if "allOf" not in node:
            return node
        out: dict[str, Any] = {}
        props: dict[str, Any] = {}
        required: list[str] = []
        for part in [*node["allOf"], {k: v for k, v in node.items() if k != "allOf"}]:
            sub = self._merged(part)
            props.update(sub.get("properties") or {})
            required.extend(sub.get("required") or ())
            out.update({k: v for k, v in sub.items() if k not in ("properties", "required")})
        if props:
            out["properties"] = props
            out.setdefault("type", "object")
        if required:
            out["required"] = list(dict.fromkeys(required))
        return out

    def conform(self, schema: Any, value: Any, depth: int = 0) -> Any:
        """``value`` fitted to ``schema`` (see the module docstring)."""
        s = self._merged(schema)
        branches = s.get("oneOf") or s.get("anyOf")
        if branches:
            for branch in branches:
                if self.fits(branch, value):
                    return self.conform(branch, value, depth)
            return self.conform(branches[0], value, depth)
        if value is None:
            return None if s.get("nullable") or not s.get("type") else self.sample(s, depth)
        kind = s.get("type") or ("object" if "properties" in s else None)
        if "enum" in s:
            return value if value in s["enum"] else s["enum"][0]
        if kind == "object":
            if not isinstance(value, dict):
                return self.sample(s, depth)
            props = s.get("properties") or {}
            extra_ok = s.get("additionalProperties", True) is not False
            extra = s.get("additionalProperties")
            out: dict[str, Any] = {}
            for key, item in value.items():
                if key in props:
                    out[key] = self.conform(props[key], item, depth + 1)
                elif isinstance(extra, dict):
                    out[key] = self.conform(extra, item, depth + 1)
                elif extra_ok:
                    out[key] = item
            for key in s.get("required") or ():
                if key not in out:
                    out[key] = self.sample(props.get(key, {}), depth + 1)
            return out
        if kind == "array":
            if not isinstance(value, list):
                return []
            items = s.get("items")
            return [self.conform(items, v, depth + 1) for v in value] if items else value
        if kind in ("integer", "number"):
            return self._number(s, kind, value)
        if kind == "boolean":
            return value if isinstance(value, bool) else self.sample(s, depth)
        if kind == "string":
            return value if isinstance(value, str) and _string_ok(s, value) else self.sample(s)
        return value

    def _number(self, s: dict[str, Any], kind: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            try:
                value = float(value)
            except (TypeError, ValueError):
                return self.sample(s)
        if kind == "integer":
            value = int(value)
        if "minimum" in s and value < s["minimum"]:
            value = s["minimum"]
        if "maximum" in s and value > s["maximum"]:
            value = s["maximum"]
        return value

    def sample(self, schema: Any, depth: int = 0) -> Any:
        """A neutral value of ``schema``: its default, first enum value, or an empty value."""
        s = self._merged(schema)
        if "default" in s:
            return s["default"]
        if "enum" in s:
            return s["enum"][0]
        branches = s.get("oneOf") or s.get("anyOf")
        if branches:
            return self.sample(branches[0], depth)
        kind = s.get("type") or ("object" if "properties" in s else None)
        if s.get("nullable") and kind != "object":
            return None
        if kind == "object":
            if depth > _MAX_FILL_DEPTH:
                return {}
            props = s.get("properties") or {}
            return {k: self.sample(props.get(k, {}), depth + 1) for k in s.get("required") or ()}
        if kind == "array":
            return []
        if kind in ("integer", "number"):
            return s.get("minimum", 0)
        if kind == "boolean":
            return False
        if kind == "string":
            return _sample_string(s)
        return None

    def fits(self, schema: Any, value: Any) -> bool:
        """Whether ``value`` already matches ``schema``'s type, enum and object keys (shallow)."""
        s = self._merged(schema)
        if value is None:
            return bool(s.get("nullable"))
        if "enum" in s:
            return value in s["enum"]
        kind = s.get("type") or ("object" if "properties" in s else None)
        if kind == "object":
            return isinstance(value, dict) and all(k in value for k in s.get("required") or ())
        if kind == "array":
            return isinstance(value, list)
        if kind == "string":
            return isinstance(value, str) and _string_ok(s, value)
        if kind in ("integer", "number"):
            return isinstance(value, int | float) and not isinstance(value, bool)
        if kind == "boolean":
            return isinstance(value, bool)
        return True


def _string_ok(s: dict[str, Any], value: str) -> bool:
    if "maxLength" in s and len(value) > s["maxLength"]:
        return False
    if "minLength" in s and len(value) < s["minLength"]:
        return False
    if "pattern" in s and not re.search(s["pattern"], value):
        return False
    fmt = s.get("format")
    try:
        if fmt == "uuid":
            uuid.UUID(value)
        elif fmt == "date-time":
            return "T" in value and datetime.fromisoformat(value.replace("Z", "+00:00")) is not None
        elif fmt in ("uri", "url"):
            parts = urlsplit(value)
            return bool(parts.scheme and parts.netloc)
        elif fmt == "email":
            return "@" in value
    except ValueError:
        return False
    return True


def _sample_string(s: dict[str, Any]) -> str:
    fmt = s.get("format")
    if fmt == "uuid":
        return "00000000-0000-0000-0000-000000000000"
    if fmt == "date-time":
        return _PLACEHOLDER_TIME
    if fmt == "date":
        return _PLACEHOLDER_TIME[:10]
    if fmt in ("uri", "url"):
        return "http://127.0.0.1/"
    if fmt == "email":
        return "nobody@example.com"
    if "pattern" in s or "minLength" in s:
        return "0" * max(int(s.get("minLength", 0)), 1)
    return ""
