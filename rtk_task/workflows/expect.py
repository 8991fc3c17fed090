"""``expect:`` on a step: what a good answer is, checked after the call.

::

    expect:
      status: 201                       # or a list: [200, 201]
      body:                             # a dotted path into the JSON body -> one condition
        data.title: {equals: "Weekly sync"}
        data.id: {exists: true}
        data.status: {in: [ACTIVE, INACTIVE]}
        data.id: {matches: "^[0-9a-f-]{36}$"}
        data.participants: {type: array, length: {min: 1}}
      headers:
        content-type: {matches: json}
      time_ms: 2000                     # the call, retries included, took at most this

Each line is reported in the result's ``expectations`` (``{"expect", "ok", "actual"}``, the
actual value masked like everything shown); one that fails makes the step fail with an error
of kind ``expectation``, which ``continue_on_error`` lets a run go past. Expectations are
checked once, on the final answer: they never make a call be sent again. ``check`` compares
each body path with the task's response schema, when the manifest has one
(:func:`schema_problems`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import did_you_mean
from ..result import extract_parts

__all__ = ["Condition", "Expect", "evaluate", "schema_problems"]

JsonType = Literal["string", "number", "integer", "boolean", "array", "object", "null"]
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}


class Length(BaseModel):
    """A length range: ``{min: 1}``, ``{max: 10}``, both."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)


class Condition(BaseModel):
    """One condition on a value; several given must all hold."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    equals: Any = None
    in_: list[Any] | None = Field(None, alias="in")
    matches: str | None = Field(None, max_length=1000)
    exists: bool | None = None
    type: JsonType | None = None
    length: int | Length | None = None

    @model_validator(mode="after")
    def _something(self) -> Condition:
        if not self.model_fields_set:
            raise ValueError("a condition needs one of equals, in, matches, exists, type, length")
        if self.matches is not None:
            try:
                re.compile(self.matches)
            except re.error as exc:
                raise ValueError(f"matches is not a regular expression: {exc}") from None
        return self

    def check(self, found: bool, value: Any) -> str | None:
        """Why ``value`` (``found`` or not) fails, or ``None`` when it holds."""
        given = self.model_fields_set
        if "exists" in given and found != self.exists:
            return "is missing" if self.exists else "is there"
        if not found:
            return None if given == {"exists"} else "is missing"
        if "equals" in given and value != self.equals:
            return f"is not {self.equals!r}"
        if "in_" in given and value not in (self.in_ or []):
            return f"is not one of {self.in_!r}"
        if "matches" in given and not (
            isinstance(value, str) and re.search(self.matches or "", value[:100_000])
        ):
            return f"does not match {self.matches!r}"
        if self.type is not None and not _is_type(value, self.type):
            return f"is not of type {self.type}"
        if "length" in given:
            return _length(value, self.length)
        return None

    def describe(self) -> str:
        """The condition as a line says it."""
        parts = []
        for name in sorted(self.model_fields_set):
            value = getattr(self, name)
            shown = value.model_dump(exclude_none=True) if isinstance(value, Length) else value
            parts.append(f"{name.rstrip('_')} {shown!r}")
        return ", ".join(parts)


def _is_type(value: Any, kind: str) -> bool:
    if kind in ("number", "integer") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[kind])


def _length(value: Any, length: int | Length | None) -> str | None:
    if not isinstance(value, str | list | dict):
        return "has no length"
    size = len(value)
    if isinstance(length, int):
        return None if size == length else f"has length {size}, not {length}"
    if length is not None and length.min is not None and size < length.min:
        return f"has length {size}, under {length.min}"
    if length is not None and length.max is not None and size > length.max:
        return f"has length {size}, over {length.max}"
    return None


class Expect(BaseModel):
    """What a good answer is (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: int | list[int] | None = None
    body: dict[str, Condition] = Field(default_factory=dict, max_length=200)
    headers: dict[str, Condition] = Field(default_factory=dict, max_length=100)
    time_ms: float | None = Field(None, gt=0, allow_inf_nan=False)


def evaluate(
    expect: Expect,
    status: int | None,
    headers: Mapping[str, str],
    body: Any,
    elapsed_ms: float,
) -> list[dict[str, Any]]:
    """Every line of ``expect`` against an answer: ``{"expect", "ok", "actual"}`` each (the
    actual values as they are: the caller masks them)."""
    lines: list[dict[str, Any]] = []
    if expect.status is not None:
        wanted = [expect.status] if isinstance(expect.status, int) else expect.status
        lines.append(_line(f"status in {wanted}", status in wanted, status))
    for path, condition in expect.body.items():
        found, value = extract_parts(body, tuple(path.split("."))) if path else (True, body)
        why = condition.check(found, value)
        lines.append(_line(f"body {path}: {condition.describe()}", why is None, value, why))
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, condition in expect.headers.items():
        found = name.lower() in lowered
        value = lowered.get(name.lower())
        why = condition.check(found, value)
        lines.append(_line(f"header {name}: {condition.describe()}", why is None, value, why))
    if expect.time_ms is not None:
        took = round(elapsed_ms, 1)
        lines.append(_line(f"time <= {expect.time_ms:g} ms", took <= expect.time_ms, took))
    return lines


def _line(what: str, ok: bool, actual: Any, why: str | None = None) -> dict[str, Any]:
    line: dict[str, Any] = {"expect": what, "ok": ok, "actual": actual}
    if why is not None:
        line["why"] = why
    return line


def schema_problems(expect: Expect, schema: Mapping[str, Any] | None) -> list[tuple[str, str, str]]:
    """``(path, message, hint)`` for each body path that ``schema`` (a JSON Schema of the
    success body) does not document: a field an object's ``properties`` lack (unless it
    declares ``additionalProperties``); nothing where the schema says nothing."""
    if not schema:
        return []
    problems = []
    for path in expect.body:
        node: Any = schema
        for part in path.split(".") if path else ():
            node = _child(node, part)
            if node is None:
                break
        if node is None:
            known = _fields(_parent(schema, path))
            last = path.rsplit(".", 1)[-1]
            hint = did_you_mean(last, known) or (
                f"it has: {', '.join(sorted(known))}" if known else ""
            )
            problems.append((path, f"the response has no {path!r}", hint))
    return problems


def _child(node: Any, part: str) -> Any:
    """The schema of ``part`` under ``node``; ``{}`` (anything) where the schema is open."""
    if not isinstance(node, Mapping):
        return {}
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in node.get(key) or ():
            found = _child(sub, part)
            if found is not None:
                return found
    if node.get("type") == "array" or "items" in node:
        return node.get("items", {}) if part.lstrip("-").isdigit() else None
    properties = node.get("properties")
    if isinstance(properties, Mapping) and part in properties:
        return properties[part]
    if properties is None:
        return {}  # the schema says nothing of this object's fields
    # a documented object's fields are its properties, unless it declares others
    extra = node.get("additionalProperties")
    if isinstance(extra, Mapping):
        return extra
    return {} if extra is True else None


def _parent(schema: Any, path: str) -> Any:
    node = schema
    for part in path.split(".")[:-1]:
        node = _child(node, part)
        if node is None:
            return {}
    return node


def _fields(node: Any) -> list[str]:
    properties = node.get("properties") if isinstance(node, Mapping) else None
    return [str(k) for k in properties] if isinstance(properties, Mapping) else []
