"""Build a :class:`Manifest` from a docs page, an OpenAPI operation, or a page overlaid on one.

In an overlay what the page states wins; the OpenAPI operation fills what the page leaves
empty (enum values, ranges, formats, array item types, descriptions, defaults, the response
schema, fields the page does not list) and every disagreement goes into a drift report.

What is specific to one API (the other forms of a path, the task id, whether a call may be
resent, the success envelope outputs are read from) is asked of the path's provider
(:func:`~rtk_task.providers.provider_for`); nothing here names a vendor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ManifestError, Problem
from ..providers import Provider, provider_for
from ..providers.base import ListShape
from ..providers.model import host_of
from .docs import load_docs
from .model import (
    INPUT_LOCATIONS,
    Auth,
    Location,
    Manifest,
    Output,
    Param,
    Parameters,
    ParamType,
    Source,
)
from .openapi import ApiOperation, OpenAPIDocument

__all__ = ["Build", "Drift", "build_manifest", "derive_id", "rebuild"]

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_SCALARS = frozenset({"string", "number", "integer", "boolean"})
#: Input names reserved by the step's own shape.
RESERVED = frozenset({"headers"})


@dataclass(frozen=True)
class Drift:
    """One difference between a docs page and its OpenAPI operation."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class Build:
    """A built manifest and what the sources disagreed on."""

    manifest: Manifest
    drift: tuple[Drift, ...] = ()


def build_manifest(
    docs: str | Path | None = None,
    *,
    openapi: str | Path | None = None,
    operation: str | None = None,
    task_id: str | None = None,
    document: OpenAPIDocument | None = None,
    provider: Provider | None = None,
) -> Build:
    """Build a manifest from a docs page, an OpenAPI operation, or both (an overlay).

    ``document`` is an OpenAPI document already loaded (instead of ``openapi``: a whole
    document's operations are built from one parse); ``provider`` answers the vendor
    questions instead of the path's own provider.
    """
    if docs is None and openapi is None and document is None:
        raise ManifestError("nothing to build from", hint="give a docs page, --openapi, or both")
    page = load_docs(docs) if docs is not None else None
    api: ApiOperation | None = None
    spec: OpenAPIDocument | None = document
    if spec is None and openapi is not None:
        spec = OpenAPIDocument.load(openapi)
    if spec is not None:
        if operation is None and page is None:
            raise ManifestError("--openapi alone needs --operation", hint="an operationId")
        api = spec.operation(operation or f"{page.method} {page.path}")  # type: ignore[union-attr]
    drift: list[Drift] = []
    if page is not None and api is not None:
        parameters = _overlay(page.parameters, api.parameters, drift)
        path = page.path
        if provider_for(page.path).canonical_path(page.path) != page.path:
            drift.insert(0, Drift("path", f"the page's path is legacy; live: {api.path}"))
        if page.method != api.method:
            drift.insert(0, Drift("method", f"page {page.method}, openapi {api.method}"))
    elif page is not None:
        parameters, path = page.parameters, page.path
    else:
        assert api is not None
        parameters, path = api.parameters, api.path
    method = page.method if page else api.method  # type: ignore[union-attr]
    servers = page.servers if page and page.servers else api.servers if api else ()
    provider = provider or provider_for(path)
    alternates = tuple(p for p in provider.path_forms(path) if p != path)
    templates = (path, *alternates)
    parameters = _path_parameters(parameters, templates)
    source = str(docs or openapi or (spec.file if spec else ""))
    _check_names(parameters, source)
    response_schema = api.response_schema if api else None
    sources: list[Source] = []
    if page is not None:
        sources.append(Source(role="docs", file=Path(page.file).name, sha256=page.sha256))
    if api is not None and spec is not None:
        sources.append(
            Source(
                role="openapi",
                file=Path(spec.file).name,
                sha256=spec.sha256,
                operation=api.operation_id,
            )
        )
    task_id = task_id or provider.task_id(method, path)
    outputs = _outputs(provider, task_id, method, path, parameters, response_schema)
    inputs = {p.name for loc in INPUT_LOCATIONS for p in parameters.at(loc)}
    fields: dict[str, Any] = dict(  # noqa: C408 (the model's keywords, checked by it)
        id=task_id,
        provider=provider.name,
        summary=(page.summary if page and page.summary else api.summary if api else ""),
        description=(
            page.description if page and page.description else api.description if api else ""
        ),
        method=method,
        path=path,
        alternate_paths=alternates,
        servers=servers,
        auth=_auth(provider, api, servers),
        parameters=parameters,
        body_required=api.body_required if api else False,
        content_types=api.content_types if api else (),
        body_whole=api.body_whole if api else False,
        success_status=api.success_status if api else _default_success(method),
        idempotent=provider.idempotent(method, task_id),
        outputs=outputs,
        paging=provider.paging({p.name for p in parameters.query}, {o.name for o in outputs}),
        rate_limits=provider.limit_rules(task_id, inputs),
        response_schema=response_schema,
        notes=page.notes if page else (),
        provenance=tuple(sources),
    )
    try:
        manifest = Manifest.model_validate(fields)
    except ValidationError as exc:
        raise ManifestError(
            [
                Problem(
                    f"{source}: {'.'.join(map(str, err['loc'])) or 'manifest'}",
                    str(err["msg"]).removeprefix("Value error, "),
                    "fix the source, or give the task's auth in a provider file",
                )
                for err in exc.errors()
            ]
        ) from None
    return Build(manifest, tuple(drift))


