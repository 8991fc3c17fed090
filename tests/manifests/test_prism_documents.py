"""Other vendors' OpenAPI documents, end to end against Stoplight Prism, a third-party mock
that validates each request against the document (``prism mock DOC --errors``).

Three public documents (tests/data/openapi/SOURCES.md: Swagger Petstore 3, a Chargebee subset
with form bodies, a GitHub subset with ``oneOf`` schemas): every operation builds with
``--all``, and one call per operation, with inputs made from its own schema
(:mod:`tests.schema_values`), is accepted by Prism: no request-validation or security error.
On a recording server: Petstore's ``api_key`` header carries the configured key, and
``uploadFile`` sends the file's bytes exactly. No other provider's credential (a canary
``CLOUDFLARE_API_TOKEN``) reaches any of these hosts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rtk_task import Client
from rtk_task.manifests.document import build_all
from rtk_task.manifests.model import Manifest

from ..prism_mock import running_prism
from ..rawserver import RawServer, answer
from ..schema_values import FILE_BYTES, inputs_for

DATA = Path(__file__).resolve().parent.parent / "data" / "openapi"
#: Prism's problem types for a request it refuses (validation, security, negotiation).
_REFUSALS = ("UNPROCESSABLE_ENTITY", "UNAUTHORIZED", "NOT_ACCEPTABLE", "INVALID_CONTENT_TYPE")
#: Prism's type when its own example answer breaks the document's response schema (with
#: ``--errors`` it answers 500): about the document, not the request, unless a violation is
#: located in the request.
_VIOLATIONS = "VIOLATIONS"
CANARY = "cf-canary-must-never-leave-0000"

pytestmark = pytest.mark.slow


def _built(document: str, name: str, folder: Path) -> list[Manifest]:
    summary = build_all(DATA / document, folder, name=name)
    assert not summary.refused, [str(r) for r in summary.refused]
    assert len(summary.built) == summary.total
    return [Manifest.from_file(folder / f"{task}.json") for task in summary.built]


def _credentials(manifests: list[Manifest]) -> dict[str, str]:
    """A value for every variable the tasks' auths read (Prism checks they are there)."""
    return {v: f"key-{v.lower()}" for m in manifests for v in m.auth.variables}


def _refused(body: Any) -> str | None:
    """Prism's reason for refusing the request, if it did."""
    kind = body.get("type", "") if isinstance(body, dict) else ""
    if not isinstance(kind, str):
        return None
    if kind.endswith(_VIOLATIONS):
        found = body.get("validation") or []
        located = [v.get("location", [""])[0] for v in found if isinstance(v, dict)]
        return kind if "request" in located else None
    return kind if kind.endswith(_REFUSALS) else None


def _accepted(status: int | None, body: Any) -> bool:
    """Prism answered as the document says (a 500 of its own example's making counts)."""
    if status is None or _refused(body):
        return False
    own_example = isinstance(body, dict) and str(body.get("type", "")).endswith(_VIOLATIONS)
    return status < 400 or own_example


@pytest.mark.parametrize(
    ("document", "name"),
    [
        ("petstore3.yaml", "petstore"),
        ("form_chargebee.json", "chargebee"),
        ("oneof_github_subset.json", "github"),
    ],
)
def test_every_operation_builds_and_prism_accepts_a_call_of_each(
    document: str, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", CANARY)
    manifests = _built(document, name, tmp_path / "tasks")
    assert all(m.provider != "realtimekit" for m in manifests)
    bad: list[str] = []
    with (
        running_prism(DATA / document) as base_url,
        Client(base_url=base_url, credentials=_credentials(manifests)) as client,
    ):
        for manifest in manifests:
            inputs = inputs_for(manifest, tmp_path / "files")
            result = client.call(manifest, inputs)
            sent = result.request
            if sent is None:  # refused before sending: the inputs or the manifest are wrong
                bad.append(f"{manifest.id}: not sent: {result.error}")
                continue
            assert CANARY not in json.dumps(sent.model_dump(mode="json"))
            refusal = _refused(result.body)
            if not _accepted(result.status_code, result.body):
                bad.append(
                    f"{manifest.id}: {result.status_code} {refusal or ''} "
                    f"{json.dumps(result.body)[:300]} inputs={json.dumps(inputs)[:200]}"
                )
    assert not bad, f"{len(bad)} of {len(manifests)} refused by Prism:\n" + "\n".join(bad)


def test_petstores_api_key_header_carries_the_configured_key(tmp_path: Path) -> None:
    manifests = {m.id: m for m in _built("petstore3.yaml", "petstore", tmp_path / "tasks")}
    get_pet = manifests["petstore.get_pet_by_id"]
    assert (get_pet.auth.type, get_pet.auth.location, get_pet.auth.name) == (
        "api_key",
        "header",
        "api_key",
    )
    with (
        RawServer(answer("200 OK", b'{"id": 1, "name": "doggie"}')) as server,
        Client(credentials={get_pet.auth.env: "special-key"}) as client,
    ):
        result = client.call(get_pet, {"petId": 1}, base_url=f"http://127.0.0.1:{server.port}")
    assert result.ok, result.error
    (raw,) = server.requests
    head = raw.split(b"\r\n\r\n", 1)[0].lower()
    assert b"\r\napi_key: special-key" in head, head
    assert b"authorization" not in head
    assert result.request is not None
    assert result.request.headers["api_key"] == "***"


def test_upload_file_sends_the_files_bytes_exactly(tmp_path: Path) -> None:
    manifests = {m.id: m for m in _built("petstore3.yaml", "petstore", tmp_path / "tasks")}
    upload = manifests["petstore.upload_file"]
    assert upload.body_whole
    assert upload.content_types[0] == "application/octet-stream"
    file = tmp_path / "photo.bin"
    file.write_bytes(FILE_BYTES)
    credentials = dict.fromkeys(upload.auth.variables, "token-1")
    with (
        RawServer(answer("200 OK", b'{"code": 200, "type": "ok", "message": "x"}')) as server,
        Client(credentials=credentials) as client,
    ):
        result = client.call(
            upload,
            {"petId": 3, "body": str(file)},
            base_url=f"http://127.0.0.1:{server.port}",
        )
    assert result.ok, result.error
    (raw,) = server.requests
    head, body = raw.split(b"\r\n\r\n", 1)
    assert body == FILE_BYTES, f"{len(body)} bytes arrived, {len(FILE_BYTES)} were in the file"
    assert b"content-type: application/octet-stream" in head.lower()
