"""The manifest: the typed description of one API operation.

Everything downstream (inputs, rendering, the request, outputs, engines) reads a
:class:`Manifest`; nothing reads docs pages or OpenAPI documents again at run time. A manifest
is a fact, so every model here is frozen, and it is written as deterministic, pretty JSON.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    field_validator,
    model_validator,
)

from ..errors import ManifestError, Problem
from ..limits import loads_json
from ..providers.model import (
    CREDENTIAL_ENV_SUFFIXES,
    PLACEHOLDER,
    Auth,
    LimitRule,
    Paging,
    host_of,
)

__all__ = [
    "BODY",
    "FORM",
    "JSON",
    "MANIFEST_VERSION",
    "MULTIPART",
    "PLACEHOLDER",
    "TOKEN_ENV_SUFFIXES",
    "Auth",
    "LimitRule",
    "Location",
    "Manifest",
    "Note",
    "Output",
    "Paging",
    "Param",
    "ParamType",
    "Parameters",
    "Source",
    "check_path_template",
    "is_json",
    "media_type",
]

MANIFEST_VERSION: Literal[1] = 1


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class ParamType(StrEnum):
    """The types a docs page or an OpenAPI schema gives a parameter."""

    STRING = "string"
    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    OBJECT = "object"
    ARRAY = "array"
    #: No type of its own: any JSON value, or whichever of ``one_of``/``any_of`` fits.
    ANY = "any"


class Location(StrEnum):
    """Where a parameter goes in the request."""

    PATH = "path"
    QUERY = "query"
    HEADER = "header"
    BODY = "body"


#: Where step inputs go, by the name they are given under (headers go under ``headers``).
INPUT_LOCATIONS = (Location.PATH, Location.QUERY, Location.BODY)
#: The input that holds a whole body that is not an object (``body_whole``).
BODY = "body"
#: The media type a body is sent as when the manifest names none.
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


def media_type(content_type: str) -> str:
    """``"text/plain; charset=utf-8"`` -> ``"text/plain"``."""
    return content_type.split(";", 1)[0].strip().lower()


def is_json(content_type: str) -> bool:
    """Whether a media type is JSON (``application/json``, ``...+json``, ``.../json``)."""
    kind = media_type(content_type)
    return kind == JSON or kind.endswith(("+json", "/json"))


#: Kept for the importers: a token variable's name ends in one of these.
TOKEN_ENV_SUFFIXES = CREDENTIAL_ENV_SUFFIXES


class Param(_Frozen):
    """One parameter, or one field of a body, with its children when it is an object."""

    name: str
    type: ParamType
    required: bool = False
    description: str = ""
    #: The documented default. Defaults are documentation: they are never injected.
    default: JsonValue = None
    enum: tuple[JsonValue, ...] | None = None
    minimum: int | float | None = None
    maximum: int | float | None = None
    format: str | None = None
    nullable: bool = False
    #: For arrays: the item (named ``[]``); ``None`` when the source does not say.
    items: Param | None = None
    #: For objects: the fields.
    children: tuple[Param, ...] = ()
    #: For objects: the schema of fields not in ``children`` (a map's values), or ``True``
    #: for any value; ``None``/``False``: no other field is allowed.
    additional: Param | bool | None = None
    #: Exactly one of these fits (``oneOf``), or at least one (``anyOf``).
    one_of: tuple[Param, ...] = ()
    any_of: tuple[Param, ...] = ()
    #: The field whose value says which of ``one_of`` applies (OpenAPI ``discriminator``).
    discriminator: str | None = None
    #: Query and form fields: OpenAPI ``style`` (``form``, ``deepObject``, ``spaceDelimited``,
    #: ``pipeDelimited``) and ``explode``; ``None``: the default for where it goes.
    style: str | None = None
    explode: bool | None = None

    @property
    def is_file(self) -> bool:
        """Whether the value is a file's contents (``format: binary``): a step gives a path."""
        return self.type is ParamType.STRING and self.format == "binary"

    def child(self, name: str) -> Param | None:
        """The child field called ``name``, if any."""
        return next((c for c in self.children if c.name == name), None)

    def walk(self, prefix: str = "") -> list[tuple[str, Param]]:
        """Every node below and including this one, as ``(dotted path, param)``."""
        path = f"{prefix}.{self.name}" if prefix else self.name
        out = [(path, self)]
        for c in self.children:
            out.extend(c.walk(path))
        if self.items is not None:
            out.extend(self.items.walk(path))
        if isinstance(self.additional, Param):
            out.extend(self.additional.walk(path))
        for variant in (*self.one_of, *self.any_of):
            out.extend(variant.walk(path))
        return out


class Parameters(_Frozen):
    """Parameters by location, each a tuple of trees."""

    path: tuple[Param, ...] = ()
    query: tuple[Param, ...] = ()
    header: tuple[Param, ...] = ()
    body: tuple[Param, ...] = ()

    def at(self, location: Location) -> tuple[Param, ...]:
        """The parameters at one location."""
        params: tuple[Param, ...] = getattr(self, location.value)
        return params


#: A path template: ``/`` then path characters and ``{name}`` placeholders. No ``//`` start,
#: ``@``, ``\\``, ``?``, ``#``, spaces or control characters: nothing that moves the authority.
_PATH = re.compile(r"^/(?!/)[A-Za-z0-9\-._~!$&'()*+,;=:/{}%]*$")


def check_path_template(path: str) -> str:
    """``path`` when it is a path template that keeps the base URL's host, else ValueError."""
    if not _PATH.match(path):
        raise ValueError(
            f"{path[:80]!r} is not a path: it must start with one `/` and hold only path "
            "characters and {placeholders} (no `@`, `?`, `#`, `\\`, spaces)"
        )
    return path


