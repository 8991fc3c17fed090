"""A worker trusts no payload (issue 23): an ``http`` step only to a host the worker allows
(none by default), ``task:`` only a task id (a file path is refused the same whether the file
exists or not), on the Temporal activity and the Prefect task alike; nothing is sent."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from rtk_task.engines.worker import SharedClient, WorkerConfig

from ..rawserver import RawServer, answer

HTTP_STEP = """
name: proxy
steps:
  - id: create_meeting
    task: http
    with: {{method: GET, url: "{url}/x"}}
"""
PATH_STEP = """
name: disk
steps:
  - id: create_meeting
    task: {path}
"""


def _run(config: WorkerConfig, definition: str) -> dict[str, Any]:
    payload = {"definition": definition, "step": "create_meeting", "inputs": {}, "outputs": {}}

    async def go() -> dict[str, Any]:
        clients = SharedClient(config.base_url)
        try:
            result = await config.run_payload(clients, payload, "activity")
        finally:
            await clients.aclose()
        return result.model_dump(mode="json")

    return asyncio.run(go())


def test_a_worker_refuses_an_http_step_to_a_host_it_does_not_allow() -> None:
    with RawServer(answer("200 OK", b"{}")) as server:
        data = _run(WorkerConfig(), HTTP_STEP.format(url=f"http://127.0.0.1:{server.port}"))
        sent = list(server.requests)
    assert data["ok"] is False
    assert data["error"]["kind"] == "config"
    assert "--allow-host 127.0.0.1" in data["error"]["hint"]
    assert sent == [], "the worker sent a payload's request to a host it does not allow"


def test_a_worker_calls_a_host_it_allows() -> None:
    with RawServer(answer("200 OK", b"{}")) as server:
        config = WorkerConfig(allowed_hosts=frozenset({"127.0.0.1"}))
        data = _run(config, HTTP_STEP.format(url=f"http://127.0.0.1:{server.port}"))
        sent = list(server.requests)
    assert data["ok"] is True, data["error"]
    assert len(sent) == 1


@pytest.mark.parametrize("exists", [True, False])
def test_a_worker_refuses_a_task_file_and_tells_nothing_of_its_disk(
    tmp_path: Path, exists: bool
) -> None:
    path = tmp_path / "fixed.json"
    if exists:
        path.write_text('{"id": "x.y", "method": "GET", "path": "/", "servers": ["http://a"]}')
    data = _run(WorkerConfig(), PATH_STEP.format(path=path))
    assert data["ok"] is False
    assert data["error"]["kind"] == "workflow"
    message = data["error"]["message"] + (data["error"]["hint"] or "")
    assert "by id, not from files" in message
    for word in ("exist", "cannot read", "No such", "not found"):
        assert word not in message, message


def test_a_prefect_call_refuses_a_task_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rtk_task.engines.prefect import http_task

    monkeypatch.delenv("RTK_ALLOW_HOSTS", raising=False)
    data = asyncio.run(http_task.fn(str(tmp_path / "fixed.json"), {}))
    assert data["ok"] is False
    assert data["error"]["kind"] == "config"
    assert "by id" in data["error"]["message"]


def test_the_worker_command_offers_allow_host() -> None:
    from click.testing import CliRunner

    from rtk_task.cli.temporal import worker

    done = CliRunner().invoke(worker, ["--help"])
    assert "--allow-host" in done.output


def test_handing_a_run_to_workers_needs_their_server(monkeypatch: pytest.MonkeyPatch) -> None:
    from rtk_task.engines import get_engine
    from rtk_task.errors import ConfigError
    from rtk_task.workflows.model import parse_workflow

    monkeypatch.delenv("RTK_TEMPORAL_ADDRESS", raising=False)
    engine = get_engine("temporal", task_queue="team", local_worker=False)
    workflow = parse_workflow(HTTP_STEP.format(url="http://127.0.0.1:9"))
    with pytest.raises(ConfigError) as err:
        engine.run(workflow, {})
    assert "RTK_TEMPORAL_ADDRESS" in err.value.render()


def test_a_task_queue_is_refused_for_another_engine(tmp_path: Path) -> None:
    from ..helpers import run_cli

    (tmp_path / "w.yaml").write_text(HTTP_STEP.format(url="http://127.0.0.1:9"))
    done = run_cli("run", "w.yaml", "--task-queue", "q", cwd=tmp_path)
    assert done.returncode == 2
    assert "--engine temporal" in done.stderr


@pytest.mark.parametrize(("idempotent", "kind"), [(False, "ambiguous"), (True, "engine")])
def test_a_lost_step_is_a_result_saying_whether_it_may_have_been_sent(
    idempotent: bool, kind: str
) -> None:
    from rtk_task.engines.worker import lost
    from rtk_task.workflows.model import parse_workflow

    step = parse_workflow(HTTP_STEP.format(url="http://127.0.0.1:9")).steps[0]
    result = lost(step, idempotent, TimeoutError("heartbeat timeout"))
    assert result.ok is False
    assert result.error is not None
    assert result.error.kind == kind
    assert "heartbeat timeout" in result.error.message