def _auth(provider: Provider, api: ApiOperation | None, servers: tuple[str, ...]) -> Auth:
    """A vendor provider's own auth; else what the OpenAPI operation's security says, bound to
    the document's hosts; else none, with a note saying why (never another vendor's token)."""
    vendor = provider.auth
    hosts = [h for h in map(host_of, servers) if h]
    if vendor.type != "none" and all(vendor.allows(h) for h in hosts):
        return vendor
    if api is not None and api.auth is not None:
        return api.auth
    if vendor.type != "none":
        return Auth(
            note=f"the server {', '.join(hosts)} is not {provider.name}'s: its credential "
            "is not sent there"
        )
    if api is not None:
        return Auth(note="the document names no security scheme this operation can use")
    return Auth(note="a docs page names no auth scheme: give one in a provider file")


def rebuild(manifest_file: Path) -> Build:
    """Build a manifest again from the sources its provenance names.

    Sources are looked for in ``sources/`` beside the manifest, then beside it.
    """
    current = Manifest.from_file(manifest_file)
    found: dict[str, Path] = {}
    operation = None
    for source in current.provenance:
        for folder in (manifest_file.parent / "sources", manifest_file.parent):
            if (folder / source.file).is_file():
                found[source.role] = folder / source.file
                break
        else:
            raise ManifestError(
                Problem(
                    str(manifest_file),
                    f"source {source.file!r} not found",
                    "keep sources in sources/ beside the manifest",
                )
            )
        operation = source.operation or operation
    return build_manifest(
        found.get("docs"), openapi=found.get("openapi"), operation=operation, task_id=current.id
    )


def derive_id(method: str, path: str) -> str:
    """The task id the path's provider gives an operation: ``/accounts/{a}/realtime/kit/{b}/
    meetings`` + POST -> ``realtimekit.meetings.create``."""
    return provider_for(path).task_id(method, path)


def _default_success(method: str) -> tuple[int, ...]:
    return {"POST": (200, 201), "DELETE": (200, 204)}.get(method, (200,))


# -- overlay -------------------------------------------------------------------------------


def _overlay(page: Parameters, api: Parameters, drift: list[Drift]) -> Parameters:
    merged: dict[str, tuple[Param, ...]] = {}
    for loc in Location:
        merged[loc.value] = _merge_siblings(page.at(loc), api.at(loc), loc.value, drift)
    return Parameters(**merged)


def _merge_siblings(
    page: tuple[Param, ...], api: tuple[Param, ...], where: str, drift: list[Drift]
) -> tuple[Param, ...]:
    by_name = {p.name: p for p in api}
    out: list[Param] = []
    for p in page:
        field = f"{where}:{p.name}" if ":" not in where else f"{where}.{p.name}"
        other = by_name.pop(p.name, None)
        if other is None:
            drift.append(Drift(field, "only in the docs page"))
            out.append(p)
        else:
            out.append(_merge(p, other, field, drift))
    for name, other in by_name.items():
        field = f"{where}:{name}" if ":" not in where else f"{where}.{name}"
        drift.append(Drift(field, "only in the OpenAPI operation (added)"))
        out.append(other)
    return tuple(out)


