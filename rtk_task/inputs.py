"""Manifest -> the typed inputs of a step: a pydantic model (cached) and a JSON Schema.

A step's inputs name parameters as the official SDK's keyword arguments do: path, query and
top-level body names side by side, headers under ``headers``. Validation is a check only:
what is sent is exactly what the user set (defaults are documentation, never injected).

A task whose body is a JSON object also takes ``extra_body``: fields newer than its docs (the
API documented them after the manifest was built), sent in the body beside the documented
ones, as given. They are checked for JSON types only, and a documented field there is refused
(it belongs beside the others, where it is checked), so newer docs never block a user and an
old manifest never hides a typo in a documented field.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal, NotRequired, Required

from annotated_types import Ge, Le
from pydantic import (
    AfterValidator,
    AllowInfNan,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    Strict,
    StrictBool,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import PydanticCustomError
from typing_extensions import TypedDict

from .compiled import compiled
from .errors import InputError, Problem, did_you_mean
from .manifests.model import INPUT_LOCATIONS, JSON, Location, Manifest, Param, ParamType, media_type

__all__ = [
    "EXTRA_BODY",
    "FRAMING_HEADERS",
    "build_model",
    "check_headers",
    "input_model",
    "input_schema",
    "takes_extra_body",
    "validate_inputs",
]

# NaN and infinities are not JSON: a body holding one could not be sent as JSON
_STRICT = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)
#: An object that takes fields of its own and any others (``additionalProperties: true``).
_OPEN = ConfigDict(strict=True, extra="allow", allow_inf_nan=False)
#: An object whose other fields have a schema (checked as PEP 728 ``extra_items``).
_TYPED_EXTRA = ConfigDict(strict=True, allow_inf_nan=False)


#: The input holding body fields newer than a task's docs (see the module docstring).
EXTRA_BODY = "extra_body"


def takes_extra_body(manifest: Manifest) -> bool:
    """Whether a task takes :data:`EXTRA_BODY`: a typed task whose body is a JSON object."""
    return (
        not manifest.fixed_server  # a plain http step writes its whole body itself
        and not manifest.body_whole
        and manifest.method in ("POST", "PUT", "PATCH")
        and (not manifest.content_types or media_type(manifest.content_types[0]) == JSON)
    )


def input_model(manifest: Manifest) -> TypeAdapter[Any]:
    """The validator of a manifest's step inputs, built once per manifest object.

    A pydantic ``TypeAdapter`` over ``TypedDict`` s: validating builds no model instances,
    which keeps the per-call cost low; errors and locations are pydantic's as usual.
    """
    facts = compiled(manifest)
    if facts.input_model is None:
        facts.input_model = build_model(manifest)
    return facts.input_model


def validate_inputs(manifest: Manifest, inputs: Any) -> None:
    """Check step inputs; raise one :class:`InputError` listing every problem."""
    if not isinstance(inputs, dict):
        raise InputError(Problem("inputs", f"must be an object, not {type(inputs).__name__}"))
    # headers left out are checked as none given, so that a required header is reported;
    # header names are case-insensitive, so known ones are checked under their own spelling
    given = inputs.get("headers")
    if "headers" not in inputs:
        data = {**inputs, "headers": {}}
    elif isinstance(given, dict) and manifest.parameters.header:
        data = {**inputs, "headers": _canonical_headers(manifest, given)}
    else:
        data = inputs
    problems: list[Problem] = []
    try:
        input_model(manifest).validate_python(data)
    except ValidationError as exc:
        problems = [_problem(manifest, err) for err in exc.errors()]
    extra = inputs.get(EXTRA_BODY)
    if isinstance(extra, dict) and extra:
        documented = {p.name for p in manifest.parameters.at(Location.BODY)}
        problems += [
            Problem(
                f"{EXTRA_BODY}.{name}",
                "is a documented field of this task",
                f"set {name} beside the other fields, where it is checked",
            )
            for name in extra
            if name in documented
        ]
    if isinstance(given, dict) and given:
        try:  # the rules the request builder keeps: the same answer before and at the call
            check_headers(given, manifest)
        except InputError as exc:
            seen = {p.where for p in problems}  # one problem a field
            problems += [p for p in exc.problems if p.where not in seen]
    InputError.collect(problems)


_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")

#: Headers that frame the message or the connection: the HTTP client sets them, never inputs
#: (a Content-Length or Transfer-Encoding of the user's is the request-smuggling shape).
FRAMING_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
        "expect",
    }
)


def check_headers(given: dict[str, Any], manifest: Manifest) -> None:
    """Check the user's headers: a name, one ASCII line, not framing, not where the task's
    credential goes."""
    problems = []
    auth = manifest.auth
    taken = auth.places[0]
    for name, value in given.items():
        if not _HEADER_NAME.match(name):
            problems.append(Problem(f"headers.{name}", "is not a valid header name"))
        elif name.lower() in FRAMING_HEADERS:
            problems.append(
                Problem(
                    f"headers.{name}",
                    "frames the request; the HTTP client sets it",
                    "leave it out",
                )
            )
        elif not isinstance(value, str) or "\r" in value or "\n" in value or "\0" in value:
            problems.append(
                Problem(
                    f"headers.{name}",
                    "header values cannot hold CR, LF or NUL",
                    "one header, one line",
                )
            )
        elif not value.isascii():
            problems.append(
                Problem(
                    f"headers.{name}",
                    "header values are ASCII",
                    "percent-encode the value, or send it in the body",
                )
            )
        elif name.lower() in taken:
            problems.append(
                Problem(
                    f"headers.{name}",
                    "is set from the task's auth",
                    f"set {auth.refs} instead",
                )
            )
    InputError.collect(problems)


def _canonical_headers(manifest: Manifest, given: dict[Any, Any]) -> dict[Any, Any]:
    known = {p.name.lower(): p.name for p in manifest.parameters.header}
    return {known.get(k.lower(), k) if isinstance(k, str) else k: v for k, v in given.items()}


# -- the model ------------------------------------------------------------------------------


def build_model(manifest: Manifest) -> TypeAdapter[Any]:
    """A new validator of a manifest's step inputs (use :func:`input_model`)."""
    fields: dict[str, Any] = {}
    for loc in INPUT_LOCATIONS:
        for p in manifest.parameters.at(loc):
            fields[p.name] = _field(p, manifest.id)
    header_fields = {
        p.name: _field(
            p.model_copy(update={"required": p.required and p.default is None}), manifest.id
        )
        for p in manifest.parameters.header
        if p.name.lower() != "authorization"  # auth comes from the manifest, not inputs
    }
    # custom headers are the user's business, but strings (PEP 728 extra items)
    headers = _make_typed_dict(
        f"{_title(manifest.id)}Headers", header_fields, total=False, extra_items=StrictStr
    )
    headers.__pydantic_config__ = ConfigDict(strict=True)
    fields["headers"] = NotRequired[headers]
    if takes_extra_body(manifest):
        fields[EXTRA_BODY] = NotRequired[dict[str, JsonValue]]
    return TypeAdapter(_typed_dict(f"{_title(manifest.id)}Inputs", fields))


