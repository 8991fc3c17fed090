"""OpenAPI 3.0/3.1 operation -> :class:`ApiOperation`: any vendor's document, read for a manifest.

Only what a manifest needs is read, and every shape the specification allows gives a result
(a document of the wrong shape is an :class:`OpenAPIError` naming the operation, never another
exception):

- **Parameters**, path-level and operation-level (the operation's win), in the path, the query
  and headers; a query parameter keeps its ``style``/``explode`` where they are not the
  default (``form``, exploded). ``in: cookie`` parameters are skipped (a cookie credential
  comes from the security scheme instead), and so are ``Accept``, ``Content-Type`` and
  ``Authorization`` headers, which the specification says to ignore. A parameter described
  by ``content`` instead of ``schema`` takes its first media type's schema.
- **The request body**, from every media type it offers, preferred in this order: JSON
  (``application/json``, then any ``+json``), ``application/x-www-form-urlencoded``,
  ``multipart/form-data``, then the others as listed (``text/*``, binary types such as
  ``application/octet-stream``, ``*/*``), XML last. ``content_types`` lists what can be sent,
  preferred first: XML only when nothing else is offered (sent as raw text), a wildcard as
  a concrete type (``*/*`` and ``image/*`` as ``application/octet-stream``, ``text/*`` as
  ``text/plain``); it is empty when the body is plain JSON, or there is none. The body's
  parameters come from the preferred type's schema: an object's properties are the body
  fields; anything else (an array, a scalar, a ``oneOf``, a map, a file, text) is one
  parameter, ``body``, and ``body_whole`` is set. A binary type with no schema is a file
  (``format: binary``: the step gives its path); text with no schema is a string. A JSON,
  form or multipart body with an empty schema is an unpublished one: no known fields. For
  form and multipart bodies the ``encoding`` object's ``style``/``explode`` go on the fields,
  and a multipart string field is a file when it is ``format: binary``, has a 3.1
  ``contentMediaType``/``contentEncoding``, or an ``encoding.contentType`` that is not text.
- **Schemas**: ``$ref`` is resolved inside the document (a cycle of bare references is an
  error; a schema that contains itself, like a session's breakout rooms, is cut at the repeat
  into a plain object), ``allOf`` is merged, nesting past 32 levels is an error. ``oneOf`` and
  ``anyOf`` give the parameter's ``one_of``/``any_of`` variants, each a :class:`Param` named
  :data:`ONE_OF` or :data:`ANY_OF`; its type is the schema's own, else the variants' common
  type, else ``any`` (a lone variant beside ``null`` is that variant, nullable). A 3.1 type
  list of several types is ``any`` with one ``any_of`` variant per type; ``const`` is a
  one-value ``enum``; ``discriminator.propertyName`` is kept. ``additionalProperties`` with a
  schema gives ``additional`` (a :class:`Param` named :data:`MAP_VALUES`), ``true`` (or ``{}``)
  ``additional=True``. An object with no properties that says nothing of others is left as
  manifests have always had it, ``additional`` unset: with no fields known, any is accepted
  (so the shipped manifests, built before ``additional`` existed, read the same). A schema
  with no type and nothing else is ``any``.
- **Security**: the operation's ``security`` (else the document's) as one :class:`Auth`: the
  first alternative whose schemes can all be expressed (one that needs two schemes at once
  gives its first, and says so in ``note``); ``security: []`` means none. HTTP bearer, basic
  and other token schemes, API keys in a header, the query or a cookie, and OAuth2 client
  credentials map to their own kind; other OAuth2 flows and OpenID Connect become a bearer
  token the user supplies. Variables are ``<PREFIX>_TOKEN``, ``<PREFIX>_API_KEY``,
  ``<PREFIX>_USERNAME``/``_PASSWORD``, ``<PREFIX>_CLIENT_ID``/``_CLIENT_SECRET``,
  ``<PREFIX>_ACCESS_TOKEN``, PREFIX the document's :attr:`~OpenAPIDocument.name` in upper case
  (two schemes of one kind add the scheme's name). The credential is bound to the hosts of the
  operation's servers when they are absolute URLs.

A document is read once and every ``$ref`` is flattened once per document: the flattened
component is reused wherever it is met again, unless a schema being inlined above it is part
of it (where the cut depends on the context), so a large document costs about its size.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from pydantic import ValidationError

from ..errors import OpenAPIError, Problem, did_you_mean
from ..limits import MAX_TEXT_BYTES, check_yaml, loads_json
from ..providers import provider_for
from ..providers.model import host_of
from .model import BODY, JSON, Auth, Location, Param, Parameters, ParamType

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

_SPEC_HINT = "check the document against the OpenAPI 3 specification"
_HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
#: Deepest nesting of a schema (properties, items, variants) that is read.
_MAX_DEPTH = 32
#: The names of a schema's parts below a parameter (an array's item is ``[]``).
ONE_OF = "[oneOf]"
ANY_OF = "[anyOf]"
MAP_VALUES = "*"
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
_OCTETS = "application/octet-stream"
#: Header parameters the specification says to ignore.
_IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
#: HTTP auth schemes that need a challenge and an answer: no static header expresses them.
_CHALLENGES = frozenset(
    {"digest", "negotiate", "ntlm", "hoba", "mutual", "vapid", "scram-sha-1", "scram-sha-256"}
)
_TYPES = frozenset(t.value for t in ParamType) - {ParamType.ANY.value}
#: Keys of a schema that a variant made from a 3.1 type list does not repeat.
_NOT_INHERITED = frozenset(
    {"type", "description", "title", "default", "nullable", "oneOf", "anyOf", "discriminator"}
)
_HOST = re.compile(r"^[a-z0-9.\-]+$|^\[[0-9a-f:.]+\]$")
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


@dataclass
class _Reach:
    """What flattening one schema met: every reference (followed, cut or reused) and the
    deepest level it went to. A flattened component is reusable in a context that holds none
    of its references."""

    refs: set[str] = field(default_factory=set)
    deepest: int = 0


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


def media_kind(media: str) -> str:
    """How a body of this media type is sent: ``json``, ``form``, ``multipart``, ``xml``,
    ``text`` or ``binary`` (the file's bytes, or the text given)."""
    kind = media.split(";", 1)[0].strip().lower()
    if kind == JSON or kind.endswith(("+json", "/json")):
        return "json"
    if kind == _FORM:
        return "form"
    if kind == _MULTIPART:
        return "multipart"
    if "xml" in kind:
        return "xml"
    return "text" if kind.startswith("text/") else "binary"


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
        self._flat: dict[str, tuple[dict[str, Any], frozenset[str], int]] = {}
        self._index: dict[str, tuple[str, str]] | None = None
        self._bases: dict[str, str] | None = None

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
                    Problem(f"{path}: {key}", f"`{key}` must be an object", _SPEC_HINT)
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
            fields, content_types, whole = self._body(
                body, body_required, f"{where} requestBody", taken
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
                        response_schema = self.flatten(found, f"{where} response {code}")
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
            auth=self.security(op, servers, where),
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
                update.update(_style(param))
            by_location[Location(place)].append(node.model_copy(update=update))
        return by_location

    # -- the request body -----------------------------------------------------------------

    def _body(
        self, body: dict[str, Any], required: bool, where: str, taken: set[str]
    ) -> tuple[list[Param], tuple[str, ...], bool]:
        """The body's parameters, the media types it can be sent as, and whether it is whole.

        An object whose field shares its name with a path or query parameter (``PUT
        /user/{username}`` with a ``username`` field), or is called ``headers``, is whole: step
        inputs name path, query and body fields side by side."""
        content = body.get("content") or {}
        if not isinstance(content, dict):
            raise OpenAPIError(Problem(where, "`content` must be an object", _SPEC_HINT))
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
            if schema is None or not self.resolve(schema, where):
                return [], content_types, False  # an unpublished schema: no known fields
            flat = self.flatten(schema, where)
            root = _param(BODY, flat, where, required=required, parts=kind == "multipart")
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
                description=description
                or ("the file to send" if binary else f"the body, as {media}"),
            )
        else:
            root = self.param(BODY, schema, where)
            loose = root.type is ParamType.ANY and not (root.one_of or root.any_of)
            if kind == "binary" and (root.type is ParamType.STRING or loose):
                root = root.model_copy(update={"type": ParamType.STRING, "format": "binary"})
        update: dict[str, Any] = {"required": required}
        if not root.description and description:
            update["description"] = description
        return [root.model_copy(update=update)], content_types, True

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

    # -- security -------------------------------------------------------------------------

    def security(self, op: dict[str, Any], servers: tuple[str, ...], where: str) -> Auth | None:
        """The credential an operation uses, as an :class:`Auth` (``None``: none usable)."""
        requirements = op["security"] if "security" in op else self.data.get("security")
        if requirements is None:
            return None
        if not isinstance(requirements, list) or not all(isinstance(r, dict) for r in requirements):
            raise OpenAPIError(
                Problem(f"{where} security", "`security` must be a list of objects", _SPEC_HINT)
            )
        if not requirements:
            return Auth(note="the document says this operation needs no credential")
        optional = any(not r for r in requirements)
        for requirement in requirements:
            if not requirement:
                continue
            auths = [
                self.scheme_auth(name, scopes, servers) for name, scopes in requirement.items()
            ]
            first = auths[0]
            if first is None or any(a is None for a in auths):
                continue
            notes = [first.note]
            if len(auths) > 1:
                others = ", ".join(repr(n) for n in list(requirement)[1:])
                notes.append(f"the document also asks for {others} at once; it is not sent")
            if optional:
                notes.append("the document also allows calling with no credential")
            return first.model_copy(update={"note": "; ".join(notes)})
        if optional:
            return Auth(note="the document allows calling this operation with no credential")
        return None

    def scheme_auth(
        self, name: str, scopes: Any = (), servers: tuple[str, ...] = ()
    ) -> Auth | None:
        """The security scheme ``name`` as an :class:`Auth` (``None``: not expressible)."""
        schemes = (self.data.get("components") or {}).get("securitySchemes") or {}
        if not isinstance(schemes, dict) or name not in schemes:
            return None
        scheme = self.resolve(schemes[name], f"{self.file}: securitySchemes {name}")
        base = self._variable_bases(schemes)[name]
        kind = scheme.get("type")
        hosts = credential_hosts(servers)
        note = f"from the document's security scheme {name!r}"
        fields: dict[str, Any] = {}
        if kind == "http":
            http = str(scheme.get("scheme") or "").lower()
            if http == "bearer":
                fields = {"type": "bearer", "env": f"{base}_TOKEN"}
            elif http == "basic":
                fields = {
                    "type": "basic",
                    "username_env": f"{base}_USERNAME",
                    "env": f"{base}_PASSWORD",
                }
            elif http and http not in _CHALLENGES:
                template = f"{scheme['scheme']} {{{{ secret }}}}"
                fields = {"type": "header", "env": f"{base}_TOKEN", "template": template}
        elif kind == "apiKey" and scheme.get("in") in ("header", "query", "cookie"):
            fields = {
                "type": "api_key",
                "env": f"{base}_API_KEY",
                "name": str(scheme.get("name") or ""),
                "location": scheme["in"],
            }
        elif kind == "oauth2":
            flows: dict[str, Any] = scheme["flows"] if isinstance(scheme.get("flows"), dict) else {}
            client = flows.get("clientCredentials")
            token_url = client.get("tokenUrl") if isinstance(client, dict) else None
            if isinstance(token_url, str) and token_url:
                absolute = next((s for s in servers if host_of(s)), "")
                token_url = urljoin(absolute, token_url) if absolute else token_url
            if isinstance(token_url, str) and token_url.startswith(("https://", "http://")):
                fields = {
                    "type": "oauth2",
                    "username_env": f"{base}_CLIENT_ID",
                    "env": f"{base}_CLIENT_SECRET",
                    "token_url": token_url,
                    "scopes": tuple(str(s) for s in scopes or ()),
                }
            else:
                env = f"{base}_ACCESS_TOKEN"
                kinds = ", ".join(map(str, flows)) or "no flow"
                note += (
                    f" (OAuth2, {kinds}): rtk-task does not run this flow; give an access "
                    f"token in ${env}"
                )
                fields = {"type": "bearer", "env": env}
        elif kind == "openIdConnect":
            env = f"{base}_ACCESS_TOKEN"
            note += f" (OpenID Connect): rtk-task does not sign in; give an access token in ${env}"
            fields = {"type": "bearer", "env": env}
        if not fields:
            return None
        try:
            return Auth(**fields, hosts=hosts, note=note)
        except ValidationError:
            return None  # a header it cannot carry, an empty key name...

    def _variable_bases(self, schemes: dict[str, Any]) -> dict[str, str]:
        """``<PREFIX>`` for each scheme, or ``<PREFIX>_<SCHEME>`` where two schemes would
        otherwise read the same variable."""
        if self._bases is None:
            kinds: dict[str, str] = {}
            for name, scheme in schemes.items():
                s = scheme if isinstance(scheme, dict) else {}
                kinds[name] = f"{s.get('type')}/{str(s.get('scheme', '')).lower()}"
                if s.get("type") == "oauth2":
                    flows = s["flows"] if isinstance(s.get("flows"), dict) else {}
                    kinds[name] += "/cc" if "clientCredentials" in flows else ""
                if s.get("type") == "openIdConnect":
                    kinds[name] = "oauth2/"
            counts = {k: list(kinds.values()).count(k) for k in kinds.values()}
            self._bases = {}
            for name, kind in kinds.items():
                base = self.env_prefix
                if counts[kind] > 1:
                    words = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", str(name)).upper()
                    words = re.sub(r"[^A-Z0-9]+", "_", words).strip("_")
                    words = re.sub(r"(_?(API|KEY|TOKEN|AUTH))+$", "", words) or "SCHEME"
                    base = f"{base}_{words}"
                self._bases[name] = base
        return self._bases

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
            raise OpenAPIError(Problem(where, "schema nests deeper than 32 levels"))
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
                raise OpenAPIError(Problem(where, "schema nests deeper than 32 levels"))
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
            raise OpenAPIError(Problem(where, "`allOf` must be a list of schemas", _SPEC_HINT))
        if not isinstance(schema.get("properties", {}), dict):
            raise OpenAPIError(Problem(where, "`properties` must be an object", _SPEC_HINT))
        for key in ("oneOf", "anyOf"):
            if not isinstance(schema.get(key, []), list):
                raise OpenAPIError(Problem(where, f"`{key}` must be a list of schemas", _SPEC_HINT))
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
        return _param(name, flat, where, required=False)


def _param(
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
            _param(ANY_OF, {**base, "type": t}, where, required=False, files=files) for t in types
        )
        kind, any_of = ParamType.ANY, (*split, *any_of)
    elif types:
        kind = ParamType(types[0]) if types[0] in _TYPES else ParamType.ANY
    else:
        common = {v.type for v in variants}
        kind = common.pop() if len(common) == 1 else ParamType.ANY
    needed = set(schema.get("required", ()))
    children = tuple(
        _param(child, sub, f"{where}.{child}", required=child in needed, files=parts)
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
            additional = _param(MAP_VALUES, extra, f"{where}.*", required=False)
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
        items=_param("[]", items, f"{where}[]", required=False, files=files) if items else None,
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
        out.append(_param(name, sub, f"{where}{name}", required=False, files=files))
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


def _style(holder: dict[str, Any]) -> dict[str, Any]:
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
    update = _style(spec)
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
        exact = media.split(";", 1)[0].strip().lower() == JSON
        return 0 if exact else order[media_kind(media)]

    return sorted(content, key=rank)  # sorted() is stable: listed order within a rank


def _sendable(ranked: list[str]) -> tuple[str, ...]:
    """What a body can be sent as: XML only when nothing else is offered; a wildcard as a
    concrete type."""
    others = [m for m in ranked if media_kind(m) != "xml"]
    out: dict[str, None] = {}
    for media in others or ranked:
        kind = media.split(";", 1)[0].strip().lower()
        if kind.endswith("/*"):
            media = "text/plain" if kind == "text/*" else _OCTETS
        out[media] = None
    return tuple(out)


def credential_hosts(servers: tuple[str, ...]) -> tuple[str, ...]:
    """The hosts a credential is bound to: those of the servers when every one is an absolute
    URL (empty: the manifest's servers')."""
    hosts = [host_of(s) for s in servers]
    if not hosts or not all(h and _HOST.match(h) for h in hosts):
        return ()
    return tuple(dict.fromkeys(hosts))


def _servers(servers: Any, where: str) -> tuple[str, ...]:
    """The URLs of a ``servers`` list, each entry an object with a string ``url``; a
    ``{variable}`` in one is replaced by its default."""
    if not isinstance(servers, list) or not all(
        isinstance(s, dict) and isinstance(s.get("url", ""), str) for s in servers
    ):
        raise OpenAPIError(Problem(where, "`servers` must be a list of {url: ...}", _SPEC_HINT))
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