def _merge(page: Param, api: Param, field: str, drift: list[Drift]) -> Param:
    if page.type != api.type:
        drift.append(Drift(field, f"type: page {page.type.value}, openapi {api.type.value}"))
        numeric = {ParamType.NUMBER, ParamType.INTEGER}
        if not {page.type, api.type} <= numeric:
            return page
    if page.required != api.required:
        drift.append(Drift(field, f"required: page {page.required}, openapi {api.required}"))
    update: dict[str, Any] = {}
    if page.default is None:
        update["default"] = api.default
    elif api.default is not None and api.default != page.default:
        drift.append(Drift(field, f"default: page {page.default!r}, openapi {api.default!r}"))
    if page.enum is None:
        update["enum"] = api.enum
    elif api.enum is not None and set(map(repr, api.enum)) != set(map(repr, page.enum)):
        drift.append(
            Drift(field, f"valid values: page {list(page.enum)}, openapi {list(api.enum)}")
        )
    for key in ("minimum", "maximum", "format"):
        if getattr(page, key) is None:
            update[key] = getattr(api, key)
    update["nullable"] = page.nullable or api.nullable
    if not page.description:
        update["description"] = api.description
    if page.items is None:
        update["items"] = api.items
    elif api.items is not None:
        update["items"] = _merge(page.items, api.items, f"{field}[]", drift)
    if page.children or api.children:
        update["children"] = _merge_siblings(page.children, api.children, field, drift)
    return page.model_copy(update=update)


# -- checks and derived parts -------------------------------------------------------------


def _path_parameters(parameters: Parameters, templates: tuple[str, ...]) -> Parameters:
    """Path parameters that match the path templates.

    A placeholder with no parameter gets a plain string one; a parameter that not every
    template uses is optional: giving it picks the template that uses it.
    """
    names = [set(_PLACEHOLDER.findall(t)) for t in templates]
    everywhere = set.intersection(*names)
    anywhere = set.union(*names)
    known = {p.name: p for p in parameters.path}
    out: list[Param] = []
    for name in dict.fromkeys(n for t in templates for n in _PLACEHOLDER.findall(t)):
        param = known.pop(name, None) or Param(name=name, type=ParamType.STRING)
        if name in everywhere:
            param = param.model_copy(update={"required": True})
        else:
            users = " or ".join(t for t in templates if f"{{{name}}}" in t)
            param = param.model_copy(
                update={
                    "required": False,
                    "description": f"{param.description} Optional: giving it sends the request "
                    f"to {users}.".strip(),
                }
            )
        out.append(param)
    if known:
        raise ManifestError(
            [
                Problem(
                    f"path parameter {name!r}",
                    "is not in the path " + templates[0],
                    "add {" + name + "} to the path or remove the row",
                )
                for name in known
                if name not in anywhere
            ]
        )
    return parameters.model_copy(update={"path": tuple(out)})


def _check_names(parameters: Parameters, where: str) -> None:
    """Path, query and top-level body names share one namespace in a step's inputs."""
    seen: dict[str, str] = {}
    problems: list[Problem] = []
    for loc in INPUT_LOCATIONS:
        for p in parameters.at(loc):
            if p.name in RESERVED:
                problems.append(
                    Problem(
                        where,
                        f"{loc.value} parameter {p.name!r} clashes with `headers`",
                        "step inputs keep headers under `headers`",
                    )
                )
            elif p.name in seen:
                problems.append(
                    Problem(
                        where,
                        f"{loc.value} parameter {p.name!r} clashes with the "
                        f"{seen[p.name]} parameter of the same name",
                        "step inputs name path, query and body fields side by side",
                    )
                )
            seen.setdefault(p.name, loc.value)
    ManifestError.collect(problems)


def _outputs(
    provider: Provider,
    task_id: str,
    method: str,
    path: str,
    parameters: Parameters,
    schema: dict[str, Any] | None,
) -> tuple[Output, ...]:
    """Declared outputs from the success schema, read through the provider's envelope.

    A list gives ``items`` and the page counts (``total_count``...); one record gives
    ``<noun>_id`` from its ``id`` and its scalar fields; a record wrapped in one field of the
    payload (``data.session``) is read inside it, and several give one ``<field>_id`` each.
    Without a schema, what the operation's shape allows (:func:`_shape_outputs`).
    """
    if not schema:
        return _shape_outputs(provider, task_id, method, path, parameters)
    envelope = provider.envelope
    data_path = envelope.data or ""
    data = _at(schema, data_path)
    pages = provider.pages({p.name for p in parameters.query})
    shape = provider.list_shape(method, path) or _list_shape(data, data_path, pages)
    if shape is not None:
        return _list_outputs(schema, shape, pages, envelope.paging, envelope.total)
    fields = data.get("properties", {})
    noun = provider.record_noun(task_id)
    holders = {
        name: sub
        for name, sub in fields.items()
        if sub.get("type") == "object" and "id" in sub.get("properties", {})
    }
    if "id" not in fields and len(holders) == 1:
        ((name, sub),) = holders.items()
        return _record(sub.get("properties", {}), _join(data_path, name), name)
    outputs = list(_record(fields, data_path, noun))
    if "id" not in fields:
        for name in holders:
            outputs.append(Output(name=f"{_snake(name)}_id", path=_join(data_path, name, "id")))
    return _unique(outputs)


