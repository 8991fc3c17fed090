"""Prefect 3: a task per step and a flow per workflow file.

    pip install 'rtk-task[prefect]'
    rtk-task run wf.yaml --engine prefect          # a local, ephemeral Prefect

From a flow of your own::

    from prefect import flow
    from rtk_task.engines.prefect import http_task

    @flow
    async def onboard(account_id: str) -> str:
        created = await http_task("realtimekit.meetings.create", {"account_id": account_id})
        return created["outputs"]["meeting_id"]

Tasks return the ``TaskResult`` as plain JSON (secrets masked). The API token and the
workflow's secrets come from the environment of the process running the task, never from
task parameters. Retries are mapped from the task: a non-idempotent call (a create) gets no
Prefect retry, since the client already retries what is safe and Prefect must never send a
create twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

# Set before Prefect is imported: no analytics, quiet logs, a local ephemeral API.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
# Prefect waits 20 s for its ephemeral server; a first start in a new PREFECT_HOME (imports,
# then database migrations) took about 21 s on a 2-core machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

from prefect import flow, task

from ..client import AsyncClient
from ..manifests.registry import load_task
from ..result import TaskResult
from ..workflows.model import Step, Workflow, parse_workflow
from ..workflows.runner import RunResult, run_on_engine, run_step_async, schedule

__all__ = ["http_task", "run_step_task", "run_with_engine", "workflow_flow"]


@task(name="rtk-task call", retries=0, persist_result=False)
async def http_task(
    task_id: str, inputs: dict[str, Any], base_url: str | None = None
) -> dict[str, Any]:
    """Call one task with plain-data inputs; the ``TaskResult`` as JSON."""
    async with AsyncClient(base_url=base_url) as client:
        result = await client.call(task_id, inputs)
    return result.model_dump(mode="json")


@task(name="rtk-task step", persist_result=False)
async def run_step_task(
    definition: str,
    step_id: str,
    inputs: dict[str, Any],
    outputs: dict[str, dict[str, Any]],
    base_url: str | None = None,
) -> dict[str, Any]:
    """Run one step of a workflow definition (JSON or YAML text)."""
    wf = parse_workflow(definition, "<prefect parameter>")
    async with AsyncClient(base_url=base_url) as client:
        result = await run_step_async(client, wf, wf.step(step_id), inputs, outputs)
    return result.model_dump(mode="json")


@flow(name="rtk-task workflow", persist_result=False)
async def workflow_flow(
    definition: str, inputs: dict[str, Any], base_url: str | None = None
) -> dict[str, Any]:
    """Run a workflow definition's steps in dependency order, each as a Prefect task."""
    wf = parse_workflow(definition, "<prefect parameter>")

    async def run_one(
        step: Step, values: Mapping[str, Any], outputs: Mapping[str, Mapping[str, Any]]
    ) -> TaskResult:
        idempotent = load_task(step.task).idempotent
        retries = (step.retry.max_attempts if step.retry else 3) - 1 if idempotent else 0
        data = await run_step_task.with_options(name=f"step {step.id}", retries=retries)(
            definition,
            step.id,
            dict(values),
            {k: dict(v) for k, v in outputs.items()},
            base_url,
        )
        return TaskResult.model_validate(data)

    return (await schedule(wf, inputs, run_one)).to_json()


def run_with_engine(
    wf: Workflow,
    inputs: Mapping[str, Any],
    *,
    base_url: str | None = None,
    on_step: Callable[[Step, TaskResult], None] | None = None,
) -> RunResult:
    """Run on a local, ephemeral Prefect."""
    values = wf.resolve_inputs(dict(inputs))
    return run_on_engine(
        "prefect",
        "check PREFECT_API_URL, or unset it for a local run",
        wf,
        lambda: workflow_flow(wf.definition(), values, base_url),
        on_step,
    )