class Output(_Frozen):
    """A declared output: ``name`` taken from ``path`` (dotted, into the response body)."""

    name: str
    path: str
    description: str = ""


class Note(_Frozen):
    """A trailing section of a docs page the loader does not interpret, kept as text."""

    title: str
    text: str


class Source(_Frozen):
    """A file a manifest was built from."""

    role: Literal["docs", "openapi"]
    file: str
    sha256: str
    #: For OpenAPI: the operation picked (operationId).
    operation: str | None = None


class Manifest(_Frozen):
    """One API operation, typed, as every later stage reads it."""

    manifest_version: Literal[1] = MANIFEST_VERSION
    id: str = Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
    #: The provider it was built for (``realtimekit``, a document's name); auth, paging and
    #: rate limits below are that provider's, copied in so a call needs the manifest alone.
    provider: str = ""
    summary: str = ""
    description: str = ""
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    path: str
    #: Other templates of the same operation (e.g. the live RealtimeKit path of a legacy one).
    #: The request builder uses the template that uses the most of the given path
    #: parameters and needs none that is missing (``path`` wins a tie).
    alternate_paths: tuple[str, ...] = ()
    servers: tuple[str, ...] = ()
    #: The task talks to its own server only (a plain ``http`` step): a base URL given to a
    #: client or the CLI never moves it, and a client's own token is never sent to it.
    fixed_server: bool = False
    # factories, not instances: a default instance would build the models at import
    auth: Auth = Field(default_factory=Auth)
    parameters: Parameters = Field(default_factory=Parameters)
    body_required: bool = False
    #: The media types the body may be sent as, preferred first (empty: JSON). A step picks
    #: another of them with its ``Content-Type`` header.
    content_types: tuple[str, ...] = ()
    #: The body is one value that is not an object (an array, a scalar, a file): the input
    #: ``body`` holds it whole.
    body_whole: bool = False
    success_status: tuple[int, ...] = (200,)
    idempotent: bool
    outputs: tuple[Output, ...] = ()
    #: How the list pages, when it does (``paginate: true``).
    paging: Paging | None = None
    #: The documented rate limits a call counts against.
    rate_limits: tuple[LimitRule, ...] = ()
    #: JSON Schema of the success response body, when a source gives one.
    response_schema: dict[str, Any] | None = None
    notes: tuple[Note, ...] = ()
    provenance: tuple[Source, ...] = ()

    @field_validator("path")
    @classmethod
    def _path(cls, path: str) -> str:
        return check_path_template(path)

    @field_validator("alternate_paths")
    @classmethod
    def _alternate_paths(cls, paths: tuple[str, ...]) -> tuple[str, ...]:
        for path in paths:
            check_path_template(path)
        return paths

    @model_validator(mode="after")
    def _credential_hosts(self) -> Manifest:
        """A credential goes only to its hosts: every server of the manifest must be one, and
        a variable another provider owns may not be read for anyone else's host."""
        auth = self.auth
        if auth.type == "none":
            return self
        for server in self.servers:
            if auth.hosts and not auth.allows(host_of(server)):
                raise ValueError(
                    f"the credential ({auth.refs}) may be sent only to "
                    f"{', '.join(auth.hosts)}; the server {server} is another host"
                )
        from ..providers import owner_of  # the registry of built-in providers

        hosts = auth.hosts or tuple(host_of(s) for s in self.servers)
        for env in auth.variables:
            owner = owner_of(env)
            if owner is not None and not all(owner.allows(h) for h in hosts if h):
                raise ValueError(
                    f"${env} is the {owner.note or 'provider'} credential: it may be sent "
                    f"only to {', '.join(owner.hosts)}, not to {', '.join(hosts) or 'any host'}"
                )
            if owner is not None and not hosts:
                raise ValueError(f"${env} is bound to {', '.join(owner.hosts)}: name a server")
        return self

    @property
    def path_templates(self) -> tuple[str, ...]:
        """``path`` then ``alternate_paths``."""
        return (self.path, *self.alternate_paths)

    def to_json(self) -> str:
        """Deterministic, pretty JSON, ending in a newline."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        # Keep what a reader looks for first even where it equals a default.
        data = {
            "manifest_version": self.manifest_version,
            "id": self.id,
            **data,
            "method": self.method,
            "idempotent": self.idempotent,
        }
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str = "<manifest>") -> Manifest:
        """Parse a manifest, mapping every problem to a :class:`ManifestError`.

        The JSON is read within :mod:`rtk_task.limits` (size, nesting; no ``NaN``), then
        validated: a manifest that loads is one every later stage can use.
        """
        data = loads_json(
            text, where, ManifestError, hint="rebuild it with `rtk-task manifest build`"
        )
        if not isinstance(data, dict):
            raise ManifestError(
                Problem(
                    where,
                    "a manifest is a JSON object",
                    "rebuild it with `rtk-task manifest build`",
                )
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise ManifestError(
                [
                    Problem(
                        f"{where}: {'.'.join(str(p) for p in err['loc'])}",
                        err["msg"],
                        "rebuild it with `rtk-task manifest build`",
                    )
                    for err in exc.errors()
                ]
            ) from None

    @classmethod
    def from_file(cls, path: Path) -> Manifest:
        """Read a manifest file."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ManifestError(Problem(str(path), f"cannot read: {exc.strerror}")) from None
        except UnicodeDecodeError as exc:
            raise ManifestError(
                Problem(
                    str(path),
                    f"not UTF-8 text: {exc.reason} at byte {exc.start}",
                    "save it as UTF-8",
                )
            ) from None
        return cls.from_json(text, str(path))
