"""Secrets from where teams keep them (issue 27): environment variables, files (and the
``NAME_FILE`` convention), Prefect Secret blocks; each reaches the request and is masked in
everything shown; a worker's allowlist applies to each source."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from rtk_task.errors import WorkflowError
from rtk_task.workflows.model import parse_workflow
from rtk_task.workflows.runner import run_workflow

from ..rawserver import RawServer, answer

FLOW = """name: sources
secrets:
  key: {source}
steps:
  - id: s
    task: http
    with:
      method: POST
      url: "URL/x"
      headers: {{Authorization: "Bearer {{{{ secrets.key }}}}"}}
      body: {{echo: "{{{{ secrets.key }}}}"}}
"""
VALUE = "from-a-source-0123456789"


def _run(source: str) -> tuple[Any, list[bytes]]:
    echo = json.dumps({"echo": VALUE}).encode()
    with RawServer(answer("200 OK", echo)) as server:
        text = FLOW.format(source=source).replace("URL", f"http://127.0.0.1:{server.port}")
        run = run_workflow(parse_workflow(text), {})
        return run, list(server.requests)


def _sent_and_masked(run: Any, sent: list[bytes]) -> None:
    assert run.ok, run.steps["s"].error
    (raw,) = sent
    assert f"Authorization: Bearer {VALUE}".encode() in raw
    assert VALUE not in json.dumps(run.to_json())


def test_a_secret_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_text(VALUE + "\r\n")  # saved with Windows line ends
    run, sent = _run(f"{{file: {path}}}")
    _sent_and_masked(run, sent)


def test_a_variable_falls_back_to_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "key"
    path.write_text(VALUE)
    monkeypatch.delenv("RTK_TEST_SOURCE_KEY", raising=False)
    monkeypatch.setenv("RTK_TEST_SOURCE_KEY_FILE", str(path))
    run, sent = _run("RTK_TEST_SOURCE_KEY")
    _sent_and_masked(run, sent)


def test_a_missing_file_names_it_and_sends_nothing(tmp_path: Path) -> None:
    run, sent = _run(f"{{file: {tmp_path / 'nope'}}}")
    assert sent == []
    error = run.steps["s"].error
    assert error is not None
    assert error.kind == "workflow"
    assert "nope" in error.message
    assert "readable file" in (error.hint or "")


@pytest.mark.parametrize("source", ["'not a name'", "{vault: x}", "{keyring: no-slash}"])
def test_a_source_that_is_none_of_them_is_refused_when_the_file_loads(source: str) -> None:
    with pytest.raises(WorkflowError) as err:
        parse_workflow(FLOW.format(source=source).replace("URL", "http://a.b"))
    assert "secrets.key" in err.value.render()


def test_a_worker_allows_a_file_source_only_by_name(tmp_path: Path) -> None:
    import asyncio

    from rtk_task.engines.worker import SharedClient, WorkerConfig

    path = tmp_path / "key"
    path.write_text(VALUE)
    with RawServer(answer("200 OK", b"{}")) as server:
        text = FLOW.format(source=f"{{file: {path}}}").replace(
            "URL", f"http://127.0.0.1:{server.port}"
        )
        payload = {"definition": text, "step": "s", "inputs": {}, "outputs": {}}
        hosts = frozenset({"127.0.0.1"})
        for allowed, ok in ((frozenset(), False), (frozenset({f"file:{path}"}), True)):
            config = WorkerConfig(allowed_secrets=allowed, allowed_hosts=hosts)
            result = asyncio.run(config.run_payload(SharedClient(), payload, "activity"))
            assert result.ok is ok, result.error
        assert len(server.requests) == 1


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_secret_from_a_prefect_block(prefect_api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_API_URL", prefect_api)
    from prefect.blocks.system import Secret

    name = f"rtk-test-{os.getpid()}"
    Secret(value=VALUE).save(name, overwrite=True)
    run, sent = _run(f"{{prefect_block: {name}}}")
    _sent_and_masked(run, sent)
