"""Engine workers against the emulator: one client per worker, the workflow's retry, and
payloads that ask for more than the worker allows."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rtk_task.engines import ENGINES, get_engine
from rtk_task.engines.worker import WorkerConfig
from rtk_task.workflows.model import load_workflow, parse_workflow

from ..helpers import MEETING_FLOW as EXAMPLE
from .test_engines import RUN_TIMEOUT, SLACK

pytestmark = pytest.mark.slow

RETRIED = """
name: workflow-retry
retry: {max_attempts: 2, initial_interval: 0, jitter: 0}
steps:
  - id: create_meeting
    task: realtimekit.meetings.create
    with: {account_id: acc-retry, title: Retried}
  - id: get_meeting
    task: realtimekit.meetings.get
    with:
      account_id: acc-retry
      meeting_id: "{{ steps.create_meeting.outputs.meeting_id }}"
"""

SECRET = """
name: reads-a-secret
secrets: {key: RTK_TEST_NOT_ALLOWED}
steps:
  - id: create_meeting
    task: realtimekit.meetings.create
    with: {account_id: acc-s, title: "{{ secrets.key }}"}
"""


def _step_payload(definition: str, base_url: str) -> dict[str, Any]:
    return {
        "definition": definition,
        "step": "create_meeting",
        "inputs": {},
        "outputs": {},
        "base_url": base_url,
    }


@pytest.mark.timeout(RUN_TIMEOUT + SLACK)
@pytest.mark.parametrize("engine", ENGINES)
def test_a_step_without_retry_retries_as_the_workflow_says_on_every_engine(
    fresh_emulator: Any, prefect_api: str, engine: str
) -> None:
    fresh_emulator.add_faults(
        {"action": "status", "status": 503, "times": None, "match": {"operation": "get_meeting"}}
    )
    wf = parse_workflow(RETRIED, "<test>")
    run = get_engine(engine).run(wf, {}, base_url=fresh_emulator.base_url)
    assert run.ok is False
    assert run.steps["get_meeting"].attempts == 2
    # 2, not the client's default 3: the workflow's retry reached the client; 2, not 4: the
    # engine did not retry a step that returned its failure
    assert fresh_emulator.stats()["requests"] == {"create_meeting": 1, "get_meeting": 2}


@pytest.mark.timeout(RUN_TIMEOUT + SLACK)
def test_one_client_serves_every_prefect_task_of_a_run_and_is_closed_after(
    emulator: Any, prefect_api: str
) -> None:
    from rtk_task.engines.prefect import _configured, workflow_flow

    wf = load_workflow(EXAMPLE)
    with _configured(WorkerConfig(emulator.base_url)) as worker:
        result = asyncio.run(workflow_flow(wf.definition(), wf.resolve_inputs({})))
    assert result["ok"] is True
    assert len(result["steps"]) == 3
    assert worker.clients.made == 1, f"{worker.clients.made} clients for 3 tasks"
    assert worker.clients.clients() == [], "the client was not closed when the flow ended"


def test_a_temporal_activity_refuses_another_base_url_before_sending(
    fresh_emulator: Any,
) -> None:
    from rtk_task.engines.temporal import StepActivities

    wf = load_workflow(EXAMPLE)
    activities = StepActivities(WorkerConfig("http://127.0.0.1:9/client/v4"))
    data = asyncio.run(activities.run_step(_step_payload(wf.definition(), fresh_emulator.base_url)))
    assert data["ok"] is False
    assert data["error"]["kind"] == "config"
    assert "base URL" in data["error"]["message"]
    assert fresh_emulator.stats()["requests"] == {}, "a refused payload was sent"
    assert activities.clients.made == 0


def test_a_temporal_activity_refuses_a_secret_the_worker_does_not_allow(
    fresh_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rtk_task.engines.temporal import StepActivities

    monkeypatch.setenv("RTK_TEST_NOT_ALLOWED", "leak-me")
    activities = StepActivities(WorkerConfig(fresh_emulator.base_url))
    data = asyncio.run(activities.run_step(_step_payload(SECRET, fresh_emulator.base_url)))
    assert data["error"]["kind"] == "config"
    assert "RTK_TEST_NOT_ALLOWED" in data["error"]["message"]
    assert fresh_emulator.stats()["requests"] == {}


def test_a_temporal_activity_runs_what_the_worker_allows(
    fresh_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rtk_task.engines.temporal import StepActivities

    monkeypatch.setenv("RTK_TEST_NOT_ALLOWED", "allowed-here")
    config = WorkerConfig(fresh_emulator.base_url, frozenset({"RTK_TEST_NOT_ALLOWED"}))
    activities = StepActivities(config)

    async def run() -> dict[str, Any]:
        try:
            return await activities.run_step(_step_payload(SECRET, fresh_emulator.base_url))
        finally:
            await activities.aclose()

    data = asyncio.run(run())
    assert data["ok"] is True, data["error"]
    assert fresh_emulator.stats()["requests"] == {"create_meeting": 1}


def test_prefect_tasks_refuse_a_base_url_other_than_the_workers(
    fresh_emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rtk_task.engines.prefect import http_task, run_step_task

    monkeypatch.setenv("RTK_BASE_URL", "http://127.0.0.1:9/client/v4")
    wf = load_workflow(EXAMPLE)
    step = asyncio.run(
        run_step_task.fn(wf.definition(), "create_meeting", {}, {}, fresh_emulator.base_url)
    )
    call = asyncio.run(
        http_task.fn(
            "realtimekit.meetings.get",
            {"account_id": "a", "meeting_id": "m"},
            fresh_emulator.base_url,
        )
    )
    assert (step["error"]["kind"], call["error"]["kind"]) == ("config", "config")
    assert fresh_emulator.stats()["requests"] == {}