def _shape_outputs(
    provider: Provider, task_id: str, method: str, path: str, parameters: Parameters
) -> tuple[Output, ...]:
    """Outputs of an operation no source gives a response schema for (a docs page alone).

    A GET on a collection whose query pages (a page number and size, an offset and size, or
    a cursor) gives ``items`` at the envelope's payload and the page counts it pages by
    (``total_count``, or the next ``cursor``); a create, or a GET on one item, gives
    ``<noun>_id`` at the payload's ``id``. Anything else in the body is read by a step's own
    ``outputs:`` from ``response.body``.
    """
    envelope = provider.envelope
    data_path = envelope.data or ""
    on_item = bool(_PLACEHOLDER.fullmatch(path.rstrip("/").rsplit("/", 1)[-1]))
    style = provider.paging_style({p.name for p in parameters.query})
    if method == "GET" and not on_item and style is not None:
        shape = provider.list_shape(method, path) or ListShape(data_path, envelope.paging)
        outputs = [Output(name="items", path=shape.items, description="every item of the page")]
        if style == "cursor":
            where, what = envelope.cursor, "the cursor of the next page"
        else:
            where, what = envelope.total, "every item"
        name = "next_cursor" if style == "cursor" else envelope.total
        outputs.append(Output(name=name, path=_join(shape.paging or "", where), description=what))
        return tuple(outputs)
    noun = _snake(provider.record_noun(task_id))
    if task_id.rsplit(".", 1)[-1] == "create" and method == "POST":
        what = f"the id of the new {noun}"
        return (Output(name=f"{noun}_id", path=_join(data_path, "id"), description=what),)
    if method == "GET" and on_item:
        what = f"the {noun}'s id"
        return (Output(name=f"{noun}_id", path=_join(data_path, "id"), description=what),)
    return ()


def _record(fields: dict[str, Any], where: str, noun: str) -> tuple[Output, ...]:
    outputs: list[Output] = []
    if "id" in fields:
        outputs.append(
            Output(
                name=f"{_snake(noun)}_id",
                path=_join(where, "id"),
                description=fields["id"].get("description", ""),
            )
        )
    for name, sub in fields.items():
        if name != "id" and sub.get("type") in _SCALARS:
            outputs.append(
                Output(
                    name=_snake(name),
                    path=_join(where, name),
                    description=sub.get("description", ""),
                )
            )
    return _unique(outputs)


def _list_shape(data: dict[str, Any], data_path: str, pages: bool) -> ListShape | None:
    """The payload itself when it is an array; its one array field when the call pages."""
    if data.get("type") == "array":
        return ListShape(items=data_path)
    arrays = [n for n, sub in data.get("properties", {}).items() if sub.get("type") == "array"]
    if pages and len(arrays) == 1:
        return ListShape(items=_join(data_path, arrays[0]))
    return None


def _list_outputs(
    schema: dict[str, Any], shape: ListShape, pages: bool, paging_key: str | None, total: str
) -> tuple[Output, ...]:
    outputs = [Output(name="items", path=shape.items, description="every item of the page")]
    paging_path = shape.paging
    if paging_path is None and paging_key:
        parent = shape.items.rsplit(".", 1)[0] if "." in shape.items else ""
        for where in dict.fromkeys((paging_key, _join(parent, paging_key))):
            if _at(schema, where):
                paging_path = where
                break
    counts = _at(schema, paging_path).get("properties", {}) if paging_path else {}
    for name, sub in counts.items():
        if sub.get("type") in _SCALARS:
            outputs.append(Output(name=name, path=_join(paging_path or "", name)))
    if pages and paging_key and not any(o.name == total for o in outputs):
        # the call pages but the schema leaves the counts out: the envelope's own place
        where = paging_path or paging_key
        outputs.append(Output(name=total, path=_join(where, total), description="every item"))
    return tuple(outputs)


def _at(schema: dict[str, Any], dotted: str) -> dict[str, Any]:
    node = schema
    for part in filter(None, dotted.split(".")):
        node = node.get("properties", {}).get(part, {})
    return node


def _join(*parts: str) -> str:
    return ".".join(p for p in parts if p)


def _snake(name: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    return re.sub(r"[^a-z0-9_]", "_", name.lower())


def _unique(outputs: list[Output] | tuple[Output, ...]) -> tuple[Output, ...]:
    """The first output of each name."""
    seen: dict[str, Output] = {}
    for output in outputs:
        seen.setdefault(output.name, output)
    return tuple(seen.values())
