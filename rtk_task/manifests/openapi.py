"""OpenAPI 3 operation -> :class:`ApiOperation`, and the overlay of a docs page on it.

Only what a manifest needs is read: parameters (path-level and operation-level), the JSON
request body, success responses, and bearer security. ``$ref`` is resolved inside the document
(a cycle of bare references is an error; a schema that contains itself, like a session's
breakout rooms, is cut at the repeat into a plain object), ``allOf`` is merged. A request body
whose schema is empty (unpublished) gives no known fields.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import OpenAPIError, Problem, did_you_mean
from ..limits import check_yaml, loads_json
from ..providers import provider_for
from .model import Location, Param, Parameters, ParamType

__all__ = ["ApiOperation", "OpenAPIDocument"]

_SPEC_HINT = "check the document against the OpenAPI 3 specification"
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True)
class ApiOperation:
    """What an OpenAPI document says about one operation."""

    operation_id: str
    method: str
    path: str
    summary: str
    description: str
    servers: tuple[str, ...]
    parameters: Parameters
    body_required: bool
    success_status: tuple[int, ...]
    response_schema: dict[str, Any] | None
    bearer: bool


class OpenAPIDocument:
    """A loaded OpenAPI 3 document."""

    def __init__(self, data: dict[str, Any], file: str, sha256: str) -> None:
        self.data = data
        self.file = file
        self.sha256 = sha256

    @classmethod
    def load(cls, path: str | Path) -> OpenAPIDocument:
        """Read an OpenAPI JSON (or YAML) document."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise OpenAPIError(Problem(str(path), f"cannot read: {exc.strerror}")) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise OpenAPIError(Problem(str(path), f"not UTF-8 text: {exc.reason}")) from None
        if path.suffix == ".json":
            data = loads_json(text, str(path), _not_a_document)
        else:
            data = _yaml(text, str(path))
        if not isinstance(data, dict) or not str(data.get("openapi", "")).startswith("3"):
            raise OpenAPIError(
                Problem(str(path), "not an OpenAPI 3 document", "it needs `openapi: 3.x`")
            )
        for key in ("paths", "components"):
            if not isinstance(data.get(key, {}), dict):
                raise OpenAPIError(
                    Problem(f"{path}: {key}", f"`{key}` must be an object", _SPEC_HINT)
                )
        return cls(data, str(path), hashlib.sha256(raw).hexdigest())

    # -- finding operations --------------------------------------------------------------

    def operations(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """``(METHOD, path, operation object)`` for every operation."""
        for path, item in (self.data.get("paths") or {}).items():
            for method in _HTTP_METHODS:
                if isinstance(item, dict) and isinstance(item.get(method), dict):
                    yield method.upper(), path, item[method]

    def find(self, operation: str) -> tuple[str, str]:
        """``(METHOD, path)`` of an operationId or of ``"METHOD /path"``.

        A path the provider knows another form of (a legacy RealtimeKit path) matches its
        canonical form.
        """
        with _malformed(self.file):
            return self._find(operation)

    def _find(self, operation: str) -> tuple[str, str]:
        parts = operation.split()
        names: list[str] = []
        for method, path, op in self.operations():
            names.append(op.get("operationId") or f"{method} {path}")
            if op.get("operationId") == operation:
                return method, path
            if (
                len(parts) == 2
                and parts[0].upper() == method
                and provider_for(parts[1]).canonical_path(parts[1]) == path
            ):
                return method, path
        raise OpenAPIError(
            Problem(
                self.file,
                f"no operation {operation!r}",
                did_you_mean(operation, names) or f"operations: {', '.join(sorted(names))}",
            )
        )

    # -- reading one operation ------------------------------------------------------------

    def operation(self, operation: str) -> ApiOperation:
        """The operation named by operationId or ``"METHOD /path"``.

        A document of the wrong shape anywhere the operation reaches (``allOf: 5``,
        ``properties: [1]``, a parameter that is not an object) is an :class:`OpenAPIError`
        naming the operation, never another exception.
        """
        method, path = self.find(operation)
        with _malformed(f"{self.file}: {method} {path}"):
            return self._operation(method, path)

    def _operation(self, method: str, path: str) -> ApiOperation:
        item = self.data["paths"][path]
        op = item[method.lower()]
        where = f"{self.file}: {method} {path}"
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in (*item.get("parameters", ()), *op.get("parameters", ())):
            param = self.resolve(raw, where)
            merged[(param.get("in", ""), param.get("name", ""))] = param
        by_location: dict[Location, list[Param]] = {loc: [] for loc in Location}
        for (place, name), param in merged.items():
            if place not in ("path", "query", "header"):
                continue  # cookies are not supported; nothing here uses them
            schema = self.resolve(param.get("schema", {}), f"{where} parameter {name}")
            node = self.param(name, schema, f"{where} parameter {name}")
            node = node.model_copy(
                update={
                    "required": bool(param.get("required")) or place == "path",
                    "description": param.get("description") or node.description,
                }
            )
            by_location[Location(place)].append(node)
        body_required = False
        if "requestBody" in op:
            body = self.resolve(op["requestBody"], f"{where} requestBody")
            body_required = bool(body.get("required"))
            body_schema = self.json_schema_of(body, f"{where} requestBody")
            # an empty schema is an unpublished one: no known fields
            if body_schema is not None and self.resolve(body_schema, where):
                root = self.param("body", body_schema, f"{where} requestBody")
                by_location[Location.BODY] = list(root.children)
        success: list[int] = []
        response_schema: dict[str, Any] | None = None
        for code, response in sorted((op.get("responses") or {}).items()):
            if str(code).isdigit() and 200 <= int(code) < 300:
                success.append(int(code))
                if response_schema is None:
                    resolved = self.resolve(response, f"{where} response {code}")
                    found = self.json_schema_of(resolved, f"{where} response {code}")
                    if found is not None:
                        response_schema = self.flatten(found, f"{where} response {code}")
        security = op.get("security", self.data.get("security", []))
        schemes = (self.data.get("components") or {}).get("securitySchemes") or {}
        bearer = any(
            schemes.get(name, {}).get("scheme", "").lower() == "bearer"
            for requirement in security or ()
            for name in requirement
        )
        return ApiOperation(
            operation_id=op.get("operationId") or f"{method} {path}",
            method=method,
            path=path,
            summary=op.get("summary", ""),
            description=op.get("description", ""),
            servers=_servers(op.get("servers", self.data.get("servers", [])), where),
            parameters=Parameters(**{k.value: tuple(v) for k, v in by_location.items()}),
            body_required=body_required,
            success_status=tuple(success) or (200,),
            response_schema=response_schema,
            bearer=bearer,
        )

    def json_schema_of(self, holder: dict[str, Any], where: str) -> dict[str, Any] | None:
        """The JSON schema of a request body or response, its ``$ref`` kept (``flatten``
        follows it, and so knows a schema met again inside itself)."""
        content = holder.get("content") or {}
        for media, value in content.items():
            if "json" in media:
                schema = value.get("schema", {})
                self.resolve(schema, where)  # an unusable reference fails here
                return schema if isinstance(schema, dict) else {}
        return None

    # -- schemas --------------------------------------------------------------------------

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
        if not isinstance(node, dict):
            raise OpenAPIError(Problem(where, "expected an object"))
        return node

    def _pointer(self, ref: str, where: str) -> Any:
        if not ref.startswith("#/"):
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
        """A schema with every ``$ref`` inlined and every ``allOf`` merged.

        ``inside`` holds the references being inlined above this node: a schema met again
        inside itself becomes a plain object (with its description), so recursion ends.
        """
        if depth > 32:
            raise OpenAPIError(Problem(where, "schema nests deeper than 32 levels"))
        ref = schema.get("$ref") if isinstance(schema, dict) else None
        if isinstance(ref, str):
            if ref in inside:
                again = self.resolve(schema, where)
                cut: dict[str, Any] = {"type": "object"}
                if again.get("description"):
                    cut["description"] = again["description"]
                return cut
            inside = (*inside, ref)
        schema = self.resolve(schema, where)
        out: dict[str, Any] = {}
        if not isinstance(schema.get("allOf", []), list):
            raise OpenAPIError(Problem(where, "`allOf` must be a list of schemas", _SPEC_HINT))
        if not isinstance(schema.get("properties", {}), dict):
            raise OpenAPIError(Problem(where, "`properties` must be an object", _SPEC_HINT))
        for part in schema.get("allOf", ()):
            sub = self.flatten(part, where, depth + 1, inside)
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
                    name: self.flatten(sub, f"{where}.{name}", depth + 1, inside)
                    for name, sub in value.items()
                }
                out["properties"] = {**out.get("properties", {}), **merged}
            elif key == "items":
                out["items"] = self.flatten(value, f"{where}[]", depth + 1, inside)
            elif key == "required":
                out["required"] = list(dict.fromkeys([*out.get("required", ()), *value]))
            else:
                out[key] = value
        if "type" not in out and "properties" in out:
            out["type"] = "object"
        return out

    def param(self, name: str, schema: dict[str, Any], where: str) -> Param:
        """A parameter tree from a schema."""
        flat = self.flatten(schema, where)
        return _param(name, flat, where, required=False)


