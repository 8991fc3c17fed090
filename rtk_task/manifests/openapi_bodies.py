"""An OpenAPI request body -> the body's parameters and the media types it is sent as.

:func:`request_body` reads every media type a request body offers, preferred in this order:
JSON (``application/json``, then any ``+json``), ``application/x-www-form-urlencoded``,
``multipart/form-data``, then the others as listed (``text/*``, binary types such as
``application/octet-stream``, ``*/*``), XML last. Guarantees:

- **What can be sent** (``content_types``) is listed preferred first: XML only when nothing
  else is offered (sent as raw text), a wildcard as a concrete type (``*/*`` and ``image/*``
  as ``application/octet-stream``, ``text/*`` as ``text/plain``); it is empty when the body
  is plain JSON, or there is none.
- **The body's parameters** come from the preferred type's schema: an object's properties
  are the body fields; anything else (an array, a scalar, a ``oneOf``, a map, a file, text)
  is one parameter, ``body``, and the body is whole. An object whose field shares its name
  with a path or query parameter, or is called ``headers``, is whole too (step inputs name
  path, query and body fields side by side). A binary type with no schema is a file
  (``format: binary``: the step gives its path); text with no schema is a string. A JSON,
  form or multipart body with an empty schema is an unpublished one: no known fields.
- **Encoding**: for form and multipart bodies the ``encoding`` object's ``style``/``explode``
  go on the fields (:func:`style_of`: only where they are not the default, ``form``,
  exploded), and a multipart string field is a file when it is ``format: binary``, has a 3.1
  ``contentMediaType``/``contentEncoding``, or an ``encoding.contentType`` that is not text.
"""

from __future__ import annotations

from typing import Any

from ..errors import OpenAPIError, Problem
from .model import BODY, FORM, JSON, MULTIPART, Param, ParamType, is_json, media_type
from .openapi_schemas import SPEC_HINT, Schemas, param_from_flat

__all__ = ["media_kind", "request_body", "style_of"]


_OCTETS = "application/octet-stream"


def media_kind(media: str) -> str:
    """How a body of this media type is sent: ``json``, ``form``, ``multipart``, ``xml``,
    ``text`` or ``binary`` (the file's bytes, or the text given)."""
    kind = media_type(media)
    if is_json(kind):
        return "json"
    if kind == FORM:
        return "form"
    if kind == MULTIPART:
        return "multipart"
    if "xml" in kind:
        return "xml"
    return "text" if kind.startswith("text/") else "binary"


def request_body(
    schemas: Schemas, body: dict[str, Any], required: bool, where: str, taken: set[str]
) -> tuple[list[Param], tuple[str, ...], bool]:
    """The body's parameters, the media types it can be sent as, and whether it is whole.

    An object whose field shares its name with a path or query parameter (``PUT
    /user/{username}`` with a ``username`` field), or is called ``headers``, is whole: step
    inputs name path, query and body fields side by side."""
    content = body.get("content") or {}
    if not isinstance(content, dict):
        raise OpenAPIError(Problem(where, "`content` must be an object", SPEC_HINT))
    ranked = _ranked(content)
    if not ranked:
        return [], (), False
    sendable = _sendable(ranked)
    content_types = () if sendable == (JSON,) else sendable
    media = ranked[0]
    value = content[media] if isinstance(content[media], dict) else {}
    kind = media_kind(media)
    schema = value.get("schema")
    description = " ".join(str(body.get("description") or "").split())
    if kind in ("json", "form", "multipart"):
        if schema is None or not schemas.resolve(schema, where):
            return [], content_types, False  # an unpublished schema: no known fields
        flat = schemas.flatten(schema, where)
        root = param_from_flat(BODY, flat, where, required=required, parts=kind == "multipart")
        free = not root.children and (
            bool(root.one_of or root.any_of)
            or flat.get("additionalProperties") not in (None, False)
        )
        if root.type is ParamType.OBJECT and not free:
            encoding = value.get("encoding") or {}
            fields = [_encoded(c, encoding, kind) for c in root.children]
            clash = sorted({c.name for c in fields} & (taken | {"headers"}))
            if not clash:
                return fields, content_types, False
            shared = ", ".join(clash)
            root = root.model_copy(
                update={
                    "children": tuple(fields),
                    "description": root.description
                    or f"The whole body (its {shared} shares a name with another input).",
                }
            )
    elif kind == "xml" or schema is None:
        binary = kind == "binary"
        root = Param(
            name=BODY,
            type=ParamType.STRING,
            format="binary" if binary else None,
            description=description or ("the file to send" if binary else f"the body, as {media}"),
        )
    else:
        root = schemas.param(BODY, schema, where)
        loose = root.type is ParamType.ANY and not (root.one_of or root.any_of)
        if kind == "binary" and (root.type is ParamType.STRING or loose):
            root = root.model_copy(update={"type": ParamType.STRING, "format": "binary"})
    update: dict[str, Any] = {"required": required}
    if not root.description and description:
        update["description"] = description
    return [root.model_copy(update=update)], content_types, True


def style_of(holder: dict[str, Any]) -> dict[str, Any]:
    """``style``/``explode`` of a query parameter or form field where they are not the
    default (``form``, exploded)."""
    out: dict[str, Any] = {}
    style = holder.get("style")
    if isinstance(style, str) and style != "form":
        out["style"] = style
    explode = holder.get("explode")
    if isinstance(explode, bool) and explode != ((style or "form") == "form"):
        out["explode"] = explode
    return out


def _encoded(child: Param, encoding: Any, kind: str) -> Param:
    """A form or multipart field with what the media type's ``encoding`` says of it."""
    spec = encoding.get(child.name) if isinstance(encoding, dict) else None
    if not isinstance(spec, dict):
        return child
    update = style_of(spec)
    content_type = spec.get("contentType")
    if (
        kind == "multipart"
        and child.type is ParamType.STRING
        and isinstance(content_type, str)
        and media_kind(content_type) == "binary"
    ):
        update["format"] = "binary"
    return child.model_copy(update=update) if update else child


def _ranked(content: dict[str, Any]) -> list[str]:
    """The media types of a body, preferred first: JSON (``application/json`` itself first),
    form, multipart, the others as listed, XML last."""
    order = {"json": 1, "form": 2, "multipart": 3, "text": 4, "binary": 4, "xml": 5}

    def rank(media: str) -> int:
        exact = media_type(media) == JSON
        return 0 if exact else order[media_kind(media)]

    return sorted(content, key=rank)  # sorted() is stable: listed order within a rank


def _sendable(ranked: list[str]) -> tuple[str, ...]:
    """What a body can be sent as: XML only when nothing else is offered; a wildcard as a
    concrete type."""
    others = [m for m in ranked if media_kind(m) != "xml"]
    out: dict[str, None] = {}
    for media in others or ranked:
        kind = media_type(media)
        if kind.endswith("/*"):
            media = "text/plain" if kind == "text/*" else _OCTETS
        out[media] = None
    return tuple(out)
