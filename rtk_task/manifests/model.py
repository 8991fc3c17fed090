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
    ValidationInfo,
    field_validator,
)

from ..errors import ManifestError, Problem
from ..limits import loads_json

__all__ = [
    "MANIFEST_VERSION",
    "TOKEN_ENV_SUFFIXES",
    "Auth",
    "Location",
    "Manifest",
    "Note",
    "Output",
    "Param",
    "ParamType",
    "Parameters",
    "Source",
    "check_path_template",
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


class Location(StrEnum):
    """Where a parameter goes in the request."""

    PATH = "path"
    QUERY = "query"
    HEADER = "header"
    BODY = "body"


#: Where step inputs go, by the name they are given under (headers go under ``headers``).
INPUT_LOCATIONS = (Location.PATH, Location.QUERY, Location.BODY)
#: A ``{name}`` placeholder in a path template.
PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


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


#: An environment variable may hold a token only if its name ends in one of these: ``HOME``
#: or ``PATH`` must never be sent as a bearer.
TOKEN_ENV_SUFFIXES = ("TOKEN", "KEY", "SECRET")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: RFC 9110 token characters: a header name that cannot break a request or a shell line.
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
#: Headers the transport sets itself; a manifest cannot put the token in them.
_RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
#: A path template: ``/`` then path characters and ``{name}`` placeholders. No ``//`` start,
#: ``@``, ``\``, ``?``, ``#``, spaces or control characters: nothing that moves the authority.
_PATH = re.compile(r"^/(?!/)[A-Za-z0-9\-._~!$&'()*+,;=:/{}%]*$")


def check_path_template(path: str) -> str:
    """``path`` when it is a path template that keeps the base URL's host, else ValueError."""
    if not _PATH.match(path):
        raise ValueError(
            f"{path[:80]!r} is not a path: it must start with one `/` and hold only path "
            "characters and {placeholders} (no `@`, `?`, `#`, `\\`, spaces)"
        )
    return path


class Auth(_Frozen):
    """How a request is authenticated: a bearer token read from an environment variable, or
    (``type: none``) nothing.

    ``env`` must name a token variable (an identifier ending in ``TOKEN``, ``KEY`` or
    ``SECRET``); ``header`` must be a header name the transport does not set itself.
    """

    type: Literal["bearer", "none"] = "bearer"
    header: str = "Authorization"
    env: str = "CLOUDFLARE_API_TOKEN"

    @field_validator("env")
    @classmethod
    def _token_variable(cls, env: str, info: ValidationInfo) -> str:
        if env == "" and info.data.get("type") == "none":
            return env  # no auth: no variable
        if not _ENV_NAME.match(env):
            raise ValueError(f"{env[:80]!r} is not an environment variable name")
        if not env.upper().endswith(TOKEN_ENV_SUFFIXES):
            raise ValueError(
                f"{env!r} does not look like a token variable: its name must end in "
                + ", ".join(TOKEN_ENV_SUFFIXES)
            )
        return env

    @field_validator("header")
    @classmethod
    def _header_name(cls, header: str) -> str:
        if not HEADER_NAME.match(header):
            raise ValueError(f"{header[:80]!r} is not a header name")
        if header.lower() in _RESERVED_HEADERS:
            raise ValueError(f"{header!r} is set by the transport; it cannot carry the token")
        return header


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
    success_status: tuple[int, ...] = (200,)
    idempotent: bool
    outputs: tuple[Output, ...] = ()
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