def _param(name: str, schema: dict[str, Any], where: str, *, required: bool) -> Param:
    kind = schema.get("type")
    nullable = bool(schema.get("nullable"))
    if isinstance(kind, list):  # 3.1 style ["string", "null"]
        nullable = nullable or "null" in kind
        kind = next((k for k in kind if k != "null"), None)
    if kind is None:
        kind = "object" if "properties" in schema else None
    if kind not in {t.value for t in ParamType}:
        raise OpenAPIError(
            Problem(
                where,
                f"schema of {name!r} has no supported type ({kind!r})",
                "oneOf/anyOf without a type are not supported",
            )
        )
    needed = set(schema.get("required", ()))
    children = tuple(
        _param(child, sub, f"{where}.{child}", required=child in needed)
        for child, sub in (schema.get("properties") or {}).items()
    )
    items = schema.get("items")
    return Param(
        name=name,
        type=ParamType(kind),
        required=required,
        description=" ".join(str(schema.get("description", "")).split()),
        default=schema.get("default"),
        enum=tuple(schema["enum"]) if "enum" in schema else None,
        minimum=schema.get("minimum"),
        maximum=schema.get("maximum"),
        format=schema.get("format"),
        nullable=nullable,
        items=_param("[]", items, f"{where}[]", required=False) if items else None,
        children=children,
    )


