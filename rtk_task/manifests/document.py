"""Every operation of an OpenAPI document as a manifest, in one pass (``manifest build --all``).

:func:`build_all` parses the document once (:class:`OpenAPIDocument` then flattens each
``$ref`` once for all operations) and builds one manifest per operation with the same
:func:`~rtk_task.manifests.build.build_manifest` a single build uses. Guarantees:

- **One refusal never stops the others.** An operation that cannot be built (a ``$ref`` to
  nowhere, a body field named like a path parameter, a schema nested past the bounds) is
  refused with its reason, ``METHOD path (operationId): reason``, and the rest go on.
- **Ids are unique and valid**: ``<name>.<operationId in snake case>`` (an operationId's ``/``
  and ``.`` become dots: GitHub's ``issues/list-for-repo`` is ``github.issues.list_for_repo``),
  or with ``id_rule="path"`` the provider's rule (``<name>.pet.get``); a repeat gets ``_2``,
  ``_3``... An operation without an operationId takes the path rule.
- **The provider is derived from the document**: its name (the one given, else from
  ``info.title``), its servers, and its security schemes. A path a built-in vendor provider
  owns, served from that vendor's hosts, is built for that vendor (its ids, paging, limits and
  credential). Relative servers (``/api/v3``) are kept as they are: the base URL is given at
  call time.
- **Nothing is half written.** Every manifest is built in memory first; the folder is checked
  before anything is built, and each file is written whole (:func:`~rtk_task.files.write_atomic`)
  as ``<id>.json``, then ``provider.json``, which describes the derived provider and which the
  manifest registry skips as "not a manifest" (it has no ``method``). Nothing is written when
  no operation builds.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from ..errors import FileError, Problem, RtkError
from ..files import write_atomic
from ..providers import PROVIDERS, Provider, provider_for
from ..providers.model import host_of
from .build import build_manifest
from .openapi import OpenAPIDocument, credential_hosts

__all__ = ["PROVIDER_FILE", "DocumentProvider", "IdRule", "Refusal", "Summary", "build_all"]

IdRule = Literal["operation_id", "path"]
#: The file that describes the derived provider, beside the manifests.
PROVIDER_FILE = "provider.json"
_MAPPED = (
    RtkError,
    ValidationError,
    AttributeError,
    TypeError,
    KeyError,
    IndexError,
    ValueError,
    RecursionError,
)


@dataclass(frozen=True)
class Refusal:
    """An operation that was not built, and why."""

    method: str
    path: str
    operation_id: str
    reason: str

    def __str__(self) -> str:
        named = f" ({self.operation_id})" if self.operation_id else ""
        return f"{self.method} {self.path}{named}: {self.reason}"


@dataclass(frozen=True)
class Summary:
    """What :func:`build_all` did: the ids built, in document order, and the refusals."""

    out_dir: Path
    name: str
    total: int
    built: tuple[str, ...]
    refused: tuple[Refusal, ...]

    def __str__(self) -> str:
        return (
            f"built {len(self.built)} of {self.total} operations into {self.out_dir}; "
            f"{len(self.refused)} refused"
        )


class DocumentProvider(Provider):
    """The provider an OpenAPI document describes: the plain answers, under its name, ids
    starting with it."""

    def __init__(self, name: str) -> None:
        self.name = name
        #: The plain path-rule id of each task named otherwise (by its operationId).
        self.plain_ids: dict[str, str] = {}

    def task_id(self, method: str, path: str) -> str:
        """``<name>.<literal segments>.<verb>`` (the plain rule, under the document's name)."""
        return f"{self.name}.{super().task_id(method, path)}"

    def record_noun(self, task_id: str) -> str:
        """The noun of the path (``pet`` for ``GET /pet/{petId}``), whatever the id says."""
        plain = self.plain_ids.get(task_id) or task_id.removeprefix(f"{self.name}.")
        return super().record_noun(plain)


def build_all(
    openapi: Path, out_dir: Path, *, name: str | None = None, id_rule: IdRule = "operation_id"
) -> Summary:
    """Build a manifest for every operation of ``openapi`` into ``out_dir``.

    Raises :class:`~rtk_task.errors.OpenAPIError` when the document cannot be read at all and
    :class:`~rtk_task.errors.FileError` when the folder cannot be written (before anything is
    built or written).
    """
    out_dir = Path(out_dir)
    _check_writable(out_dir)
    spec = OpenAPIDocument.load(openapi, name=name)
    own = DocumentProvider(spec.name)
    texts: dict[str, str] = {}
    refused: list[Refusal] = []
    total = 0
    for method, path, op in list(spec.operations()):
        total += 1
        op_id = op.get("operationId")
        op_id = op_id if isinstance(op_id, str) else ""
        try:
            provider = _provider(spec, own, method, path)
            base = _id(spec.name, op_id) if id_rule == "operation_id" and op_id else None
            task_id = _unique(base or provider.task_id(method, path), texts)
            own.plain_ids[task_id] = Provider.task_id(own, method, path)
            built = build_manifest(
                document=spec,
                operation=f"{method} {path}",
                task_id=task_id,
                provider=provider,
            )
            texts[task_id] = built.manifest.to_json()
        except _MAPPED as exc:
            refused.append(Refusal(method, path, op_id, _reason(exc)))
    summary = Summary(out_dir, spec.name, total, tuple(texts), tuple(refused))
    if not texts:
        return summary
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileError(Problem(str(out_dir), f"cannot create: {exc.strerror or exc}")) from None
    for task_id, text in texts.items():
        write_atomic(out_dir / f"{task_id}.json", text)
    write_atomic(out_dir / PROVIDER_FILE, _provider_json(spec, summary))
    return summary


def _check_writable(out_dir: Path) -> None:
    """A :class:`FileError` unless ``out_dir`` is (or can be made) a folder we may write."""
    if out_dir.exists() and not out_dir.is_dir():
        raise FileError(Problem(str(out_dir), "is not a folder", "name a folder for -o"))
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise FileError(
            Problem(str(out_dir), f"cannot write in {existing}", "name a folder you may write")
        )


def _provider(spec: OpenAPIDocument, own: Provider, method: str, path: str) -> Provider:
    """The built-in vendor provider that owns ``path`` when the operation is served from its
    hosts; else the document's own."""
    vendor = provider_for(path)
    if vendor not in PROVIDERS or vendor.auth.type == "none":
        return own
    hosts = [host_of(s) for s in spec.servers_of(method, path)]
    if hosts and all(h and vendor.auth.allows(h) for h in hosts):
        return vendor
    return own


def _id(name: str, operation_id: str) -> str:
    """``<name>.<operationId in snake case>``, its ``/`` and ``.`` as dots."""
    parts = [_snake(p) for p in re.split(r"[/.]", operation_id)]
    parts = [p for p in parts if p]
    return ".".join([name, *parts]) if parts else ""


def _snake(text: str) -> str:
    text = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", text)
    text = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", text)
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _unique(task_id: str, taken: dict[str, str]) -> str:
    if task_id not in taken:
        return task_id
    n = 2
    while f"{task_id}_{n}" in taken:
        n += 1
    return f"{task_id}_{n}"


def _reason(exc: BaseException) -> str:
    """One line: what was wrong (the first problem; the where is the operation already)."""
    if isinstance(exc, RtkError):
        first = exc.first
        where = first.where.split(": ", 1)[1] if ": " in first.where else ""
        # the operation is named already; keep the part of the where that is inside it
        inner = where.split(" ", 2)[2] if where.count(" ") >= 2 else ""
        text = f"{inner}: {first.message}" if inner else first.message
        more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
        return " ".join((text + more).split())
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        loc = ".".join(map(str, err["loc"]))
        return f"{loc}: {err['msg']}" if loc else str(err["msg"])
    if isinstance(exc, RecursionError):
        return "the document nests too deep"
    return f"the document has an unexpected shape: {str(exc)[:200]}"


def _provider_json(spec: OpenAPIDocument, summary: Summary) -> str:
    """The derived provider: name, title, servers and hosts, security schemes as auth, counts."""
    info: dict[str, Any] = spec.data["info"] if isinstance(spec.data.get("info"), dict) else {}
    servers: tuple[str, ...] = ()
    with contextlib.suppress(RtkError):
        servers = spec.document_servers()
    schemes: dict[str, Any] = {}
    found = (spec.data.get("components") or {}).get("securitySchemes") or {}
    for scheme in found if isinstance(found, dict) else {}:
        try:
            auth = spec.scheme_auth(scheme, (), servers)
        except RtkError:
            auth = None
        schemes[scheme] = (
            auth.model_dump(mode="json", exclude_defaults=True) | {"type": auth.type}
            if auth is not None
            else {"type": "none", "note": "rtk-task cannot send this scheme"}
        )
    data = {
        "kind": "rtk-task provider",
        "name": spec.name,
        "title": str(info.get("title", "")),
        "version": str(info.get("version", "")),
        "source": {"file": Path(spec.file).name, "sha256": spec.sha256},
        "servers": list(servers),
        "hosts": list(credential_hosts(servers)),
        "env_prefix": spec.env_prefix,
        "security_schemes": schemes,
        "operations": {
            "total": summary.total,
            "built": len(summary.built),
            "refused": len(summary.refused),
        },
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
