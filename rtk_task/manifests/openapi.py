"""OpenAPI 3.0/3.1 operation -> :class:`ApiOperation`: any vendor's document, read for a manifest.

:class:`OpenAPIDocument` loads a document (JSON or YAML, gzip-compressed if it ends in
``.gz``), finds an operation by operationId or ``"METHOD /path"``, and reads what a manifest
needs of it. Every shape the specification allows gives a result; a document of the wrong
shape is an :class:`OpenAPIError` naming the operation, never another exception. Guarantees:

- **Parameters**, path-level and operation-level (the operation's win), in the path, the query
  and headers; a query parameter keeps its ``style``/``explode`` where they are not the
  default (``form``, exploded). ``in: cookie`` parameters are skipped (a cookie credential
  comes from the security scheme instead), and so are ``Accept``, ``Content-Type`` and
  ``Authorization`` headers, which the specification says to ignore. A parameter described
  by ``content`` instead of ``schema`` takes its first media type's schema.
- **The request body**, from every media type it offers, JSON preferred
  (:mod:`~rtk_task.manifests.openapi_bodies`): ``content_types`` lists what can be sent,
  preferred first (empty when the body is plain JSON, or there is none); an object's
  properties are the body fields, anything else is one parameter, ``body``, and
  ``body_whole`` is set.
- **Schemas** with ``$ref`` resolved inside the document, ``allOf`` merged and ``oneOf``,
  ``anyOf``, 3.1 type lists and ``additionalProperties`` kept as variants and map values
  (:mod:`~rtk_task.manifests.openapi_schemas`; its names :data:`ONE_OF`, :data:`ANY_OF`
  and :data:`MAP_VALUES` are re-exported here).
- **Security**: the operation's ``security`` (else the document's) as one :class:`Auth`,
  its variables starting with the document's ``env_prefix``, bound to the hosts of the
  operation's absolute servers (:mod:`~rtk_task.manifests.openapi_security`).
- **Servers**: the operation's own, else its path's, else the document's, each
  ``{variable}`` replaced by its default.

A document is read once and every ``$ref`` is flattened once per document (see
:class:`~rtk_task.manifests.openapi_schemas.Schemas`), so a large document costs about its
size.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import OpenAPIError, Problem, did_you_mean
from ..limits import MAX_TEXT_BYTES, check_yaml, loads_json
from ..providers import provider_for
from .model import Auth, Location, Param, Parameters
from .openapi_bodies import media_kind, request_body, style_of
from .openapi_schemas import ANY_OF, MAP_VALUES, ONE_OF, SPEC_HINT, Schemas
from .openapi_security import SecuritySchemes, credential_hosts

__all__ = [
    "ANY_OF",
    "MAP_VALUES",
    "ONE_OF",
    "ApiOperation",
    "OpenAPIDocument",
    "credential_hosts",
    "document_name",
    "media_kind",
]

_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
#: Header parameters the specification says to ignore.
_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
#: Words a document's title has that say nothing about whose API it is.
_FILLER = frozenset(
    {
        *("a", "an", "and", "api", "apis", "definition", "definitions", "document", "for"),
        *("http", "json", "of", "official", "openapi", "public", "rest", "restful", "s"),
        *("schema", "spec", "specification", "the", "v"),
    }
)
_VERSION = re.compile(r"^v?\d+[a-z]?$")


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
    #: The operation's credential (``None``: no usable security scheme).
    auth: Auth | None = None
    #: The request body's media types, preferred first (empty: JSON or no body).
    content_types: tuple[str, ...] = ()
    #: The body is not an object: one input, ``body``, holds it whole.
    body_whole: bool = False


def document_name(text: str) -> str:
    """A short lower-snake name for a document, from a name given or its ``info.title``.

    ``"Swagger Petstore - OpenAPI 3.0"`` -> ``swagger_petstore``; ``"GitHub's official OpenAPI
    spec + Octokit extension"`` -> ``github``: the title before a dash, colon, bracket or
    ``+``, without words like "API", "OpenAPI", "REST" and versions, at most three words.
    ``api`` when nothing is left.
    """
    head = re.split(r"\s[-\u2013\u2014:|+(]|[:|(+]", text, maxsplit=1)[0]
    for part in (head, text):
        words = re.findall(r"[a-z0-9]+", part.lower().replace("'s", ""))
        kept = [w for w in words if w not in _FILLER and not _VERSION.match(w)]
        if kept:
            return "_".join(kept[:3])
    return "api"


class OpenAPIDocument:
    """A loaded OpenAPI 3 document.

    ``name`` is its short name (ids, the provider): the one given, or derived from
    ``info.title`` (:func:`document_name`); ``env_prefix`` starts its variables.
    """

    def __init__(
        self, data: dict[str, Any], file: str, sha256: str, name: str | None = None
    ) -> None:
        self.data = data
        self.file = file
        self.sha256 = sha256
        info = data.get("info")
        title = info.get("title") if isinstance(info, dict) else None
        given = re.sub(r"[^a-z0-9]+", "_", (name or "").lower()).strip("_")
        self.name = given or document_name(title if isinstance(title, str) else "")
        prefix = self.name.upper()
        self.env_prefix = prefix if prefix[0].isalpha() else f"API_{prefix}"
        self._index: dict[str, tuple[str, str]] | None = None
        #: The schemas and the security schemes, each read once for every operation.
        self.schemas = Schemas(data)
        self.schemes = SecuritySchemes(data, file, self.env_prefix, self.schemas)

    @classmethod
    def load(cls, path: str | Path, *, name: str | None = None) -> OpenAPIDocument:
        """Read an OpenAPI JSON (or YAML) document, gzip-compressed if it ends in ``.gz``."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise OpenAPIError(Problem(str(path), f"cannot read: {exc.strerror}")) from None
        suffix = path.suffix
        data_bytes = raw
        if suffix == ".gz":
            suffix = Path(path.stem).suffix
            try:
                with gzip.GzipFile(fileobj=io.BytesIO(raw)) as packed:
                    data_bytes = packed.read(MAX_TEXT_BYTES + 1)
            except (OSError, EOFError) as exc:
                raise OpenAPIError(Problem(str(path), f"not gzip data: {exc}")) from None
        try:
            text = data_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise OpenAPIError(Problem(str(path), f"not UTF-8 text: {exc.reason}")) from None
        if suffix == ".json":
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
                    Problem(f"{path}: {key}", f"`{key}` must be an object", SPEC_HINT)
                )
        return cls(data, str(path), hashlib.sha256(raw).hexdigest(), name)

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
        if self._index is None:
            index: dict[str, tuple[str, str]] = {}
            for method, path, op in self.operations():
                op_id = op.get("operationId")
                if isinstance(op_id, str) and op_id:
                    index.setdefault(op_id, (method, path))
                index.setdefault(f"{method} {path}", (method, path))
            self._index = index
        found = self._index.get(operation)
        parts = operation.split()
        if found is None and len(parts) == 2:
            method = parts[0].upper()
            found = self._index.get(f"{method} {parts[1]}") or self._index.get(
                f"{method} {provider_for(parts[1]).canonical_path(parts[1])}"
            )
        if found is not None:
            return found
        names = [op.get("operationId") or f"{m} {p}" for m, p, op in self.operations()]
        raise OpenAPIError(
            Problem(
                self.file,
                f"no operation {operation!r}",
                did_you_mean(operation, names) or f"operations: {', '.join(sorted(names))}",
            )
        )

    def document_servers(self) -> tuple[str, ...]:
        """The document's own server URLs (see :meth:`servers_of`)."""
        with _malformed(self.file):
            return _servers(self.data.get("servers", []), self.file)

    def servers_of(self, method: str, path: str) -> tuple[str, ...]:
        """The server URLs of an operation (its own, else its path's, else the document's),
        each ``{variable}`` replaced by its default."""
        where = f"{self.file}: {method} {path}"
        with _malformed(where):
            item = self.data["paths"][path]
            op = item[method.lower()]
            for holder in (op, item, self.data):
                if "servers" in holder:
                    return _servers(holder["servers"], where)
            return ()

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
        by_location = self._parameters(item, op, where)
        body_required = False
        content_types: tuple[str, ...] = ()
        whole = False
        if "requestBody" in op:
            body = self.resolve(op["requestBody"], f"{where} requestBody")
            body_required = bool(body.get("required"))
            taken = {p.name for loc in (Location.PATH, Location.QUERY) for p in by_location[loc]}
            fields, content_types, whole = request_body(
                self.schemas, body, body_required, f"{where} requestBody", taken
            )
            by_location[Location.BODY] = fields
        success: list[int] = []
        response_schema: dict[str, Any] | None = None
        for code, response in sorted((op.get("responses") or {}).items()):
            if str(code).isdigit() and 200 <= int(code) < 300:
                success.append(int(code))
                if response_schema is None:
                    resolved = self.resolve(response, f"{where} response {code}")
                    found = self.json_schema_of(resolved, f"{where} response {code}")
                    if found is not None:
                        response_schema = bounded(
                            self.flatten(found, f"{where} response {code}"), RESPONSE_NODES
                        )
        servers = self.servers_of(method, path)
        return ApiOperation(
            operation_id=op.get("operationId") or f"{method} {path}",
            method=method,
            path=path,
            summary=op.get("summary", ""),
            description=op.get("description", ""),
            servers=servers,
            parameters=Parameters(**{k.value: tuple(v) for k, v in by_location.items()}),
            body_required=body_required,
            success_status=tuple(success) or (200,),
            response_schema=response_schema,
            auth=self.schemes.operation_auth(op, servers, where),
            content_types=content_types,
            body_whole=whole,
        )

    def _parameters(
        self, item: dict[str, Any], op: dict[str, Any], where: str
    ) -> dict[Location, list[Param]]:
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in (*item.get("parameters", ()), *op.get("parameters", ())):
            param = self.resolve(raw, where)
            merged[(param.get("in", ""), param.get("name", ""))] = param
        by_location: dict[Location, list[Param]] = {loc: [] for loc in Location}
        for (place, name), param in merged.items():
            if place not in ("path", "query", "header"):
                continue  # cookies: a cookie credential comes from the security scheme
            if place == "header" and str(name).lower() in _IGNORED_HEADERS:
                continue
            at = f"{where} parameter {name}"
            schema = param.get("schema")
            if schema is None and isinstance(param.get("content"), dict) and param["content"]:
                media = next(iter(param["content"].values()))
                schema = media.get("schema") if isinstance(media, dict) else None
            node = self.param(name, {} if schema is None else schema, at)
            update: dict[str, Any] = {
                "required": bool(param.get("required")) or place == "path",
                "description": param.get("description") or node.description,
            }
            if place == "query":
                update.update(style_of(param))
            by_location[Location(place)].append(node.model_copy(update=update))
        return by_location

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

    # -- schemas and security, read by their own modules -----------------------------------

    def resolve(self, node: Any, where: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
        """Follow ``$ref`` until a plain object (:meth:`Schemas.resolve`)."""
        return self.schemas.resolve(node, where, seen)

    def flatten(
        self, schema: Any, where: str, depth: int = 0, inside: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """A schema with every ``$ref`` inlined and every ``allOf`` merged
        (:meth:`Schemas.flatten`): read it, never change it."""
        return self.schemas.flatten(schema, where, depth, inside)

    def param(self, name: str, schema: dict[str, Any], where: str) -> Param:
        """A parameter tree from a schema (:meth:`Schemas.param`)."""
        return self.schemas.param(name, schema, where)

    def security(self, op: dict[str, Any], servers: tuple[str, ...], where: str) -> Auth | None:
        """The credential an operation uses (:meth:`SecuritySchemes.operation_auth`)."""
        return self.schemes.operation_auth(op, servers, where)

    def scheme_auth(
        self, name: str, scopes: Any = (), servers: tuple[str, ...] = ()
    ) -> Auth | None:
        """The security scheme ``name`` as an :class:`Auth`
        (:meth:`SecuritySchemes.scheme_auth`)."""
        return self.schemes.scheme_auth(name, scopes, servers)


def _servers(servers: Any, where: str) -> tuple[str, ...]:
    """The URLs of a ``servers`` list, each entry an object with a string ``url``; a
    ``{variable}`` in one is replaced by its default."""
    if not isinstance(servers, list) or not all(
        isinstance(s, dict) and isinstance(s.get("url", ""), str) for s in servers
    ):
        raise OpenAPIError(Problem(where, "`servers` must be a list of {url: ...}", SPEC_HINT))
    out: list[str] = []
    for server in servers:
        if "url" not in server:
            continue
        variables = server.get("variables") if isinstance(server.get("variables"), dict) else {}

        def default(match: re.Match[str], variables: dict[str, Any] = variables) -> str:
            value = variables.get(match.group(1))
            found = value.get("default") if isinstance(value, dict) else None
            return str(found) if found is not None else match.group(0)

        out.append(re.sub(r"\{([^{}]+)\}", default, server["url"]))
    return tuple(out)


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
            Problem(where, f"the document has an unexpected shape: {what[:200]}", SPEC_HINT)
        ) from None


def _yaml(text: str, file: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    check_yaml(text, file, OpenAPIError)
    try:
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        raise _not_a_document(Problem(file, str(exc))) from None


#: The most schema nodes a manifest keeps of a response schema. Flattening shares the
#: components a schema names many times; written out, a real document's expandable objects
#: (Stripe's ``anyOf`` of an id or the object, nested) would come to hundreds of megabytes.
RESPONSE_NODES = 4000


def bounded(schema: dict[str, Any], budget: int) -> dict[str, Any]:
    """A copy of ``schema`` of at most ``budget`` nodes, breadth first: what does not fit is
    cut to any value, said so (never refused: outputs and checks read the top levels)."""
    left = [budget]

    def copy(node: Any) -> Any:
        if isinstance(node, dict):
            if left[0] <= 0:
                return {"description": "cut: the schema is larger than a manifest keeps"}
            left[0] -= 1
            return {k: copy(v) for k, v in node.items()}
        if isinstance(node, list):
            return [copy(v) for v in node]
        return node

    out: dict[str, Any] = copy(schema)
    return out