def _servers(servers: Any, where: str) -> tuple[str, ...]:
    """The URLs of a ``servers`` list, each entry an object with a string ``url``."""
    if not isinstance(servers, list) or not all(
        isinstance(s, dict) and isinstance(s.get("url", ""), str) for s in servers
    ):
        raise OpenAPIError(Problem(where, "`servers` must be a list of {url: ...}", _SPEC_HINT))
    return tuple(s["url"] for s in servers if "url" in s)


def _not_a_document(problem: Problem) -> OpenAPIError:
    message = f"not a JSON or YAML document: {problem.message}"
    return OpenAPIError(Problem(problem.where, message, problem.hint))


@contextmanager
def _malformed(where: str) -> Iterator[None]:
    """Map what a document of the wrong shape raises inside the reader to an OpenAPIError.

    The reader checks the shapes it relies on; this is the boundary for the rest (a ``get``
    on a list, a string where a list belongs, a model that refuses a value)."""
    try:
        yield
    except OpenAPIError:
        raise
    except (AttributeError, TypeError, KeyError, IndexError, ValueError, RecursionError) as exc:
        what = "nests too deep" if isinstance(exc, RecursionError) else f"{exc}"
        raise OpenAPIError(
            Problem(where, f"the document has an unexpected shape: {what[:200]}", _SPEC_HINT)
        ) from None


def _yaml(text: str, file: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    check_yaml(text, file, OpenAPIError)
    try:
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        raise _not_a_document(Problem(file, str(exc))) from None
