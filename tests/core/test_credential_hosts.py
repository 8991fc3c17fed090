"""A credential goes only to the hosts it belongs to: the suite's canary
``CLOUDFLARE_API_TOKEN`` never reaches another vendor's host, on any path (a manifest of
another API, a plain ``http`` step, a workflow run, the playground's emulator target, an
imported cURL command), and a manifest that would send it elsewhere does not load.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rtk_task import Client, parse_workflow, run_workflow
from rtk_task.errors import ManifestError, WorkflowError
from rtk_task.manifests.model import Manifest
from rtk_task.providers.model import Auth
from rtk_task.workflows.imports import request_step
from rtk_task.workflows.imports.curl import parse_curl

from ..helpers import CANARY
from ..rawserver import RawServer, answer

OTHER = {
    "manifest_version": 1,
    "id": "other.items.list",
    "method": "GET",
    "path": "/items",
    "servers": ["https://api.other.example"],
    "idempotent": True,
}


def test_a_manifest_may_not_send_the_cloudflare_token_to_another_host() -> None:
    bad = {**OTHER, "auth": {"type": "bearer", "env": "CLOUDFLARE_API_TOKEN"}}
    with pytest.raises(ManifestError) as err:
        Manifest.from_json(json.dumps(bad), "other.json")
    assert "CLOUDFLARE_API_TOKEN" in err.value.render()
    assert "api.cloudflare.com" in err.value.render()


def test_a_manifest_whose_server_is_not_one_of_its_credentials_hosts_does_not_load() -> None:
    bad = {**OTHER, "auth": {"type": "bearer", "env": "OTHER_TOKEN", "hosts": ["api.a.example"]}}
    with pytest.raises(ManifestError) as err:
        Manifest.from_json(json.dumps(bad), "other.json")
    assert "api.other.example" in err.value.render()


def test_another_apis_task_never_reads_the_cloudflare_variable() -> None:
    manifest = Manifest.model_validate(
        {**OTHER, "auth": Auth(type="api_key", env="OTHER_API_KEY", name="X-Api-Key")}
    )
    with RawServer(answer("200 OK", b"[]")) as server, Client() as client:
        result = client.call(manifest, {}, base_url=f"http://127.0.0.1:{server.port}")
    # no OTHER_API_KEY set: nothing is sent, and the Cloudflare token was never a stand-in
    assert result.error is not None
    assert result.error.kind == "config", result.error
    assert server.requests == []


def test_a_workflow_of_another_api_sends_no_canary(tmp_path: Path) -> None:
    manifest = Manifest.model_validate(
        {**OTHER, "auth": Auth(type="api_key", env="OTHER_API_KEY", name="X-Api-Key")}
    )
    file = tmp_path / "other.items.list.json"
    file.write_text(manifest.to_json())
    wf = parse_workflow(
        f"name: other\nsteps:\n  - id: items\n    task: {file}\n    with: {{}}\n", "wf.yaml"
    )
    with RawServer(answer("200 OK", b"[]")) as server:
        run = run_workflow(
            wf,
            {},
            base_url=f"http://127.0.0.1:{server.port}",
            credentials={"OTHER_API_KEY": "other-key"},
        )
    assert run.ok, run
    (raw,) = server.requests
    assert CANARY.encode() not in raw
    assert b"x-api-key: other-key" in raw.lower()


def test_an_http_step_may_not_declare_the_cloudflare_token() -> None:
    text = (
        "name: leak\nsecrets:\n  cf: CLOUDFLARE_API_TOKEN\nsteps:\n  - id: s\n    task: http\n"
        "    with:\n      url: https://status.example.com/api\n"
        '      headers: {Authorization: "Bearer {{ secrets.cf }}"}\n'
    )
    with pytest.raises(WorkflowError) as err:
        parse_workflow(text, "leak.yaml")
    assert "CLOUDFLARE_API_TOKEN" in err.value.render()


def test_an_imported_curl_of_another_host_declares_its_own_secret() -> None:
    step = request_step(
        parse_curl("curl https://api.other.example/items -H 'Authorization: Bearer $OTHER_TOKEN'")
    )
    assert "CLOUDFLARE_API_TOKEN" not in step.secrets.values()
    assert CANARY not in json.dumps(step.step)


def test_the_playground_on_its_emulator_offers_only_the_emulated_apis_credential() -> None:
    pytest.importorskip("starlette")
    from rtk_task.ui.service import Playground

    playground = Playground(base_url="http://127.0.0.1:9/client/v4", live=False)
    assert set(playground._credentials() or {}) == {"CLOUDFLARE_API_TOKEN"}
    live = Playground(base_url="http://127.0.0.1:9/client/v4", live=True)
    assert live._credentials() is None  # live: each task reads its own variables