def _typed_dict(name: str, fields: dict[str, Any]) -> Any:
    shape = _make_typed_dict(name, fields, total=False)
    shape.__pydantic_config__ = _STRICT
    return shape


#: ``TypedDict`` called with names known only at run time (mypy checks only literal calls)
_make_typed_dict: Any = TypedDict


def _field(p: Param, owner: str) -> Any:
    annotation = _annotation(p, f"{owner}.{p.name}")
    if p.nullable:
        annotation = annotation | None
    if p.description:
        annotation = Annotated[annotation, Field(description=p.description)]
    return Required[annotation] if p.required else NotRequired[annotation]


def _annotation(p: Param, owner: str) -> Any:
    if p.one_of or p.any_of:
        return _union(p, owner)
    if p.enum:
        literal: Any = Literal[tuple(p.enum)]
        if p.type in _STRICT_TYPES:
            # a Literal compares by ==, so True would pass for 1 and 1.0 for 1: check the type
            return Annotated[literal, BeforeValidator(_STRICT_TYPES[p.type])]
        return literal
    bounds = [
        b
        for b in (
            Ge(p.minimum) if p.minimum is not None else None,
            Le(p.maximum) if p.maximum is not None else None,
        )
        if b
    ]
    if p.type is ParamType.STRING:
        return StrictStr
    if p.type is ParamType.BOOLEAN:
        return StrictBool
    if p.type is ParamType.INTEGER:
        return Annotated[StrictInt, *bounds] if bounds else StrictInt
    if p.type is ParamType.NUMBER:
        # strict float takes ints too (and never bools or strings)
        return Annotated[float, Strict(), AllowInfNan(False), *bounds]
    if p.type is ParamType.ARRAY:
        return list[_annotation(p.items, owner) if p.items else Any]  # type: ignore[misc]
    if p.type is ParamType.ANY:
        return Annotated[Any, AfterValidator(_json_value)]
    if not p.children:
        if isinstance(p.additional, Param):
            return dict[str, _annotation(p.additional, f"{owner}.*")]  # type: ignore[misc]
        return dict[str, Any]
    fields = {c.name: _field(c, f"{owner}.{c.name}") for c in p.children}
    shape = _make_typed_dict(_title(owner), fields, total=False, **_extra(p, owner))
    shape.__pydantic_config__ = (
        _STRICT if not p.additional else _TYPED_EXTRA if isinstance(p.additional, Param) else _OPEN
    )
    return shape


def _extra(p: Param, owner: str) -> dict[str, Any]:
    """``extra_items`` of an object that takes fields beyond its own (additionalProperties)."""
    if isinstance(p.additional, Param):
        return {"extra_items": _annotation(p.additional, f"{owner}.*")}
    return {}


def _json_value(value: Any) -> Any:
    """A value of no declared type must still be JSON (no NaN, no objects of Python's)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise PydanticCustomError("json_type", "Input should be a JSON value") from None
    return value


def _union(p: Param, owner: str) -> Any:
    """``oneOf``: exactly one variant fits; ``anyOf``: at least one does (as JSON Schema says).

    Each variant is checked on its own (strictly, as every input is); when none fits, the
    error lists what each variant said. With a ``discriminator`` the variant is the one whose
    discriminator field's only value matches, and its own errors are reported.
    """
    variants = p.one_of or p.any_of
    exact = bool(p.one_of)
    adapters = [
        (v, TypeAdapter(_annotation(v, f"{owner}.{i}"), config=None))
        for i, v in enumerate(variants)
    ]

    def check(value: Any) -> Any:
        if p.discriminator and isinstance(value, dict) and p.discriminator in value:
            chosen = [a for v, a in adapters if _tag(v, p.discriminator) == value[p.discriminator]]
            if len(chosen) == 1:
                return chosen[0].validate_python(value)
        fits: list[int] = []
        said: list[str] = []
        for i, (_, adapter) in enumerate(adapters):
            try:
                adapter.validate_python(value)
            except ValidationError as exc:
                first = exc.errors()[0]
                where = _dotted(tuple(first["loc"])) if first["loc"] else ""
                said.append(f"#{i + 1}: {where} {first['msg']}".replace("  ", " "))
                continue
            fits.append(i)
            if not exact:
                return value
        if len(fits) == 1:
            return value
        if fits:
            raise PydanticCustomError(
                "one_of",
                "fits {count} of the variants, and must fit exactly one",
                {"count": len(fits)},
            )
        raise PydanticCustomError(
            "union",
            "fits none of the {count} variants ({said})",
            {"count": len(adapters), "said": "; ".join(said)[:300]},
        )

    return Annotated[Any, AfterValidator(check)]


def _tag(variant: Param, field: str) -> Any:
    """The one value a variant allows for its discriminator field, if it says."""
    child = variant.child(field)
    return child.enum[0] if child is not None and child.enum and len(child.enum) == 1 else None


def _strict_type(name: str, message: str, ok: Any) -> Any:
    def check(value: Any) -> Any:
        if isinstance(value, bool) is (ok is bool) and isinstance(value, ok):
            return value
        raise PydanticCustomError(name, message)

    return check


_STRICT_TYPES = {
    ParamType.INTEGER: _strict_type("int_type", "Input should be a valid integer", int),
    ParamType.NUMBER: _strict_type("float_type", "Input should be a valid number", (int, float)),
    ParamType.BOOLEAN: _strict_type("bool_type", "Input should be a valid boolean", bool),
}


def _title(dotted: str) -> str:
    return "".join(
        part[:1].upper() + part[1:]
        for part in dotted.replace("-", "_").split(".")
        for part in part.split("_")
    )


# -- errors -----------------------------------------------------------------------------------


def _problem(manifest: Manifest, err: Any) -> Problem:
    loc = tuple(err["loc"])
    where = _dotted(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        siblings = _siblings(manifest, loc[:-1])
        hint = did_you_mean(str(loc[-1]), siblings) or (
            f"known here: {', '.join(sorted(siblings))}" if siblings else ""
        )
        if len(loc) == 1 and not hint.startswith("did you") and takes_extra_body(manifest):
            hint += f"; a body field newer than these docs goes under {EXTRA_BODY}"
        return Problem(where, "unknown field", hint)
    if kind == "missing":
        return Problem(where, "is required", _describe(manifest, loc))
    if kind == "literal_error":
        got = json.dumps(err.get("input"), default=str)
        got = got if len(got) <= 60 else got[:57] + "..."
        return Problem(where, f"{err['msg']} (got {got})", _enum_hint(manifest, loc, err))
    return Problem(where, err["msg"], _describe(manifest, loc))


def _enum_hint(manifest: Manifest, loc: tuple[Any, ...], err: Any) -> str:
    """``did you mean 'x'?`` when a string given for an enum is close to one of its values.

    Close as :func:`~rtk_task.errors.did_you_mean` has it (the same cutoff), case aside:
    ``active`` for ``ACTIVE``, ``pase`` for ``pause``.
    """
    given = err.get("input")
    node = _node(manifest, loc) or _node(manifest, loc[:-1])  # [:-1]: a nullable's branch
    if not isinstance(given, str) or node is None or not node.enum:
        return ""
    by_case = {v.casefold(): v for v in node.enum if isinstance(v, str)}
    if given.casefold() in by_case:
        return f"did you mean '{by_case[given.casefold()]}'?"
    import difflib  # here: only a wrong value needs it

    close = difflib.get_close_matches(given.casefold(), list(by_case), n=1, cutoff=0.6)
    return f"did you mean '{by_case[close[0]]}'?" if close else ""


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "inputs"


def _node(manifest: Manifest, loc: tuple[Any, ...]) -> Param | None:
    """The parameter at an error location, if the location names one."""
    if not loc:
        return None
    if loc[0] == "headers":
        nodes: tuple[Param, ...] = manifest.parameters.header
        loc = loc[1:]
    else:
        nodes = tuple(p for l in INPUT_LOCATIONS for p in manifest.parameters.at(l))
    node: Param | None = None
    for part in loc:
        if isinstance(part, int):
            if node is None or node.items is None:
                return None
            node = node.items
            nodes = node.children
            continue
        node = next((n for n in nodes if n.name == part), None)
        if node is None:
            return None
        nodes = node.children
    return node


def _siblings(manifest: Manifest, parent: tuple[Any, ...]) -> list[str]:
    if not parent:
        names = [p.name for l in INPUT_LOCATIONS for p in manifest.parameters.at(l)]
        return [*names, "headers", *((EXTRA_BODY,) if takes_extra_body(manifest) else ())]
    if parent == ("headers",):
        return [p.name for p in manifest.parameters.header]
    node = _node(manifest, parent)
    return [c.name for c in node.children] if node else []


def _describe(manifest: Manifest, loc: tuple[Any, ...]) -> str:
    node = _node(manifest, loc)
    if node is None:
        return ""
    text = node.type.value
    if node.description:
        text += f": {node.description}"
    if node.default is not None:
        text += f" (default {json.dumps(node.default)})"
    return text


# -- JSON Schema ------------------------------------------------------------------------------


def input_schema(manifest: Manifest) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a manifest's step inputs."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for loc in INPUT_LOCATIONS:
        for p in manifest.parameters.at(loc):
            properties[p.name] = {**_schema(p), "x-rtk-location": loc.value}
            if p.required:
                required.append(p.name)
    headers = [p for p in manifest.parameters.header if p.name.lower() != "authorization"]
    properties["headers"] = {
        "type": "object",
        "description": "Request headers (Authorization comes from the task's auth).",
        "properties": {p.name: _schema(p) for p in headers},
        "additionalProperties": {"type": "string"},
    }
    if takes_extra_body(manifest):
        properties[EXTRA_BODY] = {
            "type": "object",
            "description": "Body fields newer than these docs, sent as given (JSON types "
            "checked only; a documented field goes beside the others).",
        }
    # as the model: a header the manifest gives a default for is never required of the user
    needed_headers = [p.name for p in headers if p.required and p.default is None]
    if needed_headers:
        properties["headers"]["required"] = needed_headers
        required.append("headers")
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": manifest.id,
        "description": manifest.summary,
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


_JSON_TYPES = {
    ParamType.STRING: "string",
    ParamType.NUMBER: "number",
    ParamType.INTEGER: "integer",
    ParamType.BOOLEAN: "boolean",
    ParamType.OBJECT: "object",
    ParamType.ARRAY: "array",
}


def _variants(p: Param) -> dict[str, Any]:
    """``oneOf``/``anyOf``, ``additionalProperties`` and the discriminator of ``p``, as JSON
    Schema says them."""
    out: dict[str, Any] = {}
    if p.one_of:
        out["oneOf"] = [_schema(v) for v in p.one_of]
    if p.any_of:
        out["anyOf"] = [_schema(v) for v in p.any_of]
    if p.discriminator:
        out["discriminator"] = {"propertyName": p.discriminator}
    if isinstance(p.additional, Param):
        out["additionalProperties"] = _schema(p.additional)
    elif p.additional:
        out["additionalProperties"] = True
    return out


def _schema(p: Param) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if p.type is not ParamType.ANY:
        out["type"] = [_JSON_TYPES[p.type], "null"] if p.nullable else _JSON_TYPES[p.type]
    if p.description:
        out["description"] = p.description
    if p.enum is not None:
        # `enum` is checked on its own: a nullable field's null must be one of the values
        out["enum"] = [*p.enum, None] if p.nullable and None not in p.enum else list(p.enum)
    if p.default is not None:
        out["default"] = p.default
    if p.minimum is not None:
        out["minimum"] = p.minimum
    if p.maximum is not None:
        out["maximum"] = p.maximum
    if p.format:
        out["format"] = p.format
    if p.type is ParamType.ARRAY:
        out["items"] = _schema(p.items) if p.items else {}
    if p.type is ParamType.OBJECT and p.children:
        out["properties"] = {c.name: _schema(c) for c in p.children}
        needed = [c.name for c in p.children if c.required]
        if needed:
            out["required"] = needed
        out["additionalProperties"] = False
    out.update(_variants(p))
    return out
